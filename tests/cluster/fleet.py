"""A representative fleet, the objects the builders make of it, and what the tests wait for."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client
from kubernetes.client import ApiClient
from pydantic import SecretStr

from components.contract import config
from components.contract.spec import ModelEntry, StackSpec
from components.manifests import namespace as namespace_manifest
from components.manifests import objects
from components.manifests.labels import MODEL_NAME_LABEL
from harness.factories import DELETE, entry, gpu_entry
from tests.cluster.contents import NODES
from tests.cluster.kube import wait_until

A100 = NODES[0]
GPU_NODES = frozenset(n.name for n in NODES if n.gpus)
# kwok marks a pod Ready as soon as it is bound; what takes time is the controllers' round trips.
SETTLE_TIMEOUT = 90


def representative_entries() -> list[dict]:
    """Every model type; cache claim on (two access modes) and off; autoscaling on (KPA, APA) and
    off; a Hugging Face token; plain and secret extra_env; a node selector and tolerations."""
    return [
        gpu_entry(
            "chat-a100",
            2,
            "160Gi",
            model_type="chat",
            **{
                "deployment_config.hugging_face_token": SecretStr("hf_test_token_for_the_cluster"),
                "deployment_config.extra_env": [
                    {"name": "VLLM_LOGGING_LEVEL", "value": "INFO"},
                    {"name": "WANDB_API_KEY", "value": SecretStr("wandb-secret")},
                ],
                "deployment_config.node_selector": {"nvidia.com/gpu.product": A100.product},
                "deployment_config.tolerations": [{"key": "dedicated", "operator": "Equal", "value": "inference", "effect": "NoSchedule"}],
                "deployment_config.autoscaling_config.min_replicas": 1,
                "deployment_config.autoscaling_config.max_replicas": 2,
            },
        ),
        gpu_entry(
            "completion-l4",
            1,
            "16Gi",
            model_type="completion",
            **{
                "deployment_config.enable_pvc": False,
                "deployment_config.enable_autoscaling": False,
                "deployment_config.replicas": 2,
            },
        ),
        entry(
            "embedding-cpu",
            model_type="embedding",
            **{
                "requirements.gpu": DELETE,
                "deployment_config.gpu_count": 0,
                "deployment_config.pvc_access_mode": "ReadWriteMany",
                "deployment_config.pvc_size": "20Gi",
                "deployment_config.autoscaling_config.scaling_strategy": "APA",
            },
        ),
    ]


def load(entries: list[dict], namespace: str, kubeconfig: Path, **sections) -> StackSpec:
    """The entries validated, with the preflight reading the test cluster."""
    raw = {"namespace": namespace, "models": entries, "kubernetes": {"kubeconfig": str(kubeconfig)}, **sections}
    return config.load(raw, source="test").spec


def model_manifests(spec: StackSpec, model: ModelEntry, routing: objects.PoolRouting | None = None) -> list[dict]:
    """What the ModelDeployment component declares for one version, secret values included."""
    settings = model.deployment_config
    token = settings.hugging_face_token.get_secret_value() if settings.hugging_face_token else None
    env_values = {e.name: e.value.get_secret_value() for e in settings.extra_env if isinstance(e.value, SecretStr)}
    return [
        manifest
        for _, manifest in objects.model_objects(
            model, objects.Context.of(spec, service_monitor_enabled=True), routing=routing, token=token, env_values=env_values
        )
    ]


def all_manifests(spec: StackSpec) -> list[dict]:
    """The namespace, then every version's objects in the order the program declares them."""
    versions = objects.versions(spec)
    return [namespace_manifest.build(spec.namespace)] + [m for model, routing in versions for m in model_manifests(spec, model, routing)]


def available(api: ApiClient, namespace: str, name: str, replicas: int):
    """Wait until the Deployment is Available with `replicas` ready pods; return its pods."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    def ready():
        status = apps.read_namespaced_deployment(name, namespace).status
        conditions = {c.type: c.status for c in status.conditions or []}
        return conditions.get("Available") == "True" and status.ready_replicas == replicas and status.replicas == replicas

    wait_until(f"Deployment {namespace}/{name} Available with {replicas} ready", ready, SETTLE_TIMEOUT)
    return core.list_namespaced_pod(namespace, label_selector=f"{MODEL_NAME_LABEL}={name}").items


def bound(api: ApiClient, namespace: str, claim: str):
    """Wait until the claim is Bound; return it."""
    core = client.CoreV1Api(api)

    def phase():
        pvc = core.read_namespaced_persistent_volume_claim(claim, namespace)
        return pvc if pvc.status.phase == "Bound" else None

    return wait_until(f"claim {namespace}/{claim} Bound", phase, SETTLE_TIMEOUT)
