"""The make targets around the engine: what they print when all is there and when something is missing.

None of these reaches past 127.0.0.1: the build paths tested are the ones that stop before any
download (the CLI already built, Go missing, a module proxy that refuses or never answers).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from components.commands import pr_preview
from components.engine import build
from components.engine import discover as engine
from tests.cli.conftest import ROOT, copy_program
from tests.engine_runs import require_engine

pytestmark = pytest.mark.cli
WORKFLOWS = ROOT / ".github" / "workflows"


def make(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_make_engine_builds_nothing_when_the_cache_has_both_binaries(pulumi_cli):
    result = make("engine")
    assert result.returncode == 0, result.stderr
    cache = build.cache_dir()
    lines = [line for line in result.stdout.splitlines() if not line.startswith("==> creating .venv")]
    cli, plugin = engine.pulumi_version(), engine.kubernetes_version()
    assert lines[:3] == [
        f"==> pulumi v{cli} cached in {cache}/pulumi-v{cli}/pulumi; nothing to build",
        f"==> kubernetes plugin v{plugin} cached in {cache}/kubernetes-v{plugin}/pulumi-resource-kubernetes; nothing to build",
        f"==> kubernetes plugin v{plugin} already installed in {engine.ENGINE_HOME}",
    ]
    assert re.fullmatch(rf"==> engine ready in [0-9]s: pulumi v{cli}, kubernetes plugin v{plugin}", lines[3]), lines[3]
    assert len(lines) == 4


def build_with(env: dict[str, str], tmp_path: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -m components.engine build` with an empty cache of built binaries."""
    return subprocess.run(
        [sys.executable, "-m", "components.engine", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MODEL_FLEET_ENGINE_CACHE": str(tmp_path / "cache"), **env},
    )


def test_the_build_says_when_go_is_missing(tmp_path):
    result = build_with({"PATH": "/nonexistent"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: Go is not installed: the pulumi CLI v{engine.pulumi_version()} and the kubernetes plugin "
        f"v{engine.kubernetes_version()} is built from the Go module proxy with Go >= 1.25\n"
    )


@pytest.fixture
def silent_proxy():
    """A "module proxy" on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_the_build_gives_up_on_a_silent_module_proxy(silent_proxy, tmp_path):
    env = {"GOPROXY": silent_proxy, "GOMODCACHE": str(tmp_path / "modcache"), "GOFLAGS": "-modcacherw", "MODEL_FLEET_PROXY_TIMEOUT": "3"}
    result = build_with(env, tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: the Go module proxy (GOPROXY={silent_proxy}) did not answer for "
        f"github.com/pulumi/pulumi/pkg/v3@v{engine.pulumi_version()} within 3s"
    )
    assert "==> building pulumi" in result.stdout


def test_the_runner_names_what_is_missing_and_runs_nothing_without_the_engine(tmp_path):
    # A copy of the project has no .engine; with no pulumi on PATH and an empty home nothing is found.
    project = copy_program(tmp_path / "project")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "components.engine", "up", "--stack", "dev", "--yes"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"missing the pulumi CLI v{engine.pulumi_version()} (run `make engine`, or install it on PATH)",
        f"missing the kubernetes resource plugin v{engine.kubernetes_version()} (run `make engine`; not in "
        f"{project}/.engine/home/plugins, {tmp_path}/home/.pulumi/plugins)",
        "the Pulumi engine is incomplete; nothing was run (`make engine` builds it)",
    ]
    assert not (project / "rendered").exists()


def test_up_without_yes_and_without_a_terminal_refuses(pulumi_cli):
    result = subprocess.run(
        [sys.executable, "-m", "components.engine", "up", "--stack", "dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr == "error: `up` changes the stack and there is no terminal to confirm on: pass --yes\n"


def test_the_workflows_pass_actionlint():
    built = sorted((engine.ENGINE_DIR / "bin").glob("actionlint-*"))
    if not built:
        pytest.skip("actionlint was not built: `make actionlint` needs it from the Go module proxy")
    result = make("workflow-lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "found no problem" in result.stdout


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def run_lines(document: dict) -> list[str]:
    return [step.get("run", "") for job in document["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("name", ["preview.yml", "up.yml"])
def test_the_workflows_take_the_pinned_versions_from_pyproject_toml(name, tmp_path):
    document = workflow(name)
    assert "PULUMI_VERSION" not in document["env"] and "KUBERNETES_PLUGIN_VERSION" not in document["env"]
    [reader] = [step["run"] for job in document["jobs"].values() for step in job["steps"] if "pyproject.toml" in step.get("run", "")]
    github_env = tmp_path / "github-env"
    subprocess.run(["bash", "-c", reader], cwd=ROOT, env={**os.environ, "GITHUB_ENV": str(github_env)}, check=True)
    assert github_env.read_text().splitlines() == [
        f"PULUMI_VERSION={engine.pulumi_version()}",
        f"KUBERNETES_PLUGIN_VERSION={engine.kubernetes_version()}",
    ]


def test_the_pull_request_workflow_runs_make_pr_preview_and_posts_its_summary():
    document = workflow("preview.yml")
    assert any("make pr-preview" in line and "SUMMARY=pr-preview.md" in line for line in run_lines(document))
    scripts = [step["with"]["script"] for step in document["jobs"]["preview"]["steps"] if "github-script" in step.get("uses", "")]
    assert len(scripts) == 1 and "readFileSync('pr-preview.md'" in scripts[0]


def test_the_merge_workflow_runs_pulumi_up_after_validation():
    lines = run_lines(workflow("up.yml"))
    check = next(i for i, line in enumerate(lines) if "make check docs-check" in line)
    up = next(i for i, line in enumerate(lines) if line.startswith("make up"))
    assert check < up


@pytest.mark.engine
def test_the_recorded_previews_are_what_the_engine_prints_today(tmp_path):
    """Re-record this program's previews (tests/cli/record_preview.py) and compare their steps."""
    require_engine()
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/cli/record_preview.py"), str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("dev-create.json", "dev-change.json"):
        fresh = pr_preview.steps_from_preview(json.loads((tmp_path / name).read_text()))
        kept = pr_preview.steps_from_preview(json.loads((ROOT / "tests/cli/recorded" / name).read_text()))
        assert sorted(fresh, key=repr) == sorted(kept, key=repr)


def test_the_official_installs_cli_and_plugin_are_used_and_nothing_is_built(pulumi_cli, tmp_path):
    # An official install as it lays itself out: `pulumi` on PATH (~/.pulumi/bin) and the plugin
    # under ~/.pulumi/plugins; here the real binaries this machine built, and an empty cache.
    home = tmp_path / "home"
    official = home / ".pulumi"
    (official / "bin").mkdir(parents=True)
    (official / "bin" / "pulumi").symlink_to(pulumi_cli.resolve())
    plugin = engine.plugin_path(official)
    plugin.parent.mkdir(parents=True)
    plugin.symlink_to(engine.plugin_path(engine.ENGINE_HOME).resolve())
    project = copy_program(tmp_path / "project")
    env = {"PATH": f"{official / 'bin'}:/usr/bin:/bin", "HOME": str(home), "MODEL_FLEET_ENGINE_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "components.engine", "build"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cli, version = engine.pulumi_version(), engine.kubernetes_version()
    assert result.stdout.splitlines()[:2] == [
        f"==> pulumi v{cli} from the official install: {pulumi_cli.resolve()}; nothing to build",
        f"==> kubernetes plugin v{version} from the official install: {plugin}; nothing to build",
    ]
    assert not (tmp_path / "cache" / "build").exists()
    assert (project / ".engine/bin/pulumi").resolve() == pulumi_cli.resolve()
    assert engine.installed(engine.plugin_path(project / ".engine/home"))
