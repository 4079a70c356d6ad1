"""Routing and canaries in the stack config: what each routing needs, in the project's words."""

from __future__ import annotations

import json

import pytest

from components.commands.cli import main as cli
from components.contract import config
from components.contract.spec import Routing
from harness.factories import entry, pooled_stack, problems_of, stack, write_stack

pytestmark = pytest.mark.unit

POOLED = {
    "mode": "inference-pool",
    "endpoint_picker": {"service": "vllm-epp", "port": 9002},
    "gateway": {"name": "inference-gateway"},
}
CANARY = {"version": "v2", "weight": 10, "image": "vllm/vllm-openai:v0.11.0"}


def test_routing_defaults_to_aibrix_and_a_model_may_override_it():
    spec = config.load(stack(entry("a"), entry("b", routing="none")), source="t").spec
    assert spec.routing.mode is Routing.aibrix
    assert [spec.routing_of(m) for m in spec.models] == [Routing.aibrix, Routing.none]


def test_inference_pool_routing_needs_the_endpoint_picker_and_the_gateway():
    assert problems_of(pooled_stack(routing={"mode": "inference-pool"})) == [
        "routing.endpoint_picker: required key is missing: routing inference-pool needs the endpoint picker every "
        "InferencePool names (its Service name and port)",
        "routing.gateway: required key is missing: routing inference-pool needs the Gateway every HTTPRoute attaches to (its name)",
    ]


def test_a_model_routed_by_inference_pool_in_an_aibrix_stack_is_named_in_the_problem():
    assert problems_of(pooled_stack(entry("a"), entry("b", routing="inference-pool"), routing={"gateway": {"name": "gw"}})) == [
        "routing.endpoint_picker: required key is missing: models[1] (b) routes by inference-pool, which needs the endpoint "
        "picker every InferencePool names (its Service name and port)",
    ]


def test_routing_settings_are_checked_where_they_are_written():
    raw = stack(
        routing={
            "mode": "pool",
            "endpoint_picker": {"service": "EPP", "port": 0, "failure_mode": "Open"},
            "gateway": {"name": "gw", "namespace": "Infra", "section_name": "http"},
        }
    )
    assert problems_of(raw) == [
        "routing.mode: Input should be 'aibrix', 'inference-pool' or 'none'",
        "routing.endpoint_picker.service: 'EPP' is not a DNS-1035 label: lowercase letters, digits and '-', starting with "
        "a letter and ending with a letter or digit, at most 63 characters",
        "routing.endpoint_picker.port: Input should be greater than or equal to 1",
        "routing.endpoint_picker.failure_mode: Input should be 'FailOpen' or 'FailClose'",
        "routing.gateway.namespace: 'Infra' is not a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit, at most 63 characters",
    ]


def test_a_canary_is_the_model_under_its_version_suffix_with_its_own_values():
    spec = config.load(
        pooled_stack(entry(canary={**CANARY, "huggingface_id": "Qwen/Qwen3-Coder-30B-A3B-Instruct"}), routing=POOLED), source="t"
    ).spec
    model = spec.models[0]
    canary = model.canary_entry()
    assert canary is not None
    assert (canary.name, canary.huggingface_id, canary.deployment_config.image) == (
        "qwen3-coder-30b-v2",
        "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        "vllm/vllm-openai:v0.11.0",
    )
    assert canary.deployment_config.args == model.deployment_config.args
    assert canary.canary is None and model.canary_entry() == canary


@pytest.mark.parametrize(
    ("routing", "why"),
    [
        (
            {},
            "AIBrix routes by the label model.aibrix.ai/name, one label per model, so it cannot split a model's requests by "
            "weight between two versions",
        ),
        ({"mode": "none"}, "routing none declares no route to split a model's requests by weight"),
    ],
)
def test_a_canary_without_inference_pool_routing_is_refused_saying_what_it_needs(routing, why):
    assert problems_of(stack(entry(canary=CANARY), routing=routing)) == [
        f"models[0] (qwen3-coder-30b) canary: a canary needs routing inference-pool: {why}; set `routing: inference-pool` "
        "on this entry (or model-fleet:routing.mode), or remove the canary",
    ]


def test_the_canarys_command_line_is_held_to_the_models_rules_at_its_own_keys():
    args = ["-c", "python3 -m vllm.entrypoints.openai.api_server --port 8001 --served-model-name other"]
    assert problems_of(pooled_stack(entry(canary={**CANARY, "args": args}), routing=POOLED)) == [
        "models[0] (qwen3-coder-30b) canary.args: --served-model-name 'other' must match model name 'qwen3-coder-30b' "
        "(required by Aibrix for autoscaling)",
        "models[0] (qwen3-coder-30b) canary.args: vLLM --port 8001 must be 8000: the Service, probes and autoscaler use port 8000",
    ]


def test_both_versions_serve_one_model_id():
    model = entry(
        **{
            "deployment_config.command": ["vllm", "serve", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"],
            "deployment_config.args": [],
            "deployment_config.enable_autoscaling": False,
        }
    )
    canary = {**CANARY, "command": ["vllm", "serve", "Qwen/Qwen3-Coder-30B-A3B-Instruct"]}
    assert problems_of(pooled_stack(model | {"canary": canary}, routing=POOLED)) == [
        "models[0] (qwen3-coder-30b) canary.command: the canary serves model ID 'Qwen/Qwen3-Coder-30B-A3B-Instruct' but the "
        "model serves 'Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8': both versions must serve one model ID, the one clients call "
        "and the route matches; add '--served-model-name qwen3-coder-30b' to both",
    ]


def test_no_served_name_warns_about_the_aibrix_gateway_only_under_aibrix_routing():
    unnamed = {
        "deployment_config.command": ["vllm", "serve", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"],
        "deployment_config.args": [],
        "deployment_config.enable_autoscaling": False,
        "deployment_config.enable_pvc": False,
    }
    aibrix = config.load(stack(entry(**unnamed)), source="t").warnings
    pooled = config.load(pooled_stack(entry(**unnamed), routing=POOLED), source="t").warnings
    assert aibrix == [
        "models[0] (qwen3-coder-30b) deployment_config.args: no --served-model-name: clients must call the model by "
        "'Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8', which the AIBrix gateway cannot route (it routes by the label "
        "model.aibrix.ai/name 'qwen3-coder-30b', and a label cannot hold '/'); add '--served-model-name qwen3-coder-30b' "
        "to your vLLM command"
    ]
    assert pooled == []


def test_a_canary_name_may_not_be_another_models_name():
    raw = pooled_stack(entry(canary=CANARY), entry("qwen3-coder-30b-v2"), routing=POOLED)
    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) canary.version: the canary's name 'qwen3-coder-30b-v2' is already used by "
        "models[1] (qwen3-coder-30b-v2)",
    ]


def test_a_canary_name_must_name_every_object_of_the_version():
    long = "m" * 55
    assert problems_of(pooled_stack(entry(long, canary={**CANARY, "version": "version-two"}), routing=POOLED)) == [
        f"models[0] ({long}) canary.version: the canary's name: '{long}-version-two' cannot name a Service: it must be "
        "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, "
        "at most 63 characters",
    ]


def test_canary_settings_are_checked_where_they_are_written():
    assert problems_of(pooled_stack(entry(canary={"version": "V2", "weight": 101, "replicas": 2}), routing=POOLED)) == [
        "models[0] (qwen3-coder-30b) canary.version: 'V2' is not a DNS-1123 label: lowercase letters, digits and '-', "
        "starting and ending with a letter or digit, at most 63 characters",
        "models[0] (qwen3-coder-30b) canary.weight: Input should be less than or equal to 100",
        "models[0] (qwen3-coder-30b) canary.replicas: unknown key 'replicas'",
    ]


def test_the_preflight_refuses_inference_pool_routing_without_its_crds():
    assert problems_of(stack(entry("a"), entry("b", routing="inference-pool"), routing={**POOLED, "mode": "aibrix"})) == [
        "routing: InferencePool CRD not found (inferencepools.inference.networking.k8s.io) - required for routing "
        "inference-pool, which models[1] (b) uses",
        "routing: HTTPRoute CRD not found (httproutes.gateway.networking.k8s.io) - required for routing inference-pool, "
        "which models[1] (b) uses",
    ]
    assert config.load(pooled_stack(entry("a"), entry("b", routing="inference-pool"), routing={**POOLED, "mode": "aibrix"}), source="t")


def test_aibrix_routing_needs_no_routing_crds():
    assert config.load(stack(entry(), routing=POOLED | {"mode": "aibrix"}), source="t").spec.models


def test_a_canary_counts_in_the_fleets_gpus():
    # The inventory has 3 GPUs: two models and a canary of one GPU each fit, a fourth replica does not.
    fits = pooled_stack(entry("a", canary=CANARY), entry("b"), routing=POOLED)
    assert config.load(fits, source="t")
    assert problems_of(pooled_stack(entry("a", canary=CANARY), entry("b", canary=CANARY), routing=POOLED)) == [
        "models: the fleet needs 4 GPUs at its minimum scale but the cluster has 3 (a 1x1, a-v2 1x1, b 1x1, b-v2 1x1)",
    ]


def test_status_reports_the_routing_crds_next_to_the_seeds_fields(tmp_path, capsys):
    status = config.load(pooled_stack(entry()), source="t").facts.status()
    assert (status["inference_pool_ok"], status["http_route_ok"]) == (True, True)
    assert config.load(stack(entry()), source="t").facts.status()["inference_pool_ok"] is False

    write_stack(tmp_path, pooled_stack(entry()))
    assert cli(["status", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-7:] == [
        "  gpu_operator_ok: no",
        "  aibrix_ok: yes",
        "  kuberay_ok: no",
        "  envoy_gateway_ok: yes",
        "  prometheus_operator_ok: yes",
        "  inference_pool_ok: yes",
        "  http_route_ok: yes",
    ]


def test_models_lists_a_canary_as_a_managed_version_serving_the_models_id(tmp_path, capsys):
    write_stack(tmp_path, pooled_stack(entry(canary=CANARY), routing=POOLED))
    assert cli(["models", "--stack", "dev", "--project-dir", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert [(m["name"], m["is_managed"], m["model_id"]) for m in listed] == [
        ("qwen3-coder-30b", True, "qwen3-coder-30b"),
        ("qwen3-coder-30b-v2", True, "qwen3-coder-30b"),
    ]


def test_two_canaries_may_not_take_one_name():
    on_cpu = {"requirements.gpu": None, "deployment_config.gpu_count": 0}
    raw = pooled_stack(entry("a", canary={**CANARY, "version": "b-c"}, **on_cpu), entry("a-b", canary={**CANARY, "version": "c"}, **on_cpu))
    assert problems_of(raw) == [
        "models[1] (a-b) canary.version: the canary's name 'a-b-c' is already used by models[0] (a) canary",
    ]


def test_a_canary_that_changes_only_its_huggingface_id_is_warned_that_its_command_loads_the_old_weights():
    new_weights = {"version": "v2", "weight": 10, "huggingface_id": "Qwen/Qwen3-Coder-30B-A3B-Instruct"}
    warnings = config.load(pooled_stack(entry(canary=new_weights), routing=POOLED), source="t").warnings
    assert (
        "models[0] (qwen3-coder-30b) canary.huggingface_id: the canary's command line still loads "
        "'Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8', not 'Qwen/Qwen3-Coder-30B-A3B-Instruct': set canary.args (or "
        "canary.command) to serve it"
    ) in warnings
    args = [
        "-c",
        "python3 -m vllm.entrypoints.openai.api_server --port 8000 --model Qwen/Qwen3-Coder-30B-A3B-Instruct --served-model-name qwen3-coder-30b",
    ]
    served = config.load(pooled_stack(entry(canary={**new_weights, "args": args}), routing=POOLED), source="t").warnings
    assert not any("canary.huggingface_id" in w for w in served)
