"""The plaintext-token scan: a Hugging Face token written in clear in a stack file or `Pulumi.yaml`
is refused, wherever it is, and never echoed; the problem says where it is and how to encrypt it.

Two passes. The values model-fleet reads are walked (keys too), so a problem can name the entry
and field. The file's text is then searched, so that a token in a comment, outside `config:`, or
split over lines by YAML folding is found as well, by line.
"""

from __future__ import annotations

import re
from typing import Any

from components.contract import catalog
from components.contract.field_problems import entry_label, shown
from components.contract.problems import HF_TOKEN_PATTERN, Problem
from components.contract.spec import NAMESPACE

# The same in a file's text, where folding may have broken it over lines: each further piece is a
# whole line of letters and digits (a line holding a key has a colon, and ends the token).
_IN_TEXT = re.compile(r"hf_[A-Za-z0-9]*(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9]+(?=[ \t]*(?:\r?\n|[\"']|$)))*")


def plaintext_token_problems(config: dict[str, Any], file_name: str, text: str = "") -> list[Problem]:
    """Tokens in `config` (the file's config as the engine sees it), then any other in the file's
    `text` (other top-level keys, comments, folded values), by line."""
    problems: list[Problem] = []
    found: set[str] = set()
    # Project config cannot be encrypted: a catalog token goes to the stack items serving the entry.
    fix = (
        "project config cannot hold secrets: remove it and set it on each stack's item serving this entry with "
        f"`pulumi config set --secret --path '{NAMESPACE}:models[N].deployment_config.hugging_face_token' <token>`"
        if file_name == catalog.PROJECT_FILE
        else None
    )

    def report(label: str, path: str) -> None:
        how = fix or f"remove it and store it encrypted with `pulumi config set --secret --path '{_config_path(label, path)}' <token>`"
        problems.append(Problem(label + path, f"plaintext Hugging Face token in {file_name}; {how}"))

    def walk(value: Any, path: str, label: str) -> None:
        if isinstance(value, dict):
            if catalog.is_secure(value):
                return
            for key, child in value.items():
                key_text = str(key)
                child_path = f"{path}.{key_text}" if path else key_text
                if HF_TOKEN_PATTERN.search(key_text):
                    found.update(HF_TOKEN_PATTERN.findall(key_text))
                    problems.append(
                        Problem(f"{label}{path or file_name}", f"a key here is a plaintext Hugging Face token in {file_name}; remove it")
                    )
                    continue
                walk(child, child_path, label)
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{path}[{i}]", label)
        elif isinstance(value, str):
            tokens = HF_TOKEN_PATTERN.findall(value)
            if tokens or (path.endswith("hugging_face_token") and value):
                found.update(tokens)
                report(label, path)

    for key, value in config.items():
        if key == f"{NAMESPACE}:models" and isinstance(value, list):
            for i, entry in enumerate(value):
                catalog_name = entry.get("catalog") if isinstance(entry, dict) and isinstance(entry.get("catalog"), str) else None
                walk(entry, "", f"{entry_label(i, entry, catalog_name)} ")
        elif key == catalog.CATALOG_KEY and isinstance(value, dict):
            for name, entry in value.items():
                walk(entry, "", f"{file_name} catalog.{shown(str(name))} ")
        else:
            walk({key: value}, "", "")
    return problems + _in_text(text, file_name, found)


def _in_text(text: str, file_name: str, found: set[str]) -> list[Problem]:
    """Tokens in the file's text that the walk of its values did not find, by line."""
    problems = []
    for match in _IN_TEXT.finditer(text):
        token = re.sub(r"\s+", "", match.group())
        if HF_TOKEN_PATTERN.fullmatch(token) and token not in found:
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                Problem(
                    f"{file_name} line {line}",
                    "plaintext Hugging Face token (in a comment, a key, outside `config:`, or folded over lines); "
                    "remove it, and set a token model-fleet needs with `pulumi config set --secret`",
                )
            )
            found.add(token)
    return problems


def _config_path(label: str, path: str) -> str:
    if label.startswith("models["):
        index = label[len("models[") : label.index("]")]
        return f"{NAMESPACE}:models[{index}].{path}"
    if " catalog." in label:
        return f"{catalog.CATALOG_KEY}.{label.split(' catalog.', 1)[1].strip()}.{path}"
    return path
