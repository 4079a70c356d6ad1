"""Names and labels every object of a model carries."""

from __future__ import annotations

from components.spec import SERVING_PORT, ModelEntry

MODEL_NAME_LABEL = "model.aibrix.ai/name"
MODEL_PORT_LABEL = "model.aibrix.ai/port"
MANAGED_LABEL = "jan-server.menlo.ai/managed"


def pvc_name(entry: ModelEntry) -> str:
    return f"{entry.name}-hf-cache"


def secret_name(entry: ModelEntry) -> str:
    return f"{entry.name}-hf-token"


def selector(entry: ModelEntry) -> dict[str, str]:
    """What picks a model's pods; part of the Deployment's immutable selector, so never changes."""
    return {MODEL_NAME_LABEL: entry.name, MANAGED_LABEL: "true"}


def labels(entry: ModelEntry) -> dict[str, str]:
    return {
        **selector(entry),
        MODEL_PORT_LABEL: str(SERVING_PORT),
        # AIBrix reads the engine to pick the metric names it scrapes.
        "model.aibrix.ai/engine": "vllm",
        "app.kubernetes.io/name": entry.name,
        "app.kubernetes.io/instance": entry.name,
        "app.kubernetes.io/component": "inference-server",
        "app.kubernetes.io/part-of": "model-fleet",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def metadata(entry: ModelEntry, namespace: str, name: str | None = None, **extra: dict[str, str]) -> dict:
    meta = {"name": name or entry.name, "namespace": namespace, "labels": labels(entry)}
    meta.update({k: v for k, v in extra.items() if v})
    return meta
