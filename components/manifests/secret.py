"""The Secrets of a model: its Hugging Face token and its secret environment values.

The pod reads them through secretKeyRef only. The values passed in are Pulumi secret Outputs in
the program, or None where no value may be written (manifests rendered to disk).
"""

from __future__ import annotations

from typing import Any

from components.contract.spec import ModelEntry
from components.manifests.labels import env_secret_name, metadata, secret_name


def _secret(entry: ModelEntry, namespace: str, name: str, data: dict[str, Any] | None) -> dict:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata(entry, namespace, name), "type": "Opaque"}
    if data is not None:
        manifest["stringData"] = data
    return manifest


def build(entry: ModelEntry, namespace: str, token: Any) -> dict:
    """The token Secret, key `token`; `token` None leaves the value out."""
    return _secret(entry, namespace, secret_name(entry), None if token is None else {"token": token})


def secret_env_names(entry: ModelEntry) -> list[str]:
    return [e.name for e in entry.deployment_config.extra_env if e.is_secret]


def build_env(entry: ModelEntry, namespace: str, values: dict[str, Any] | None) -> dict:
    """The Secret holding the entry's secret `extra_env` values, one key per variable name."""
    return _secret(entry, namespace, env_secret_name(entry), values)
