"""What the stack reports about each model: the deployment API's "Get Model Details" fields."""

from __future__ import annotations

import hashlib

from components.contract.spec import SERVING_PORT, ModelEntry
from components.manifests.labels import pvc_name


def public_id(entry: ModelEntry, namespace: str) -> str:
    """Derived from where the model lives, so it is the same on every run and every machine."""
    return "mdl_" + hashlib.sha256(f"{namespace}/{entry.name}".encode()).hexdigest()[:16]


def endpoint_url(entry: ModelEntry, namespace: str) -> str:
    return f"http://{entry.name}.{namespace}.svc.cluster.local:{SERVING_PORT}"


def deployment_status(ready: int, replicas: int) -> str:
    """The deployment API's status words, from a Deployment's observed replica counts."""
    if ready > 0:
        return "running"
    return "creating" if replicas > 0 else "pending"


# The Pulumi type token of the ModelDeployment component (in URNs, previews and state).
COMPONENT_TYPE = "model-fleet:index:ModelDeployment"


def model_details(entry: ModelEntry, namespace: str) -> dict:
    config = entry.deployment_config
    details = {
        "public_id": public_id(entry, namespace),
        "name": entry.name,
        "display_name": entry.display_name,
        "description": entry.description,
        "model_type": entry.model_type.value,
        "huggingface_id": entry.huggingface_id,
        "served_model_name": entry.served_model_id,
        "namespace": namespace,
        "deployment_name": entry.name,
        "service_name": entry.name,
        "endpoint_url": endpoint_url(entry, namespace),
        "requirements": entry.requirements.model_dump(exclude_none=True),
        "gpu_count": config.gpu_count,
        "autoscaling": config.autoscaling_config.model_dump() if config.enable_autoscaling else None,
        "cache_pvc": pvc_name(entry) if config.enable_pvc else None,
        "tags": list(entry.tags),
        "is_public": entry.is_public,
    }
    return details
