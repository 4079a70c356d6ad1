"""YAML-level attacks on a stack file, through every command that reads one: each is a report
naming the file and the place, an exit that is not 0, no traceback, and no file changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.commands.cli import main as cli
from docsgen.__main__ import main as docsgen
from harness.factories import entry, stack, write_stack

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "hf_" + "Zq8Yw7Xv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf"
# The first entry's gpu_count (the inventory above it has gpu_count keys too).
GPUS = "      gpu_count: 1\n      initial_delay_seconds: 240\n"


def stack_text(tmp_path: Path) -> str:
    """A valid dev stack of two models, as YAML text to break."""
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    return (tmp_path / "Pulumi.dev.yaml").read_text()


def with_prod(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text((tmp_path / "Pulumi.dev.yaml").read_text())


def files_of(tmp_path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp_path)): p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}


COMMANDS = {
    "check": lambda d: cli(["check", "--stack", "dev", "--project-dir", str(d)]),
    "models": lambda d: cli(["models", "--stack", "dev", "--project-dir", str(d)]),
    "models --explain": lambda d: cli(["models", "--stack", "dev", "--project-dir", str(d), "--explain", "a"]),
    "render": lambda d: cli(["render", "--stack", "dev", "--project-dir", str(d), "--out", str(d / "out")]),
    "diff": lambda d: cli(["diff", "--from", "dev", "--to", "prod", "--project-dir", str(d)]),
    "promote": lambda d: cli(["promote", "--from", "dev", "--to", "prod", "--project-dir", str(d), "--write"]),
    "docsgen": lambda d: docsgen(["--stack", "dev", "--project-dir", str(d), "--docs-root", str(d / "docs")]),
}


def duplicate_key(text: str) -> str:
    return text.replace(GPUS, "      gpu_count: 1\n      gpu_count: 2\n" + GPUS.split("\n")[1] + "\n", 1)


def billion_laughs(text: str) -> str:
    lines = ["x-laughs:", '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return text + "\n".join(lines) + "\n"


def deep(text: str) -> str:
    return text + "x-deep: " + "[" * 100_000 + "]" * 100_000 + "\n"


def a_date(text: str) -> str:
    return text.replace(GPUS, GPUS.replace(": 1", ": 2026-12-01", 1), 1)


def binary(text: str) -> str:
    return text.replace(GPUS, GPUS.replace(": 1", ": !!binary aGVsbG8=", 1), 1)


def huge(text: str) -> str:
    return text.replace(GPUS, GPUS.replace(": 1", ": 123456789012345678901234567890", 1), 1)


ATTACKS = {
    "duplicate-key": (duplicate_key, "models[0] deployment_config.gpu_count: the key is written twice in its mapping; keep one"),
    "billion-laughs": (billion_laughs, "x-laughs.a"),
    "deep-nesting": (deep, "x-deep"),
    "date": (a_date, "models[0] deployment_config.gpu_count: '2026-12-01' is a date or time to YAML, not text; quote it"),
    "binary": (binary, "models[0] deployment_config.gpu_count: a value tagged !!binary is not JSON data; remove the tag"),
    "huge-integer": (huge, "models[0] deployment_config.gpu_count: integer 123456789012345678901234567890 is outside 64 bits"),
}


@pytest.mark.unit
def test_the_stack_files_hold_gpu_count_where_the_attacks_edit_it(tmp_path):
    assert stack_text(tmp_path).count(GPUS) == 2  # models[0], whose the attacks edit, and models[1]


@pytest.mark.unit
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_every_command_reports_a_hostile_stack_file_and_changes_nothing(tmp_path, capsys, command, attack):
    mutate, expected = ATTACKS[attack]
    text = stack_text(tmp_path)
    with_prod(tmp_path)
    (tmp_path / "Pulumi.dev.yaml").write_text(mutate(text))
    before = files_of(tmp_path)
    assert COMMANDS[command](tmp_path) not in (0, None)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert first == "Pulumi.dev.yaml: 1 problem found; nothing was changed"
    assert len(rest) == 1 and rest[0].startswith("  - ") and expected in rest[0], rest
    assert "(line " in rest[0] or rest[0].startswith("  - line ")
    assert files_of(tmp_path) == before


@pytest.mark.process
def test_the_program_refuses_a_billion_laughs_without_a_signal(tmp_path):
    """As a user runs it: a process of its own, so a crash would be a signal, not a failed assert."""
    (tmp_path / "Pulumi.dev.yaml").write_text(deep(billion_laughs(stack_text(tmp_path))))
    result = subprocess.run(
        [sys.executable, "-m", "components", "check", "--stack", "dev", "--project-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1, result
    assert result.stderr.startswith("Pulumi.dev.yaml: 1 problem found; nothing was changed\n  - x-laughs.a")


# --- the plaintext-token scan covers every place a value can be ---------------------------


def token_places(text: str) -> dict[str, str]:
    return {
        "a map key": text.replace(GPUS, f"      {TOKEN}: 1\n" + GPUS, 1),
        "a top-level key": text + f"x-notes: {TOKEN}\n",
        "a comment": text + f"# the token is {TOKEN}\n",
        "behind a tag": text.replace("    display_name: Qwen3 Coder 30B a\n", f"    display_name: !!str {TOKEN}\n", 1),
        "folded over lines": text.replace(
            "    display_name: Qwen3 Coder 30B a\n", f"    display_name: >-\n      {TOKEN[:15]}\n      {TOKEN[15:]}\n", 1
        ),
        "a plain value over lines": text.replace(
            "    display_name: Qwen3 Coder 30B a\n", f"    display_name: {TOKEN[:15]}\n      {TOKEN[15:]}\n", 1
        ),
    }


@pytest.mark.unit
def test_the_token_places_are_edits_of_the_stack(tmp_path):
    text = stack_text(tmp_path)
    assert "    display_name: Qwen3 Coder 30B a\n" in text
    for place, edited in token_places(text).items():
        assert edited != text, place


@pytest.mark.unit
@pytest.mark.parametrize(
    "place", ["a map key", "a top-level key", "a comment", "behind a tag", "folded over lines", "a plain value over lines"]
)
def test_a_token_anywhere_in_a_stack_file_is_refused_naming_the_place_not_the_token(tmp_path, capsys, place):
    text = token_places(stack_text(tmp_path))[place]
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        pytest.fail(f"{place}: the edit is not valid YAML")
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "plaintext Hugging Face token" in err
    assert TOKEN not in err and TOKEN[:15] not in err and TOKEN[15:] not in err
    [line] = [line for line in err.splitlines() if "plaintext Hugging Face token" in line]
    assert line.startswith(("  - Pulumi.dev.yaml line ", "  - models[0] (a) ", "  - x-notes"))


@pytest.mark.unit
def test_words_broken_over_lines_are_not_a_token(tmp_path, capsys):
    text = stack_text(tmp_path).replace(
        "    description: Qwen3 Coder model for code completion\n",
        "    description: >-\n      pass hf_tokens\n      only as encrypted secrets, never in clear\n",
        1,
    )
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0, capsys.readouterr().err
