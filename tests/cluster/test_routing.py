"""Routing by inference-pool on a real API server: the real InferencePool and HTTPRoute CRDs, a
fleet with a canary applied, each pool holding exactly its version's pods, the route's weights
as configured, and a weight change one in-place update of the route alone."""

from __future__ import annotations

import pytest
from kubernetes import client

from components.contract.spec import HTTP_ROUTE_CRD, INFERENCE_POOL_CRD
from components.manifests.labels import MODEL_NAME_LABEL
from harness.factories import DELETE, POOL_ROUTING, entry, gpu_entry
from tests.cluster import fleet
from tests.cluster.kube import apply, wait_until

pytestmark = pytest.mark.cluster
CODER, EMBED = "coder", "embed"
CANARY_IMAGE = "vllm/vllm-openai:v0.11.0"


def entries(weight: int) -> list[dict]:
    """A GPU model of two replicas with a canary (two replicas of its own, another image), and a CPU model."""
    fixed = {"deployment_config.enable_autoscaling": False, "deployment_config.enable_pvc": False}
    return [
        gpu_entry(
            CODER,
            1,
            "16Gi",
            **fixed,
            **{"deployment_config.replicas": 2},
            canary={"version": "v2", "weight": weight, "image": CANARY_IMAGE},
        ),
        entry(EMBED, model_type="embedding", **fixed, **{"requirements.gpu": DELETE, "deployment_config.gpu_count": 0}),
    ]


def custom(cluster, group: str, plural: str, namespace: str, name: str) -> dict:
    found = client.CustomObjectsApi(cluster.api).get_namespaced_custom_object(group, "v1", namespace, plural, name)
    assert isinstance(found, dict)
    return found


def live_objects(cluster, manifests: list[dict]) -> dict[tuple[str, str], dict]:
    """(kind, name) -> the live object's metadata, for each manifest."""
    found = {}
    for manifest in manifests:
        resource = cluster.dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        meta = manifest["metadata"]
        found[(manifest["kind"], meta["name"])] = resource.get(name=meta["name"], namespace=meta.get("namespace")).to_dict()["metadata"]
    return found


def test_the_routing_crds_are_the_real_ones(cluster):
    extensions = client.ApiextensionsV1Api(cluster.api)
    pool = extensions.read_custom_resource_definition(INFERENCE_POOL_CRD)
    route = extensions.read_custom_resource_definition(HTTP_ROUTE_CRD)
    assert pool.metadata.annotations["inference.networking.k8s.io/bundle-version"] == "v1.6.0"
    assert route.metadata.annotations["gateway.networking.k8s.io/bundle-version"] == "v1.6.3"


def test_a_fleet_with_a_canary_routes_each_versions_pods_by_weight_and_a_weight_change_is_one_update(cluster, namespace):
    kubeconfig = cluster.plane.kubeconfig
    spec = fleet.load(entries(10), namespace, kubeconfig, routing=POOL_ROUTING)
    manifests = fleet.all_manifests(spec)
    assert sorted((m["kind"], m["metadata"]["name"]) for m in manifests if m["kind"] in ("InferencePool", "HTTPRoute")) == [
        ("HTTPRoute", CODER),
        ("HTTPRoute", EMBED),
        ("InferencePool", CODER),
        ("InferencePool", f"{CODER}-v2"),
        ("InferencePool", EMBED),
    ]
    for manifest in manifests:
        apply(cluster.dynamic, manifest)

    pods = {
        name: fleet.available(cluster.api, namespace, name, replicas) for name, replicas in ((CODER, 2), (f"{CODER}-v2", 2), (EMBED, 1))
    }
    assert {p.spec.containers[0].image for p in pods[f"{CODER}-v2"]} == {CANARY_IMAGE}
    assert CANARY_IMAGE not in {p.spec.containers[0].image for p in pods[CODER]}

    # Each pool, as the API server holds it, selects exactly its version's pods: no pod is in two pools.
    everyone = {p.metadata.name for p in cluster.core.list_namespaced_pod(namespace).items}
    selected: dict[str, set[str]] = {}
    for name in pods:
        pool = custom(cluster, "inference.networking.k8s.io", "inferencepools", namespace, name)
        assert pool["spec"]["targetPorts"] == [{"number": 8000}]
        assert pool["spec"]["endpointPickerRef"] == {
            "name": "vllm-epp",
            "port": {"number": 9002},
            "failureMode": "FailClose",
            "group": "",
            "kind": "Service",
        }
        labels = ",".join(f"{k}={v}" for k, v in pool["spec"]["selector"]["matchLabels"].items())
        selected[name] = {p.metadata.name for p in cluster.core.list_namespaced_pod(namespace, label_selector=labels).items}
        assert selected[name] == {p.metadata.name for p in pods[name]}, name
    assert sum(len(s) for s in selected.values()) == len(everyone) == 5
    assert set().union(*selected.values()) == everyone

    def weights(name: str) -> list[tuple[str, int]]:
        route = custom(cluster, "gateway.networking.k8s.io", "httproutes", namespace, name)
        (rule,) = route["spec"]["rules"]
        assert rule["matches"][0]["headers"] == [{"type": "Exact", "name": "X-Gateway-Model-Name", "value": name}]
        return [(b["name"], b["weight"]) for b in rule["backendRefs"]]

    assert weights(CODER) == [(CODER, 90), (f"{CODER}-v2", 10)]
    assert weights(EMBED) == [(EMBED, 100)]

    # 10% -> 50%: of every object the builders make, only the route differs, and applying them all
    # updates it in place (same object, next generation) and leaves every other object as it was.
    before = live_objects(cluster, manifests)
    changed = fleet.all_manifests(fleet.load(entries(50), namespace, kubeconfig, routing=POOL_ROUTING))
    assert [(m["kind"], m["metadata"]["name"]) for m in changed if m not in manifests] == [("HTTPRoute", CODER)]
    for manifest in changed:
        apply(cluster.dynamic, manifest)
    after = live_objects(cluster, changed)
    route_before, route_after = before[("HTTPRoute", CODER)], after[("HTTPRoute", CODER)]
    assert route_after["uid"] == route_before["uid"] and route_after["generation"] == route_before["generation"] + 1
    assert {key: meta["resourceVersion"] for key, meta in after.items() if key != ("HTTPRoute", CODER)} == {
        key: meta["resourceVersion"] for key, meta in before.items() if key != ("HTTPRoute", CODER)
    }
    assert weights(CODER) == [(CODER, 50), (f"{CODER}-v2", 50)]
    wait_until("the pods unchanged", lambda: {p.metadata.name for p in cluster.core.list_namespaced_pod(namespace).items} == everyone, 10)
    assert len(cluster.core.list_namespaced_pod(namespace, label_selector=f"{MODEL_NAME_LABEL}={CODER}").items) == 2
