"""The AIBrix PodAutoscaler that scales a model's Deployment on a vLLM metric."""

from __future__ import annotations

from components.contract.spec import SERVING_PORT, ModelEntry
from components.manifests.labels import metadata

# AIBrix >= 0.5 reads the generic cooldown key; 0.4 and older read the KPA-specific one.
# Each version ignores the key it does not know, so both are set.
SCALE_DOWN_ANNOTATIONS = ("autoscaling.aibrix.ai/scale-down-cooldown-window", "kpa.autoscaling.aibrix.ai/scale-down-delay")


def build(entry: ModelEntry, namespace: str) -> dict:
    scaling = entry.deployment_config.autoscaling_config
    return {
        "apiVersion": "autoscaling.aibrix.ai/v1alpha1",
        "kind": "PodAutoscaler",
        "metadata": metadata(entry, namespace, annotations={key: scaling.scale_down_delay for key in SCALE_DOWN_ANNOTATIONS}),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": entry.name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "scalingStrategy": scaling.scaling_strategy,
            "metricsSources": [
                {
                    # The controller scrapes each pod directly; port and target are strings in the CRD.
                    "metricSourceType": "pod",
                    "protocolType": "http",
                    "port": str(SERVING_PORT),
                    "path": "/metrics",
                    "targetMetric": scaling.target_metric,
                    "targetValue": scaling.target_value,
                }
            ],
        },
    }
