"""The one place tests build stack config: the deployment API's example body, with overrides."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"
# The "Create New Model" request body of the deployment API, verbatim.
SEED_REQUEST: dict = json.loads((DATA / "seed_create_request.json").read_text())
DELETE = object()

INVENTORY: dict[str, Any] = {
    "total_nodes": 3,
    "gpu_nodes": [
        {"node_name": "gpu-node-1", "gpu_count": 2, "gpu_type": "nvidia-a100", "total_vram": "80Gi"},
        {"node_name": "gpu-node-2", "gpu_count": 1, "gpu_type": "nvidia-l40s", "total_vram": "48Gi"},
    ],
    "crds": ["podautoscalers.autoscaling.aibrix.ai", "servicemonitors.monitoring.coreos.com", "gatewayclasses.gateway.networking.k8s.io"],
}


# What routing by inference-pool needs: the stack's endpoint picker and Gateway, and the two CRDs.
POOL_ROUTING = {
    "mode": "inference-pool",
    "endpoint_picker": {"service": "vllm-epp", "port": 9002},
    "gateway": {"name": "inference-gateway"},
}
ROUTING_CRDS = ["inferencepools.inference.networking.k8s.io", "httproutes.gateway.networking.k8s.io"]


def set_path(target: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value


def entry(name: str = "qwen3-coder-30b", **overrides: Any) -> dict:
    """A model entry: the seed body without its plaintext token, renamed, with dotted-path overrides.

    entry("m", **{"deployment_config.gpu_count": 2})
    """
    body = copy.deepcopy(SEED_REQUEST)
    del body["deployment_config"]["hugging_face_token"]
    if name != body["name"]:
        args = body["deployment_config"]["args"]
        args[1] = args[1].replace("--served-model-name qwen3-coder-30b", f"--served-model-name {name}")
        body["name"] = name
        # Display names are unique in a stack, like names.
        body["display_name"] = f"{body['display_name']} {name}"
    for dotted, value in overrides.items():
        set_path(body, dotted, value)
    return body


def gpu_entry(name: str, gpus: int, vram: str, **overrides: Any) -> dict:
    """An entry needing exactly `gpus` GPUs with `vram` across them."""
    return entry(
        name,
        **{
            "requirements.gpu.min_gpus": gpus,
            "requirements.gpu.max_gpus": gpus,
            "requirements.gpu.min_vram": vram,
            "deployment_config.gpu_count": gpus,
            **overrides,
        },
    )


def stack(*entries: dict, **sections: Any) -> dict:
    """A raw `model-fleet:*` mapping (keys without the namespace)."""
    raw: dict = {"cluster": copy.deepcopy(INVENTORY), "models": list(entries or [entry()])}
    raw.update(sections)
    return {k: v for k, v in raw.items() if v is not DELETE}


def pooled_stack(*entries: dict, routing: dict | None = None, **sections: Any) -> dict:
    """`stack`, routed by inference-pool (`routing` in place of POOL_ROUTING), its inventory holding the routing CRDs."""
    inventory = copy.deepcopy(INVENTORY)
    inventory["crds"] += ROUTING_CRDS
    return stack(*entries, routing=routing or POOL_ROUTING, **{"cluster": inventory, **sections})


def write_stack(project_dir: Path, raw: dict, name: str = "dev", extra: dict | None = None) -> Path:
    """Write Pulumi.<name>.yaml as a user would, every key under the model-fleet namespace."""
    config = {f"model-fleet:{key}": value for key, value in raw.items()}
    config.update(extra or {})
    path = project_dir / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def valid_entry(name: str = "qwen3-coder-30b", **overrides: Any):
    """`entry(name, **overrides)` as the validated ModelEntry the builders take."""
    from components.contract import config

    return config.load(stack(entry(name, **overrides)), source="t").spec.models[0]


def problems_of(raw: dict, source: str = "Pulumi.dev.yaml") -> list[str]:
    """The lines of the report `config.load` refuses `raw` with; an AssertionError when it accepts it."""
    from components.contract import config
    from components.contract.problems import ProblemsFound

    try:
        config.load(raw, source=source)
    except ProblemsFound as err:
        return [str(p) for p in err.problems]
    raise AssertionError("the stack was accepted")


def catalog_entry(name: str = "qwen3-coder-30b", **overrides: Any) -> dict:
    """A catalog entry: an entry without its name, which is the catalog's key."""
    body = entry(name, **overrides)
    del body["name"]
    return body


def two_model_catalog() -> dict:
    """The coder on a GPU and the embedding model bge-m3 on CPU: a catalog stacks serve from."""
    bge = catalog_entry("bge-m3", **{"deployment_config.gpu_count": 0, "requirements.gpu": None})
    bge["deployment_config"]["args"] = ["--served-model-name", "bge-m3", "--task", "embed"]
    return {"qwen3-coder-30b": catalog_entry(), "bge-m3": bge}


def write_project(project_dir: Path, catalog: dict) -> Path:
    """Pulumi.yaml with `model-fleet:catalog` in the structured form every stack inherits."""
    path = project_dir / "Pulumi.yaml"
    document = {"name": "model-fleet", "runtime": "python", "config": {"model-fleet:catalog": {"value": catalog}}}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
  - name: ci
    cluster: {server: "https://127.0.0.1:6443"}
users:
  - name: ci
    user: {token: not-a-real-token}
contexts:
  - name: ci
    context: {cluster: ci, user: ci}
current-context: ci
"""


def write_kubeconfig(directory: Path) -> Path:
    """A kubeconfig for $KUBECONFIG, as the machine that deploys a stack naming no cluster of its own
    has one. Its server, 127.0.0.1:6443, runs nowhere: a stack without a kubeconfig of its own is not
    read live, so nothing connects to it."""
    path = directory / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path
