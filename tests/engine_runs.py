"""A stack of a copy of the program, run by the real engine: the runner for preview/up/destroy, the CLI for the rest.

The engine is the pinned pulumi CLI and kubernetes plugin (`make engine`); the program runs
through the Automation API (components.engine.runner), as `make up` and `make pr-preview` run
it, with no language host. Each stack gets its own Pulumi home (the plugins linked from the
project's), a file:// backend in a temp dir and no update check or download: nothing leaves
127.0.0.1. Where the engine is missing the tests skip naming it, unless MODEL_FLEET_REQUIRE_ENGINE
is set (`.ci/run` sets it): then they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.commands import pr_preview
from components.engine import discover
from tests.cli.conftest import PASSPHRASE, ROOT, cli_environment

REQUIRE_ENV = "MODEL_FLEET_REQUIRE_ENGINE"
TIMEOUT = 900


def require_engine() -> discover.Engine:
    found = discover.detect()
    if not found.inline:
        reason = "the Pulumi engine is not installed (`make engine`): missing " + "; ".join(found.missing)
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    return found


@dataclass
class EngineStack:
    engine: discover.Engine
    project: Path
    stack: str
    env: dict[str, str]

    def run(self, operation: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`python -m components.engine OPERATION --stack STACK` on the copy, as `make up` runs it."""
        command = [sys.executable, "-m", "components.engine", operation, "--stack", self.stack, "--project-dir", str(self.project), *args]
        if operation != "preview":
            command.append("--yes")
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            pytest.fail(f"{operation} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`pulumi ARGS --stack STACK` in the copy: config, stack export, everything that runs no program."""
        assert self.engine.cli is not None
        result = subprocess.run(
            [str(self.engine.cli), *args, "--stack", self.stack],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if check and result.returncode != 0:
            pytest.fail(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def digest(self) -> dict:
        """The CLI's `preview --json` document of the program, as pr-preview reads it."""
        result = self.run("preview", "--json")
        return json.loads(result.stdout)

    def steps(self) -> list[pr_preview.Step]:
        return pr_preview.steps_from_preview(self.digest())

    def export(self) -> dict:
        return json.loads(self.cli("stack", "export", "--show-secrets=false").stdout)

    def resources(self) -> list[dict]:
        return self.export()["deployment"].get("resources") or []


def engine_stack(engine: discover.Engine, project: Path, tmp: Path, stack: str, passphrase: str = PASSPHRASE, **env: str) -> EngineStack:
    """A new stack `stack` of the project copy on a file:// backend under `tmp`."""
    # The plugin the project's engine has, without copying 170 MB per test.
    home = engine.linked_home(tmp / "pulumi-home")
    (tmp / "state").mkdir()
    environment = cli_environment(home, f"file://{tmp / 'state'}")
    environment.update(PULUMI_CONFIG_PASSPHRASE=passphrase, **env)
    found = discover.Engine(engine.cli, engine.language_host, engine.kubernetes_plugin, home)
    created = EngineStack(found, project, stack, environment)
    created.cli("stack", "init", "--secrets-provider", "passphrase", "--non-interactive")
    return created
