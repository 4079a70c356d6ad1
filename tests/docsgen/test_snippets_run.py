"""Every generated snippet, run as a user would: Python with the real openai client, bash with real curl and jq.

The snippets run unchanged against the fake OpenAI server; only their waiting is sped up from
outside: a `sleep` shim first on PATH for bash, `time.sleep` replaced before the Python file runs.
Both record what the snippet asked to wait for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docsgen.site import FLEET, PAGES, PLATFORM, Model, generate_docs, require_tools
from tests.openai_server import FakeOpenAI

pytestmark = [pytest.mark.docs, pytest.mark.loopback]

API_KEY = "sk-fleet-test-0123456789"
ENDPOINTS = {"chat": "/v1/chat/completions", "completion": "/v1/completions", "embedding": "/v1/embeddings"}
SECTIONS = ("Python", "CLI")
# A snippet that polls forever is cut off here instead of hanging the suite.
TIMEOUT = 30
# Runs a snippet file as `python FILE` would, with time.sleep logged instead of waited.
PYTHON_RUNNER = """\
import os, runpy, sys, time

def sleep(seconds):
    with open(os.environ["SLEEP_LOG"], "a") as log:
        print(seconds, file=log)

time.sleep = sleep
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
SLEEP_SHIM = '#!/bin/sh\necho "$*" >> "$SLEEP_LOG"\n'


@pytest.fixture(scope="module", autouse=True)
def tools():
    require_tools("bash", "curl", "jq")


@dataclass
class Fleet:
    """Docs generated for FLEET against a running fake server, and a place to run their snippets."""

    server: FakeOpenAI
    docs_root: Path
    cwd: Path
    bin_dir: Path

    @property
    def sleep_log(self) -> Path:
        return self.bin_dir / "sleeps.log"

    def sleeps(self) -> list[str]:
        return self.sleep_log.read_text().split() if self.sleep_log.exists() else []

    def env(self, api_key: str | None = API_KEY) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")}
        env.update(
            {
                "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}",
                "SLEEP_LOG": str(self.sleep_log),
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
            }
        )
        if api_key is not None:
            env["API_KEY"] = api_key
        return env

    def command(self, snippet: Path) -> list[str]:
        if snippet.suffix == ".py":
            return [sys.executable, "-c", PYTHON_RUNNER, str(snippet)]
        return ["bash", str(snippet)]

    def run(self, model: Model, page: str, section: str, api_key: str | None = API_KEY) -> subprocess.CompletedProcess:
        snippet = model.snippet(self.docs_root, page, section)
        try:
            return subprocess.run(
                self.command(snippet), cwd=self.cwd, env=self.env(api_key), capture_output=True, text=True, timeout=TIMEOUT
            )
        except subprocess.TimeoutExpired as err:
            pytest.fail(f"{snippet.name} still running after {err.timeout} s: a polling loop that never ends?")


@pytest.fixture
def serve(tmp_path):
    """serve(**FakeOpenAI options) -> Fleet; each server is closed after the test."""
    with contextlib.ExitStack() as stack:

        def start(**options) -> Fleet:
            server = stack.enter_context(FakeOpenAI(api_key=API_KEY, known_models={m.model_id for m in FLEET}, **options))
            docs_root = generate_docs(tmp_path / "project", FLEET, api_base_url=server.base_url)
            bin_dir, cwd = tmp_path / "bin", tmp_path / "work"
            bin_dir.mkdir()
            cwd.mkdir()
            shim = bin_dir / "sleep"
            shim.write_text(SLEEP_SHIM)
            shim.chmod(0o755)
            return Fleet(server, docs_root, cwd, bin_dir)

        yield start


def calls(server: FakeOpenAI) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.requests]


def assert_authorized_and_ok(server: FakeOpenAI) -> None:
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.status == 200, (request.method, request.path, request.status)


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("model", FLEET, ids=lambda m: m.name)
def test_real_time_snippet_sends_its_model_id_to_its_endpoint(serve, model, section):
    fleet = serve()

    result = fleet.run(model, "real-time", section)

    assert result.returncode == 0, result.stderr
    [request] = fleet.server.requests
    assert (request.method, request.path) == ("POST", ENDPOINTS[model.model_type])
    assert request.json["model"] == model.model_id
    assert_authorized_and_ok(fleet.server)
    if section == "CLI":
        assert json.loads(result.stdout)["model"] == model.model_id
    else:
        assert f"(model: {model.model_id}" in result.stdout


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("model", FLEET, ids=lambda m: m.name)
def test_batch_snippet_uploads_three_requests_and_waits_for_the_results(serve, model, section):
    fleet = serve(batch_polls_before_done=2)
    endpoint = ENDPOINTS[model.model_type]

    result = fleet.run(model, "batch", section)

    assert result.returncode == 0, result.stderr
    assert_authorized_and_ok(fleet.server)
    upload, create, *polls, download = fleet.server.requests
    assert (upload.method, upload.path, upload.form) == ("POST", "/v1/files", {"purpose": "batch"})
    uploaded = upload.files["file"]
    assert uploaded.filename == "my_batch_request.jsonl"
    assert uploaded.content == (fleet.cwd / "my_batch_request.jsonl").read_bytes()
    lines = [json.loads(line) for line in uploaded.content.decode().splitlines()]
    assert [line["custom_id"] for line in lines] == ["request-1", "request-2", "request-3"]
    assert {(line["method"], line["url"], line["body"]["model"]) for line in lines} == {("POST", endpoint, model.model_id)}

    assert (create.method, create.path) == ("POST", "/v1/batches")
    assert (create.json["endpoint"], create.json["completion_window"]) == (endpoint, "24h")
    assert fleet.server.file_content(create.json["input_file_id"]) == uploaded.content
    # Two polls (in progress, then completed) with one wait between them, as long as the snippet says.
    assert [(p.method, p.path.rsplit("/", 1)[0]) for p in polls] == [("GET", "/v1/batches")] * 2
    assert fleet.sleeps() == ["10"]
    assert download.method == "GET" and download.path.startswith("/v1/files/") and download.path.endswith("/content")

    assert "Batch status: completed" in result.stdout
    results = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["custom_id"] for r in results] == ["request-1", "request-2", "request-3"]
    assert {r["response"]["body"]["model"] for r in results} == {model.model_id}


@pytest.mark.parametrize("outcome", ["failed", "cancelled", "expired"])
@pytest.mark.parametrize("section", SECTIONS)
def test_batch_that_does_not_complete_ends_the_snippet_with_an_error(serve, section, outcome):
    fleet = serve(batch_polls_before_done=3, batch_outcome=outcome)
    model = FLEET[0]

    result = fleet.run(model, "batch", section)

    assert result.returncode == 1
    message = {"CLI": "Error: batch job ended with status: ", "Python": "Batch ended with status: "}[section]
    assert result.stderr.splitlines()[-1] == message + outcome
    polls = [path for method, path in calls(fleet.server) if method == "GET"]
    assert len(polls) == 3 and all(path.startswith("/v1/batches/") for path in polls)
    assert fleet.sleeps() == ["10", "10"]


@pytest.mark.parametrize("section", SECTIONS)
def test_batch_in_a_status_the_snippet_does_not_know_is_waited_on_30_times_then_given_up(serve, section):
    fleet = serve(batch_polls_before_done=100, batch_waiting_status="paused")

    result = fleet.run(FLEET[0], "batch", section)

    assert result.returncode == 1
    assert result.stdout.count("Batch status: paused") == 30
    message = {"CLI": "Error: batch status still unknown", "Python": "Batch status still unknown"}[section]
    assert result.stderr.splitlines()[-1] == f"{message} after 30 checks: paused"
    assert fleet.sleeps() == ["10"] * 29


@pytest.mark.parametrize("api_key", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("page", PAGES)
def test_bash_snippet_without_api_key_says_how_to_set_it(serve, page, api_key):
    fleet = serve()

    result = fleet.run(FLEET[0], page, "CLI", api_key=api_key)

    assert result.returncode == 1
    assert result.stderr == f"Error: API_KEY environment variable is not set. Run: export API_KEY=<your {PLATFORM} API key>\n"
    assert result.stdout == ""
    assert fleet.server.requests == []
    assert list(fleet.cwd.iterdir()) == []


def _take_terminal() -> None:
    # In the child, after setsid: the pty on stdin becomes the controlling terminal, the /dev/tty getpass opens.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_terminal(command: list[str], env: dict, cwd: Path, prompt: str, answer: str) -> tuple[int, str]:
    """Run a command on a new pseudo-terminal, type `answer` once `prompt` shows; returns (exit code, screen)."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
    finally:
        os.close(slave)
    screen, answered, deadline = b"", False, time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                screen += chunk
            if not answered and prompt.encode() in screen:
                os.write(master, answer.encode() + b"\n")
                answered = True
        else:
            pytest.fail(f"no exit after {TIMEOUT} s; screen:\n{screen.decode(errors='replace')}")
        return process.wait(timeout=TIMEOUT), screen.decode(errors="replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("page", PAGES)
def test_python_snippet_asks_for_the_key_when_api_key_is_unset(serve, page):
    fleet = serve()
    model = FLEET[0]
    snippet = model.snippet(fleet.docs_root, page, "Python")
    prompt = f"Enter your {PLATFORM} API key: "

    code, screen = run_in_terminal(fleet.command(snippet), fleet.env(api_key=None), fleet.cwd, prompt, API_KEY)

    assert code == 0, screen
    assert prompt in screen
    assert API_KEY not in screen  # typed without echo
    # The typed key is the one sent.
    assert fleet.server.requests
    assert_authorized_and_ok(fleet.server)
