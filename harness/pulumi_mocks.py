"""Pulumi's unit-test mocks, recording every registration: type, name, parent, inputs and options."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

# How a secret value travels on the wire: {SIG_KEY: SECRET_SIG, "value": ...}.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        # The inputs as the state, and no observed status: what the real engine gives in a
        # preview and in render mode. A Deployment's status after a real `up` is whatever the
        # provider last read (tests/cluster/test_engine.py); the mocks do not make one up.
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict
    wire: dict  # the inputs as sent, secrets still wrapped
    retain_on_delete: bool
    custom_timeouts: dict
    provider: str
    dependencies: list[str]


class RecordingMonitor(MockMonitor):
    def __init__(self) -> None:
        super().__init__(Mocks())
        self.registered: list[Registered] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    inputs=_sync_await(_plain(request.object)),
                    wire=json_format.MessageToDict(request.object),
                    retain_on_delete=request.retainOnDelete,
                    custom_timeouts=json_format.MessageToDict(request.customTimeouts),
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                )
            )
        return response

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.registered if r.type == type_]

    def one(self, type_: str) -> Registered:
        (found,) = self.of_type(type_)
        return found


async def _plain(struct) -> dict:
    return rpc.deserialize_properties(struct)


class Logs(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


def install(preview: bool = False, stack: str = "dev") -> tuple[RecordingMonitor, Logs]:
    monitor = RecordingMonitor()
    logs = Logs()
    logger = logging.getLogger(f"pulumi-mocks-{id(monitor)}")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(logs)
    pulumi.runtime.set_mocks(monitor.mocks, project="model-fleet", stack=stack, preview=preview, logger=logger, monitor=monitor)
    return monitor, logs
