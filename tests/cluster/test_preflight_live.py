"""The preflight and the commands against a real API server: real node objects, real CRDs."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from components.contract.spec import AIBRIX_CRD
from harness.factories import gpu_entry, write_stack
from tests import schemas
from tests.cluster.contents import NODES, install_crds
from tests.cluster.kube import wait_until

pytestmark = pytest.mark.cluster


def test_status_reports_the_kwok_nodes_and_the_installed_crds(cluster):
    reported = cluster.command_json("status")["cluster_status"]

    gpu_nodes = [
        {
            "node_name": n.name,
            "gpu_count": n.gpus,
            "gpu_type": n.product,
            "total_vram": f"{n.gpus * n.memory_mib}Mi",
            "available_vram": f"{n.gpus * n.memory_mib}Mi",
        }
        for n in sorted(NODES, key=lambda n: n.name)
        if n.gpus
    ]
    assert reported == {
        "has_gpus": True,
        "total_nodes": 3,
        "gpu_nodes": gpu_nodes,
        "total_gpus": 6,
        "gpu_operator_ok": True,
        "aibrix_ok": True,
        "kuberay_ok": True,
        "envoy_gateway_ok": True,
        "prometheus_operator_ok": True,
        "inference_pool_ok": True,
        "http_route_ok": True,
        "source": "live",
    }
    assert [n["node_name"] for n in gpu_nodes] == ["gpu-a100-0", "gpu-l4-0"]
    assert gpu_nodes[0]["total_vram"] == "327680Mi"


def test_the_stack_passes_the_live_preflight(cluster):
    result = cluster.command("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Pulumi.cluster.yaml: 1 model valid, cluster facts from live\n"


def _delete_crd(api, name: str) -> None:
    extensions = client.ApiextensionsV1Api(api)
    extensions.delete_custom_resource_definition(name)

    def gone() -> bool:
        try:
            extensions.read_custom_resource_definition(name)
        except ApiException as err:
            return err.status == 404
        return False

    wait_until(f"CRD {name} deleted", gone, timeout=60)


def test_without_the_aibrix_crd_an_autoscaled_model_is_refused_with_the_seeds_message(cluster):
    _delete_crd(cluster.api, AIBRIX_CRD)
    try:
        result = cluster.command("check")
    finally:
        install_crds(cluster.api, schemas.crd_files())

    assert result.returncode == 1
    assert result.stderr == (
        "Pulumi.cluster.yaml: 1 problem found; nothing was changed\n"
        "  - models[0] (qwen3-coder-30b) deployment_config.enable_autoscaling: aibrix CRD not found - required for model deployment\n"
    )


def test_a_model_no_node_can_hold_gets_the_seeds_capacity_message(cluster, tmp_path):
    # The A100 node has the most: 4 GPUs with 4 x 80Gi = 320Gi; the L4 node 2 with 2 x 22.5Gi.
    kubernetes = {"kubeconfig": str(cluster.plane.kubeconfig)}
    write_stack(tmp_path, {"kubernetes": kubernetes, "models": [gpu_entry("too-big", 4, "400Gi")]}, name="cluster")
    refused = cluster.command("check", project_dir=tmp_path)
    write_stack(tmp_path, {"kubernetes": kubernetes, "models": [gpu_entry("just-fits", 4, "320Gi")]}, name="cluster")
    accepted = cluster.command("check", project_dir=tmp_path)

    assert refused.returncode == 1
    assert refused.stderr == (
        "Pulumi.cluster.yaml: 1 problem found; nothing was changed\n"
        "  - models[0] (too-big) requirements.gpu: no GPU node can satisfy the requirements: min 4 GPUs with 400Gi VRAM\n"
    )
    assert accepted.returncode == 0, accepted.stderr
