"""The real servers, started once per session on 127.0.0.1 and stopped after it.

- vLLM (CPU) serving a tiny random model made here (tests/servers/tiny_model.py): one instance
  for chat and completions, one with the pooling runner for embeddings, each under the served
  names of every model of that kind in the test fleet and the dev stack.
- AIBrix's batch service in front of each (tests/servers/aibrix_batch.py), so a batch returns
  that vLLM's real completions or embeddings.

They come from `make servers`. Where a venv is missing the tests skip naming it, unless
MODEL_FLEET_REQUIRE_SERVERS is set (`.ci/run` sets it): then they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.contract import config
from components.contract.spec import ModelType
from tests.docsgen.site import FLEET
from tests.servers import install

REPO = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "MODEL_FLEET_REQUIRE_SERVERS"
API_KEY = "sk-fleet-servers-0123456789"
# Seconds for one server to answer its health check: vLLM takes about 40 alone, 80 beside the other.
START_TIMEOUT = 300
STOP_TIMEOUT = 30
# The chat snippets' batch lines ask for 1000 tokens; the tiny model's context is 1280.
MAX_MODEL_LEN = 1280
VLLM_ENV = {
    "VLLM_TARGET_DEVICE": "cpu",
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB
    "VLLM_CPU_OMP_THREADS_BIND": "all",  # no pinning: two instances share the 2 cores
    "HF_HUB_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def require_servers() -> None:
    missing = [install.SERVERS[key].name for key in install.SERVERS if not install.installed(key)]
    if missing:
        reason = f"the real servers are not built (`make servers`): missing {', '.join(missing)} in {install.cache_root()}"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this is a failure, not a skip)", pytrace=False)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One server process in its own process group, its output in a log file."""

    name: str
    url: str  # without /v1
    log: Path
    process: subprocess.Popen
    served_names: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, health: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited {self.process.returncode} while starting; its log ends:\n{self.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(self.url + health, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        pytest.fail(f"{self.name} did not answer {health} within {START_TIMEOUT} s; its log ends:\n{self.log_tail()}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(name: str, command: list[str], cwd: Path, env: dict[str, str], served_names=()) -> Server:
    port = free_port()
    log = cwd / f"{name}.log"
    cwd.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", log, process, tuple(served_names))


def dev_models():
    return config.load_stack_file(REPO, "dev").spec.models


def served_names(kinds: set[ModelType]) -> list[str]:
    """Every model ID a snippet of these kinds sends, in the test fleet and the dev stack."""
    names = [m.model_id for m in FLEET if ModelType(m.model_type) in kinds]
    names += [e.served_model_id for e in dev_models() if e.model_type in kinds]
    return list(dict.fromkeys(names))


@dataclass
class Servers:
    generate: Server  # vLLM: chat and completions
    embed: Server  # vLLM: embeddings
    batch_generate: Server  # AIBrix in front of generate
    batch_embed: Server  # AIBrix in front of embed

    def real_time_for(self, model_type: str) -> Server:
        return self.embed if model_type == "embedding" else self.generate

    def batch_for(self, model_type: str) -> Server:
        return self.batch_embed if model_type == "embedding" else self.batch_generate


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    require_servers()
    directory = tmp_path_factory.mktemp("tiny-model") / "model"
    subprocess.run(
        [str(install.python("vllm")), "-m", "tests.servers.tiny_model", str(directory)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return directory


@pytest.fixture(scope="session")
def servers(tiny_model, tmp_path_factory) -> Iterator[Servers]:
    runs = tmp_path_factory.mktemp("servers")
    vllm = [
        str(install.python("vllm")),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(tiny_model),
        "--dtype",
        "float32",
        "--enforce-eager",
        "--max-model-len",
        str(MAX_MODEL_LEN),
        "--api-key",
        API_KEY,
    ]
    generate_names = served_names({ModelType.chat, ModelType.completion})
    embed_names = served_names({ModelType.embedding})
    started: list[Server] = []
    try:
        generate = start("vllm-generate", [*vllm, "--served-model-name", *generate_names], runs, VLLM_ENV, generate_names)
        started.append(generate)
        embed = start(
            "vllm-embed",
            [*vllm, "--runner", "pooling", "--convert", "embed", "--served-model-name", *embed_names],
            runs,
            VLLM_ENV,
            embed_names,
        )
        started.append(embed)
        aibrix = [str(install.python("aibrix")), "-m", "tests.servers.aibrix_batch", "--backend-key", API_KEY]
        batch = []
        for backend in (generate, embed):
            name = f"aibrix-{backend.name.removeprefix('vllm-')}"
            env = {"STORAGE_LOCAL_PATH": str(runs / name)}
            batch.append(start(name, [*aibrix, "--backend", backend.url], runs, env))
            started.append(batch[-1])
        deadline = time.monotonic() + START_TIMEOUT
        for server in started:
            server.wait_ready("/health" if server.name.startswith("vllm") else "/healthz", deadline)
        yield Servers(generate, embed, *batch)
    finally:
        for server in reversed(started):
            server.stop()
