"""The dev stack run by the real Pulumi engine (marker `engine`): the pinned CLI and kubernetes plugin.

The program runs through the runner (the Automation API, no language host), as `make up` and
`make pr-preview` run it. The dev stack renders manifests into rendered/dev, so no cluster is
needed; KUBECONFIG is set as in a user's shell (the 4.25 provider refuses an ambient kubeconfig
next to a render directory unless the program passes none). State lives in a file:// backend in
a temp dir.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import manifest_files
from components.contract import config
from components.contract.spec import SERVICE_MONITOR_CRD
from components.manifests import objects
from tests.cli.conftest import ROOT, TOKEN, TOKEN_PATH, copy_program
from tests.engine_runs import EngineStack, engine_stack, require_engine

pytestmark = pytest.mark.engine
COMPONENT = "model-fleet:index:ModelDeployment"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]
current-context: nowhere
users: [{name: nobody, user: {token: not-a-token}}]
"""


@pytest.fixture(scope="module")
def engine():
    return require_engine()


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the program and its stack files, committed to a git repository of its own."""
    project = copy_program(tmp_path / "project")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=project, check=True)
    return project


def stack_with_kubeconfig(engine, project: Path, tmp_path: Path, name: str = "dev") -> EngineStack:
    """A new stack of the project copy, with KUBECONFIG set as in a user's shell."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    # Each stack's home and state under tmp_path/engine, which the secrets test searches whole.
    (tmp_path / "engine" / name).mkdir(parents=True)
    return engine_stack(engine, project, tmp_path / "engine" / name, name, KUBECONFIG=str(kubeconfig))


@pytest.fixture
def dev(engine, project, tmp_path) -> EngineStack:
    return stack_with_kubeconfig(engine, project, tmp_path)


def git_status(project: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True).stdout


def expected_objects(project: Path) -> set[tuple[str, str]]:
    """(Kubernetes kind, Pulumi resource name) of every object the builders make for the stack."""
    loaded = config.load_stack_file(project, "dev")
    spec = loaded.spec
    context = objects.Context.of(spec, service_monitor_enabled=loaded.facts.has_crd(SERVICE_MONITOR_CRD))
    return {(manifest["kind"], name) for entry in spec.models for name, manifest in objects.model_objects(entry, context)}


def edit_models(project: Path, change) -> None:
    path = project / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"]["model-fleet:models"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_preview_with_kubeconfig_set_regenerates_the_docs_and_manifests_and_leaves_git_clean(dev, project):
    shutil.rmtree(project / "docs" / ".snippets")
    result = dev.run("preview", "--diff")
    assert "is not compatible with" not in result.stdout + result.stderr
    assert (project / "docs/.snippets/code/get-started/start-building/real-time/real-time-bge-m3.py").is_file()
    check = subprocess.run([sys.executable, "-m", "docsgen", "--stack", "dev", "--project-dir", str(project), "--check"], cwd=ROOT)
    assert check.returncode == 0
    loaded = config.load_stack_file(project, "dev")
    directory = project / "rendered" / "dev"
    assert {p.name: p.read_text() for p in directory.glob("*.yaml")} == manifest_files.render(loaded.spec, loaded.facts)
    # The docs came back byte for byte as committed; rendered manifests and state are ignored.
    assert git_status(project) == ""


def test_up_creates_every_object_the_builders_make_and_a_second_preview_changes_nothing(dev, project):
    first = dev.steps()
    creates = {(s.type, s.name) for s in first if s.op == "create"}
    kinds = {
        "Deployment": "kubernetes:apps/v1:Deployment",
        "Service": "kubernetes:core/v1:Service",
        "PersistentVolumeClaim": "kubernetes:core/v1:PersistentVolumeClaim",
        "ServiceMonitor": "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
        "PodAutoscaler": "kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler",
    }
    expected = {(kinds[kind], name) for kind, name in expected_objects(project)}
    models = {m.name for m in config.load_stack_file(project, "dev").spec.models}
    assert creates == expected | {(COMPONENT, m) for m in models} | {
        ("pulumi:pulumi:Stack", "model-fleet-dev"),
        ("pulumi:providers:kubernetes", "kubernetes"),
        ("kubernetes:core/v1:Namespace", "namespace"),
    }
    assert {s.op for s in first} == {"create"}

    dev.run("up")
    state = {(r["type"], r["urn"].split("::")[-1]) for r in dev.resources()}
    assert creates <= state
    assert dev.steps() == []
    dev.run("preview", "--expect-no-changes")
    assert git_status(project) == ""


def test_adding_changing_and_removing_a_model_gives_exactly_those_steps(dev, project):
    dev.run("up")

    def change(models: list) -> None:
        # The catalog's bge-m3 served a second time under another name, an override, a removal.
        added = {
            "catalog": "bge-m3",
            "name": "bge-small",
            "display_name": "bge-small",
            "deployment_config": {"args": ["--served-model-name", "bge-small", "--task", "embed"]},
        }
        models[0]["deployment_config"]["image"] = "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.3"
        del models[1]
        models.append(added)

    edit_models(project, change)
    steps = dev.steps()
    assert {(s.model, s.op) for s in steps} == {
        ("bge-small", "create"),
        ("qwen3-coder-30b", "update"),
        ("mistral-nemo-instruct-2407", "delete"),
    }
    [updated] = [s for s in steps if s.op == "update"]
    assert (updated.type, updated.name) == ("kubernetes:apps/v1:Deployment", "qwen3-coder-30b-deployment")
    # The provider's detailedDiff names the changed key itself.
    assert updated.keys == ("spec.template.spec.containers[0].image",)
    deleted = {s.name: s.kept for s in steps if s.op == "delete"}
    # The cache claim is a delete to the engine too, which then leaves the object be (retainOnDelete).
    assert deleted == {
        "mistral-nemo-instruct-2407": False,
        "mistral-nemo-instruct-2407-deployment": False,
        "mistral-nemo-instruct-2407-service": False,
        "mistral-nemo-instruct-2407-servicemonitor": False,
        "mistral-nemo-instruct-2407-hf-cache": True,
    }

    dev.run("up")
    assert dev.steps() == []


def test_invalid_config_fails_the_preview_with_the_seed_message_and_touches_no_file(dev, project):
    def wrong_name(models: list) -> None:
        models[0]["deployment_config"]["args"] = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name wrong-name"]

    edit_models(project, wrong_name)
    before = {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    result = dev.run("preview", check=False)
    assert result.returncode == 1
    assert (
        "models[0] (catalog qwen3-coder-30b) deployment_config.args: --served-model-name 'wrong-name' must match model name "
        "'qwen3-coder-30b' (required by Aibrix for autoscaling)" in result.stdout + result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr
    after = {p: p.stat().st_mtime_ns for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before


def test_a_token_set_with_config_set_secret_path_is_in_no_state_file_doc_or_log_in_any_encoding(dev, project, tmp_path):
    dev.cli("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)
    outputs = [dev.run("preview").stdout, dev.run("up").stdout + dev.run("up").stderr, dev.run("preview", "--diff").stdout]
    exported = dev.cli("stack", "export").stdout
    assert set(
        yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"]["model-fleet:models"][0]["deployment_config"][
            "hugging_face_token"
        ]
    ) == {"secure"}
    encodings = [TOKEN.encode(), base64.b64encode(TOKEN.encode()), base64.b64encode(TOKEN.encode()).rstrip(b"=")]
    written = [
        p
        for p in [*project.rglob("*"), *(tmp_path / "engine").rglob("*")]
        if p.is_file() and not p.is_symlink() and ".git" not in p.parts and "plugins" not in p.parts
    ]
    assert any(p.name.startswith("secret-") for p in written), "the token Secret is rendered (without its value)"
    assert [p for p in written if any(e in p.read_bytes() for e in encodings)] == []
    assert not [o for o in [*outputs, exported] if any(e.decode() in o for e in encodings)]
    # In render mode the Secret is declared without its value: a rendered value would be in clear.
    [secret] = [r for r in dev.resources() if r["type"] == "kubernetes:core/v1:Secret"]
    assert "stringData" not in secret["inputs"] and "data" not in secret["inputs"]


def test_rendered_manifests_come_back_after_the_directory_is_deleted_although_the_state_is_unchanged(dev, project):
    dev.run("up")
    directory = project / "rendered" / "dev"
    first = {p.name: p.read_bytes() for p in directory.iterdir()}
    shutil.rmtree(project / "rendered")
    dev.run("up")
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == first
    assert dev.steps() == []


def test_destroy_deletes_everything_but_the_kept_namespace_and_claims(dev, project):
    dev.run("up")
    result = dev.run("destroy")
    assert dev.resources() == []
    # Kept objects are deletes to the engine, which leaves them be: in render mode the provider's
    # own render folder keeps their files.
    kept = sorted(p.name for p in (project / ".pulumi-state" / "provider-render" / "dev").rglob("*.yaml"))
    assert kept and all("namespace" in n.lower() or "persistentvolumeclaim" in n.lower() for n in kept), kept
    lines = result.stderr.splitlines()
    assert lines[0].startswith("==> destroy of stack dev with pulumi v"), lines
    assert re.fullmatch(r"    destroy: \d+\.\ds", lines[-1]), lines
    assert git_status(project) == ""


def test_pr_preview_with_the_engine_lists_the_plan_per_model(dev, project):
    dev.run("up")
    edit_models(project, lambda models: models[0]["deployment_config"].update(image="registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.3"))
    result = subprocess.run(
        [sys.executable, "-m", "components", "pr-preview", "--stack", "dev", "--project-dir", str(project)],
        cwd=ROOT,
        env=dev.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "**Resources**: 1 to update." in result.stdout
    assert (
        "| update | `kubernetes:apps/v1:Deployment` `qwen3-coder-30b-deployment` | `spec.template.spec.containers[0].image` |"
        in result.stdout
    )


def test_the_engine_command_reports_the_versions_and_the_inline_mode(engine):
    result = subprocess.run([sys.executable, "-m", "components.engine"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"found pulumi CLI v3.259.0: {engine.cli}" in lines
    assert f"found kubernetes plugin v4.25.0: {engine.kubernetes_plugin}" in lines
    if engine.language_host is None:
        assert lines[-1].startswith("no pulumi-language-python: the runner (`make up`, `make pr-preview`) is a full engine")
    else:
        assert lines[-1] == "full engine: `pulumi preview`/`pulumi up` and the runner both work"
