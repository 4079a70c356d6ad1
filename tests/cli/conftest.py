"""Fixtures for the tests that drive the real pulumi CLI.

The CLI is the one `make engine` puts in .engine/bin (`make test` runs it first); moto's S3 server
comes from the venv `make moto-venv` creates. Neither is built or downloaded here: a test that
needs a missing one fails and says which make target provides it. Every CLI run gets its own
Pulumi home and a local state backend, fake AWS credentials and no update check or plugin
download, so it touches neither the user's setup nor the network beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from components.engine import discover as engine

ROOT = Path(__file__).resolve().parents[2]
MOTO_VENV = engine.ENGINE_DIR / "moto-venv"
# The dev stack's documented passphrase: Pulumi.dev.yaml holds its encryptionsalt.
PASSPHRASE = "model-fleet-dev"
# Shaped like a Hugging Face token (the plaintext scan looks for this shape); not a real one.
TOKEN = "hf_" + "CliTestToken0123456789abcdefghij"
TOKEN_PATH = "model-fleet:models[0].deployment_config.hugging_face_token"

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    cli = engine.ENGINE_DIR / "bin" / "pulumi"
    wanted = "v" + engine.pulumi_version()
    found = engine.cli_version(cli) if cli.exists() else None
    if found != wanted:
        pytest.fail(f"{cli} is {found or 'missing'}, not the pinned {wanted}: run `make engine` (`make test` does)")
    return cli


def cli_environment(home: Path, backend: str | None) -> dict[str, str]:
    """The user's environment without any Pulumi or AWS setting, plus what these tests need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AWS_"))}
    env.update(engine.QUIET)
    env.update(
        PULUMI_HOME=str(home),
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        # Fake keys for moto; without them and with IMDS off the SDK never looks further.
        AWS_ACCESS_KEY_ID="model-fleet-test",
        AWS_SECRET_ACCESS_KEY="model-fleet-test",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    return env


# The project's own stack files; a generated one (Pulumi.cluster.yaml) is not the project's.
STACK_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml")
# What the engine needs to run the program from a copy of the project (.gitignore: the tests
# check that a run leaves `git status` clean).
PROGRAM = ("__main__.py", "components", "docsgen", "docs", "policy", ".gitignore")


def copy_stack_files(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in STACK_FILES:
        shutil.copy2(ROOT / name, target / name)
    return target


def copy_program(target: Path) -> Path:
    """The stack files and the program, using the project's venv (Pulumi.yaml names it relative to the project)."""
    copy_stack_files(target)
    for name in PROGRAM:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.fixture
def project(tmp_path) -> Path:
    """A temporary copy of the project's Pulumi.yaml and stack files."""
    return copy_stack_files(tmp_path / "project")


def runner(cli: Path, env: dict[str, str], cwd: Path) -> Run:
    def run(*args: str, check: bool = True, directory: Path | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([str(cli), *args], cwd=directory or cwd, env=env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            pytest.fail(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture
def pulumi(pulumi_cli, project, tmp_path) -> Run:
    """`pulumi ARGS...` in the project copy, on a file:// backend in a temp dir."""
    (tmp_path / "state").mkdir()
    return runner(pulumi_cli, cli_environment(tmp_path / "home", f"file://{tmp_path / 'state'}"), project)


def python_m(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS...` as a user runs it from the project directory."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def stack_value(project_dir: Path, stack: str, *path: str | int):
    value = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key in path:
        value = value[key]
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1; yields its endpoint URL."""
    server = MOTO_VENV / "bin" / "moto_server"
    if not server.exists():
        pytest.fail(f"{server} is missing: run `make moto-venv` (`make test` does)")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on 127.0.0.1:{port}:\n{log.read_text()}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_call(endpoint: str, code: str) -> str:
    """Run boto3 `code` (with `s3` a client of the moto server) in moto's venv; returns its stdout."""
    prelude = f"import boto3, json\ns3 = boto3.client('s3', endpoint_url={endpoint!r}, region_name='us-east-1')\n"
    env = cli_environment(Path("/nonexistent"), None)
    result = subprocess.run([str(MOTO_VENV / "bin" / "python"), "-c", prelude + code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def bucket(moto_s3) -> str:
    """A new, empty bucket on the moto server."""
    name = f"model-fleet-state-{uuid.uuid4().hex[:12]}"
    s3_call(moto_s3, f"s3.create_bucket(Bucket={name!r})")
    return name
