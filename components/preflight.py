"""Cluster facts (from the stack's inventory or read live) and the checks a fleet must pass on them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from components.problems import Findings, Problem
from components.spec import (
    AIBRIX_CRD,
    ENVOY_GATEWAY_CRD,
    GPU_OPERATOR_CRD,
    KUBERAY_CRD,
    SERVICE_MONITOR_CRD,
    GPUNode,
    ModelEntry,
    StackSpec,
    quantity_value,
)

GPU_RESOURCE = "nvidia.com/gpu"
# GPU feature discovery labels: product name and per-GPU memory in MiB.
GFD_PRODUCT_LABEL = "nvidia.com/gpu.product"
GFD_MEMORY_LABEL = "nvidia.com/gpu.memory"


class PreflightError(Exception):
    pass


@dataclass(frozen=True)
class ClusterFacts:
    source: str  # "inventory", "live" or "none"
    total_nodes: int = 0
    gpu_nodes: tuple[GPUNode, ...] = ()
    crds: frozenset[str] = frozenset()

    @property
    def known(self) -> bool:
        return self.source != "none"

    def has_crd(self, name: str) -> bool:
        return name in self.crds

    def status(self) -> dict:
        """The cluster status in the deployment API's shape."""
        nodes = []
        for node in self.gpu_nodes:
            item = node.model_dump(exclude_none=True)
            item.setdefault("available_vram", node.total_vram)
            nodes.append(item)
        return {
            "has_gpus": any(n.gpu_count > 0 for n in self.gpu_nodes),
            "total_nodes": self.total_nodes,
            "gpu_nodes": nodes,
            "total_gpus": sum(n.gpu_count for n in self.gpu_nodes),
            "gpu_operator_ok": self.has_crd(GPU_OPERATOR_CRD),
            "aibrix_ok": self.has_crd(AIBRIX_CRD),
            "kuberay_ok": self.has_crd(KUBERAY_CRD),
            "envoy_gateway_ok": self.has_crd(ENVOY_GATEWAY_CRD),
            "prometheus_operator_ok": self.has_crd(SERVICE_MONITOR_CRD),
            "source": self.source,
        }


def api_client(spec: StackSpec):
    """A client of the official kubernetes library for the stack's kubeconfig and context."""
    from kubernetes import config as kube_config

    try:
        return kube_config.new_client_from_config(config_file=spec.kubernetes.kubeconfig_path, context=spec.kubernetes.context)
    except (kube_config.ConfigException, OSError, TypeError) as err:
        raise PreflightError(f"cannot load kubeconfig {spec.kubernetes.kubeconfig or '~/.kube/config'}: {err}") from err


def _node_from_live(node) -> GPUNode | None:
    capacity = node.status.capacity or {}
    count = int(capacity.get(GPU_RESOURCE, "0"))
    if count == 0:
        return None
    labels = node.metadata.labels or {}
    per_gpu_mib = labels.get(GFD_MEMORY_LABEL, "0")
    total = f"{int(per_gpu_mib) * count if per_gpu_mib.isdigit() else 0}Mi"
    return GPUNode(node_name=node.metadata.name, gpu_count=count, gpu_type=labels.get(GFD_PRODUCT_LABEL, ""), total_vram=total)


def read_live_nodes(spec: StackSpec) -> ClusterFacts:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = api_client(spec)
    try:
        nodes = client.CoreV1Api(api).list_node(_request_timeout=15).items
        crds = client.ApiextensionsV1Api(api).list_custom_resource_definition(_request_timeout=15).items
    except (ApiException, HTTPError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise PreflightError(f"cannot read the cluster at {api.configuration.host}: {reason}") from err
    gpu_nodes = tuple(n for n in map(_node_from_live, nodes) if n is not None)
    return ClusterFacts("live", len(nodes), gpu_nodes, frozenset(c.metadata.name for c in crds if c.metadata and c.metadata.name))


def gather(spec: StackSpec) -> ClusterFacts:
    if spec.kubernetes.live:
        return read_live_nodes(spec)
    if spec.cluster is not None:
        inventory = spec.cluster
        total = inventory.total_nodes if inventory.total_nodes is not None else len(inventory.gpu_nodes)
        return ClusterFacts("inventory", total, tuple(inventory.gpu_nodes), frozenset(inventory.crds))
    return ClusterFacts("none")


def gpu_floor(entry: ModelEntry) -> tuple[int, str]:
    """Fewest GPUs one replica runs on, and the VRAM it needs across them."""
    gpu = entry.requirements.gpu
    if gpu is not None:
        return gpu.min_gpus, gpu.min_vram
    return entry.deployment_config.gpu_count, "0"


def node_fits(node: GPUNode, min_gpus: int, min_vram: str) -> bool:
    """The deployment API's rule: the node has `min_gpus` GPUs and its `total_vram` reaches `min_vram`."""
    return node.gpu_count > 0 and node.gpu_count >= min_gpus and quantity_value(node.total_vram) >= quantity_value(min_vram)


def per_gpu_memory(node: GPUNode) -> Decimal:
    return quantity_value(node.total_vram) / Decimal(node.gpu_count)


def format_memory(amount: Decimal) -> str:
    """Bytes as the Gi (or Mi) figure a reader compares with `min_vram`."""
    for unit, size in (("Gi", 2**30), ("Mi", 2**20)):
        if amount >= size:
            value = (amount / size).quantize(Decimal("0.1")).normalize()
            return f"{value:f}{unit}"
    return f"{amount:f}"


def _placement(candidates: tuple[GPUNode, ...], requested: int) -> tuple[int, GPUNode | None]:
    """The most GPUs on one candidate node, and the candidate whose GPUs hold the most memory each
    among those with `requested` GPUs (None when none has)."""
    largest = max((n.gpu_count for n in candidates), default=0)
    able = [n for n in candidates if n.gpu_count >= requested]
    return largest, max(able, key=per_gpu_memory) if able else None


def _check_requested_gpus(entry: ModelEntry, label: str, largest: int, best: GPUNode | None, checked: Findings) -> None:
    """The pod's `gpu_count` must fit on one node (it would stay Pending forever otherwise), and the
    GPUs it gets there should hold the model's `min_vram`."""
    requested = entry.deployment_config.gpu_count
    if best is None or requested > largest:
        checked.problems.append(
            Problem(
                f"{label} deployment_config.gpu_count",
                f"a replica requests {requested} GPUs but no GPU node has that many (the most on one node is {largest}); "
                "the pod would stay Pending",
            )
        )
        return
    gpu = entry.requirements.gpu
    if gpu is None:
        return
    held = per_gpu_memory(best) * requested
    if held < quantity_value(gpu.min_vram):
        checked.warnings.append(
            f"{label} requirements.gpu: the {requested} GPU{'s a replica requests hold' if requested != 1 else ' a replica requests holds'} "
            f"{format_memory(held)} on the best node ({best.node_name}: {format_memory(per_gpu_memory(best))} per GPU), "
            f"less than min_vram {gpu.min_vram}; raise deployment_config.gpu_count or use larger GPUs"
        )


def check(spec: StackSpec, facts: ClusterFacts, labels: list[str]) -> Findings:
    checked = Findings()
    if not facts.known:
        checked.warnings.append(
            "no cluster inventory (model-fleet:cluster) and no live cluster (model-fleet:kubernetes): "
            "GPU and CRD checks skipped, no ServiceMonitor declared"
        )
        return checked
    if not facts.has_crd(SERVICE_MONITOR_CRD):
        checked.warnings.append(f"{SERVICE_MONITOR_CRD} not installed: no ServiceMonitor declared")

    # A fleet repeats a few requirements many times: the nodes that answer each are found once,
    # so the checks take one pass over the nodes per distinct requirement, not per model.
    @functools.cache
    def fitting_nodes(min_gpus: int, min_vram: str) -> tuple[GPUNode, ...]:
        return tuple(n for n in facts.gpu_nodes if node_fits(n, min_gpus, min_vram))

    @functools.cache
    def placement(min_gpus: int, min_vram: str, requested: int) -> tuple[int, GPUNode | None]:
        return _placement(fitting_nodes(min_gpus, min_vram) or facts.gpu_nodes, requested)

    for entry, label in zip(spec.models, labels, strict=True):
        config = entry.deployment_config
        if config.enable_autoscaling and not facts.has_crd(AIBRIX_CRD):
            checked.problems.append(
                Problem(f"{label} deployment_config.enable_autoscaling", "aibrix CRD not found - required for model deployment")
            )
        min_gpus, min_vram = gpu_floor(entry)
        if min_gpus > 0 and not fitting_nodes(min_gpus, min_vram):
            checked.problems.append(
                Problem(
                    f"{label} requirements.gpu",
                    f"no GPU node can satisfy the requirements: min {min_gpus} GPUs with {min_vram} VRAM",
                )
            )
        elif config.gpu_count > 0:
            _check_requested_gpus(entry, label, *placement(min_gpus, min_vram, config.gpu_count), checked)

    demand = [(e.name, e.deployment_config.fewest_replicas, e.deployment_config.gpu_count) for e in spec.models]
    needed = sum(replicas * gpus for _, replicas, gpus in demand)
    total = sum(n.gpu_count for n in facts.gpu_nodes)
    if needed > total:
        parts = ", ".join(f"{name} {replicas}x{gpus}" for name, replicas, gpus in demand if replicas * gpus)
        checked.problems.append(
            Problem("models", f"the fleet needs {needed} GPUs at its minimum scale but the cluster has {total} ({parts})")
        )
    return checked
