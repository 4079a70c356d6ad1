"""Cluster facts from the inventory or a live API server, and the checks on them."""

from __future__ import annotations

import json

import pytest

from components.commands.cli import main as cli
from components.contract import config, preflight
from components.contract.problems import ProblemsFound
from harness.factories import DELETE, entry, gpu_entry, stack, write_stack
from tests.kube_api import FakeKubeAPI, deployment, node


@pytest.mark.unit
@pytest.mark.parametrize(
    ("gpus", "vram", "fits"),
    [(1, "40Gi", True), (2, "80Gi", True), (2, "81Gi", False), (3, "1Gi", False), (1, "41Gi", True), (1, "81Gi", False)],
)
def test_node_fits_when_its_gpus_reach_min_gpus_and_its_total_vram_reaches_min_vram(gpus, vram, fits):
    node_ = preflight.GPUNode(node_name="n", gpu_count=2, gpu_type="a100", total_vram="80Gi")
    assert preflight.node_fits(node_, gpus, vram) is fits


# The deployment API's own status example: one node with 2 GPUs and 40Gi in all.
SEED_CLUSTER = {
    "total_nodes": 3,
    "gpu_nodes": [{"node_name": "gpu-node-1", "gpu_count": 2, "gpu_type": "nvidia-a100", "total_vram": "40Gi", "available_vram": "38Gi"}],
    # The seed's example reports envoy_gateway_ok: true.
    "crds": ["podautoscalers.autoscaling.aibrix.ai", "servicemonitors.monitoring.coreos.com", "gatewayclasses.gateway.networking.k8s.io"],
}


@pytest.mark.unit
def test_the_apis_own_create_body_passes_on_its_own_status_example_with_a_memory_warning():
    raw = stack(entry(**{"deployment_config.enable_pvc": False}), cluster=SEED_CLUSTER)
    loaded = config.load(raw, source="t")
    assert loaded.warnings == [
        "models[0] (qwen3-coder-30b) requirements.gpu: the 1 GPU a replica requests holds 20Gi on the best node "
        "(gpu-node-1: 20Gi per GPU), less than min_vram 24Gi; raise deployment_config.gpu_count or use larger GPUs"
    ]


@pytest.mark.unit
def test_requested_gpus_must_fit_on_one_node():
    raw = stack(
        gpu_entry("wide", 1, "24Gi", **{"requirements.gpu.max_gpus": 4, "deployment_config.gpu_count": 4}),
        cluster={**SEED_CLUSTER, "gpu_nodes": SEED_CLUSTER["gpu_nodes"] * 2},
    )
    raw["cluster"]["gpu_nodes"][1] = {**raw["cluster"]["gpu_nodes"][1], "node_name": "gpu-node-2"}
    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="t")
    assert [str(p) for p in caught.value.problems] == [
        "models[0] (wide) deployment_config.gpu_count: a replica requests 4 GPUs but no GPU node has that many "
        "(the most on one node is 2); the pod would stay Pending"
    ]


@pytest.mark.unit
def test_no_memory_warning_when_the_requested_gpus_hold_min_vram():
    raw = stack(gpu_entry("fits", 2, "40Gi", **{"deployment_config.enable_pvc": False}), cluster=SEED_CLUSTER)
    assert config.load(raw, source="t").warnings == []


@pytest.mark.unit
def test_no_gpu_node_message_is_the_apis():
    raw = stack(gpu_entry("big", 2, "48Gi"))
    raw["cluster"]["gpu_nodes"] = [{"node_name": "n", "gpu_count": 1, "gpu_type": "l4", "total_vram": "24Gi"}]
    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="t")
    assert [str(p) for p in caught.value.problems] == [
        "models[0] (big) requirements.gpu: no GPU node can satisfy the requirements: min 2 GPUs with 48Gi VRAM",
        "models: the fleet needs 2 GPUs at its minimum scale but the cluster has 1 (big 1x2)",
    ]


@pytest.mark.unit
def test_fleet_minimum_gpu_demand_must_fit_the_cluster():
    # Each model fits a node alone; together at minimum scale they need 4 GPUs of 3.
    raw = stack(
        gpu_entry("a", 1, "24Gi", **{"deployment_config.autoscaling_config.min_replicas": 2}),
        gpu_entry("b", 2, "48Gi"),
    )
    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="t")
    assert [str(p) for p in caught.value.problems] == [
        "models: the fleet needs 4 GPUs at its minimum scale but the cluster has 3 (a 2x1, b 1x2)"
    ]


@pytest.mark.unit
def test_replicas_count_when_autoscaling_is_off():
    raw = stack(gpu_entry("a", 1, "24Gi", **{"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 4}))
    with pytest.raises(ProblemsFound, match="the fleet needs 4 GPUs"):
        config.load(raw, source="t")


@pytest.mark.unit
def test_routing_by_aibrix_needs_aibrix_and_envoy_gateway_as_the_seed_says():
    raw = stack(entry("a", **{"deployment_config.enable_autoscaling": False}))
    raw["cluster"]["crds"] = []
    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="t")
    assert caught.value.report().splitlines()[1:] == [
        "  - routing: aibrix CRD not found - required for routing aibrix, which every model of the stack uses; install AIBrix or set routing",
        "  - routing: envoy gateway CRD not found (gatewayclasses.gateway.networking.k8s.io) - required for routing aibrix, which every "
        "model of the stack uses: AIBrix's gateway is an Envoy Gateway; install it, or set routing to inference-pool or none",
    ]
    # A model that is neither autoscaled nor routed by AIBrix needs neither.
    raw["routing"] = {"mode": "none"}
    loaded = config.load(raw, source="t")
    assert loaded.warnings == ["servicemonitors.monitoring.coreos.com not installed: no ServiceMonitor declared"]


@pytest.mark.unit
def test_status_has_the_apis_shape():
    loaded = config.load(stack(entry()), source="t")
    status = loaded.facts.status()
    assert status["has_gpus"] is True and status["total_nodes"] == 3 and status["total_gpus"] == 3
    assert status["gpu_nodes"][0] == {
        "node_name": "gpu-node-1",
        "gpu_count": 2,
        "gpu_type": "nvidia-a100",
        "total_vram": "80Gi",
        "available_vram": "80Gi",
    }
    assert (status["aibrix_ok"], status["gpu_operator_ok"], status["kuberay_ok"], status["envoy_gateway_ok"]) == (True, False, False, True)


@pytest.mark.loopback
def test_live_cluster_is_read_with_the_kubernetes_client(tmp_path):
    nodes = [node("cpu-1"), node("gpu-a", 4, "NVIDIA-A100-SXM4-80GB", "81920"), node("gpu-b", 1, "NVIDIA-L4")]
    with FakeKubeAPI(nodes, ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"]) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        raw = stack(gpu_entry("a", 2, "160Gi"), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig), "context": "test"})
        loaded = config.load(raw, source="t")

    assert loaded.facts.source == "live"
    assert loaded.facts.total_nodes == 3
    assert [(n.node_name, n.gpu_count, n.gpu_type, n.total_vram) for n in loaded.facts.gpu_nodes] == [
        ("gpu-a", 4, "NVIDIA-A100-SXM4-80GB", "327680Mi"),
        ("gpu-b", 1, "NVIDIA-L4", "0Mi"),
    ]
    assert "/api/v1/nodes" in [p.split("?")[0] for p in api.paths]


@pytest.mark.loopback
def test_unreachable_or_forbidden_cluster_is_one_clear_problem(tmp_path):
    with FakeKubeAPI([], [], fail=True) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        raw = stack(entry(), kubernetes={"kubeconfig": str(kubeconfig)})
        with pytest.raises(ProblemsFound) as caught:
            config.load(raw, source="t")
    (problem,) = caught.value.problems
    assert problem.where == "kubernetes"
    assert problem.message == f"cannot read the cluster at {api.url}: Forbidden"


@pytest.mark.loopback
def test_models_all_lists_unmanaged_models_of_the_live_cluster(tmp_path, capsys):
    live = [
        deployment("qwen3-coder-30b", "jan-models", ready=2, replicas=2),
        deployment("external-model", "default", ready=0, replicas=1),
    ]
    nodes = [node("gpu-a", 2, "A100", "40960")]
    with FakeKubeAPI(nodes, ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"], live) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        write_stack(tmp_path, stack(entry(), entry("other"), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}))
        code = cli(["models", "--stack", "dev", "--project-dir", str(tmp_path), "--all", "--json"])

    listed = json.loads(capsys.readouterr().out)
    assert code == 0 and listed["total"] == 3
    by_name = {m["name"]: m for m in listed["models"]}
    assert (by_name["qwen3-coder-30b"]["is_managed"], by_name["qwen3-coder-30b"]["status"], by_name["qwen3-coder-30b"]["replicas"]) == (
        True,
        "running",
        2,
    )
    assert (by_name["other"]["is_managed"], by_name["other"]["status"]) == (True, "not deployed")
    assert by_name["external-model"] == {
        "name": "external-model",
        "namespace": "default",
        "status": "creating",
        "replicas": 1,
        "created_at": "2025-01-01T10:00:00Z",
        "is_managed": False,
    }


@pytest.mark.unit
def test_models_all_needs_a_live_cluster(tmp_path, capsys):
    write_stack(tmp_path, stack(entry()))
    assert cli(["models", "--stack", "dev", "--project-dir", str(tmp_path), "--all"]) == 2
    assert "--all lists models found in a live cluster" in capsys.readouterr().err
