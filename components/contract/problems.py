"""Problems found in a stack's config or cluster, reported together."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# A real Hugging Face access token: `hf_` followed by a long random string.
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")


def redacted(text: str) -> str:
    """`text` with any Hugging Face token in it replaced: a report says where a token is, never what."""
    return HF_TOKEN_PATTERN.sub("[a Hugging Face token, not shown]", text)


def did_you_mean(word: str, known: list[str], prefix: str = "") -> str:
    """` (did you mean '...'?)` naming the closest of `known` (written after `prefix`), or nothing."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def printable(text: str) -> str:
    """Text on one line of a report: a control character (a line break, a terminal escape) in a
    key or value from the user is written as its escape, so it cannot forge or recolour a line."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return printable(f"{self.where}: {self.message}" if self.where else self.message)


@dataclass
class Findings:
    """What a set of rules found: problems stop the run, warnings are printed and it goes on."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ProblemsFound(Exception):
    """Every problem one run found before it changed anything (in the stack config, or a file it
    could not read or lock); nothing was declared or written."""

    def __init__(self, problems: list[Problem], source: str = "stack config") -> None:
        super().__init__(problems)
        self.problems = problems
        self.source = source

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        count = len(self.problems)
        lines = [f"{self.source}: {count} problem{'s' if count != 1 else ''} found; nothing was changed"]
        lines += [f"  - {redacted(str(problem))}" for problem in self.problems]
        return "\n".join(lines)


class UnreadableFile(ProblemsFound):
    """A file of the stack that is missing or cannot be read (permissions, I/O): reported as the
    config's problems are, but it is the file, not what it says, that is wrong."""
