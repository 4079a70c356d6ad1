"""Reading served model name, model and port from vLLM command lines."""

from __future__ import annotations

import pytest

from components import vllm_args

pytestmark = pytest.mark.unit

SEED_SCRIPT = (
    "python3 -m vllm.entrypoints.openai.api_server --host 0.0.0.0 --port 8000 --uvicorn-log-level warning "
    "--model Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name qwen3-coder-30b --tool-call-parser qwen3_coder"
)


@pytest.mark.parametrize(
    ("command", "args", "served", "model", "port"),
    [
        (["sh"], ["-c", SEED_SCRIPT], "qwen3-coder-30b", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", "8000"),
        (["sh", "-c", SEED_SCRIPT], [], "qwen3-coder-30b", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", "8000"),
        (["vllm", "serve"], ["--model=org/m", "--served-model-name=m"], "m", "org/m", None),
        (["vllm", "serve", "org/m"], ["--served-model-name", "m", "alias"], "m", "org/m", None),
        (["/usr/local/bin/vllm", "serve", "org/m", "--port", "8000"], [], None, "org/m", "8000"),
        (["sh", "-c"], ["exec vllm serve 'org/with space' --served-model-name \"m\""], "m", "org/with space", None),
        (["python3", "-m", "vllm.entrypoints.openai.api_server"], [], None, None, None),
    ],
)
def test_parse(command, args, served, model, port):
    cmdline = vllm_args.parse(command, args)
    assert (cmdline.served_model_name, cmdline.model, cmdline.port) == (served, model, port)


def test_model_id_prefers_served_name_then_model_then_hf_id():
    assert vllm_args.parse(["vllm", "serve", "org/m"], ["--served-model-name", "m"]).model_id("hf/x") == "m"
    assert vllm_args.parse(["vllm", "serve", "org/m"], []).model_id("hf/x") == "org/m"
    assert vllm_args.parse(["python3", "-m", "vllm.entrypoints.openai.api_server"], []).model_id("hf/x") == "hf/x"


@pytest.mark.parametrize("args", [["--served-model-name"], ["--served-model-name", "--port", "8000"], ["--served-model-name="]])
def test_flag_without_value(args):
    with pytest.raises(vllm_args.VllmArgsError, match="--served-model-name flag found but no value provided"):
        vllm_args.parse(["vllm", "serve", "m"], args)


def test_unbalanced_shell_quotes():
    with pytest.raises(vllm_args.VllmArgsError, match="cannot read the shell command line"):
        vllm_args.parse(["sh", "-c"], ["vllm serve 'org/m --port 8000"])


@pytest.mark.parametrize(
    ("command", "args", "served"),
    [
        (["vllm", "serve", "org/x"], ["--served-model-name", "m\n"], "m\n"),
        (["vllm", "serve", "org/x"], ["--served-model-name=m extra"], "m extra"),
        (["bash", "-lc", "vllm serve org/x --served-model-name m"], [], "m"),
        (["/bin/sh", "-e", "-c"], ["vllm serve org/x --served-model-name m", "argv0"], "m"),
    ],
)
def test_only_a_shell_script_is_split_into_words(command, args, served):
    assert vllm_args.parse(command, args).served_model_name == served
