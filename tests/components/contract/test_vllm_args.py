"""Reading served model name, model and port from vLLM command lines."""

from __future__ import annotations

import pytest

from components.contract import vllm_args

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


@pytest.mark.parametrize(
    ("command", "args", "tokens"),
    [
        (["vllm", "serve", "org/m"], ["--max-model-len", "32768"], 32768),
        (["vllm", "serve", "org/m"], ["--max-model-len=32768"], 32768),
        (["vllm", "serve", "org/m"], ["--max-model-len", "32k"], 32000),
        (["vllm", "serve", "org/m"], ["--max-model-len", "32K"], 32768),
        (["vllm", "serve", "org/m"], ["--max-model-len=25.6k"], 25600),
        (["vllm", "serve", "org/m"], ["--max-model-len", "1M"], 1048576),
        (["vllm", "serve", "org/m"], ["--max-model-len", "1m"], 1000000),
        (["vllm", "serve", "org/m"], ["--max-model-len", "8192", "--max-model-len", "4k"], 4000),
        (["sh", "-c", 'exec vllm serve org/m --max-model-len "16K"'], [], 16384),
        (["sh"], ["-c", "python3 -m vllm.entrypoints.openai.api_server --model org/m --max-model-len=128k"], 128000),
        (["vllm", "serve", "org/m"], [], None),
    ],
)
def test_max_model_len_in_the_forms_vllm_reads(command, args, tokens):
    assert vllm_args.parse(command, args).max_model_len == tokens


@pytest.mark.parametrize("value", ["32x", "1.5K", "-1", "0", "k", "32 k", "1T"])
def test_max_model_len_vllm_would_refuse(value):
    with pytest.raises(vllm_args.VllmArgsError) as raised:
        vllm_args.parse(["vllm", "serve", "org/m"], ["--max-model-len", value])
    assert str(raised.value).startswith(f"--max-model-len {value!r} is not a token count: ")


@pytest.mark.parametrize(
    ("script", "tools"),
    [
        (SEED_SCRIPT + " --enable-auto-tool-choice", True),
        ("vllm serve org/m --enable-auto-tool-choice --tool-call-parser=hermes", True),
        (SEED_SCRIPT, False),
        ("vllm serve org/m --enable-auto-tool-choice", False),
    ],
)
def test_tool_calling_needs_the_switch_and_a_parser(script, tools):
    assert vllm_args.parse(["sh", "-c", script], []).tool_calling is tools
