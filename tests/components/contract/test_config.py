"""Validation of stack config: defaults, every rule, the deployment API's messages, all problems at once."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from components.contract import config, pulumi_config, secret_values
from components.contract.problems import ProblemsFound
from components.contract.spec import QUANTITY, quantity_value
from harness.factories import DELETE, SEED_REQUEST, entry, gpu_entry, problems_of, stack, write_stack

pytestmark = pytest.mark.unit


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

    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "dev")

    (problem,) = caught.value.problems
    assert problem.where == "models[0] (qwen3-coder-30b) deployment_config.hugging_face_token"
    assert "pulumi config set --secret --path 'model-fleet:models[0].deployment_config.hugging_face_token'" in problem.message
    assert "hf_your_token_here" not in caught.value.report()


def test_token_shaped_string_anywhere_in_the_stack_file_is_an_error(tmp_path):
    token = "hf_" + "a1B2c3D4e5" * 4
    raw = stack(entry(**{"deployment_config.extra_env": [{"name": "HF_TOKEN", "value": token}]}))
    write_stack(tmp_path, raw, extra={"other:setting": f"export TOKEN={token}"})

    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "dev")

    wheres = [p.where for p in caught.value.problems]
    assert wheres == ["other:setting", "models[0] (qwen3-coder-30b) deployment_config.extra_env[0].value"]
    assert token not in caught.value.report()


def test_encrypted_token_is_accepted(tmp_path):
    raw = stack(entry(**{"deployment_config.hugging_face_token": {"secure": "v1:abc:def"}}))
    write_stack(tmp_path, raw)

    loaded = config.load_stack_file(tmp_path, "dev")

    # Read from the file without the engine, the ciphertext stands in for the token, kept secret.
    token = loaded.spec.models[0].deployment_config.hugging_face_token
    assert isinstance(token, SecretStr) and token.get_secret_value() == "v1:abc:def"
    assert "v1:abc:def" not in repr(loaded.spec)


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
        ({"name": "Qwen_Coder"}, "models[0] (Qwen_Coder) name: 'Qwen_Coder' cannot name a Service: it must be a DNS-1035 label"),
        ({"requirements.cpu": "two"}, "requirements.cpu: 'two' is not a Kubernetes quantity"),
        ({"requirements.gpu.min_vram": "24 GB"}, "requirements.gpu.min_vram: '24 GB' is not a Kubernetes quantity"),
        ({"deployment_config.pvc_size": "big"}, "deployment_config.pvc_size: 'big' is not a Kubernetes quantity"),
        (
            {"deployment_config.gpu_count": 2},
            "deployment_config.gpu_count: gpu_count 2 is outside requirements.gpu min_gpus..max_gpus (1..1)",
        ),
        (
            {"deployment_config.gpu_count": 0},
            "deployment_config.gpu_count: gpu_count 0 is outside requirements.gpu min_gpus..max_gpus (1..1)",
        ),
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
            "deployment_config.autoscaling_config.target_value: 'lots' is not a finite number greater than 0",
        ),
        (
            {"deployment_config.image_pull_policy": "Sometimes"},
            "deployment_config.image_pull_policy: Input should be 'Always', 'IfNotPresent' or 'Never'",
        ),
        ({"deployment_config.command": []}, "deployment_config.command: List should have at least 1 item"),
        ({"deployment_config.image": DELETE}, "deployment_config.image: required key is missing"),
        ({"display_name": 'Qwen "Coder"'}, "display_name: must not hold double quotes"),
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
    command = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.command": command, "deployment_config.args": args})))
    assert "--served-model-name 'wrong-name' must match model name 'qwen3-coder-30b'" in problem


def test_missing_served_model_name_with_autoscaling_says_so():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --port 8000"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem == (
        "models[0] (qwen3-coder-30b) deployment_config.args: --served-model-name parameter not found in args. "
        "For Aibrix autoscaling compatibility, please add '--served-model-name qwen3-coder-30b' to your vLLM command"
    )


def test_missing_served_model_name_without_autoscaling_is_a_warning_with_the_flag_to_add():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8"]
    raw = stack(entry(**{"deployment_config.args": args, "deployment_config.enable_autoscaling": False}))
    loaded = config.load(raw, source="t")
    assert loaded.spec.models[0].name == "qwen3-coder-30b"
    assert loaded.warnings == [
        "models[0] (qwen3-coder-30b) deployment_config.args: no --served-model-name: clients must call the model by "
        "'Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8', which the AIBrix gateway cannot route (it routes by the label "
        "model.aibrix.ai/name 'qwen3-coder-30b', and a label cannot hold '/'); "
        "add '--served-model-name qwen3-coder-30b' to your vLLM command"
    ]


def test_served_model_name_must_match_without_autoscaling_too():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name wrong-name"]
    raw = stack(entry(**{"deployment_config.args": args, "deployment_config.enable_autoscaling": False}))
    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match "
        "model name 'qwen3-coder-30b' (required by Aibrix for autoscaling)"
    ]


def test_repeated_flag_is_read_as_vllm_reads_it_the_last_one_wins():
    args = ["-c", "vllm serve X --served-model-name qwen3-coder-30b --served-model-name other"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert "--served-model-name 'other' must match model name 'qwen3-coder-30b'" in problem


def test_served_model_name_flag_without_value():
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem.endswith("deployment_config.args: --served-model-name flag found but no value provided")


def test_vllm_port_other_than_8000_is_an_error():
    args = ["-c", "vllm serve X --served-model-name qwen3-coder-30b --port 9000"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert "vLLM --port 9000 must be 8000" in problem


def test_auto_tool_choice_without_a_tool_call_parser_is_an_error_as_vllm_refuses_it():
    args = ["-c", "vllm serve X --served-model-name qwen3-coder-30b --enable-auto-tool-choice"]
    (problem,) = problems_of(stack(entry(**{"deployment_config.args": args})))
    assert problem.endswith(
        "deployment_config.args: vLLM refuses --enable-auto-tool-choice without --tool-call-parser: "
        "add the parser of the model's tool-call format (e.g. --tool-call-parser hermes)"
    )


def test_model_flag_with_vllm_serve_is_an_error_as_vllm_refuses_it():
    command = {
        "deployment_config.command": ["vllm", "serve"],
        "deployment_config.args": ["--model", "X", "--served-model-name", "qwen3-coder-30b"],
    }
    (problem,) = problems_of(stack(entry(**command)))
    assert problem.endswith(
        "deployment_config.args: vLLM refuses --model with `vllm serve`: give the model as its argument (`vllm serve MODEL`)"
    )


def test_model_flag_with_the_api_server_module_is_accepted_as_vllm_accepts_it():
    command = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    args = ["--model", "X", "--served-model-name", "qwen3-coder-30b"]
    raw = stack(entry(**{"deployment_config.command": command, "deployment_config.args": args}))
    [model] = config.load(raw, source="Pulumi.dev.yaml").spec.models
    assert model.deployment_config.cmdline.model == "X"


def test_tool_call_parser_without_auto_tool_choice_is_accepted_as_vllm_accepts_it():
    args = ["-c", "vllm serve X --served-model-name qwen3-coder-30b --tool-call-parser hermes"]
    [model] = config.load(stack(entry(**{"deployment_config.args": args})), source="Pulumi.dev.yaml").spec.models
    assert not model.deployment_config.cmdline.tool_calling


def test_unknown_keys_with_did_you_mean():
    raw = stack(entry(**{"deployment_config.gpu_cout": 1, "requirements.gpu.min_vrm": "1Gi"}), docs={"api_base": "x"})
    raw["modles"] = []

    problems = problems_of(raw)

    assert "docs.api_base: unknown key 'api_base' (did you mean 'api_base_url'?)" in problems
    assert "modles: unknown key 'model-fleet:modles' (did you mean 'model-fleet:models'?)" in problems
    assert "models[0] (qwen3-coder-30b) deployment_config.gpu_cout: unknown key 'gpu_cout' (did you mean 'gpu_count'?)" in problems
    assert "models[0] (qwen3-coder-30b) requirements.gpu.min_vrm: unknown key 'min_vrm' (did you mean 'min_vram'?)" in problems


def test_duplicate_names():
    problems = problems_of(stack(entry("a"), entry("b"), entry("a", display_name="Another A")))
    assert problems == ["models[2] (a) name: 'a' is already used by models[0] (a)"]


def test_duplicate_display_names_whatever_their_case():
    problems = problems_of(stack(entry("a", display_name="Model A"), entry("b", display_name="model a")))
    assert problems == ["models[1] (b) display_name: 'model a' is already used by models[0] (a)"]


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
        # Every model autoscales, so each names the missing AIBrix CRD; the gateway is the stack's.
        "routing: envoy gateway CRD not found (gatewayclasses.gateway.networking.k8s.io) - required for routing aibrix, which every "
        "model of the stack uses: AIBrix's gateway is an Envoy Gateway; install it, or set routing to inference-pool or none",
        "models[0] (ok) deployment_config.enable_autoscaling: aibrix CRD not found - required for model deployment",
        "models[1] (qwen3-coder-30b) requirements.cpu: 'lots' is not a Kubernetes quantity (examples: 500m, 2, 16Gi)",
        "models[1] (qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match model name "
        "'qwen3-coder-30b' (required by Aibrix for autoscaling)",
        "models[2] (third) deployment_config.autoscaling_config: min_replicas 9 is greater than max_replicas 8",
        "models[3] (huge) deployment_config.enable_autoscaling: aibrix CRD not found - required for model deployment",
        "models[3] (huge) requirements.gpu: no GPU node can satisfy the requirements: min 2 GPUs with 100Gi VRAM",
    ]


def test_report_counts_and_lists_problems():
    err = ProblemsFound([config.Problem("a", "one"), config.Problem("", "two")], source="Pulumi.dev.yaml")
    assert err.report() == "Pulumi.dev.yaml: 2 problems found; nothing was changed\n  - a: one\n  - two"


def test_missing_stack_file_names_the_stacks_there(tmp_path):
    write_stack(tmp_path, stack(), name="staging")
    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "prod")
    assert str(caught.value.problems[0]) == f"Pulumi.prod.yaml not found in {tmp_path} (stacks here: staging)"


def test_invalid_yaml_is_a_problem_not_a_traceback(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  model-fleet:models: [\n")
    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "dev")
    assert caught.value.problems[0].message.startswith("not valid YAML")


def test_encrypted_extra_env_value_is_a_secret_and_its_ciphertext_is_never_shown(tmp_path):
    env = [{"name": "WANDB_API_KEY", "value": {"secure": "v1:ciphertext-of-the-key"}}, {"name": "PLAIN", "value": "x"}]
    write_stack(tmp_path, stack(entry(**{"deployment_config.extra_env": env, "deployment_config.gpu_count": True})))

    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "dev")
    assert "ciphertext-of-the-key" not in caught.value.report()

    write_stack(tmp_path, stack(entry(**{"deployment_config.extra_env": env})))
    first, second = config.load_stack_file(tmp_path, "dev").spec.models[0].deployment_config.extra_env
    assert first.is_secret and not second.is_secret
    assert "ciphertext-of-the-key" not in repr(first)


def test_values_the_stack_file_encrypts_stay_secrets_in_the_engines_decrypted_config():
    written = {
        "models": [{"deployment_config": {"extra_env": [{"name": "K", "value": SecretStr("v1:cipher")}, {"name": "P", "value": "p"}]}}]
    }
    decrypted = {"models": [{"deployment_config": {"extra_env": [{"name": "K", "value": "clear"}, {"name": "P", "value": "p"}]}}]}

    marked = secret_values.mark_secrets(decrypted, written)

    key, plain = marked["models"][0]["deployment_config"]["extra_env"]
    assert isinstance(key["value"], SecretStr) and key["value"].get_secret_value() == "clear"
    assert plain["value"] == "p"


def test_stack_file_that_is_not_utf8_is_one_problem(tmp_path):
    (tmp_path / "Pulumi.dev.yaml").write_bytes("config:\n  model-fleet:namespace: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(tmp_path, "dev")
    assert caught.value.report() == "Pulumi.dev.yaml: 1 problem found; nothing was changed\n  - not UTF-8 text: byte 0xe9 on line 2"


def test_engine_config_is_read_from_the_pulumi_runtime(monkeypatch):
    from pulumi.runtime import config as runtime_config

    raw = stack(entry())
    values = {f"model-fleet:{k}": json.dumps(v) for k, v in raw.items()}
    values["model-fleet:namespace"] = "models"
    values["kubernetes:context"] = "ignored"
    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.CONFIG)
    runtime_config.set_all_config(values)
    try:
        result = pulumi_config.raw_from_pulumi()
    finally:
        runtime_config.set_all_config({})

    assert result["namespace"] == "models"
    assert result["models"][0]["name"] == "qwen3-coder-30b"
    assert "context" not in result and set(result) == {"namespace", "models", "cluster"}


def test_inventory_defaults_to_no_checks_with_a_warning(ambient_kubeconfig):
    loaded = config.load(stack(entry(**{"deployment_config.enable_pvc": False}), cluster=DELETE), source="t")
    assert loaded.facts.source == "none"
    (warning,) = loaded.warnings
    assert "GPU and CRD checks skipped" in warning


# --- hostile and impossible input: each one a problem naming the entry and the field --------


@pytest.mark.parametrize(
    "override, expected",
    [
        # Full matches: a trailing newline is not part of any valid value.
        ({"name": "m1\n", "display_name": "M1"}, "models[0] ('m1\\n') name: 'm1\\n' cannot name a Service"),
        ({"deployment_config.autoscaling_config.scale_down_delay": "3m\n"}, "scale_down_delay: '3m\\n' is not a duration"),
        (
            {"huggingface_id": "org/x'; touch /tmp/p; echo '"},
            "huggingface_id: \"org/x'; touch /tmp/p; echo '\" is not a Hugging Face repository id",
        ),
        ({"huggingface_id": "org/x\n"}, "huggingface_id: 'org/x\\n' is not a Hugging Face repository id"),
        # Kubernetes refuses a Service named with a leading digit (DNS-1035).
        ({"name": "1model"}, "name: '1model' cannot name a Service: it must be a DNS-1035 label"),
        ({"name": "m" * 64}, "cannot name a Service: it must be a DNS-1035 label"),
        # Display names are one printable line.
        ({"display_name": "A\u2028B"}, "display_name: must be one line of printable characters"),
        ({"display_name": "A\x0bB"}, "display_name: must be one line of printable characters"),
        ({"display_name": "A\x0cB"}, "display_name: must be one line of printable characters"),
        ({"display_name": "A\x85B"}, "display_name: must be one line of printable characters"),
        ({"display_name": "A\x00B"}, "display_name: must be one line of printable characters"),
        ({"display_name": "  "}, "display_name: must not be empty"),
        ({"display_name": ""}, "display_name: must not be empty"),
        # Values that pass a type check but fail at apply time.
        ({"requirements.cpu": "-1"}, "requirements.cpu: '-1' must be greater than 0"),
        ({"requirements.memory": "0"}, "requirements.memory: '0' must be greater than 0"),
        ({"deployment_config.pvc_size": "0"}, "deployment_config.pvc_size: '0' must be greater than 0"),
        ({"requirements.gpu.min_vram": "-24Gi"}, "requirements.gpu.min_vram: '-24Gi' must not be negative"),
        ({"deployment_config.gpu_count": True}, "deployment_config.gpu_count: true is a boolean, not a whole number"),
        ({"deployment_config.replicas": 10**12}, "deployment_config.replicas: Input should be less than or equal to 1000"),
        ({"deployment_config.autoscaling_config.target_value": "inf"}, "target_value: 'inf' is not a finite number greater than 0"),
        (
            {"deployment_config.tolerations": [{"key": "gpu", "operator": "Exists", "value": "yes"}]},
            "deployment_config.tolerations[0]: operator Exists matches any value: remove value 'yes' or use operator Equal",
        ),
        (
            {"deployment_config.tolerations": [{"operator": "Equal", "value": "yes"}]},
            "deployment_config.tolerations[0]: operator Equal needs a key",
        ),
        ({"deployment_config.node_selector": {"gpu type": "a100"}}, "deployment_config.node_selector: 'gpu type' is not a label key"),
        ({"deployment_config.storage_class": "Fast SSD"}, "deployment_config.storage_class: 'Fast SSD' is not a DNS-1123 subdomain"),
        (
            {"deployment_config.tolerations": [{"key": "gpu/", "operator": "Exists"}]},
            "deployment_config.tolerations[0].key: 'gpu/' is not a label key",
        ),
        (
            {"deployment_config.tolerations": [{"key": "gpu", "value": "a b"}]},
            "deployment_config.tolerations[0].value: 'a b' is not a label value",
        ),
        (
            {"deployment_config.extra_env": [{"name": "1BAD", "value": "x"}]},
            "extra_env[0].name: '1BAD' is not an environment variable name",
        ),
        (
            {"deployment_config.pvc_access_mode": "ReadWriteOncePod"},
            "deployment_config.pvc_access_mode: ReadWriteOncePod lets one pod mount the cache claim but this model runs up to 8 replicas",
        ),
    ],
)
def test_hostile_or_impossible_values_are_problems(override, expected):
    (problem,) = problems_of(stack(entry(**override)))
    assert expected in problem
    assert problem.startswith("models[0] (")


def test_model_id_from_the_command_line_is_checked_like_the_served_name():
    args = ["-c", "vllm serve \"org/x'; touch /tmp/p; echo '\""]
    raw = stack(entry(**{"deployment_config.args": args, "deployment_config.enable_autoscaling": False}))
    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) deployment_config.args: model ID \"org/x'; touch /tmp/p; echo '\" "
        "may hold only letters, digits and . _ : / -"
    ]


def test_read_write_once_cache_with_several_replicas_is_a_warning():
    raw = stack(
        entry(
            **{
                "deployment_config.enable_autoscaling": False,
                "deployment_config.replicas": 2,
                "deployment_config.pvc_access_mode": "ReadWriteOnce",
            }
        )
    )
    assert config.load(raw, source="t").warnings == [
        "models[0] (qwen3-coder-30b) deployment_config.pvc_access_mode: ReadWriteOnce: of the 2 replicas, pods "
        "scheduled on another node than the first cannot mount the cache claim and stay Pending; "
        "use ReadWriteMany to scale across nodes"
    ]


def test_one_replica_on_a_read_write_once_pod_claim_is_fine():
    raw = stack(entry(**{"deployment_config.enable_autoscaling": False, "deployment_config.pvc_access_mode": "ReadWriteOncePod"}))
    assert config.load(raw, source="t").warnings == []


@pytest.mark.parametrize(
    "url",
    [
        "https://a.com/v1;{touch,/tmp/p};#",
        "https://a.com/v1?x=1&y=2",
        "https://a.com/v1#top",
        "https://a.com/v1\n",
        "https://a.com/v1)",
        "https://user:pw@a.com/v1",
        "https://a.com/$(id)",
        "ftp://a.com/v1",
        "https://a.com:99999/v1",
        "https:///v1",
    ],
)
def test_api_base_url_is_parsed_strictly(url):
    problems = problems_of(stack(docs={"api_base_url": url}))
    assert problems == [
        f"docs.api_base_url: {url!r} is not an http(s) base URL: scheme http or https, a host, an optional port "
        "and path, without credentials, query or fragment"
    ]


@pytest.mark.parametrize("url", ["https://api.example.com/v1/", "http://127.0.0.1:8000/v1", "https://[::1]:8443"])
def test_api_base_url_accepts_hosts_ports_and_paths(url):
    assert config.load(
        stack(entry(**{"deployment_config.enable_pvc": False}), docs={"api_base_url": url}), source="t"
    ).spec.docs.api_base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "section, expected",
    [
        ({"namespace": "models\n"}, "namespace: 'models\\n' is not a DNS-1123 label"),
        ({"monitoring": {"scrape_interval": "30s\n"}}, "monitoring.scrape_interval: '30s\\n' is not a duration"),
        ({"docs": {"platform_name": "kluster\u2028ai"}}, "docs.platform_name: 'kluster\\u2028ai' may hold only letters"),
        (
            {"monitoring": {"service_monitor_labels": {"model.aibrix.ai/name": "other"}}},
            "monitoring.service_monitor_labels: 'model.aibrix.ai/name' is a label model-fleet sets on every object",
        ),
        ({"monitoring": {"service_monitor_labels": {"release": "a b"}}}, "'a b' (label release) is not a label value"),
    ],
)
def test_stack_sections_are_matched_whole(section, expected):
    (problem,) = problems_of(stack(entry(**{"deployment_config.enable_pvc": False}), **section))
    assert expected in problem


# --- found by the fuzz tier (tests/fuzz) -----------------------------------------------------


@pytest.mark.parametrize("quantity", ["NaN", "inf", "Infinity", "2\n", " 2", "2 Gi", "2Gi "])
def test_quantities_are_matched_whole_against_the_api_servers_grammar(quantity):
    (problem,) = problems_of(stack(entry(**{"requirements.cpu": quantity})))
    assert problem == f"models[0] (qwen3-coder-30b) requirements.cpu: {quantity!r} is not a Kubernetes quantity (examples: 500m, 2, 16Gi)"


def test_host_names_are_case_insensitive():
    raw = stack(entry(**{"deployment_config.enable_pvc": False}), docs={"api_base_url": "https://API.Example.com/v1"})
    assert config.load(raw, source="t").spec.docs.api_base_url == "https://API.Example.com/v1"


def test_an_exec_form_argument_reaches_vllm_whole_white_space_and_all():
    overrides = {"deployment_config.command": ["vllm", "serve", "org/x"], "deployment_config.args": ["--served-model-name", "m x"]}
    problems = problems_of(stack(entry("m", **overrides)))
    assert (
        "models[0] (m) deployment_config.args: --served-model-name 'm x' must match model name 'm' (required by Aibrix for autoscaling)"
        in problems
    )


def test_an_env_value_of_the_wrong_type_is_one_problem_at_its_field():
    assert problems_of(stack(entry(**{"deployment_config.extra_env": [{"name": "A", "value": 5}]}))) == [
        "models[0] (qwen3-coder-30b) deployment_config.extra_env[0].value: must be a string, or a secret set with "
        "`pulumi config set --secret --path`"
    ]


def test_control_characters_in_unknown_keys_cannot_forge_a_report_line():
    raw = stack(entry("a", **{"deployment_config.gpu\n  - models[9] (b) forged": 1}))
    raw["bad\x1b[31mkey\r\n  - forged"] = 1

    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="Pulumi.dev.yaml")

    report = caught.value.report()
    assert report.splitlines() == [
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        r"  - bad\x1b[31mkey\r\n  - forged: unknown key 'model-fleet:bad\x1b[31mkey\r\n  - forged'",
        r"  - models[0] (a) deployment_config.gpu\n  - models[9] (b) forged: unknown key 'gpu\n  - models[9] (b) forged'",
    ]


@pytest.mark.parametrize("directory", ["", "  "])
def test_an_empty_render_directory_is_refused_rather_than_read_two_ways(directory):
    # `check`, `render` and the program all read the stack through load: one answer for all three.
    assert problems_of(stack(entry(), kubernetes={"render_yaml_to_directory": directory})) == [
        "kubernetes.render_yaml_to_directory: must name a directory; remove the key to apply to a cluster"
    ]


@pytest.mark.unit
@settings(max_examples=500, deadline=None)
@given(st.from_regex(QUANTITY, fullmatch=True))
def test_quantity_values_are_the_kubernetes_clients(text):
    from kubernetes.utils.quantity import parse_quantity

    try:
        expected = parse_quantity(text)
    except (ValueError, ArithmeticError):
        with pytest.raises((ValueError, ArithmeticError)):
            quantity_value(text)
        return
    assert quantity_value(text) == expected


@pytest.mark.unit
def test_a_quantity_outside_the_grammar_is_a_value_error():
    for text in (" 2", "2\n", "inf", "NaN", "1Ki2", "2ki", ""):
        with pytest.raises(ValueError):
            quantity_value(text)
