"""`promote --write` changes only what it means to: values keep their type, the file its comments,
line endings, BOM and indentation, the target its own keys and secrets; what it cannot edit
safely it refuses, naming the place, with the file unchanged; and afterwards `diff` finds nothing
for the promoted models and `check` passes."""

from __future__ import annotations

import errno
import json
import os

import pytest
import yaml

from components.commands.cli import main as cli
from components.contract import stack_files
from components.files import atomic_files
from harness.factories import catalog_entry, two_model_catalog, write_project

pytestmark = pytest.mark.unit

STAGING = """\
config:
  model-fleet:models:
    - catalog: qwen3-coder-30b
      deployment_config:
        image: vllm/vllm-openai:v0.11.0
    - catalog: bge-m3
"""
WRITE = ("promote", "--from", "staging", "--to", "prod", "--write")


@pytest.fixture
def project(tmp_path, ambient_kubeconfig):
    # The prod stacks here name no cluster: they deploy with the ambient kubeconfig (harness write_kubeconfig).
    write_project(tmp_path, two_model_catalog())
    (tmp_path / "Pulumi.staging.yaml").write_text(STAGING)
    return tmp_path


def run(project, *args: str) -> int:
    return cli([*args, "--project-dir", str(project)])


def prod(project, text: str | bytes | None = None):
    path = project / "Pulumi.prod.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    return path


def assert_promoted(project, capsys, *models: str) -> None:
    """What must hold after every `promote --write`: diff finds nothing for the promoted models
    (beyond what prod keeps as its own), check passes, and promoting again changes nothing."""
    capsys.readouterr()
    run(project, "diff", "--from", "staging", "--to", "prod", "--json")
    report = json.loads(capsys.readouterr().out)["models"]
    assert {m: report[m] for m in models if m in report and (report[m].get("only_in") or report[m]["changed"])} == {}
    assert run(project, "check", "--stack", "prod") == 0, capsys.readouterr().err
    capsys.readouterr()
    assert run(project, "promote", "--from", "staging", "--to", "prod", *[a for m in models for a in ("--model", m)]) == 0
    assert "nothing to change" in capsys.readouterr().out


def test_strings_that_yaml_1_1_reads_as_booleans_numbers_or_times_stay_strings(project, capsys):
    ambiguous = ["on", "off", "yes", "no", "1:20", "0x10", "1e3", "010", "~", "2001-01-01", ""]
    staging = yaml.safe_load(STAGING)
    staging["config"]["model-fleet:models"][1]["tags"] = ambiguous
    staging["config"]["model-fleet:models"][1]["description"] = "on"
    (project / "Pulumi.staging.yaml").write_text(yaml.safe_dump(staging, sort_keys=False))
    # Written by hand with YAML 1.1's spellings: `yes` is a boolean to the project's reader.
    prod(project, "config:\n  model-fleet:models:\n    - catalog: bge-m3\n      description: yes\n      is_public: no\n")

    assert run(project, *WRITE, "--model", "bge-m3") == 0
    written = prod(project).read_text()
    assert '      description: "on"\n' in written
    assert "      is_public: no\n" in written  # not part of the change: left as written
    served = stack_files.read_stack_file(prod(project)).config["model-fleet:models"][0]
    assert served["tags"] == ambiguous and served["description"] == "on"
    assert all(type(tag) is str for tag in served["tags"])
    assert_promoted(project, capsys, "bge-m3")


def test_comments_crlf_bom_key_order_and_indentation_are_kept(project, capsys):
    before = (
        "\ufeff# Production\r\n"
        "config:\r\n"
        "    model-fleet:namespace: jan-models   # shared with the gateway\r\n"
        "    model-fleet:models:\r\n"
        "    # The coder\r\n"
        "    - catalog: qwen3-coder-30b\r\n"
        "      deployment_config:\r\n"
        "          # what customers run\r\n"
        "          image: old   # pinned\r\n"
        "          tolerations:\r\n"
        "          - {key: dedicated, operator: Equal, value: llm, effect: NoSchedule}\r\n"
        "    # The embedder, next\r\n"
        "    - catalog: bge-m3\r\n"
    )
    prod(project, before.encode())
    assert run(project, *WRITE) == 0
    assert prod(project).read_bytes().decode() == before.replace("image: old   # pinned", "image: vllm/vllm-openai:v0.11.0   # pinned")
    assert_promoted(project, capsys, "qwen3-coder-30b", "bge-m3")


def test_a_removed_key_takes_its_comment_and_a_new_key_goes_before_the_next_items_comment(project, capsys):
    prod(
        project,
        "config:\n"
        "  model-fleet:models:\n"
        "    - catalog: qwen3-coder-30b\n"
        "      # prod's own description\n"
        "      description: the coder\n"
        "      deployment_config:\n"
        "        pvc_size: 200Gi  # big cache\n"
        "    # The embedder\n"
        "    - catalog: bge-m3\n",
    )
    assert run(project, *WRITE) == 0
    out = capsys.readouterr().out
    # What goes is in the printed change, value by value, before the file's diff.
    assert '  description: "the coder" -> "Qwen3 Coder model for code completion"' in out.splitlines()
    assert prod(project).read_text() == (
        "config:\n"
        "  model-fleet:models:\n"
        "    - catalog: qwen3-coder-30b\n"
        "      deployment_config:\n"
        "        pvc_size: 200Gi  # big cache\n"
        "        image: vllm/vllm-openai:v0.11.0\n"
        "    # The embedder\n"
        "    - catalog: bge-m3\n"
    )
    assert_promoted(project, capsys, "qwen3-coder-30b", "bge-m3")


def test_the_targets_own_keys_and_every_secret_of_its_own_are_kept(project, capsys):
    staging = STAGING.replace(
        "        image: vllm/vllm-openai:v0.11.0\n",
        "        image: vllm/vllm-openai:v0.11.0\n        extra_env:\n          - {name: LOG, value: debug}\n          - {name: API_KEY, value: plain}\n",
    )
    (project / "Pulumi.staging.yaml").write_text(staging)
    before = (
        "config:\n"
        "  model-fleet:models:\n"
        "    - catalog: qwen3-coder-30b\n"
        "      deployment_config:\n"
        "        replicas: 2\n"
        "        hugging_face_token: {secure: v1:token}\n"
        "        extra_env:\n"
        "          - {name: API_KEY, value: {secure: v1:key}}\n"
        "          - {name: DB_PASSWORD, value: {secure: v1:db}}\n"
    )
    prod(project, before)
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 0
    assert prod(project).read_text() == (
        "config:\n"
        "  model-fleet:models:\n"
        "    - catalog: qwen3-coder-30b\n"
        "      deployment_config:\n"
        "        replicas: 2\n"
        "        hugging_face_token: {secure: v1:token}\n"
        "        extra_env:\n"
        "          - {name: LOG, value: debug}\n"
        "          - {name: API_KEY, value: {secure: v1:key}}\n"
        "          - {name: DB_PASSWORD, value: {secure: v1:db}}\n"
        "        image: vllm/vllm-openai:v0.11.0\n"
    )
    assert_promoted(project, capsys, "qwen3-coder-30b")


def test_a_secret_of_the_source_is_refused_and_nothing_is_written(project, capsys):
    secret = "    - catalog: bge-m3\n      deployment_config:\n        extra_env: [{name: TOKEN, value: {secure: v1:abc}}]\n"
    (project / "Pulumi.staging.yaml").write_text(STAGING.replace("    - catalog: bge-m3\n", secret))
    before = prod(project, "config:\n  model-fleet:models: []\n").read_text()
    assert run(project, *WRITE) == 1
    assert capsys.readouterr().err.splitlines()[1] == (
        "  - bge-m3 deployment_config.extra_env[TOKEN].value: a secret of Pulumi.staging.yaml cannot be copied to Pulumi.prod.yaml (each stack encrypts its own); "
        "set it in Pulumi.prod.yaml with `pulumi config set --secret --path`"
    )
    assert prod(project).read_text() == before


@pytest.mark.parametrize(
    "text",
    [
        # One map shared by two models through an anchor: changing it would change both.
        "config:\n  model-fleet:models:\n    - catalog: qwen3-coder-30b\n      deployment_config: &dc\n        image: old\n"
        "    - catalog: bge-m3\n      deployment_config: *dc\n",
        "config:\n  model-fleet:models:\n    - &coder\n      catalog: qwen3-coder-30b\n      deployment_config: {image: old}\n"
        "    - <<: *coder\n      catalog: bge-m3\n",
        "x-image: &image old\nconfig:\n  model-fleet:models:\n    - catalog: qwen3-coder-30b\n      deployment_config:\n        image: *image\n",
    ],
    ids=["anchor-shared-by-two-models", "merge-key", "alias-of-a-value-outside"],
)
def test_anchors_aliases_and_merge_keys_in_the_edited_item_are_refused(project, capsys, text):
    prod(project, text)
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 1
    assert capsys.readouterr().err.splitlines() == [
        "promote staging -> prod: 1 problem found; nothing was changed",
        "  - Pulumi.prod.yaml models[0] (catalog qwen3-coder-30b): written with YAML anchors, aliases or merge keys (&, *, <<): "
        "promote does not edit through them; write it out in full",
    ]
    assert prod(project).read_text() == text


def test_an_anchor_in_another_model_is_left_alone(project, capsys):
    text = "config:\n  model-fleet:models:\n    - catalog: qwen3-coder-30b\n    - catalog: bge-m3\n      tags: &tags [embedding]\n"
    prod(project, text)
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 0
    assert prod(project).read_text() == text.replace(
        "    - catalog: qwen3-coder-30b\n",
        "    - catalog: qwen3-coder-30b\n      deployment_config:\n        image: vllm/vllm-openai:v0.11.0\n",
    )


def test_a_key_written_twice_in_the_edited_item_is_refused(project, capsys):
    text = "config:\n  model-fleet:models:\n    - catalog: qwen3-coder-30b\n      deployment_config:\n        image: a\n        image: b\n"
    prod(project, text)
    assert run(project, *WRITE) == 1
    # The strict loader refuses it, as every command reading the file does.
    assert capsys.readouterr().err == (
        "Pulumi.prod.yaml: 1 problem found; nothing was changed\n"
        "  - models[0] deployment_config.image: the key is written twice in its mapping; keep one (line 6, column 9)\n"
    )
    assert prod(project).read_text() == text


def test_models_served_from_the_project_file_are_refused_not_shadowed(project, capsys):
    document = yaml.safe_load((project / "Pulumi.yaml").read_text())
    document["config"]["model-fleet:models"] = {"value": [{"catalog": "qwen3-coder-30b"}, {"catalog": "bge-m3"}]}
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    text = prod(project, "config:\n  model-fleet:namespace: jan-models\n").read_text()
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 1
    err = capsys.readouterr().err
    assert "Pulumi.prod.yaml has no model-fleet:models of its own: it serves the list in Pulumi.yaml" in err
    assert prod(project).read_text() == text


def test_a_model_of_the_targets_own_catalog_gets_overrides_and_says_so(project, capsys):
    own = {"qwen3-coder-30b": {**catalog_entry(), "description": "prod's own"}}
    prod(project, yaml.safe_dump({"config": {"model-fleet:catalog": own, "model-fleet:models": [{"catalog": "qwen3-coder-30b"}]}}))
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 0
    out = capsys.readouterr().out.splitlines()
    assert "  written as overrides in this item, over the entry qwen3-coder-30b of Pulumi.prod.yaml's own model-fleet:catalog" in out
    assert_promoted(project, capsys, "qwen3-coder-30b")


def test_an_entry_check_refuses_in_the_source_is_not_copied(project, capsys):
    (project / "Pulumi.staging.yaml").write_text(
        STAGING.replace("        image: vllm/vllm-openai:v0.11.0\n", "        image: x\n        gpu_count: 3\n")
    )
    text = prod(project, "config:\n  model-fleet:models: []\n").read_text()
    assert run(project, *WRITE) == 1
    assert capsys.readouterr().err.splitlines()[1] == (
        "  - qwen3-coder-30b: check refuses it in Pulumi.staging.yaml, so promote does not copy it: models[0] (catalog qwen3-coder-30b) "
        "deployment_config.gpu_count: gpu_count 3 is outside requirements.gpu min_gpus..max_gpus (1..1)"
    )
    assert prod(project).read_text() == text


def test_a_promotion_that_check_would_refuse_in_the_target_is_refused(project, capsys):
    (project / "Pulumi.staging.yaml").write_text(
        STAGING.replace("    - catalog: bge-m3\n", "    - catalog: bge-m3\n      display_name: Coder\n")
    )
    text = prod(project, "config:\n  model-fleet:models:\n    - catalog: qwen3-coder-30b\n      display_name: Coder\n").read_text()
    assert run(project, *WRITE, "--model", "bge-m3") == 1
    assert "Pulumi.prod.yaml models[1] (catalog bge-m3) display_name: 'Coder' is already used by models[0]" in capsys.readouterr().err
    assert prod(project).read_text() == text


def test_a_model_named_twice_is_promoted_once(project, capsys):
    prod(project, "config:\n  model-fleet:models: []\n")
    assert run(project, *WRITE, "--model", "bge-m3", "--model", "bge-m3", "bge-m3") == 0
    assert prod(project).read_text() == "config:\n  model-fleet:models:\n    - catalog: bge-m3\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config:\n  model-fleet:models:\n    - catalog: bge-m3\n"),
        ("# not set up yet\n", "# not set up yet\nconfig:\n  model-fleet:models:\n    - catalog: bge-m3\n"),
        ("encryptionsalt: v1:abc=\n", "encryptionsalt: v1:abc=\nconfig:\n  model-fleet:models:\n    - catalog: bge-m3\n"),
        ("encryptionsalt: v1:abc=\nconfig:\n", "encryptionsalt: v1:abc=\nconfig:\n  model-fleet:models:\n    - catalog: bge-m3\n"),
        (
            "config:\n  model-fleet:namespace: jan-models\n  model-fleet:models: null  # none yet\n",
            "config:\n  model-fleet:namespace: jan-models\n  model-fleet:models: # none yet\n    - catalog: bge-m3\n",
        ),
        (
            "config:\n  model-fleet:namespace: jan-models",
            "config:\n  model-fleet:namespace: jan-models\n  model-fleet:models:\n    - catalog: bge-m3\n",
        ),
    ],
    ids=["empty", "comments-only", "encryptionsalt-only", "config-null", "models-null", "no-final-newline"],
)
def test_a_stack_file_without_models_gets_them(project, capsys, text, expected):
    prod(project, text)
    assert run(project, *WRITE, "--model", "bge-m3") == 0
    assert prod(project).read_text() == expected
    assert_promoted(project, capsys, "bge-m3")


def test_a_symlinked_stack_file_is_edited_through_the_link(project, capsys):
    (project / "stacks").mkdir()
    real = project / "stacks" / "prod.yaml"
    real.write_text("config:\n  model-fleet:models:\n    - catalog: bge-m3\n")
    os.symlink("stacks/prod.yaml", project / "Pulumi.prod.yaml")
    assert run(project, *WRITE, "--model", "qwen3-coder-30b") == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote Pulumi.prod.yaml (through the link, to {real})"
    assert (project / "Pulumi.prod.yaml").is_symlink()
    assert "image: vllm/vllm-openai:v0.11.0" in real.read_text()


def test_a_read_only_stack_file_is_left_as_it_is(project, capsys):
    path = prod(project, "config:\n  model-fleet:models: []\n")
    path.chmod(0o444)
    assert run(project, *WRITE) == 1
    assert capsys.readouterr().err.splitlines() == [
        "promote staging -> prod: 1 problem found; nothing was changed",
        f"  - {path} is read-only: make it writable to promote into it",
    ]
    assert path.read_text() == "config:\n  model-fleet:models: []\n"


def test_a_write_that_fails_leaves_the_old_file_and_says_why(project, capsys, monkeypatch):
    path = prod(project, "config:\n  model-fleet:models: []\n")

    class FullDisk:
        def __init__(self, fd, *args, **kwargs):
            os.close(fd)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic_files.os, "fdopen", FullDisk)
    assert run(project, *WRITE) == 1
    assert capsys.readouterr().err.splitlines()[1] == f"  - cannot write {path}: No space left on device"
    assert path.read_text() == "config:\n  model-fleet:models: []\n"
    assert atomic_files.leftovers(project) == []


def test_mixed_line_endings_are_refused(project, capsys):
    text = b"config:\r\n  model-fleet:models:\n    - catalog: bge-m3\r\n"
    prod(project, text)
    assert run(project, *WRITE) == 1
    assert "mixed line endings (CRLF and LF)" in capsys.readouterr().err
    assert prod(project).read_bytes() == text
