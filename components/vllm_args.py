"""What a vLLM command line says: served model name, model, port.

The container command may be a plain argument list (`[vllm, serve, MODEL, --port, "8000"]`)
or a shell script (`[sh, -c, "python3 -m vllm.entrypoints.openai.api_server ..."]`); both are
read as the words vLLM receives: the script split as the shell splits it, a plain list as is.
"""

from __future__ import annotations

import functools
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

    def model_id(self, huggingface_id: str) -> str:
        """The model ID clients must send: what vLLM registers the model under."""
        return self.served_model_name or self.model or huggingface_id


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
    )
