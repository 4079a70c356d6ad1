"""The PersistentVolumeClaim holding a model's Hugging Face cache (downloaded weights)."""

from __future__ import annotations

from components.contract.k8s_names import RETAIN_ON_DELETE_ANNOTATION
from components.contract.spec import ModelEntry
from components.manifests.labels import metadata, pvc_name


def build(entry: ModelEntry, namespace: str) -> dict:
    config = entry.deployment_config
    spec: dict = {
        "accessModes": [config.pvc_access_mode],
        "resources": {"requests": {"storage": config.pvc_size}},
    }
    if config.storage_class:
        spec["storageClassName"] = config.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        # A WaitForFirstConsumer class binds the claim only once the pod is scheduled, and an
        # adopted or resized claim is already Bound: Pulumi's claim awaiter has hung on both.
        # The Deployment's await reports a claim that never binds.
        "metadata": metadata(
            entry,
            namespace,
            pvc_name(entry),
            annotations={"pulumi.com/skipAwait": "true", RETAIN_ON_DELETE_ANNOTATION: str(config.retain_cache_on_delete).lower()},
        ),
        "spec": spec,
    }
