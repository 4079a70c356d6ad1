"""The HTTPRoute that sends a model's requests from the stack's Gateway to its versions' pools, by weight."""

from __future__ import annotations

from components.contract.spec import GatewayRef, ModelEntry
from components.manifests import inference_pool
from components.manifests.labels import metadata

# The header the extension's body-based router sets from the request body's `model`.
MODEL_NAME_HEADER = "X-Gateway-Model-Name"


def build(entry: ModelEntry, namespace: str, gateway: GatewayRef, model_id: str, backends: list[tuple[str, int]]) -> dict:
    """`backends`: (pool name, weight) of each version; weights are the percent of the requests each serves."""
    parent: dict = {"name": gateway.name}
    if gateway.namespace is not None:
        parent["namespace"] = gateway.namespace
    if gateway.section_name is not None:
        parent["sectionName"] = gateway.section_name
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata(entry, namespace),
        "spec": {
            "parentRefs": [parent],
            "rules": [
                {
                    "matches": [{"headers": [{"type": "Exact", "name": MODEL_NAME_HEADER, "value": model_id}]}],
                    "backendRefs": [
                        {"group": inference_pool.GROUP, "kind": inference_pool.KIND, "name": pool, "weight": weight}
                        for pool, weight in backends
                    ],
                }
            ],
        },
    }
