"""Cluster facts (from the stack's inventory or read live) and the checks a fleet must pass on them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components.contract import live_cluster
from components.contract.field_problems import shown
from components.contract.live_cluster import PreflightError as PreflightError
from components.contract.problems import Findings, Problem
from components.contract.spec import (
    AIBRIX_CRD,
    ENVOY_GATEWAY_CRD,
    GPU_OPERATOR_CRD,
    HTTP_ROUTE_CRD,
    INFERENCE_POOL_CRD,
    KUBERAY_CRD,
    MAX_GPUS_PER_REPLICA,
    QUANTITY,
    SERVICE_MONITOR_CRD,
    GPUNode,
    ModelEntry,
    Routing,
    StackSpec,
    quantity_value,
)

GPU_RESOURCE = "nvidia.com/gpu"
# GPU feature discovery labels: product name, per-GPU memory in MiB, the physical GPUs, and how many
# shares of each the device plugin advertises when it time-slices them.
GFD_PRODUCT_LABEL = "nvidia.com/gpu.product"
GFD_MEMORY_LABEL = "nvidia.com/gpu.memory"
GFD_COUNT_LABEL = "nvidia.com/gpu.count"
GFD_REPLICAS_LABEL = "nvidia.com/gpu.replicas"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@dataclass(frozen=True)
class ClusterFacts:
    source: str  # "inventory", "live" or "none"
    total_nodes: int = 0
    gpu_nodes: tuple[GPUNode, ...] = ()
    crds: frozenset[str] = frozenset()
    # What reading a live cluster left out or read another way, one line each, saying why.
    notes: tuple[str, ...] = ()

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
            "inference_pool_ok": self.has_crd(INFERENCE_POOL_CRD),
            "http_route_ok": self.has_crd(HTTP_ROUTE_CRD),
            "source": self.source,
        }


def _whole_number(value: Any) -> int | None:
    """A count as the API server writes it (a quantity string such as "4"), or None when it is not a
    whole number of at most 12 digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10**12 else None
    if not isinstance(value, str) or len(value) > 24 or QUANTITY.fullmatch(value) is None:
        return None
    try:
        amount = quantity_value(value)
    except (ValueError, ArithmeticError):
        return None
    return int(amount) if amount.is_finite() and amount == amount.to_integral_value() and 0 <= amount < 10**12 else None


def _digits(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() and len(value) <= 12 else None


def _node_from_live(item: dict[str, Any], name: str, notes: list[str]) -> GPUNode | None:
    """The GPU node a live Node object describes, or None; whatever was read another way or left out
    gets a line in `notes`."""
    shown_name = shown(name)
    capacity = live_cluster.mapping(item, "status", "capacity")
    if capacity is None:
        notes.append(f"node {shown_name} has no status.capacity: counted without GPUs")
        return None
    advertised = capacity.get(GPU_RESOURCE)
    if advertised is None:
        return None
    count = _whole_number(advertised)
    if count is None:
        notes.append(
            f"node {shown_name}: {GPU_RESOURCE} capacity {shown(repr(advertised))} is not a whole number of GPUs: counted without GPUs"
        )
        return None
    if count == 0:
        return None
    labels = live_cluster.labels(item)
    shares = _digits(labels.get(GFD_REPLICAS_LABEL))
    if shares is not None and shares > 1:
        # Time-slicing advertises each GPU as `shares` GPUs; a replica given two shares may well get
        # one GPU twice, so the memory and the fit are the physical GPUs'.
        physical = min(_digits(labels.get(GFD_COUNT_LABEL)) or count // shares, count)
        notes.append(
            f"node {shown_name}: its {count} {GPU_RESOURCE} are time-sliced shares ({GFD_REPLICAS_LABEL}={shares}) "
            f"of {physical} GPU{'s' if physical != 1 else ''}: counted as {physical}"
        )
        count = physical
        if count == 0:
            return None
    if count > MAX_GPUS_PER_REPLICA:
        notes.append(
            f"node {shown_name} advertises {count} {GPU_RESOURCE}, more than the {MAX_GPUS_PER_REPLICA} a replica can request, "
            f"and no {GFD_REPLICAS_LABEL} label says they are time-sliced shares: counted without GPUs"
        )
        return None
    memory = labels.get(GFD_MEMORY_LABEL)
    per_gpu_mib = _digits(memory)
    if per_gpu_mib is None:
        why = f"no {GFD_MEMORY_LABEL} label" if memory is None else f"{GFD_MEMORY_LABEL} {shown(repr(memory))} is not a number of MiB"
        notes.append(f"node {shown_name} has {why} (GPU feature discovery): its GPU memory counts as 0")
    total = f"{(per_gpu_mib or 0) * count}Mi"
    return GPUNode(node_name=name, gpu_count=count, gpu_type=labels.get(GFD_PRODUCT_LABEL, ""), total_vram=total)


def read_live_nodes(spec: StackSpec) -> ClusterFacts:
    from kubernetes import client

    cluster = live_cluster.LiveCluster(spec, "cannot read the cluster")
    nodes, crds = cluster.read(
        live_cluster.ListRequest("/api/v1/nodes", "NodeList", client.CoreV1Api(cluster.api).list_node),
        live_cluster.ListRequest(
            CRD_PATH, "CustomResourceDefinitionList", client.ApiextensionsV1Api(cluster.api).list_custom_resource_definition
        ),
    )
    notes = nodes.skipped + crds.skipped
    named = []
    for index, item in enumerate(nodes.items):
        name = live_cluster.text(item, "metadata", "name")
        if name:
            named.append((name, item))
        else:
            notes.append(f"NodeList item {index} skipped: no metadata.name")
    gpu_nodes = tuple(n for n in (_node_from_live(item, name, notes) for name, item in named) if n is not None)
    crd_names = set()
    for index, item in enumerate(crds.items):
        name = live_cluster.text(item, "metadata", "name")
        if name:
            crd_names.add(name)
        else:
            notes.append(f"CustomResourceDefinitionList item {index} skipped: no metadata.name")
    return ClusterFacts("live", len(named), gpu_nodes, frozenset(crd_names), tuple(notes))


def gather(spec: StackSpec) -> ClusterFacts:
    if spec.kubernetes.live:
        return read_live_nodes(spec)
    if spec.cluster is not None:
        inventory = spec.cluster
        total = inventory.total_nodes if inventory.total_nodes is not None else len(inventory.gpu_nodes)
        return ClusterFacts("inventory", total, tuple(inventory.gpu_nodes), frozenset(inventory.crds))
    return ClusterFacts("none")


def deploy_target_problem(spec: StackSpec) -> Problem | None:
    """A stack that applies to a cluster and names none (no kubeconfig, context or inventory) deploys
    with the kubeconfig kubectl would use; when there is none, nothing could deploy it."""
    kubernetes = spec.kubernetes
    if kubernetes.render_yaml_to_directory is not None or kubernetes.live or spec.cluster is not None:
        return None
    paths = live_cluster.kubeconfig_paths(spec)
    if any(path.is_file() for path in paths):
        return None
    missing = ", ".join(shown(str(path)) for path in paths)
    return Problem(
        "kubernetes",
        f"the stack applies to a cluster but names none, and there is no kubeconfig to apply with ({missing} does not exist): "
        "set kubernetes.kubeconfig or kubernetes.context, describe the cluster in model-fleet:cluster, "
        "or set kubernetes.render_yaml_to_directory to write manifests instead",
    )


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
            f"{format_memory(held)} on the best node ({shown(best.node_name)}: {format_memory(per_gpu_memory(best))} per GPU), "
            f"less than min_vram {gpu.min_vram}; raise deployment_config.gpu_count or use larger GPUs"
        )


# What routing by inference-pool declares: each kind's CRD, by the name the messages give it.
ROUTING_CRDS = (("InferencePool", INFERENCE_POOL_CRD), ("HTTPRoute", HTTP_ROUTE_CRD))


def _check_routing_crds(spec: StackSpec, facts: ClusterFacts, labels: list[str], checked: Findings) -> None:
    """The models routed by inference-pool declare an InferencePool and an HTTPRoute: the cluster
    must know both kinds, or applying them fails after the servers are up. The models routed by
    aibrix are reached through AIBrix's gateway, an Envoy Gateway: the seed's prerequisites,
    AIBrix and Envoy Gateway, must be installed."""

    def users_of(routing: Routing) -> str | None:
        users = [label for entry, label in zip(spec.models, labels, strict=True) if spec.routing_of(entry) is routing]
        return None if not users else "every model of the stack" if len(users) == len(spec.models) else ", ".join(users)

    if (pooled := users_of(Routing.inference_pool)) is not None:
        for kind, crd in ROUTING_CRDS:
            if not facts.has_crd(crd):
                checked.problems.append(
                    Problem("routing", f"{kind} CRD not found ({crd}) - required for routing inference-pool, which {pooled} uses")
                )
    if (gatewayed := users_of(Routing.aibrix)) is not None:
        # An autoscaled model reports a missing AIBrix CRD on its own entry already.
        autoscaled = all(e.deployment_config.enable_autoscaling for e in spec.models if spec.routing_of(e) is Routing.aibrix)
        if not facts.has_crd(AIBRIX_CRD) and not autoscaled:
            checked.problems.append(
                Problem(
                    "routing", f"aibrix CRD not found - required for routing aibrix, which {gatewayed} uses; install AIBrix or set routing"
                )
            )
        if not facts.has_crd(ENVOY_GATEWAY_CRD):
            checked.problems.append(
                Problem(
                    "routing",
                    f"envoy gateway CRD not found ({ENVOY_GATEWAY_CRD}) - required for routing aibrix, which {gatewayed} uses: "
                    "AIBrix's gateway is an Envoy Gateway; install it, or set routing to inference-pool or none",
                )
            )


def check(spec: StackSpec, facts: ClusterFacts, labels: list[str]) -> Findings:
    checked = Findings(warnings=list(facts.notes))
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

    _check_routing_crds(spec, facts, labels, checked)
    # A canary runs beside its model, on GPUs of its own.
    versions = [v for e in spec.models for v in (e, e.canary_entry()) if v is not None]
    demand = [(v.name, v.deployment_config.fewest_replicas, v.deployment_config.gpu_count) for v in versions]
    needed = sum(replicas * gpus for _, replicas, gpus in demand)
    total = sum(n.gpu_count for n in facts.gpu_nodes)
    if needed > total:
        parts = ", ".join(f"{name} {replicas}x{gpus}" for name, replicas, gpus in demand if replicas * gpus)
        checked.problems.append(
            Problem("models", f"the fleet needs {needed} GPUs at its minimum scale but the cluster has {total} ({parts})")
        )
    return checked
