"""The InferencePool (Gateway API Inference Extension) holding one version's pods behind its endpoint picker."""

from __future__ import annotations

from components.contract.spec import SERVING_PORT, EndpointPicker, ModelEntry
from components.manifests.labels import metadata, selector

API_VERSION = "inference.networking.k8s.io/v1"
GROUP = API_VERSION.split("/")[0]
KIND = "InferencePool"


def build(entry: ModelEntry, namespace: str, picker: EndpointPicker) -> dict:
    """The pool selects exactly what the version's Deployment selects: its name label, unique in the stack."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata(entry, namespace),
        "spec": {
            "selector": {"matchLabels": selector(entry)},
            "targetPorts": [{"number": SERVING_PORT}],
            "endpointPickerRef": {"name": picker.service, "port": {"number": picker.port}, "failureMode": picker.failure_mode},
        },
    }
