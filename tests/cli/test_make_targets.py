"""The make targets around the engine: what they print when all is there and when something is missing.

None of these reaches past 127.0.0.1: the build paths tested are the ones that stop before any
download (the CLI already built, Go missing, a module proxy that refuses or never answers).
"""

from __future__ import annotations

import json
import os
import sys
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

import pr_preview
from components import engine
from tests.cli.conftest import ROOT

pytestmark = pytest.mark.cli
WORKFLOWS = ROOT / ".github" / "workflows"


def make(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_make_engine_keeps_a_cli_of_the_pinned_version(pulumi_cli):
    result = make("engine")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"==> pulumi v{engine.pulumi_version()} already in .engine/bin; nothing to build\n"


def test_the_build_says_when_go_is_missing():
    result = make("engine-build", "GO=/nonexistent/go")
    assert result.returncode != 0
    assert (
        "error: Go is not installed; make engine needs Go >= 1.25.11 to build the pulumi CLI "
        f"(or put pulumi v{engine.pulumi_version()} on PATH)" in result.stderr
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
    env = {"GOPROXY": silent_proxy, "GOMODCACHE": str(tmp_path / "modcache"), "GOFLAGS": "-modcacherw"}
    result = make("engine-build", "PROXY_TIMEOUT=3", env=env, timeout=60)
    assert result.returncode != 0
    assert (
        f"error: the Go module proxy did not serve github.com/pulumi/pulumi/pkg/v3@v{engine.pulumi_version()} "
        f"within 3s (GOPROXY={silent_proxy}); the pulumi CLI cannot be built" in result.stderr
    )


def test_make_up_names_what_is_missing_without_the_full_engine():
    found = engine.detect()
    if found.full:
        pytest.skip("the full engine is installed here: make up would run pulumi up")
    result = make("up", "STACK=dev")
    assert result.returncode != 0
    for missing in found.missing:
        assert f"missing {missing}" in result.stderr
    assert "the full Pulumi engine is not installed; nothing was run" in result.stderr


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
def test_the_workflows_use_the_pinned_versions(name):
    env = workflow(name)["env"]
    assert env["PULUMI_VERSION"] == engine.pulumi_version()
    assert env["KUBERNETES_PLUGIN_VERSION"] == engine.kubernetes_version()


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


def test_the_recorded_previews_are_what_the_cli_prints_today(pulumi_cli, tmp_path):
    """Re-record the stand-in's previews (tests/cli/record_preview.py) and compare their steps."""
    result = subprocess.run([sys.executable, str(ROOT / "tests/cli/record_preview.py"), str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("stand-in-create.json", "stand-in-change.json"):
        fresh = pr_preview.steps_from_preview(json.loads((tmp_path / name).read_text()))
        kept = pr_preview.steps_from_preview(json.loads((ROOT / "tests/cli/recorded" / name).read_text()))
        assert sorted(fresh, key=repr) == sorted(kept, key=repr)
