"""Talking to the test cluster with the official Kubernetes client, as kubectl would."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kubernetes import config as kube_config
from kubernetes.client import ApiClient
from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "model-fleet-tests"
T = TypeVar("T")


def api_client(kubeconfig: Path) -> ApiClient:
    return kube_config.new_client_from_config(config_file=str(kubeconfig))


def dynamic(api: ApiClient, cache_file: Path) -> DynamicClient:
    """A dynamic client whose discovery cache lives in the run folder (the default is a shared /tmp file)."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    return DynamicClient(api, cache_file=str(cache_file))


def apply(client: DynamicClient, manifest: dict, manager: str = FIELD_MANAGER):
    """Server-side apply with strict field validation: an unknown or duplicate field is an error,
    not a warning, for built-in kinds and custom resources alike."""
    resource = client.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
    return client.server_side_apply(
        resource,
        body=manifest,
        namespace=manifest["metadata"].get("namespace"),
        field_manager=manager,
        force_conflicts=True,
        query_params=[("fieldValidation", "Strict")],
        _request_timeout=30,
    )


def wait_until(what: str, probe: Callable[[], T], timeout: float, interval: float = 0.25) -> T:
    """Poll `probe` until it returns something truthy, and return that; a timeout names `what`
    and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s (last seen: {value!r})")
        time.sleep(interval)
