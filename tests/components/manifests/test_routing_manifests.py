"""The routing builders: an InferencePool per version, one HTTPRoute per model, valid against the real CRDs."""

from __future__ import annotations

import jsonschema
import pytest

from components import manifest_files
from components.contract import config
from components.contract.spec import EndpointPicker, GatewayRef, StackSpec
from components.manifests import http_route, inference_pool, objects
from components.manifests.labels import labels
from harness.factories import DELETE, entry, pooled_stack, stack
from tests import schemas

pytestmark = pytest.mark.unit
NS = "jan-models"
POOLED = {
    "mode": "inference-pool",
    "endpoint_picker": {"service": "vllm-epp", "port": 9002, "failure_mode": "FailOpen"},
    "gateway": {"name": "inference-gateway", "namespace": "gateway-system", "section_name": "http"},
}
CANARY = {"version": "v2", "weight": 10, "image": "vllm/vllm-openai:v0.11.0"}


def spec_of(*entries: dict, routing: dict | None = None) -> StackSpec:
    # {}: the stack's default routing, aibrix (pooled_stack would read it as its own).
    raw = stack(*entries, routing=routing) if routing == {} else pooled_stack(*entries, routing=routing or POOLED)
    return config.load(raw, source="t").spec


def declared(spec: StackSpec) -> dict[tuple[str, str], dict]:
    """(kind, name) -> manifest of every object the stack's versions declare."""
    return {
        (m["kind"], m["metadata"]["name"]): m
        for version, routing in objects.versions(spec)
        for _, m in objects.model_objects(version, objects.Context(NS, spec.monitoring, service_monitor_enabled=True), routing=routing)
    }


def test_a_model_routed_by_inference_pool_gets_its_pool_and_its_route():
    found = declared(spec_of(entry()))
    pool, route = found[("InferencePool", "qwen3-coder-30b")], found[("HTTPRoute", "qwen3-coder-30b")]
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool["spec"] == {
        "selector": {"matchLabels": found[("Deployment", "qwen3-coder-30b")]["spec"]["selector"]["matchLabels"]},
        "targetPorts": [{"number": 8000}],
        "endpointPickerRef": {"name": "vllm-epp", "port": {"number": 9002}, "failureMode": "FailOpen"},
    }
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"name": "inference-gateway", "namespace": "gateway-system", "sectionName": "http"}],
        "rules": [
            {
                "matches": [{"headers": [{"type": "Exact", "name": "X-Gateway-Model-Name", "value": "qwen3-coder-30b"}]}],
                "backendRefs": [
                    {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "qwen3-coder-30b", "weight": 100}
                ],
            }
        ],
    }
    for manifest in (pool, route):
        assert manifest["metadata"] == {"name": "qwen3-coder-30b", "namespace": NS, "labels": labels(spec_of(entry()).models[0])}


def test_the_route_matches_the_model_id_clients_call():
    unnamed = entry(
        **{
            "deployment_config.command": ["vllm", "serve", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"],
            "deployment_config.args": [],
            "deployment_config.enable_autoscaling": False,
        }
    )
    route = declared(spec_of(unnamed))[("HTTPRoute", "qwen3-coder-30b")]
    (header,) = route["spec"]["rules"][0]["matches"][0]["headers"]
    assert header["value"] == "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"


def test_the_gateway_namespace_and_section_are_left_to_their_defaults_when_unset():
    route = http_route.build(spec_of(entry()).models[0], NS, GatewayRef(name="gw"), "m", [("m", 100)])
    assert route["spec"]["parentRefs"] == [{"name": "gw"}]


def test_aibrix_and_none_routing_declare_no_pool_and_no_route():
    for routing in ({}, {"mode": "none"}):
        kinds = {kind for kind, _ in declared(spec_of(entry(), routing=routing))}
        assert kinds == {"Deployment", "Service", "ServiceMonitor", "PodAutoscaler", "PersistentVolumeClaim"}


def test_a_model_may_route_otherwise_than_its_stack():
    spec = spec_of(entry("a"), entry("b", routing="aibrix"))
    assert {(kind, name) for kind, name in declared(spec) if kind in ("InferencePool", "HTTPRoute")} == {
        ("InferencePool", "a"),
        ("HTTPRoute", "a"),
    }


def test_a_canary_is_a_second_version_with_its_own_pool_and_the_models_route_splits_by_weight():
    spec = spec_of(entry(canary=CANARY), entry("bge"))
    assert [(version.name, routing.route is not None) for version, routing in objects.versions(spec) if routing] == [
        ("qwen3-coder-30b", True),
        ("qwen3-coder-30b-v2", False),
        ("bge", True),
    ]
    found = declared(spec)
    assert [name for kind, name in found if kind == "HTTPRoute"] == ["qwen3-coder-30b", "bge"]
    backends = found[("HTTPRoute", "qwen3-coder-30b")]["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [("qwen3-coder-30b", 90), ("qwen3-coder-30b-v2", 10)]
    canary = found[("Deployment", "qwen3-coder-30b-v2")]
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == "vllm/vllm-openai:v0.11.0"
    assert found[("Deployment", "qwen3-coder-30b")]["spec"]["template"]["spec"]["containers"][0]["image"] != "vllm/vllm-openai:v0.11.0"


def test_no_pool_selects_the_pods_of_another_version_or_model():
    on_cpu = {"requirements.gpu": DELETE, "deployment_config.gpu_count": 0}
    found = declared(spec_of(entry(canary=CANARY), entry("qwen3-coder-30b-v3", **on_cpu), entry("bge", **on_cpu)))
    pools = {name: m["spec"]["selector"]["matchLabels"] for (kind, name), m in found.items() if kind == "InferencePool"}
    pod_labels = {name: m["spec"]["template"]["metadata"]["labels"] for (kind, name), m in found.items() if kind == "Deployment"}
    assert set(pools) == set(pod_labels) == {"qwen3-coder-30b", "qwen3-coder-30b-v2", "qwen3-coder-30b-v3", "bge"}
    for pool, selector in pools.items():
        selected = {pods for pods, carried in pod_labels.items() if selector.items() <= carried.items()}
        assert selected == {pool}


def test_render_mode_writes_the_pools_and_the_route_and_drops_a_removed_canarys(tmp_path):
    spec = spec_of(entry(canary=CANARY))
    facts = config.load(pooled_stack(entry(canary=CANARY), routing=POOLED), source="t").facts
    files = manifest_files.render(spec, facts)
    assert {"inferencepool-jan-models-qwen3-coder-30b.yaml", "inferencepool-jan-models-qwen3-coder-30b-v2.yaml"} <= set(files)
    assert "httproute-jan-models-qwen3-coder-30b.yaml" in files
    manifest_files.write(manifest_files.plan(tmp_path, files))

    without = manifest_files.render(spec_of(entry()), facts)
    done = manifest_files.write(manifest_files.plan(tmp_path, without))
    assert sorted(n for n in done.deleted if "v2" in n) == sorted(n for n in files if "v2" in n)
    assert "httproute-jan-models-qwen3-coder-30b.yaml" in done.written


@pytest.mark.parametrize("overrides", [{}, {"routing": {**POOLED, "gateway": {"name": "gw"}}}])
def test_pools_and_routes_validate_against_the_real_crds(overrides):
    spec = spec_of(entry(canary=CANARY), entry("bge"), routing=overrides.get("routing"))
    routed = [m for (kind, _), m in declared(spec).items() if kind in ("InferencePool", "HTTPRoute")]
    assert len(routed) == 5
    for manifest in routed:
        schemas.validate(manifest)


def test_the_schema_check_catches_mistakes_in_pools_and_routes():
    model = spec_of(entry()).models[0]
    pool = inference_pool.build(model, NS, EndpointPicker(service="epp", port=9002))
    pool["spec"]["targetPorts"] = [{"number": 70000}]
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(pool)
    route = http_route.build(model, NS, GatewayRef(name="gw"), "m", [("m", 100)])
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(route)
    route["spec"]["rules"][0]["backendRefs"][0] = {"name": "m", "weigth": 1}
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(route)
