"""The catalog commands: `promote` is a reviewed change to one stack file, `diff` shows what remains, `models --explain` where each value comes from."""

from __future__ import annotations

import json

import pytest

from components.commands.cli import main as cli
from harness.factories import two_model_catalog, write_project

pytestmark = pytest.mark.unit

STAGING = """\
# Staging tries new releases first.
config:
  model-fleet:namespace: jan-models
  model-fleet:models:
    # The coder, on the next vLLM release.
    - catalog: qwen3-coder-30b
      deployment_config:
        image: vllm/vllm-openai:v0.11.0   # trying the new release
        gpu_count: 1
        autoscaling_config: {max_replicas: 2}
    - catalog: bge-m3
"""
PROD = """\
# Production: what customers call.
config:
  model-fleet:namespace: jan-models  # shared with the gateway
  model-fleet:models:
    # The coder, served since June.
    - catalog: qwen3-coder-30b
      deployment_config:
        # prod scales wider
        autoscaling_config:
          min_replicas: 2
        tolerations:
          - {key: dedicated, operator: Equal, value: llm, effect: NoSchedule}
"""
PROMOTED_QWEN = PROD + "        image: vllm/vllm-openai:v0.11.0\n"
BGE = "    - catalog: bge-m3\n"


@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, two_model_catalog())
    (tmp_path / "Pulumi.staging.yaml").write_text(STAGING)
    (tmp_path / "Pulumi.prod.yaml").write_text(PROD)
    return tmp_path


def run(project, *args: str) -> int:
    return cli([*args, "--project-dir", str(project)])


def test_promote_prints_the_change_and_writes_nothing_without_write(project, capsys):
    assert run(project, "promote", "--from", "staging", "--to", "prod", "--model", "qwen3-coder-30b") == 0
    assert capsys.readouterr().out.splitlines() == [
        "qwen3-coder-30b: Pulumi.prod.yaml models[0] (catalog qwen3-coder-30b)",
        '  deployment_config.image: "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2" -> "vllm/vllm-openai:v0.11.0"',
        "  kept as prod's own: deployment_config.autoscaling_config.min_replicas, deployment_config.autoscaling_config.max_replicas, "
        "deployment_config.tolerations",
        "--- a/Pulumi.prod.yaml",
        "+++ b/Pulumi.prod.yaml",
        "@@ -10,3 +10,4 @@",
        "           min_replicas: 2",
        "         tolerations:",
        "           - {key: dedicated, operator: Equal, value: llm, effect: NoSchedule}",
        "+        image: vllm/vllm-openai:v0.11.0",
        "(not written: run with --write to change Pulumi.prod.yaml)",
    ]
    assert (project / "Pulumi.prod.yaml").read_text() == PROD


def test_promote_keeps_comments_order_and_the_environments_own_keys_and_twice_changes_nothing(project, capsys):
    assert run(project, "promote", "--from", "staging", "--to", "prod", "--model", "qwen3-coder-30b", "--write") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "wrote Pulumi.prod.yaml"
    assert (project / "Pulumi.prod.yaml").read_text() == PROMOTED_QWEN

    assert run(project, "promote", "--from", "staging", "--to", "prod", "--model", "qwen3-coder-30b", "--write") == 0
    assert capsys.readouterr().out == "Pulumi.prod.yaml already serves what staging serves for these models: nothing to change\n"
    assert (project / "Pulumi.prod.yaml").read_text() == PROMOTED_QWEN


def test_promoting_every_model_adds_the_ones_the_target_lacks(project, capsys):
    assert run(project, "promote", "--from", "staging", "--to", "prod", "--write") == 0
    assert (project / "Pulumi.prod.yaml").read_text() == PROMOTED_QWEN + BGE


def test_diff_shows_what_differs_both_ways_and_after_promotion_only_the_kept_keys(project, capsys):
    assert run(project, "diff", "--from", "staging", "--to", "prod") == 1
    own = "  (prod's own: promote keeps it)"
    assert capsys.readouterr().out.splitlines() == [
        "qwen3-coder-30b:",
        '  deployment_config.image: "vllm/vllm-openai:v0.11.0" -> "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2"',
        "  deployment_config.autoscaling_config.min_replicas: 1 -> 2" + own,
        "  deployment_config.autoscaling_config.max_replicas: 2 -> 8" + own,
        '  deployment_config.tolerations: (unset) -> [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}]'
        + own,
        "bge-m3: only in staging",
        "2 models differ from staging to prod",
    ]
    assert run(project, "diff", "--from", "prod", "--to", "staging", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["equal"] is False and report["from"] == "prod" and report["to"] == "staging"
    assert report["models"]["bge-m3"] == {"only_in": "staging"}
    assert report["models"]["qwen3-coder-30b"]["changed"]["deployment_config.image"] == {
        "from": "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2",
        "to": "vllm/vllm-openai:v0.11.0",
    }

    assert run(project, "promote", "--from", "staging", "--to", "prod", "--write") == 0
    capsys.readouterr()
    # What remains is what prod keeps as its own: no difference, the same answer promote gives.
    assert run(project, "diff", "--from", "staging", "--to", "prod") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].strip() for line in out[1:-1]] == [
        "deployment_config.autoscaling_config.min_replicas",
        "deployment_config.autoscaling_config.max_replicas",
        "deployment_config.tolerations",
    ]
    assert all(line.endswith(own) for line in out[1:-1])
    assert out[-1] == "staging and prod serve the same models (prod keeps 3 values of its own)"
    assert run(project, "diff", "--from", "staging", "--to", "prod", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["equal"] is True and report["models"]["qwen3-coder-30b"]["changed"] == {}
    assert list(report["models"]["qwen3-coder-30b"]["kept"]) == [line.split(":")[0].strip() for line in out[1:-1]]
    assert run(project, "promote", "--from", "staging", "--to", "prod") == 0
    assert "nothing to change" in capsys.readouterr().out


def test_diff_of_a_stack_with_itself_is_equal(project, capsys):
    assert run(project, "diff", "--from", "prod", "--to", "prod") == 0
    assert capsys.readouterr().out == "prod and prod serve the same models\n"


def test_promote_refuses_an_unknown_model_and_a_secret_it_cannot_copy(project, capsys):
    staging = STAGING.replace(
        "        gpu_count: 1\n", "        gpu_count: 1\n        extra_env:\n          - {name: KEY, value: {secure: v1:abc}}\n"
    )
    (project / "Pulumi.staging.yaml").write_text(staging)
    assert run(project, "promote", "--from", "staging", "--to", "prod", "--model", "qwen3-coder", "qwen3-coder-30b") == 1
    assert capsys.readouterr().err.splitlines() == [
        "promote staging -> prod: 2 problems found; nothing was changed",
        "  - --model: Pulumi.staging.yaml serves no model named 'qwen3-coder' (did you mean 'qwen3-coder-30b'?)",
        "  - qwen3-coder-30b deployment_config.extra_env[KEY].value: a secret of Pulumi.staging.yaml cannot be copied to "
        "Pulumi.prod.yaml (each stack encrypts its own); set it in Pulumi.prod.yaml with `pulumi config set --secret --path`",
    ]
    assert (project / "Pulumi.prod.yaml").read_text() == PROD


def test_explain_says_where_each_value_of_the_merged_entry_comes_from(project, capsys):
    assert run(project, "models", "--stack", "prod", "--explain", "qwen3-coder-30b") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "qwen3-coder-30b: Pulumi.prod.yaml models[0] (catalog qwen3-coder-30b)"
    catalog_source = "catalog qwen3-coder-30b (Pulumi.yaml)"
    stack_source = f"{'Pulumi.prod.yaml':<{len(catalog_source)}}"
    assert f"  {stack_source}  deployment_config.autoscaling_config.min_replicas: 2" in out
    assert (
        f"  {stack_source}  deployment_config.tolerations: "
        + '[{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}]'
        in out
    )
    assert f"  {catalog_source}  deployment_config.autoscaling_config.max_replicas: 8" in out
    assert f'  {catalog_source}  deployment_config.image: "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2"' in out

    assert run(project, "models", "--stack", "prod", "--explain", "qwen3-coder-30b", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["catalog"] == "qwen3-coder-30b" and document["removed"] == []
    sources = {v["key"]: v["from"] for v in document["values"]}
    assert sources["deployment_config.autoscaling_config.min_replicas"] == "Pulumi.prod.yaml"
    assert sources["deployment_config.gpu_count"] == "catalog qwen3-coder-30b (Pulumi.yaml)"


def test_explain_of_a_model_the_stack_does_not_serve_is_an_error(project, capsys):
    assert run(project, "models", "--stack", "prod", "--explain", "qwen3-coder") == 1
    assert capsys.readouterr().err == "Pulumi.prod.yaml serves no model named 'qwen3-coder' (did you mean 'qwen3-coder-30b'?)\n"


def test_diff_of_a_stack_naming_an_unknown_catalog_entry_exits_2_with_the_report(project, capsys):
    (project / "Pulumi.prod.yaml").write_text(PROD.replace("catalog: qwen3-coder-30b", "catalog: qwen3-coder-3b"))
    assert run(project, "diff", "--from", "staging", "--to", "prod") == 2
    assert capsys.readouterr().err.splitlines() == [
        "Pulumi.prod.yaml: 1 problem found; nothing was changed",
        "  - models[0] catalog: 'qwen3-coder-3b' is not an entry of the catalog in Pulumi.yaml (did you mean 'qwen3-coder-30b'?)",
    ]
