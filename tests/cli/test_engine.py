"""The dev stack run for real by the full Pulumi engine (marker `engine`).

These run only where the pulumi CLI, its Python language host and the kubernetes plugin are
installed at the pinned versions (`components.engine` finds them; nothing is downloaded), and
skip elsewhere naming what is missing. The dev stack renders manifests into rendered/dev, so no
cluster is needed. State lives in a file:// backend in a temp dir.

Written where the full engine is not available: these tests have not yet run anywhere.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import pr_preview
from components import config, engine, manifest_files
from tests.cli.conftest import PASSPHRASE, ROOT, TOKEN, TOKEN_PATH, copy_program

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def full_engine() -> engine.Engine:
    found = engine.detect()
    if not found.full:
        pytest.skip("the full Pulumi engine is not installed: missing " + "; ".join(found.missing))
    return found


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the program and the dev stack, using the project's venv."""
    return copy_program(tmp_path / "project")


@pytest.fixture
def pulumi(full_engine, project, tmp_path):
    (tmp_path / "state").mkdir()
    env = full_engine.env(PULUMI_BACKEND_URL=f"file://{tmp_path / 'state'}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
                          KUBECONFIG=str(tmp_path / "no-kubeconfig"))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(full_engine.cli), *args], cwd=project, env=env, capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            pytest.fail(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    run("stack", "init", "dev", "--secrets-provider", "passphrase", "--non-interactive")
    return run


def preview_steps(pulumi) -> list[pr_preview.Step]:
    return pr_preview.steps_from_preview(json.loads(pulumi("preview", "--json", "--non-interactive").stdout))


def edit_models(project: Path, change) -> None:
    path = project / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"]["model-fleet:models"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_preview_regenerates_the_docs(pulumi, project):
    shutil.rmtree(project / "docs" / ".snippets")
    pulumi("preview", "--diff", "--non-interactive")
    assert (project / "docs" / ".snippets/code/get-started/start-building/real-time/real-time-bge-m3.py").is_file()
    assert subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "docsgen", "--stack", "dev", "--project-dir", str(project), "--check"], cwd=ROOT
    ).returncode == 0


def test_up_renders_one_manifest_per_resource_and_a_second_up_changes_nothing(pulumi, project):
    pulumi("up", "--yes", "--non-interactive")
    loaded = config.load_stack_file(project, "dev")
    expected = manifest_files.render(loaded.spec, loaded.facts)
    directory = project / "rendered" / "dev"
    assert {p.name: p.read_text() for p in directory.glob("*.yaml")} == expected
    kinds = {yaml.safe_load(text)["kind"] for text in expected.values()}
    assert {"Namespace", "Deployment", "Service", "ServiceMonitor", "PodAutoscaler", "PersistentVolumeClaim"} <= kinds

    assert preview_steps(pulumi) == []


def test_adding_changing_and_removing_a_model_gives_exactly_those_steps(pulumi, project):
    pulumi("up", "--yes", "--non-interactive")

    def change(models: list) -> None:
        # The catalog's bge-m3 served a second time under another name, an override, a removal.
        added = {"catalog": "bge-m3", "name": "bge-small", "display_name": "bge-small"}
        added["deployment_config"] = {"args": ["--served-model-name", "bge-small", "--task", "embed"]}
        models[0]["deployment_config"]["image"] = "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.3"
        del models[1]
        models.append(added)

    edit_models(project, change)
    steps = preview_steps(pulumi)
    assert {(s.model, s.op) for s in steps} == {("bge-small", "create"), ("qwen3-coder-30b", "update"),
                                               ("mistral-nemo-instruct-2407", "delete")}
    updated = [s for s in steps if s.op == "update"]
    assert [(s.type, s.name) for s in updated] == [("kubernetes:apps/v1:Deployment", "qwen3-coder-30b")]
    assert any("image" in key for key in updated[0].keys)


def test_invalid_config_fails_the_preview_with_the_seed_message_and_touches_no_file(pulumi, project):
    def wrong_name(models: list) -> None:
        models[0]["deployment_config"]["args"] = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name wrong-name"]

    edit_models(project, wrong_name)
    before = {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file() and ".venv" not in p.parts}
    result = pulumi("preview", "--non-interactive", check=False)
    assert result.returncode != 0
    assert (
        "models[0] (catalog qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match model name "
        "'qwen3-coder-30b' (required by Aibrix for autoscaling)" in result.stdout + result.stderr
    )
    after = {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file() and ".venv" not in p.parts}
    assert after == before


def test_the_exported_state_holds_no_plaintext_secret(pulumi, project):
    pulumi("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)
    pulumi("up", "--yes", "--non-interactive")
    assert TOKEN not in pulumi("stack", "export").stdout
    assert all(TOKEN not in p.read_text() for p in project.rglob("*.yaml") if ".venv" not in p.parts)


def test_rendered_manifests_come_back_after_the_directory_is_deleted_although_the_state_is_unchanged(pulumi, project):
    pulumi("up", "--yes", "--non-interactive")
    directory = project / "rendered" / "dev"
    first = {p.name: p.read_bytes() for p in directory.iterdir()}

    shutil.rmtree(project / "rendered")
    pulumi("up", "--yes", "--non-interactive")

    assert {p.name: p.read_bytes() for p in directory.iterdir()} == first
    assert preview_steps(pulumi) == []


def test_no_file_the_render_mode_writes_holds_the_token_in_any_encoding(pulumi, project):
    pulumi("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)
    pulumi("up", "--yes", "--non-interactive")
    encodings = [TOKEN.encode(), base64.b64encode(TOKEN.encode()), base64.b64encode(TOKEN.encode()).rstrip(b"=")]
    written = [p for d in ("rendered", ".pulumi-state") for p in (project / d).rglob("*") if p.is_file()]
    assert any(p.name.startswith("secret-") for p in written)
    assert not [p for p in written if any(e in p.read_bytes() for e in encodings)]


def test_up_with_skip_preview_writes_the_same_docs_and_manifests_as_preview(pulumi, project):
    pulumi("preview", "--non-interactive")
    docs = {p: p.read_bytes() for p in (project / "docs").rglob("*") if p.is_file()}
    rendered = {p.name: p.read_bytes() for p in (project / "rendered" / "dev").iterdir()}
    shutil.rmtree(project / "docs" / ".snippets")
    shutil.rmtree(project / "rendered")

    pulumi("up", "--skip-preview", "--yes", "--non-interactive")

    assert {p: p.read_bytes() for p in (project / "docs").rglob("*") if p.is_file()} == docs
    assert {p.name: p.read_bytes() for p in (project / "rendered" / "dev").iterdir()} == rendered
