"""The vLLM Deployment of one model entry."""

from __future__ import annotations

import math

from components.contract.spec import SERVING_PORT, TOKEN_ENV_NAMES, ModelEntry
from components.manifests.labels import env_secret_name, metadata, pvc_name, secret_name, selector

HEALTH_PATH = "/health"
HF_CACHE_PATH = "/root/.cache/huggingface"
STARTUP_PROBE_PERIOD = 10


def _probe(period: int, failures: int, initial_delay: int = 0) -> dict:
    probe = {
        "httpGet": {"path": HEALTH_PATH, "port": SERVING_PORT, "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def probes(entry: ModelEntry) -> dict:
    """The startup probe covers the whole startup budget, so a slow weight download or load is
    never killed; liveness and readiness only start once it has passed."""
    config = entry.deployment_config
    window = config.startup_timeout_seconds - config.initial_delay_seconds
    return {
        "startupProbe": _probe(STARTUP_PROBE_PERIOD, math.ceil(window / STARTUP_PROBE_PERIOD), config.initial_delay_seconds),
        "readinessProbe": _probe(5, 3),
        "livenessProbe": _probe(15, 4),
    }


def pod_start_seconds(entry: ModelEntry) -> int:
    """How long one pod may take to become ready: the startup budget plus scheduling and image pull.

    The Deployment's progress deadline: Kubernetes restarts that clock whenever a pod becomes ready.
    """
    return entry.deployment_config.startup_timeout_seconds + 300


# Pulumi stops waiting on a rollout after this long however many pods it replaces; the rollout
# itself goes on in the cluster, and the next `pulumi up` picks it up.
ROLLOUT_CAP_SECONDS = 6 * 3600


def rollout_seconds(entry: ModelEntry) -> int:
    """How long Pulumi waits for a whole rollout: pods are replaced one at a time (no surge),
    so the per-pod time times the pods there may be (the autoscaler's maximum), capped."""
    config = entry.deployment_config
    return min(pod_start_seconds(entry) * max(config.most_replicas, 1), ROLLOUT_CAP_SECONDS)


def env(entry: ModelEntry) -> list[dict]:
    """Plain values inline; secret values only as references to the model's Secrets."""
    config = entry.deployment_config
    variables: list[dict] = [
        {"name": e.name, "valueFrom": {"secretKeyRef": {"name": env_secret_name(entry), "key": e.name}}}
        if e.is_secret
        else {"name": e.name, "value": e.value}
        for e in config.extra_env
    ]
    if config.hugging_face_token is not None:
        ref = {"secretKeyRef": {"name": secret_name(entry), "key": "token"}}
        variables += [{"name": name, "valueFrom": ref} for name in TOKEN_ENV_NAMES]
    return variables


def resources(entry: ModelEntry) -> dict:
    requests = {"cpu": entry.requirements.cpu, "memory": entry.requirements.memory}
    limits = entry.requirements.limits
    gpus = entry.deployment_config.gpu_count
    if gpus == 0:
        return {"requests": requests, "limits": limits}
    # An extended resource's request must equal its limit.
    return {"requests": {**requests, "nvidia.com/gpu": str(gpus)}, "limits": {**limits, "nvidia.com/gpu": str(gpus)}}


def _volumes(entry: ModelEntry) -> tuple[list[dict], list[dict]]:
    config = entry.deployment_config
    # vLLM workers exchange tensors through shared memory; the container default of 64Mi
    # crashes tensor-parallel runs.
    volumes = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": config.shm_size}}]
    mounts = [{"name": "dshm", "mountPath": "/dev/shm"}]
    if config.enable_pvc:
        volumes.append({"name": "hf-cache", "persistentVolumeClaim": {"claimName": pvc_name(entry)}})
        mounts.append({"name": "hf-cache", "mountPath": HF_CACHE_PATH})
    return volumes, mounts


def _tolerations(entry: ModelEntry) -> list[dict]:
    tolerations = [t.model_dump(exclude_none=True) for t in entry.deployment_config.tolerations]
    if entry.deployment_config.gpu_count > 0:
        # GPU node pools are commonly tainted so that only GPU workloads land on them.
        gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        if gpu not in tolerations:
            tolerations.append(gpu)
    return tolerations


def build(entry: ModelEntry, namespace: str) -> dict:
    config = entry.deployment_config
    volumes, mounts = _volumes(entry)
    container = {
        "name": "vllm",
        "image": config.image,
        "imagePullPolicy": config.image_pull_policy,
        "command": list(config.command),
        "args": list(config.args),
        "ports": [{"name": "http", "containerPort": SERVING_PORT, "protocol": "TCP"}],
        "env": env(entry),
        "resources": resources(entry),
        **probes(entry),
        "volumeMounts": mounts,
    }
    pod_spec: dict = {"containers": [container], "volumes": volumes}
    if config.node_selector:
        pod_spec["nodeSelector"] = dict(config.node_selector)
    tolerations = _tolerations(entry)
    if tolerations:
        pod_spec["tolerations"] = tolerations
    spec: dict = {
        "selector": {"matchLabels": selector(entry)},
        # Replace pods one at a time without a surge pod: a surge pod would wait forever for a
        # free GPU (or for a ReadWriteOnce cache volume) on a full cluster.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        "progressDeadlineSeconds": pod_start_seconds(entry),
        "template": {
            "metadata": {
                "labels": metadata(entry, namespace)["labels"],
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(SERVING_PORT),
                    "prometheus.io/path": "/metrics",
                },
            },
            "spec": pod_spec,
        },
    }
    # With autoscaling on, the PodAutoscaler owns the replica count; declaring it here would
    # make every `pulumi up` undo the autoscaler.
    if not config.enable_autoscaling:
        spec["replicas"] = config.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(entry, namespace), "spec": spec}
