"""Record `pulumi preview --json` from the real pulumi CLI for a stand-in of this program.

    .venv/bin/python tests/cli/record_preview.py [OUT_DIR]   (after `make engine`; default tests/cli/recorded/)

The program itself needs the Python language host and the kubernetes plugin, which no registry
here serves, so it could not be recorded. The stand-in keeps what the PR summary reads:
ModelDeployment components named by model, their children parented to them, and changes that
are creates, updates, replacements and deletes. The children are dynamic resources standing in
for the Kubernetes objects (type `pulumi-python:dynamic:Resource`; their provider,
`python -m pulumi.dynamic`, runs in this venv). The program runs inline through the Automation
API's language server (`pulumi preview --client`), which needs no language host. State is a
file:// backend in a temp dir; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent import futures
from pathlib import Path

import grpc
import pulumi
from pulumi.automation._server import LanguageServer
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider
from pulumi.runtime.proto import language_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "recorded"
CLI = ROOT / ".engine" / "bin" / "pulumi"
# Before: three models. After: `a` gets a new image (update), `b` a new storage class (the claim
# is replaced), `c` is removed, `d` is added.
BEFORE = {"a": ("vllm:v0.10.2", "fast"), "b": ("vllm:v0.10.2", "fast"), "c": ("vllm:v0.10.2", "fast")}
AFTER = {"a": ("vllm:v0.10.3", "fast"), "b": ("vllm:v0.10.2", "standard"), "d": ("vllm:v0.10.2", "fast")}


class KubernetesObject(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["name"], outs=props)

    def diff(self, _id, olds, news):
        changed = [k for k in news if not k.startswith("__") and olds.get(k) != news[k]]
        # A claim's storage class cannot change in place, as in Kubernetes.
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "storage_class"])

    def update(self, _id, _olds, news):
        from pulumi.dynamic import UpdateResult

        return UpdateResult(outs=news)


class StandIn(Resource):
    """A Kubernetes object's stand-in."""


class ModelDeployment(pulumi.ComponentResource):
    def __init__(self, name: str, image: str, storage_class: str) -> None:
        super().__init__("model-fleet:index:ModelDeployment", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        provider = KubernetesObject()
        StandIn(provider, name, {"name": name, "kind": "Deployment", "image": image}, child)
        StandIn(provider, f"{name}-svc", {"name": name, "kind": "Service", "port": 8000}, child)
        StandIn(provider, f"{name}-hf-cache", {"name": f"{name}-hf-cache", "kind": "PersistentVolumeClaim",
                                                "storage_class": storage_class}, child)
        self.register_outputs({})


def program_of(models: dict[str, tuple[str, str]]):
    def program() -> None:
        for name, (image, storage_class) in models.items():
            ModelDeployment(name, image, storage_class)

    return program


def run(models, *args: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program_of(models)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        command = [str(CLI), *args, "--stack", "dev", "--non-interactive", f"--client=127.0.0.1:{port}", "--exec-kind", "auto.inline"]
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            sys.exit(f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result
    finally:
        server.stop(0)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project, plugins = work / "project", work / "plugins"
        project.mkdir()
        plugins.mkdir()
        (project / "Pulumi.yaml").write_text("name: model-fleet\nruntime: python\n")
        # The dynamic provider plugin is a one-line script around `python -m pulumi.dynamic`.
        plugin = plugins / "pulumi-resource-pulumi-python"
        plugin.write_text(f"#!/bin/sh\nexec {sys.executable} -u -m pulumi.dynamic \"$@\"\n")
        plugin.chmod(0o755)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
            "PATH": f"{plugins}{os.pathsep}{os.environ['PATH']}",
            "PULUMI_HOME": str(work / "home"),
            "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "stand-in",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }
        (work / "state").mkdir()
        subprocess.run([str(CLI), "stack", "init", "dev", "--non-interactive"], cwd=project, env=env, check=True, capture_output=True)
        first = run(BEFORE, "preview", "--json", project=project, env=env).stdout
        run(BEFORE, "up", "--yes", "--skip-preview", project=project, env=env)
        second = run(AFTER, "preview", "--json", project=project, env=env).stdout
        version = subprocess.run([str(CLI), "version"], env=env, capture_output=True, text=True).stdout.strip()
    out.mkdir(parents=True, exist_ok=True)
    (out / "stand-in-create.json").write_text(first)
    (out / "stand-in-change.json").write_text(second)
    (out / "README.md").write_text(
        f"`pulumi preview --json` output of pulumi {version}, recorded by `.venv/bin/python tests/cli/record_preview.py`\n"
        "for a stand-in of this program (see that script): `stand-in-create.json` previews three models on an empty\n"
        "stack; `stand-in-change.json`, after `pulumi up`, previews a new image for `a`, a new storage class for `b`,\n"
        "`c` removed and `d` added. Not a recording of this program, which needs the full engine.\n"
    )
    print(json.dumps({"recorded": [str(out / "stand-in-create.json"), str(out / "stand-in-change.json")], "pulumi": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
