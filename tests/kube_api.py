"""A tiny Kubernetes API server on loopback: just the lists the preflight and inventory read, and
the faults a real API server cannot be made to show (any body, an answer that never comes or
trickles in a byte at a time)."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml


def node(name: str, gpus: int = 0, product: str = "", memory_mib: str = "") -> dict:
    labels = {"kubernetes.io/hostname": name}
    if product:
        labels["nvidia.com/gpu.product"] = product
    if memory_mib:
        labels["nvidia.com/gpu.memory"] = memory_mib
    capacity = {"cpu": "32", "memory": "256Gi"}
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
    return {"metadata": {"name": name, "labels": labels}, "status": {"capacity": capacity}}


def deployment(name: str, namespace: str, ready: int, replicas: int) -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"model.aibrix.ai/name": name},
            "creationTimestamp": "2025-01-01T10:00:00Z",
        },
        "spec": {"selector": {"matchLabels": {"model.aibrix.ai/name": name}}, "template": {"spec": {"containers": []}}},
        "status": {"readyReplicas": ready, "replicas": replicas},
    }


# How the server misbehaves: never answer; send the headers a byte at a time; send the headers, then
# the body a byte at a time. Each goes on until the server is closed.
STALLS = ("silent", "trickle-headers", "trickle-body")


class FakeKubeAPI:
    def __init__(
        self,
        nodes: list[dict],
        crds: list[str],
        deployments: list[dict] | None = None,
        fail: bool = False,
        bodies: dict[str, bytes | tuple[int, bytes, dict[str, str]]] | None = None,
        stall: str | None = None,
        stall_path: str | None = None,
        byte_every: float = 0.1,
    ):
        assert stall is None or stall in STALLS
        self.nodes, self.crds, self.deployments, self.fail = nodes, crds, deployments or [], fail
        # The stall answers `stall_path` only, or every path when None.
        self.bodies, self.stall, self.stall_path, self.byte_every = bodies or {}, stall, stall_path, byte_every
        self.paths: list[str] = []
        self.closing = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.paths.append(self.path)
                path = self.path.split("?")[0]
                if api.stall and api.stall_path in (None, path):
                    return self._stall()
                if path in api.bodies:
                    answer = api.bodies[path]
                    return self._send_bytes(*answer) if isinstance(answer, tuple) else self._send_bytes(200, answer)
                if api.fail:
                    return self._send(403, {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403})
                if path == "/api/v1/nodes":
                    return self._send(200, {"kind": "NodeList", "items": api.nodes})
                if path == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions":
                    items = [
                        {
                            "metadata": {"name": n},
                            "spec": {
                                "group": n.split(".", 1)[1],
                                "names": {"plural": n.split(".")[0], "kind": "X"},
                                "scope": "Namespaced",
                                "versions": [],
                            },
                        }
                        for n in api.crds
                    ]
                    return self._send(200, {"kind": "CustomResourceDefinitionList", "items": items})
                if path == "/apis/apps/v1/deployments":
                    return self._send(200, {"kind": "DeploymentList", "items": api.deployments})
                self._send(404, {"kind": "Status", "code": 404})

            def _stall(self) -> None:
                self.close_connection = True
                if api.stall == "silent":
                    api.closing.wait()
                    return
                if api.stall == "trickle-body":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
                    slow = itertools.chain(b'{"items": [', itertools.repeat(ord(" ")))
                else:
                    slow = itertools.chain(b"HTTP/1.1 200 OK\r\nX-Slow: ", itertools.repeat(ord("a")))
                for byte in slow:
                    if api.closing.wait(api.byte_every):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return

            def _send(self, code: int, body: dict) -> None:
                self._send_bytes(code, json.dumps(body).encode())

            def _send_bytes(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for header, value in (headers or {}).items():
                    self.send_header(header, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path, context: str = "test") -> Path:
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": {"server": self.url}}],
                    "users": [{"name": "u", "user": {"token": "test-token"}}],
                    "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                    "current-context": context,
                }
            )
        )
        return path

    def __enter__(self) -> FakeKubeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
