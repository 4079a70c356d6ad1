"""The ClusterIP Service in front of a model's pods; AIBrix routes to it by the model's name."""

from __future__ import annotations

from components.contract.spec import SERVING_PORT, ModelEntry
from components.manifests.labels import metadata, selector


def build(entry: ModelEntry, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(entry, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(entry),
            "ports": [{"name": "http", "port": SERVING_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
