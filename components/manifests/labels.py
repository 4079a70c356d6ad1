"""Names and labels every object of a model carries."""

from __future__ import annotations

from components.contract import k8s_names
from components.contract.k8s_names import MANAGED_LABEL, MODEL_ENGINE_LABEL, MODEL_NAME_LABEL, MODEL_PORT_LABEL
from components.contract.spec import SERVING_PORT, ModelEntry

__all__ = ["MODEL_NAME_LABEL", "labels", "metadata", "pvc_name", "secret_name", "env_secret_name", "selector"]


def pvc_name(entry: ModelEntry) -> str:
    return k8s_names.cache_claim_name(entry.name)


def secret_name(entry: ModelEntry) -> str:
    return k8s_names.token_secret_name(entry.name)


def env_secret_name(entry: ModelEntry) -> str:
    return k8s_names.env_secret_name(entry.name)


def selector(entry: ModelEntry) -> dict[str, str]:
    """What picks a model's pods; part of the Deployment's immutable selector, so never changes."""
    return _selector_of(entry.name)


def _selector_of(name: str) -> dict[str, str]:
    return {MODEL_NAME_LABEL: name, MANAGED_LABEL: "true"}


def labels(entry: ModelEntry) -> dict[str, str]:
    """The entry's own labels (a team's), then the program's, which validation keeps them from overriding."""
    return {**entry.labels, **_labels_of(entry.name)}


def _labels_of(name: str) -> dict[str, str]:
    return {
        **_selector_of(name),
        MODEL_PORT_LABEL: str(SERVING_PORT),
        # AIBrix reads the engine to pick the metric names it scrapes.
        MODEL_ENGINE_LABEL: "vllm",
        **dict(zip(k8s_names.APP_LABELS, (name, name, "inference-server", "model-fleet", "pulumi"), strict=True)),
    }


def metadata(entry: ModelEntry, namespace: str, name: str | None = None, **extra: dict[str, str]) -> dict:
    meta = {"name": name or entry.name, "namespace": namespace, "labels": labels(entry)}
    meta.update({k: v for k, v in extra.items() if v})
    return meta
