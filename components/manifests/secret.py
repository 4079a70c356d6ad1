"""The Secret carrying a model's Hugging Face token; the pod reads it through secretKeyRef only."""

from __future__ import annotations

from typing import Any

from components.manifests.labels import metadata, secret_name
from components.spec import ModelEntry


def build(entry: ModelEntry, namespace: str, token: Any) -> dict:
    """`token` is what goes into the Secret: a Pulumi secret Output in the program."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(entry, namespace, secret_name(entry)),
        "type": "Opaque",
        "stringData": {"token": token},
    }
