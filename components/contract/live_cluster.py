"""The one way the commands talk to a live cluster: a client from the kubeconfig, and lists read as
plain JSON under one deadline, so an odd or hostile API server is a message, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.contract import strict_yaml
from components.contract.field_problems import dotted, shown
from components.contract.spec import StackSpec

# Every list one command reads from the cluster is done within this, however the server answers:
# a per-read timeout alone never ends a server that trickles a byte every few seconds.
READ_DEADLINE_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 5.0
# The longest silence one read waits out, and how often a connection or a read is tried again.
READ_TIMEOUT_SECONDS = 10.0
TRIES = 2
# How long a kubeconfig's exec credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`)
# may take to hand over credentials when no one is at a terminal to answer a prompt it shows.
CREDENTIALS_DEADLINE_SECONDS = 30.0
# Where the library looks when the stack names no kubeconfig.
DEFAULT_KUBECONFIG = "~/.kube/config"


class PreflightError(Exception):
    pass


@dataclass
class Listed:
    """The objects of one list, and a line for each one left out saying why."""

    items: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)


# --- the kubeconfig ---------------------------------------------------------------------


def kubeconfig_paths(spec: StackSpec) -> list[Path]:
    """The stack's kubeconfig, else those `$KUBECONFIG` lists, else ~/.kube/config (kubectl's order)."""
    if spec.kubernetes.kubeconfig_path:
        return [Path(spec.kubernetes.kubeconfig_path)]
    listed = os.environ.get("KUBECONFIG", "")
    return [Path(p).expanduser() for p in listed.split(os.pathsep) if p] or [Path(DEFAULT_KUBECONFIG).expanduser()]


def read_kubeconfig(path: Path) -> dict[str, Any]:
    """One kubeconfig file as a mapping, read by the strict loader; a file that is missing,
    unreadable or not a kubeconfig's YAML is a PreflightError naming it (and the line and column)."""
    name = shown(str(path))
    try:
        # Tools write a token's `expiry:` unquoted; the client reads it as text, as Go's YAML does.
        parsed = strict_yaml.read_yaml(path, dates_as_text=True)
    except FileNotFoundError:
        raise PreflightError(f"kubeconfig {name} does not exist") from None
    except OSError as err:
        raise PreflightError(f"cannot read kubeconfig {name}: {shown(err.strerror or str(err))}") from None
    except strict_yaml.StrictYAMLError as err:
        where = "".join(f" {unit} {at}" for unit, at in (("line", err.line), ("column", err.column)) if at is not None)
        # The keys down to the fault, when few enough to read (a nesting fault's are 64 deep).
        key = f" ({shown(dotted(err.path))})" if 0 < len(err.path) <= 8 else ""
        raise PreflightError(f"kubeconfig {name}{where}{key}: {shown(err.message)}") from None
    if not isinstance(parsed, dict):
        raise PreflightError(f"kubeconfig {name} is {_kind(parsed, 'YAML')}, not a kubeconfig (a mapping of clusters, users and contexts)")
    for section in ("clusters", "contexts", "users"):
        entries = parsed.get(section)
        if entries is not None and not (
            isinstance(entries, list) and all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries)
        ):
            raise PreflightError(f"kubeconfig {name}: {section} is not a list of entries with a name")
    return parsed


_KINDS = {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "mapping"}


def _kind(value: Any, language: str) -> str:
    return "empty" if value is None else f"a {language} {_KINDS.get(type(value), type(value).__name__)}"


def api_client(spec: StackSpec):
    """A client of the official kubernetes library for the stack's kubeconfig and context, loaded from
    the files as read_kubeconfig parsed them; more than one is merged as the library merges them."""
    from kubernetes import client
    from kubernetes.config import ConfigException, new_client_from_config_dict
    from kubernetes.config.kube_config import ConfigNode

    paths = kubeconfig_paths(spec)
    existing = [p for p in paths if p.exists()] if len(paths) > 1 else paths
    if not existing:
        raise PreflightError(f"no kubeconfig: none of the files $KUBECONFIG lists exists ({', '.join(shown(str(p)) for p in paths)})")
    merged: ConfigNode | None = None
    for path in existing:
        parsed = read_kubeconfig(path)
        # Each entry remembers its file, so a relative certificate path is read beside that file.
        if merged is None:
            merged = ConfigNode(str(path), {**parsed, "clusters": [], "contexts": [], "users": []}, str(path))
        for section in ("clusters", "contexts", "users"):
            names = {e["name"] for e in merged.value[section]}
            merged.value[section] += [
                ConfigNode(f"{path}/{section}", e, str(path)) for e in parsed.get(section) or [] if e["name"] not in names
            ]
        if "current-context" in parsed:
            merged.value["current-context"] = parsed["current-context"]
    configuration = client.Configuration()
    try:
        new_client_from_config_dict(merged, context=spec.kubernetes.context, persist_config=False, client_configuration=configuration)
    except (ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError) as err:
        where = " and ".join(shown(str(p)) for p in existing)
        raise PreflightError(f"cannot load kubeconfig {where}: {shown(str(err))}") from None
    # LiveCluster tries a GET again itself; urllib3 would also wait on any Retry-After a server sends.
    configuration.retries = False
    return client.ApiClient(configuration)


# --- reading lists ----------------------------------------------------------------------


@dataclass
class ListRequest:
    """One list: the path the messages name, its kind, and the library call that GETs it."""

    path: str
    kind: str
    call: Callable[..., Any]  # called with _preload_content=False and _request_timeout


_GAVE_UP = TimeoutError("gave up")


def _on_thread(work: Callable[[], Any], seconds: float, name: str) -> tuple[BaseException | None, Any]:
    """(error, result) of `work()` run on a daemon thread of its own, so the deadline holds whatever
    it waits on; `_GAVE_UP` as the error when it has not finished by then."""
    answer: queue.Queue[tuple[BaseException | None, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            answer.put((None, work()))
        except BaseException as err:  # handed to the caller's thread, which says what it was
            answer.put((err, None))

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        return answer.get(timeout=seconds)
    except queue.Empty:
        return _GAVE_UP, None


class LiveCluster:
    """A live cluster as one command reads it."""

    def __init__(self, spec: StackSpec, failing: str) -> None:
        # The library runs an exec credential plugin while it loads the kubeconfig, and waits on it
        # without a timeout. At a terminal the plugin may be asking its user something; elsewhere
        # (CI) a plugin that never answers would hang the command.
        if sys.stdout.isatty():
            self.api = api_client(spec)
        else:
            error, api = _on_thread(lambda: api_client(spec), CREDENTIALS_DEADLINE_SECONDS, "model-fleet kubeconfig")
            if error is _GAVE_UP:
                raise PreflightError(
                    f"{failing}: no credentials from the kubeconfig within {CREDENTIALS_DEADLINE_SECONDS:g} s: its exec "
                    "credential plugin did not finish; gave up (run the plugin yourself to see what it waits for)"
                )
            if error is not None:
                raise error
            self.api = api
        self.host = shown(str(self.api.configuration.host))
        self.failing = failing  # how a message that the read failed starts: "cannot read the cluster"

    def read(self, *requests: ListRequest) -> list[Listed]:
        """Each list, all within READ_DEADLINE_SECONDS. The reading runs on a thread of its own, so the
        deadline holds whatever the server does (a header trickled a byte at a time included)."""
        deadline = READ_DEADLINE_SECONDS
        ends = time.monotonic() + deadline
        doing = [requests[0].path]

        def work() -> list[Listed]:
            done = []
            for request in requests:
                doing[0] = request.path
                done.append(self._list(request, ends))
            return done

        error, done = _on_thread(work, deadline, "model-fleet cluster read")
        if error is _GAVE_UP:
            raise PreflightError(
                f"{self.failing} at {self.host}: GET {doing[0]} gave no complete answer within {deadline:g} s "
                "(the deadline of the whole read); gave up"
            )
        if error is not None:
            raise self._failure(error, doing[0]) from error
        return done or []

    def _list(self, request: ListRequest, ends: float) -> Listed:
        from urllib3.exceptions import ProtocolError, TimeoutError

        for attempt in range(1, TRIES + 1):
            left = max(ends - time.monotonic(), 0.001)
            timeouts = (min(CONNECT_TIMEOUT_SECONDS, left), min(READ_TIMEOUT_SECONDS, left))
            try:
                response = request.call(_preload_content=False, _request_timeout=timeouts)
                try:
                    body = response.read()
                finally:
                    response.release_conn()
                break
            # A connection refused, reset or silent is tried again; an answer, whatever its status, is not.
            except (TimeoutError, ProtocolError):
                if attempt == TRIES:
                    raise
        return parse_list(body, request.path, request.kind, f"{self.failing} at {self.host}: the answer to GET {request.path}")

    def _failure(self, error: BaseException, path: str) -> PreflightError:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError, ReadTimeoutError

        if isinstance(error, PreflightError):
            return error
        reason = error.reason if isinstance(error, MaxRetryError) else error
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return PreflightError(
                f"{self.failing} at {self.host}: no connection within {CONNECT_TIMEOUT_SECONDS:g} s ({TRIES} tries); gave up"
            )
        if isinstance(reason, ReadTimeoutError):
            return PreflightError(
                f"{self.failing} at {self.host}: GET {path} gave no answer within {READ_TIMEOUT_SECONDS:g} s ({TRIES} tries); gave up"
            )
        if isinstance(error, ApiException | HTTPError | OSError):
            return PreflightError(f"{self.failing} at {self.host}: {shown(str(getattr(error, 'reason', None) or error))}")
        return PreflightError(f"{self.failing} at {self.host}: GET {path} failed: {shown(f'{type(error).__name__}: {error}')}")


def parse_list(body: bytes, path: str, kind: str, where: str) -> Listed:
    """A list's JSON body as plain objects: a body that is not a list is a PreflightError starting
    with `where`; `items: null` reads as no items and an item that is not an object is skipped, each
    with a line saying so."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise PreflightError(f"{where} is not JSON") from None
    if not isinstance(document, dict):
        raise PreflightError(f"{where} is {_kind(document, 'JSON')}, not a {kind}")
    items = document.get("items", [])
    if items is None:
        return Listed([], [f"the {kind} from GET {path} has items: null; read as no items"])
    if not isinstance(items, list):
        raise PreflightError(f"{where} is not a {kind}: its items are {_kind(items, 'JSON')}, not a list")
    kept = [item for item in items if isinstance(item, dict)]
    skipped = [
        f"{kind} item {i} skipped: {_kind(item, 'JSON')}, not an object" for i, item in enumerate(items) if not isinstance(item, dict)
    ]
    return Listed(kept, skipped)


# --- fields of a live object ------------------------------------------------------------


def at(obj: dict[str, Any], *path: str) -> Any:
    """The value at `path` in a live object, or None when a step is missing or not an object."""
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def text(obj: dict[str, Any], *path: str) -> str | None:
    value = at(obj, *path)
    return value if isinstance(value, str) else None


def mapping(obj: dict[str, Any], *path: str) -> dict[str, Any] | None:
    value = at(obj, *path)
    return value if isinstance(value, dict) else None


def labels(obj: dict[str, Any]) -> dict[str, str]:
    """The object's labels with string values (a label of another type is no label)."""
    return {k: v for k, v in (mapping(obj, "metadata", "labels") or {}).items() if isinstance(k, str) and isinstance(v, str)}
