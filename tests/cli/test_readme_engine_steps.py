"""The README's engine steps, run with the real CLI on a copy of the repository, leave it clean.

`pulumi stack select dev --create` writes an `encryptionsalt` into a stack file that has none;
the dev stack's is committed for the documented passphrase, so a new user's first steps do
not dirty the checkout. The steps up to the first `pulumi preview` need the CLI alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from components.engine import discover as engine
from tests.cli.conftest import ROOT
from tests.engine_runs import require_engine

pytestmark = pytest.mark.cli
MARKER = "<!-- engine-steps"


def readme_steps() -> list[str]:
    """The README's engine step lines before the first one that needs the full engine."""
    text = (ROOT / "README.md").read_text()
    block = re.search(re.escape(MARKER) + r".*?\n```bash\n(.*?)```", text, re.S)
    assert block, "the README lost its engine steps block"
    lines = [line for line in block[1].splitlines() if line.strip()]
    first_engine = next(i for i, line in enumerate(lines) if line.startswith("pulumi preview"))
    return lines[:first_engine]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def checkout(target: Path) -> Path:
    """The repository's tracked files, as a fresh commit of their own."""
    for name in git(ROOT, "ls-files", "-z").split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "checkout")
    return target


def run_steps(repo: Path, cli: Path, home: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{cli.parent}:/usr/bin:/bin", "HOME": str(home), "PULUMI_HOME": str(home / ".pulumi"), **engine.QUIET}
    script = "set -euo pipefail\n" + "\n".join(readme_steps()) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def test_the_readmes_first_engine_steps_leave_git_status_clean(pulumi_cli, tmp_path):
    assert [line.split()[0] for line in readme_steps()] == ["export", "mkdir", "pulumi", "pulumi"]
    repo = checkout(tmp_path / "repo")

    result = run_steps(repo, pulumi_cli, tmp_path / "home")

    assert result.returncode == 0, result.stderr
    assert "Created stack 'dev'" in result.stdout + result.stderr
    assert git(repo, "status", "--porcelain") == ""


def test_without_the_committed_salt_the_same_steps_would_dirty_the_tree(pulumi_cli, tmp_path):
    repo = checkout(tmp_path / "repo")
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(re.sub(r"(?m)^encryptionsalt: .*\n", "", stack_file.read_text()))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "no salt")

    assert run_steps(repo, pulumi_cli, tmp_path / "home").returncode == 0

    assert git(repo, "status", "--porcelain") == " M Pulumi.dev.yaml\n"


RUNNER_MARKER = "<!-- runner-steps"


def runner_steps() -> list[str]:
    """The README's steps for a machine without the language host."""
    text = (ROOT / "README.md").read_text()
    block = re.search(re.escape(RUNNER_MARKER) + r".*?\n```bash\n(.*?)```", text, re.S)
    assert block, "the README lost its runner steps block"
    return [line.split("  #")[0].rstrip() for line in block[1].splitlines() if line.strip()]


@pytest.mark.engine
def test_the_readmes_steps_without_a_language_host_preview_and_up_the_dev_stack(tmp_path):
    require_engine()
    assert runner_steps()[0] == "make engine" and runner_steps()[-1] == "make up STACK=dev PULUMI_FLAGS=--yes"
    repo = checkout(tmp_path / "repo")
    # The project's venv stands in for the one `make` would create in the new checkout (same pins).
    (repo / ".venv").symlink_to(ROOT / ".venv")
    env = {"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    script = "set -euo pipefail\n" + "\n".join(runner_steps()) + "\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing to build" in result.stdout
    summary = (repo / "pr-preview.md").read_text()
    assert "**Validation**: passed, 3 models." in summary and "**Docs**: up to date." in summary
    assert "**Resources**: 18 to create." in summary
    assert "    up: " in result.stderr
    assert sorted(p.name for p in (repo / "rendered" / "dev").glob("deployment-*.yaml")) == [
        "deployment-jan-models-bge-m3.yaml",
        "deployment-jan-models-mistral-nemo-instruct-2407.yaml",
        "deployment-jan-models-qwen3-coder-30b.yaml",
    ]
    # Everything the steps wrote is ignored (the venv link is this test's own).
    assert git(repo, "status", "--porcelain", "--", ".", ":!.venv") == ""
