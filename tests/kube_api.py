"""A tiny Kubernetes API server on loopback: just the lists the preflight and inventory read."""

from __future__ import annotations

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


class FakeKubeAPI:
    def __init__(self, nodes: list[dict], crds: list[str], deployments: list[dict] | None = None, fail: bool = False):
        self.nodes, self.crds, self.deployments, self.fail = nodes, crds, deployments or [], fail
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.paths.append(self.path)
                path = self.path.split("?")[0]
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

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
