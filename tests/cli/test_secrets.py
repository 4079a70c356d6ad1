"""Secrets written by the real pulumi CLI, read by the commands and the program's config loader.

Each test runs the README's own `pulumi config set` on a copy of the stack files, with the
passphrase secrets provider on a file:// backend in a temp dir.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from components.contract import config, pulumi_config, secret_values, stack_files
from tests.cli.conftest import PASSPHRASE, TOKEN, TOKEN_PATH, cli_environment, python_m, runner, stack_value

pytestmark = pytest.mark.cli


@pytest.fixture
def dev(pulumi, project):
    pulumi("stack", "init", "dev", "--secrets-provider", "passphrase", "--non-interactive")
    return project


def run_commands(project: Path, docs_root: Path) -> list:
    return [
        python_m("components", "check", "--stack", "dev", "--project-dir", str(project)),
        python_m("components", "models", "--stack", "dev", "--project-dir", str(project)),
        python_m("docsgen", "--stack", "dev", "--project-dir", str(project), "--docs-root", str(docs_root)),
    ]


def every_file_text(root: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file())


def load_like_the_program(project: Path, cli_json: str) -> config.LoadedStack:
    """What __main__.load does with the engine's config, fed with the CLI's printout instead."""
    files = stack_files.read_stack(project, "dev")
    raw = pulumi_config.raw_from_cli_json(json.loads(cli_json))
    return config.load(
        secret_values.mark_secrets(raw, stack_files.model_fleet_section(files.stack_config)),
        source=files.source,
        extra_problems=files.token_problems,
        catalog_source=files.catalog_source,
    )


def test_a_token_set_with_secret_is_accepted_and_its_ciphertext_shown_nowhere(pulumi, dev, tmp_path):
    pulumi("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)

    written = stack_value(dev, "dev", "model-fleet:models", 0, "deployment_config", "hugging_face_token")
    assert set(written) == {"secure"} and written["secure"].startswith("v1:")
    ciphertext = written["secure"]
    docs = tmp_path / "docs"
    check, models, docsgen = run_commands(dev, docs)
    for result in (check, models, docsgen):
        assert result.returncode == 0, result.stderr
    assert check.stdout == "Pulumi.dev.yaml: 3 models valid, cluster facts from inventory\n"
    assert models.stdout.splitlines()[-1] == "3 models"
    assert "wrote .snippets/code/get-started/start-building/real-time/real-time-qwen3-coder-30b.py" in docsgen.stdout
    shown = "".join(r.stdout + r.stderr for r in (check, models, docsgen)) + every_file_text(docs)
    assert TOKEN not in shown
    assert ciphertext not in shown
    assert ciphertext[3:20] not in shown


def test_a_token_set_with_plaintext_is_refused_pointing_to_secret(pulumi, dev, tmp_path):
    pulumi("config", "set", "--plaintext", "--path", TOKEN_PATH, TOKEN)

    assert stack_value(dev, "dev", "model-fleet:models", 0, "deployment_config", "hugging_face_token") == TOKEN
    docs = tmp_path / "docs"
    for result in run_commands(dev, docs):
        assert result.returncode == 1
        assert result.stderr.splitlines()[:2] == [
            "Pulumi.dev.yaml: 1 problem found; nothing was changed",
            "  - models[0] (catalog qwen3-coder-30b) deployment_config.hugging_face_token: plaintext Hugging Face token in Pulumi.dev.yaml; remove it "
            "and store it encrypted with "
            "`pulumi config set --secret --path 'model-fleet:models[0].deployment_config.hugging_face_token' <token>`",
        ]
        assert TOKEN not in result.stdout + result.stderr
    assert not docs.exists()


def test_the_cli_config_with_show_secrets_reaches_the_loader_as_a_secret(pulumi, dev):
    pulumi("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)

    shown = pulumi("config", "--json", "--show-secrets").stdout
    assert json.loads(shown)["model-fleet:models"]["secret"] is True
    loaded = load_like_the_program(dev, shown)
    token = loaded.spec.models[0].deployment_config.hugging_face_token
    assert isinstance(token, SecretStr)
    assert token.get_secret_value() == TOKEN
    assert TOKEN not in repr(loaded.spec)
    # Without --show-secrets the CLI prints no value: the loader says what to run instead of guessing.
    with pytest.raises(ValueError, match="run `pulumi config --json --show-secrets`"):
        pulumi_config.raw_from_cli_json(json.loads(pulumi("config", "--json").stdout))


def test_a_wrong_passphrase_cannot_read_the_token(pulumi, dev, pulumi_cli, tmp_path):
    pulumi("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)

    env = cli_environment(tmp_path / "home", f"file://{tmp_path / 'state'}")
    env["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE + " but wrong"
    result = runner(pulumi_cli, env, dev)("config", "--json", "--show-secrets", check=False)
    assert result.returncode != 0
    assert "incorrect passphrase" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_a_secret_extra_env_value_is_accepted_and_reaches_the_loader_as_a_secret(pulumi, dev, tmp_path):
    env_path = "model-fleet:models[0].deployment_config.extra_env[1]"
    pulumi("config", "set", "--path", f"{env_path}.name", "WANDB_API_KEY")
    pulumi("config", "set", "--secret", "--path", f"{env_path}.value", "wandb-secret-value-42")

    written = stack_value(dev, "dev", "model-fleet:models", 0, "deployment_config", "extra_env")
    assert written[0] == {"name": "CUDA_VISIBLE_DEVICES", "value": "0"}
    assert written[1]["name"] == "WANDB_API_KEY" and set(written[1]["value"]) == {"secure"}
    ciphertext = written[1]["value"]["secure"]
    docs = tmp_path / "docs"
    results = run_commands(dev, docs)
    for result in results:
        assert result.returncode == 0, result.stderr
    shown = "".join(r.stdout + r.stderr for r in results) + every_file_text(docs)
    assert "wandb-secret-value-42" not in shown and ciphertext not in shown

    loaded = load_like_the_program(dev, pulumi("config", "--json", "--show-secrets").stdout)
    plain, secret = loaded.spec.models[0].deployment_config.extra_env
    assert not plain.is_secret and plain.value == "0"
    assert secret.is_secret and secret.value.get_secret_value() == "wandb-secret-value-42"


def test_the_project_catalog_reaches_every_stack_and_a_stack_catalog_replaces_it(pulumi, dev):
    """Pulumi itself hands the structured `value:` of Pulumi.yaml's model-fleet:catalog to the stack."""
    shown = json.loads(pulumi("config", "--json", "--show-secrets").stdout)
    assert sorted(shown["model-fleet:catalog"]["objectValue"]) == ["bge-m3", "mistral-nemo-instruct-2407", "qwen3-coder-30b"]
    loaded = load_like_the_program(dev, json.dumps(shown))
    assert [m.name for m in loaded.spec.models] == ["qwen3-coder-30b", "mistral-nemo-instruct-2407", "bge-m3"]

    own = {"qwen3-coder-30b": shown["model-fleet:catalog"]["objectValue"]["qwen3-coder-30b"]}
    stack_file = dev / "Pulumi.dev.yaml"
    text = stack_file.read_text()
    stack_file.write_text(text.replace("config:\n", f"config:\n  model-fleet:catalog: {json.dumps(own)}\n", 1))
    shown = json.loads(pulumi("config", "--json", "--show-secrets").stdout)
    assert sorted(shown["model-fleet:catalog"]["objectValue"]) == ["qwen3-coder-30b"]
    result = python_m("components", "check", "--stack", "dev", "--project-dir", str(dev))
    assert result.returncode == 1
    assert result.stderr.splitlines()[:3] == [
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        "  - models[1] catalog: 'mistral-nemo-instruct-2407' is not an entry of the catalog in Pulumi.dev.yaml",
        "  - models[2] catalog: 'bge-m3' is not an entry of the catalog in Pulumi.dev.yaml",
    ]
