"""The policy pack run by the real engine (marker `engine`): the pinned CLI starts `policy/analyzer`
with no language host, as the runner passes it to every preview and `up`.

Each mandatory rule is broken by a change a user could make to a copy of the project (a stack
file, the catalog, the environment's policy settings; for `container-resources`, which the
builders cannot break, a copy of the program whose Deployment builder drops the limits), and the
preview fails with the rule's message in the engine's policy summary.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pulumi.automation.events import PolicyEvent

from components.engine import policy_pack
from components.engine.runner import EXIT_POLICY
from tests.cli.conftest import copy_program
from tests.cli.test_engine import edit_models, stack_with_kubeconfig
from tests.engine_runs import EngineStack, require_engine

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def engine():
    return require_engine()


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_program(tmp_path / "project")


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def edit_model(project: Path, index: int, change: Callable[[dict], None]) -> None:
    edit_models(project, lambda models: change(models[index]))


def edit_settings(project: Path, rule: str, stack: str = "dev", **settings) -> None:
    path = project / "policy" / "config" / f"{stack}.json"
    config = json.loads(path.read_text())
    config[rule].update(settings)
    path.write_text(json.dumps(config))


def preview(stack: EngineStack, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[policy_pack.Violation]]:
    events = tmp_path / f"events-{stack.stack}.json"
    result = stack.run("preview", "--policy-events", str(events), check=False)
    return result, policy_pack.read(events)


def deployment_config(index: int, **values) -> Callable[[Path], None]:
    return lambda project: edit_model(project, index, lambda m: m.setdefault("deployment_config", {}).update(values))


def autoscaling(index: int, **values) -> Callable[[Path], None]:
    def change(model: dict) -> None:
        config = model.setdefault("deployment_config", {})
        config.setdefault("autoscaling_config", {}).update(values)
        config["enable_autoscaling"] = True

    return lambda project: edit_model(project, index, change)


def autoscaling_mistral(project: Path) -> None:
    """Mistral autoscaled to 8 replicas: within the cap per model, over the fleet's budget (AIBrix
    autoscaling needs the served name)."""
    served = ["--max-model-len", "32768", "--served-model-name", "mistral-nemo-instruct-2407"]
    deployment_config(1, args=served)(project)
    autoscaling(1, max_replicas=8)(project)


def drop_the_limits(project: Path) -> None:
    builder = project / "components" / "manifests" / "deployment.py"
    text = builder.read_text()
    broken = text.replace('"limits": {**limits, "nvidia.com/gpu": str(gpus)}', '"limits": {"nvidia.com/gpu": str(gpus)}')
    assert broken != text
    builder.write_text(broken)


def drop_a_team_label(project: Path) -> None:
    edit_yaml(project / "Pulumi.yaml", lambda d: d["config"]["model-fleet:catalog"]["value"]["bge-m3"].pop("labels"))


def add_a_plain_credential(project: Path) -> None:
    edit_model(project, 0, lambda m: m["deployment_config"]["extra_env"].append({"name": "OPENAI_API_KEY", "value": "sk-test"}))


def turn_on(rule: str, then: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        edit_settings(project, rule, enforcementLevel="mandatory")
        then(project)

    return change


BREAKS = {
    "image-source": (
        deployment_config(0, image="vllm/vllm-openai:latest"),
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: image `vllm/vllm-openai:latest` has the tag `latest`",
    ),
    "gpus-per-model": (
        autoscaling(0, max_replicas=9),
        "qwen3-coder-30b: Deployment qwen3-coder-30b can take 9 GPUs (1 x 9 replicas at most), over the cap of 8 per model",
    ),
    "gpu-budget": (
        autoscaling_mistral,
        "the fleet can take 16 GPUs, over the budget of 12: mistral-nemo-instruct-2407 8 (1 x 8 replicas at most), qwen3-coder-30b 8 (1 x 8 replicas at most)",
    ),
    "container-resources": (
        drop_the_limits,
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: lacks `resources.limits.cpu` and `resources.limits.memory`",
    ),
    "managed-labels": (drop_a_team_label, "bge-m3: Service bge-m3: lacks the team label `team`; add it to the model entry's `labels`"),
    "plaintext-secrets": (
        add_a_plain_credential,
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: env OPENAI_API_KEY is named as a credential",
    ),
    "autoscaled-replicas": (
        turn_on("autoscaled-replicas", lambda p: None),
        "qwen3-coder-30b: PodAutoscaler qwen3-coder-30b: scales down to 1 replica, fewer than the 2",
    ),
    "cache-claims-retained": (
        turn_on("cache-claims-retained", deployment_config(1, retain_cache_on_delete=False)),
        "mistral-nemo-instruct-2407: PersistentVolumeClaim mistral-nemo-instruct-2407-hf-cache: the cache claim is deleted with the model",
    ),
}


@pytest.mark.parametrize("rule", list(BREAKS))
def test_a_stack_that_breaks_a_mandatory_rule_fails_preview_with_its_message(rule, engine, project, tmp_path):
    break_it, message = BREAKS[rule]
    break_it(project)
    result, violations = preview(stack_with_kubeconfig(engine, project, tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_POLICY, output
    # The engine's own policy summary, with the rule and its message.
    assert "Policies:\n    ❌ model-fleet@v0.1.0" in output
    assert f"- [mandatory]  {rule}  (" in output
    assert message in output
    assert any(v.policy == rule and v.level == "mandatory" and v.message.startswith(message) for v in violations), violations


def test_an_advisory_rule_shows_its_warning_and_the_preview_passes(engine, project, tmp_path):
    edit_settings(project, "image-source", enforcementLevel="advisory")
    deployment_config(0, image="vllm/vllm-openai:latest")(project)
    result, violations = preview(stack_with_kubeconfig(engine, project, tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "- [advisory]  image-source  (" in output and "has the tag `latest`" in output
    assert [(v.policy, v.level) for v in violations] == [("image-source", "advisory")]
    assert "policy: 0 mandatory and 1 advisory violation\n" in result.stderr


def render_instead_of_the_live_cluster(project: Path, name: str) -> None:
    """Staging and prod read their clusters live; here they render, seeing an inventory big enough
    for both. Everything the rules read (models, images, replicas, claims) is the committed file's."""
    inventory = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"]["model-fleet:cluster"]
    inventory["gpu_nodes"] = [{"node_name": f"gpu-{i}", "gpu_count": 2, "gpu_type": "nvidia-a100", "total_vram": "160Gi"} for i in range(4)]

    def change(document: dict) -> None:
        document["config"]["model-fleet:kubernetes"] = {"render_yaml_to_directory": f"rendered/{name}"}
        document["config"]["model-fleet:cluster"] = inventory

    edit_yaml(project / f"Pulumi.{name}.yaml", change)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_committed_stack_passes_its_environments_rules(name, engine, project, tmp_path):
    if name != "dev":
        render_instead_of_the_live_cluster(project, name)
    result, violations = preview(stack_with_kubeconfig(engine, project, tmp_path, name), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"settings {project / 'policy' / 'config' / f'{name}.json'}" in result.stderr
    assert "Policies:\n    ✅ model-fleet@v0.1.0" in output
    assert violations == []


def test_policy_analyze_of_an_exported_state_reports_what_preview_reports(engine, project, tmp_path):
    dev = stack_with_kubeconfig(engine, project, tmp_path)
    dev.run("up")
    state = tmp_path / "state.json"
    state.write_text(dev.cli("stack", "export").stdout)
    # Settings that the deployed stack breaks: a team label it does not carry, a smaller budget.
    edit_settings(project, "managed-labels", requiredLabels=["team", "cost-centre"])
    edit_settings(project, "gpu-budget", maxGpus=4)
    _, previewed = preview(dev, tmp_path)
    assert {v.policy for v in previewed} == {"managed-labels", "gpu-budget"}
    settings = project / "policy" / "config" / "dev.json"
    assert dev.engine.cli is not None
    analyzed = subprocess.run(
        [str(dev.engine.cli), "policy", "analyze", "--file", str(state), "--policy-pack", str(project / "policy" / "analyzer")]
        + ["--policy-pack-config", str(settings), "--json"],
        cwd=project,
        env={**dev.env, "MODEL_FLEET_POLICY_PYTHON": str(project / ".venv" / "bin" / "python")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert analyzed.returncode == 1, analyzed.stdout + analyzed.stderr
    assert "one or more mandatory policy violations were found" in analyzed.stderr
    reported = [
        policy_pack.Violation.from_event(PolicyEvent.from_json(line["policyEvent"]))
        for line in map(json.loads, analyzed.stdout.splitlines())
        if "policyEvent" in line
    ]
    key = lambda v: (v.policy, v.level, v.message, v.urn)  # noqa: E731
    assert sorted(map(key, reported)) == sorted(map(key, previewed))
