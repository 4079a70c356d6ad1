"""Validation of stack config: defaults, every rule, the deployment API's messages, all problems at once."""

from __future__ import annotations

import json

import pytest
import yaml

from components import config
from components.problems import ConfigError
from tests.factories import DELETE, SEED_REQUEST, entry, gpu_entry, stack, write_stack

pytestmark = pytest.mark.unit


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.load(raw, source="Pulumi.dev.yaml")
    return [str(p) for p in caught.value.problems]


def test_seed_request_body_pasted_as_yaml_is_an_entry(tmp_path):
    body = yaml.safe_load(yaml.safe_dump(SEED_REQUEST))
    del body["deployment_config"]["hugging_face_token"]
    write_stack(tmp_path, stack(body))

    loaded = config.load_stack_file(tmp_path, "dev")

    model = loaded.spec.models[0]
    assert model.name == "qwen3-coder-30b"
    assert model.deployment_config.autoscaling_config.max_replicas == 8
    assert model.deployment_config.extra_env[0].name == "CUDA_VISIBLE_DEVICES"
    assert model.requirements.gpu.min_vram == "24Gi"


def test_seed_token_in_plaintext_is_the_only_problem_and_is_not_echoed(tmp_path):
    write_stack(tmp_path, stack(SEED_REQUEST))

    with pytest.raises(ConfigError) as caught:
        config.load_stack_file(tmp_path, "dev")

    (problem,) = caught.value.problems
    assert problem.where == "models[0] (qwen3-coder-30b) deployment_config.hugging_face_token"
    assert "pulumi config set --secret --path 'model-fleet:models[0].deployment_config.hugging_face_token'" in problem.message
    assert "hf_your_token_here" not in caught.value.report()


def test_token_shaped_string_anywhere_in_the_stack_file_is_an_error(tmp_path):
    token = "hf_" + "a1B2c3D4e5" * 4
    raw = stack(entry(**{"deployment_config.extra_env": [{"name": "HF_TOKEN", "value": token}]}))
    write_stack(tmp_path, raw, extra={"other:setting": f"export TOKEN={token}"})

    with pytest.raises(ConfigError) as caught:
        config.load_stack_file(tmp_path, "dev")

    wheres = [p.where for p in caught.value.problems]
    assert wheres == ["other:setting", "models[0] (qwen3-coder-30b) deployment_config.extra_env[0].value"]
    assert token not in caught.value.report()


def test_encrypted_token_is_accepted(tmp_path):
    raw = stack(entry(**{"deployment_config.hugging_face_token": {"secure": "v1:abc:def"}}))
    write_stack(tmp_path, raw)

    loaded = config.load_stack_file(tmp_path, "dev")

    assert loaded.spec.models[0].deployment_config.hugging_face_token is not None


def test_defaults_are_the_deployment_apis():
    minimal = {
        "name": "tiny",
        "display_name": "Tiny",
        "huggingface_id": "org/tiny",
        "requirements": {"cpu": "1", "memory": "2Gi"},
        "deployment_config": {"image": "vllm/vllm-openai:v0.10.2", "command": ["vllm", "serve", "org/tiny"]},
    }
    spec = config.load(stack(minimal), source="t").spec

    deploy = spec.models[0].deployment_config
    assert (deploy.gpu_count, deploy.initial_delay_seconds, deploy.enable_pvc) == (0, 240, False)
    assert (deploy.storage_class, deploy.enable_autoscaling, deploy.hugging_face_token) == ("", False, None)
    scaling = deploy.autoscaling_config
    assert (scaling.min_replicas, scaling.max_replicas) == (1, 10)
    assert (scaling.target_metric, scaling.target_value, scaling.scale_down_delay) == ("num_requests_running", "40", "3m")
    assert spec.namespace == "jan-models"
    assert spec.docs.root == "docs" and spec.docs.enabled


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"name": "Qwen_Coder"}, "models[0] (Qwen_Coder) name: 'Qwen_Coder' is not a DNS-1123 label"),
        ({"requirements.cpu": "two"}, "requirements.cpu: 'two' is not a Kubernetes quantity"),
        ({"requirements.gpu.min_vram": "24 GB"}, "requirements.gpu.min_vram: '24 GB' is not a Kubernetes quantity"),
        ({"deployment_config.pvc_size": "big"}, "deployment_config.pvc_size: 'big' is not a Kubernetes quantity"),
        ({"deployment_config.gpu_count": 2}, "deployment_config.gpu_count: gpu_count 2 is outside requirements.gpu min_gpus..max_gpus (1..1)"),
        ({"deployment_config.gpu_count": 0}, "deployment_config.gpu_count: gpu_count 0 is outside requirements.gpu min_gpus..max_gpus (1..1)"),
        (
            {"deployment_config.autoscaling_config.min_replicas": 9},
            "deployment_config.autoscaling_config: min_replicas 9 is greater than max_replicas 8",
        ),
        (
            {"deployment_config.autoscaling_config.scale_down_delay": "3 minutes"},
            "deployment_config.autoscaling_config.scale_down_delay: '3 minutes' is not a duration",
        ),
        (
            {"deployment_config.autoscaling_config.target_value": "lots"},
            "deployment_config.autoscaling_config.target_value: 'lots' is not a number greater than 0",
        ),
        ({"deployment_config.image_pull_policy": "Sometimes"}, "deployment_config.image_pull_policy: Input should be 'Always', 'IfNotPresent' or 'Never'"),
        ({"deployment_config.command": []}, "deployment_config.command: List should have at least 1 item"),
        ({"deployment_config.image": DELETE}, "deployment_config.image: required key is missing"),
        ({"display_name": 'Qwen "Coder"'}, "display_name: must be one line without double quotes"),
        (
            {"deployment_config.startup_timeout_seconds": 200},
            "deployment_config: startup_timeout_seconds 200 must be greater than initial_delay_seconds 240",
        ),
        ({"requirements.gpu.max_gpus": 0}, "requirements.gpu.max_gpus: Input should be greater than or equal to 1"),
    ],
)
def test_field_rules_name_entry_and_field(override, expected):
    (problem,) = problems_of(stack(entry(**override)))
    assert expected in problem
    assert problem.startswith("models[0] (")


def test_served_model_name_mismatch_uses_the_apis_message():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name wrong-name"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem == (
        "models[0] (qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match "
        "model name 'qwen3-coder-30b' (required by Aibrix for autoscaling)"
    )


def test_served_model_name_with_equals_sign_is_read():
    args = ["--model", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", "--served-model-name=wrong-name"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.command": ["vllm", "serve"], "deployment_config.args": args})))
    assert "--served-model-name 'wrong-name' must match model name 'qwen3-coder-30b'" in problem


def test_missing_served_model_name_with_autoscaling_says_so():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --port 8000"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem == (
        "models[0] (qwen3-coder-30b) deployment_config.args: --served-model-name parameter not found in args. "
        "For Aibrix autoscaling compatibility, please add '--served-model-name qwen3-coder-30b' to your vLLM command"
    )


def test_missing_served_model_name_without_autoscaling_is_fine():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"]
    raw = stack(entry(**{"deployment_config.args": args, "deployment_config.enable_autoscaling": False}))
    assert config.load(raw, source="t").spec.models[0].name == "qwen3-coder-30b"


def test_served_model_name_flag_without_value():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem.endswith("deployment_config.args: --served-model-name flag found but no value provided")


def test_vllm_port_other_than_8000_is_an_error():
    args = ["-c", "vllm serve X --served-model-name qwen3-coder-30b --port 9000"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert "vLLM --port 9000 must be 8000" in problem


def test_unknown_keys_with_did_you_mean():
    raw = stack(entry(**{"deployment_config.gpu_cout": 1, "requirements.gpu.min_vrm": "1Gi"}), docs={"api_base": "x"})
    raw["modles"] = []

    problems = problems_of(raw)

    assert "docs.api_base: unknown key 'api_base' (did you mean 'api_base_url'?)" in problems
    assert "modles: unknown key 'model-fleet:modles' (did you mean 'model-fleet:models'?)" in problems
    assert "models[0] (qwen3-coder-30b) deployment_config.gpu_cout: unknown key 'gpu_cout' (did you mean 'gpu_count'?)" in problems
    assert "models[0] (qwen3-coder-30b) requirements.gpu.min_vrm: unknown key 'min_vrm' (did you mean 'min_vram'?)" in problems


def test_duplicate_names():
    problems = problems_of(stack(entry("a"), entry("b"), entry("a")))
    assert problems == ["models[2] (a) name: 'a' is already used by models[0] (a)"]


def test_every_problem_is_reported_at_once_naming_each_entry():
    bad_args = ["-c", "vllm serve X --served-model-name wrong-name"]
    raw = stack(
        entry("ok"),
        entry("qwen3-coder-30b", **{"deployment_config.args": bad_args, "requirements.cpu": "lots"}),
        entry("third", **{"deployment_config.autoscaling_config.min_replicas": 9}),
        gpu_entry("huge", 2, "100Gi"),
        namespace="Bad_NS",
    )
    raw["cluster"]["crds"] = []

    assert problems_of(raw) == [
        "namespace: 'Bad_NS' is not a DNS-1123 label: lowercase letters, digits and '-', "
        "starting and ending with a letter or digit, at most 63 characters",
        "models[0] (ok) deployment_config.enable_autoscaling: aibrix CRD not found - required for model deployment",
        "models[1] (qwen3-coder-30b) requirements.cpu: 'lots' is not a Kubernetes quantity (examples: 500m, 2, 16Gi)",
        "models[1] (qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match model name "
        "'qwen3-coder-30b' (required by Aibrix for autoscaling)",
        "models[2] (third) deployment_config.autoscaling_config: min_replicas 9 is greater than max_replicas 8",
        "models[3] (huge) deployment_config.enable_autoscaling: aibrix CRD not found - required for model deployment",
        "models[3] (huge) requirements.gpu: no GPU node can satisfy the requirements: min 2 GPUs with 100Gi VRAM",
    ]


def test_report_counts_and_lists_problems():
    err = ConfigError([config.Problem("a", "one"), config.Problem("", "two")], source="Pulumi.dev.yaml")
    assert err.report() == "Pulumi.dev.yaml: 2 problems found; nothing was changed\n  - a: one\n  - two"


def test_missing_stack_file_names_the_stacks_there(tmp_path):
    write_stack(tmp_path, stack(), name="staging")
    with pytest.raises(ConfigError) as caught:
        config.load_stack_file(tmp_path, "prod")
    assert str(caught.value.problems[0]) == f"Pulumi.prod.yaml not found in {tmp_path} (stacks here: staging)"


def test_invalid_yaml_is_a_problem_not_a_traceback(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  model-fleet:models: [\n")
    with pytest.raises(ConfigError) as caught:
        config.load_stack_file(tmp_path, "dev")
    assert caught.value.problems[0].message.startswith("not valid YAML")


def test_engine_config_is_read_from_the_pulumi_runtime(monkeypatch):
    from pulumi.runtime import config as runtime_config

    raw = stack(entry())
    values = {f"model-fleet:{k}": json.dumps(v) for k, v in raw.items()}
    values["model-fleet:namespace"] = "models"
    values["kubernetes:context"] = "ignored"
    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.CONFIG)
    runtime_config.set_all_config(values)
    try:
        result = config.raw_from_pulumi()
    finally:
        runtime_config.set_all_config({})

    assert result["namespace"] == "models"
    assert result["models"][0]["name"] == "qwen3-coder-30b"
    assert "context" not in result and set(result) == {"namespace", "models", "cluster"}


def test_inventory_defaults_to_no_checks_with_a_warning():
    loaded = config.load(stack(entry(), cluster=DELETE), source="t")
    assert loaded.facts.source == "none"
    assert "GPU and CRD checks skipped" in loaded.warnings[0]
