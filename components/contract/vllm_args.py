"""What a vLLM command line says: served model name, model, port, context length, tool calling.

The container command may be a plain argument list (`[vllm, serve, MODEL, --port, "8000"]`)
or a shell script (`[sh, -c, "python3 -m vllm.entrypoints.openai.api_server ..."]`); both are
read as the words vLLM receives: the script split as the shell splits it, a plain list as is.
"""

from __future__ import annotations

import functools
import itertools
import re
import shlex
from dataclasses import dataclass


class VllmArgsError(ValueError):
    pass


@dataclass(frozen=True)
class VllmCommandLine:
    served_model_name: str | None
    model: str | None
    port: str | None
    # Tokens of prompt and output together; None lets vLLM take the model's own limit.
    max_model_len: int | None = None
    tool_calling: bool = False
    auto_tool_choice: bool = False  # --enable-auto-tool-choice, which vLLM refuses without a parser
    serve_with_model_flag: bool = False  # `vllm serve --model X`, which vLLM refuses

    def model_id(self, huggingface_id: str) -> str:
        """The model ID clients must send: what vLLM registers the model under."""
        return self.served_model_name or self.model or huggingface_id


# vLLM v0.10.2 reads --max-model-len through its human_readable_int: a whole number, or a number
# with a decimal suffix (k, m, g: 25.6k is 25600) or a binary one (K, M, G: whole numbers only, 32K is 32768).
TOKEN_COUNT = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<suffix>[kmgKMG]?)")
DECIMAL_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9}
BINARY_SUFFIXES = {"K": 2**10, "M": 2**20, "G": 2**30}
TOKEN_COUNT_FORMS = "a whole number, or one with a suffix as vLLM reads it: 32768, 32k (32000), 25.6k, 32K (32768), 1M"


def token_count(value: str) -> int:
    """A token count written as vLLM's --max-model-len reads it; raises ValueError otherwise."""
    match = TOKEN_COUNT.fullmatch(value.strip())
    suffix = match["suffix"] if match else ""
    if match is None or ("." in match["number"] and suffix not in DECIMAL_SUFFIXES):
        raise ValueError(f"{value!r} is not a token count: {TOKEN_COUNT_FORMS}")
    if suffix in DECIMAL_SUFFIXES:
        count = int(float(match["number"]) * DECIMAL_SUFFIXES[suffix])
    else:
        count = int(match["number"]) * BINARY_SUFFIXES.get(suffix, 1)
    if count < 1:
        raise ValueError(f"{value!r} is not a token count: it must be at least 1")
    return count


SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
# shlex.split's white space and the characters that make it do more than split at it.
_SHELL_WORD = re.compile(r"[^ \t\r\n]+")
_SHELL_QUOTING = re.compile(r"[\"'\\]")


def _tokens(command: list[str], args: list[str]) -> list[str]:
    """The words vLLM receives. Only a shell's `-c` script is split into words, as the shell
    splits it; in exec form each argument reaches vLLM whole, white space and all."""
    argv = [*command, *args]
    if not argv or argv[0].rsplit("/", 1)[-1] not in SHELLS:
        return argv
    options = 1
    while options < len(argv) and argv[options].startswith("-") and not argv[options].startswith("--"):
        options += 1
    if not any("c" in option[1:] for option in argv[1:options]):
        return argv
    if options >= len(argv):
        raise VllmArgsError(f"{argv[0]} -c is given no command line")
    script = argv[options]  # arguments after the script are its $0, $1...: not vLLM's
    if not _SHELL_QUOTING.search(script):
        # Without quotes or backslashes the shell's split is the split at its white space,
        # which shlex (slow, a character at a time) would find too.
        return _SHELL_WORD.findall(script)
    try:
        return shlex.split(script)
    except ValueError as err:
        raise VllmArgsError(f"cannot read the shell command line: {err}") from err


def _flag(tokens: list[str], flag: str) -> str | None:
    """Value of `flag X` or `flag=X`; raises when the flag has no value.

    When the flag is repeated, vLLM's argument parser keeps the last value, so that is the one read.
    """
    value = None
    for i, token in enumerate(tokens):
        if token.startswith(flag + "="):
            value = token[len(flag) + 1 :]
            if not value:
                raise VllmArgsError(f"{flag} flag found but no value provided")
        elif token == flag:
            if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                raise VllmArgsError(f"{flag} flag found but no value provided")
            value = tokens[i + 1]
    return value


def _serve_positional(tokens: list[str]) -> str | None:
    """`vllm serve MODEL`: the model may be given positionally."""
    for i, token in enumerate(tokens[:-1]):
        if token.rsplit("/", 1)[-1] == "vllm" and tokens[i + 1] == "serve":
            if i + 2 < len(tokens) and not tokens[i + 2].startswith("-"):
                return tokens[i + 2]
    return None


def _serves(tokens: list[str]) -> bool:
    return any(t.rsplit("/", 1)[-1] == "vllm" and n == "serve" for t, n in itertools.pairwise(tokens))


def _max_model_len(tokens: list[str]) -> int | None:
    value = _flag(tokens, "--max-model-len")
    if value is None:
        return None
    try:
        return token_count(value)
    except ValueError as err:
        raise VllmArgsError(f"--max-model-len {err}") from None


def words(command: list[str], args: list[str]) -> list[str]:
    """The words vLLM receives: a shell's `-c` script split as the shell splits it."""
    return _tokens(list(command), list(args))


def parse(command: list[str], args: list[str]) -> VllmCommandLine:
    return _parse(tuple(command), tuple(args))


# Validation, the docs and the stack's outputs all read each entry's command line: it is split
# (shlex, slow) once per distinct command line. Errors are not cached and raise again.
@functools.lru_cache(maxsize=4096)
def _parse(command: tuple[str, ...], args: tuple[str, ...]) -> VllmCommandLine:
    tokens = _tokens(list(command), list(args))
    return VllmCommandLine(
        served_model_name=_flag(tokens, "--served-model-name"),
        model=_flag(tokens, "--model") or _serve_positional(tokens),
        port=_flag(tokens, "--port"),
        max_model_len=_max_model_len(tokens),
        # vLLM chooses tools for the model only with both: the switch, and a parser for its tool-call format.
        tool_calling="--enable-auto-tool-choice" in tokens and _flag(tokens, "--tool-call-parser") is not None,
        auto_tool_choice="--enable-auto-tool-choice" in tokens,
        serve_with_model_flag=_serves(tokens) and "--model" in tokens,
    )
