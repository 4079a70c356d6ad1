"""Every generated snippet, run as a user would, against the real servers: vLLM and AIBrix's batch service.

The snippets of the test fleet (chat, completion and embedding models) and the committed ones of
the dev stack run unchanged but for the base URL and the API key: Python with the real openai
client, bash with real curl and jq. Real-time snippets go to vLLM, batch snippets to AIBrix in
front of it. Only their waiting is sped up from outside (the `sleep` shim and `time.sleep`
replacement of tests/docsgen/test_snippets_run.py). The snippets of the templates before they
handled what these servers do (tests/servers/old_templates/) are run too, to show each defect.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from components.contract.spec import ModelType
from docsgen import render
from tests.docsgen.site import FLEET, PLATFORM, SNIPPETS, Model, generate_docs, require_tools
from tests.docsgen.test_snippets_run import PYTHON_RUNNER, SLEEP_SHIM
from tests.servers.conftest import API_KEY, REPO, dev_models

pytestmark = [pytest.mark.servers, pytest.mark.docs]

# A batch of three 1000-token chat requests takes about 20 s on 2 cores beside the other servers.
TIMEOUT = 300
OLD_TEMPLATES = Path(__file__).parent / "old_templates"
DEV_API_BASE_URL = "https://api.dev.example.com/v1"
DEV_DOCS = REPO / "docs" / ".snippets"


@pytest.fixture(scope="module", autouse=True)
def tools():
    require_tools("bash", "curl", "jq")


def run(snippet: Path, cwd: Path) -> subprocess.CompletedProcess:
    bin_dir = cwd / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "sleep").write_text(SLEEP_SHIM)
    (bin_dir / "sleep").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "API_KEY": API_KEY,
        "SLEEP_LOG": str(cwd / "sleeps.log"),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "HOME": str(cwd),
    }
    command = [sys.executable, "-c", PYTHON_RUNNER, str(snippet)] if snippet.suffix == ".py" else ["bash", str(snippet)]
    try:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{snippet.name} still running after {TIMEOUT} s")


def base_url(servers, page: str, model_type: str) -> str:
    server = servers.batch_for(model_type) if page == "batch" else servers.real_time_for(model_type)
    return server.base_url


@pytest.fixture(scope="module")
def fleet_docs(servers, tmp_path_factory):
    """FLEET's docs, once per server a snippet may talk to: {base URL: docs root}."""
    urls = {base_url(servers, page, kind) for page in ("real-time", "batch") for kind in ("chat", "embedding")}
    root = tmp_path_factory.mktemp("fleet-docs")
    return {url: generate_docs(root / str(i), FLEET, api_base_url=url) for i, url in enumerate(sorted(urls))}


def assert_answered(result: subprocess.CompletedProcess, page: str, section: str, model_type: str, served_as: str):
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    if page == "batch":
        assert "Batch status: completed" in result.stdout
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert sorted(line["custom_id"] for line in lines) == ["request-1", "request-2", "request-3"]
        bodies = [line["response"]["body"] for line in lines]
        expected = {"chat": "chat.completion", "completion": "text_completion", "embedding": "list"}[model_type]
        assert {body["object"] for body in bodies} == {expected}
        if model_type == "embedding":
            assert all(len(body["data"][0]["embedding"]) == 128 for body in bodies)
    elif section == "CLI":
        answer = json.loads(result.stdout)
        assert answer["model"] == served_as
        assert answer["choices" if model_type != "embedding" else "data"]
    else:
        label = "embedding" if model_type == "embedding" else "response"
        assert f"AI {label} (model: {served_as}" in result.stdout


def served_as(servers, model_type: str) -> str:
    """vLLM answers under the first of its served names, whichever of them was asked for."""
    return servers.real_time_for(model_type).served_names[0]


@pytest.mark.parametrize("section", ["Python", "CLI"])
@pytest.mark.parametrize("page", ["real-time", "batch"])
@pytest.mark.parametrize("model", FLEET, ids=lambda m: m.name)
def test_fleet_snippet_answers(servers, fleet_docs, tmp_path, model: Model, page, section):
    docs_root = fleet_docs[base_url(servers, page, model.model_type)]

    result = run(model.snippet(docs_root, page, section), tmp_path)

    assert_answered(result, page, section, model.model_type, served_as(servers, model.model_type))


def dev_snippets():
    for entry in dev_models():
        for snippet in render.snippets_for(entry):
            yield pytest.param(entry, snippet, id=f"{entry.name}-{snippet.page}-{snippet.section}")


@pytest.mark.parametrize(("entry", "snippet"), list(dev_snippets()))
def test_committed_dev_snippet_answers(servers, tmp_path, entry, snippet):
    text = (DEV_DOCS / snippet.include).read_text()
    assert DEV_API_BASE_URL in text
    url = base_url(servers, snippet.page, entry.model_type.value)
    copy = tmp_path / Path(snippet.include).name
    copy.write_text(text.replace(DEV_API_BASE_URL, url))

    result = run(copy, tmp_path / "work")

    assert_answered(result, snippet.page, snippet.section, entry.model_type.value, served_as(servers, entry.model_type.value))


# The templates as they were before this tier, first; the rest as they are.
assert render.ENV.loader is not None
OLD_ENV = render.ENV.overlay(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(OLD_TEMPLATES), render.ENV.loader]))


def old_batch_snippet(model: Model, section: str, url: str, directory: Path) -> Path:
    """The batch snippet the old templates wrote for model."""
    snippet_model = render.SnippetModel(model.display_name, model.model_id, ModelType(model.model_type), url, PLATFORM)
    template = "batch.py.j2" if section == "Python" else "batch.md.j2"
    directory.mkdir(parents=True)
    path = directory / Path(SNIPPETS["batch", section]).name.format(name=model.name)
    path.write_text(OLD_ENV.get_template(template).render(m=snippet_model))
    return path


def test_old_python_batch_snippet_crashes_on_aibrix_leaving_request_counts_out(servers, tmp_path):
    model = FLEET[0]
    url = servers.batch_for(model.model_type).base_url
    old = old_batch_snippet(model, "Python", url, tmp_path / "old")
    new = generate_docs(tmp_path / "new", [model], api_base_url=url)

    before = run(old, tmp_path / "before")
    after = run(model.snippet(new, "batch", "Python"), tmp_path / "after")

    assert before.returncode == 1
    assert "Batch status: scheduling" in before.stdout
    assert "AttributeError: 'NoneType' object has no attribute 'completed'" in before.stderr
    assert_answered(after, "batch", "Python", model.model_type, served_as(servers, model.model_type))
    assert "Batch status: scheduling" in after.stdout


# A model no vLLM serves: every line of its batch fails with vLLM's 404, and AIBrix completes the
# batch with an error file and no output file.
UNSERVED = Model("not-served", "Not Served", "chat", "no-such-model")


@pytest.mark.parametrize("section", ["Python", "CLI"])
def test_batch_whose_requests_all_fail_prints_them_and_exits_1(servers, tmp_path, section):
    url = servers.batch_for("chat").base_url
    old = old_batch_snippet(UNSERVED, section, url, tmp_path / "old")
    new = generate_docs(tmp_path / "new", [UNSERVED], api_base_url=url)

    before = run(old, tmp_path / "before")
    after = run(UNSERVED.snippet(new, "batch", section), tmp_path / "after")

    # Before: the missing output file is fetched as `null` (curl) or None (Python) and the
    # failures are never shown.
    assert before.returncode != 0
    assert "request-1" not in before.stdout + before.stderr
    assert after.returncode == 1
    assert "Batch status: completed" in after.stdout
    failed = [json.loads(line) for line in after.stderr.splitlines() if line.startswith("{")]
    assert sorted(line["custom_id"] for line in failed) == ["request-1", "request-2", "request-3"]
    assert all("404" in line["error"]["message"] for line in failed)
    assert after.stderr.splitlines()[-1] in (
        "Batch completed, but some requests failed",
        "Error: batch job completed, but some requests failed",
    )


@pytest.mark.parametrize("section", ["Python", "CLI"])
def test_real_time_snippet_of_a_model_vllm_does_not_serve_prints_its_error(servers, tmp_path, section):
    new = generate_docs(tmp_path / "new", [UNSERVED], api_base_url=servers.generate.base_url)

    result = run(UNSERVED.snippet(new, "real-time", section), tmp_path / "run")

    assert result.returncode != 0
    assert "The model `no-such-model` does not exist." in result.stdout + result.stderr
    if section == "Python":
        assert result.stderr.startswith("Error: 404 ")
        assert "Traceback" not in result.stderr
