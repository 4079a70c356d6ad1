"""Our reading of vLLM command lines (components/contract/vllm_args.py) against the installed vLLM's own parser.

For every model entry of every committed stack and of the test fleet, the same command line is
read by vLLM's argument parser (tests/servers/vllm_parse.py, in the vLLM venv): vLLM must accept
every flag, and both must agree on the served model name, the model, the port and the context
length.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from components.contract import stack_files, vllm_args
from tests.docsgen.site import FLEET
from tests.servers import install
from tests.servers.conftest import REPO, require_servers

pytestmark = pytest.mark.servers

STACKS = ("dev", "staging", "prod")
API_SERVER = "vllm.entrypoints.openai.api_server"


def committed_entries():
    for stack in STACKS:
        _, resolution = stack_files.resolve_stack(REPO, stack)
        for item in resolution.items:
            yield f"Pulumi.{stack}.yaml {item.entry['name']}", item.entry
    for model in FLEET:
        yield f"test fleet {model.name}", model.entry()


ENTRIES = list(committed_entries())


def vllm_line(words: list[str]) -> dict:
    """The words after `vllm serve` or `-m vllm.entrypoints.openai.api_server`, and which form."""
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] == "vllm" and words[i + 1 : i + 2] == ["serve"]:
            return {"form": "serve", "args": words[i + 2 :]}
        if word == "-m" and words[i + 1 : i + 2] == [API_SERVER]:
            return {"form": "api_server", "args": words[i + 2 :]}
    raise AssertionError(f"no vLLM server in the command line {words}")


def read_with_vllm(lines: list[dict]) -> list[dict]:
    result = subprocess.run(
        [str(install.python("vllm")), "-m", "tests.servers.vllm_parse"],
        input=json.dumps(lines),
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "VLLM_TARGET_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def vllm_readings() -> dict[str, dict]:
    require_servers()
    lines = []
    for _, entry in ENTRIES:
        deployment = entry["deployment_config"]
        lines.append(vllm_line(vllm_args.words(deployment["command"], deployment.get("args", []))))
    return dict(zip([label for label, _ in ENTRIES], read_with_vllm(lines), strict=True))


def test_the_committed_stacks_have_model_entries():
    assert {label.split()[0] for label, _ in ENTRIES} == {*(f"Pulumi.{s}.yaml" for s in STACKS), "test"}


@pytest.mark.parametrize(("label", "entry"), ENTRIES, ids=[label for label, _ in ENTRIES])
def test_vllm_reads_the_command_line_as_we_do(vllm_readings, label, entry):
    deployment = entry["deployment_config"]
    ours = vllm_args.parse(deployment["command"], deployment.get("args", []))

    theirs = vllm_readings[label]

    assert "error" not in theirs, f"{label}: vLLM refuses its command line: {theirs.get('error')}"
    assert theirs == {
        "served_model_name": ours.served_model_name,
        "model": ours.model,
        "port": int(ours.port) if ours.port else 8000,
        "max_model_len": ours.max_model_len,
    }, label


def test_vllm_refuses_an_unknown_flag_and_says_which():
    # The check itself, on command lines no entry has: a flag vLLM does not know is named, and
    # vLLM refuses what `check` refuses (tests/components/contract/test_config.py).
    require_servers()
    unknown, tools = read_with_vllm(
        [
            {"form": "serve", "args": ["m", "--served-model-name", "m", "--no-such-flag"]},
            {"form": "serve", "args": ["m", "--enable-auto-tool-choice"]},
        ]
    )
    assert "unrecognized arguments: --no-such-flag" in unknown["error"]
    assert tools == {"error": "Error: --enable-auto-tool-choice requires --tool-call-parser"}
