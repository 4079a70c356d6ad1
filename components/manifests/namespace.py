"""The namespace every model of a stack lives in."""

from __future__ import annotations

from components.contract.k8s_names import MANAGED_LABEL


def build(namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "model-fleet", MANAGED_LABEL: "true"}},
    }
