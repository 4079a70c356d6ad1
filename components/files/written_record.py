"""The record a generator keeps of the files it wrote, which proves authorship before a delete.

Shared by the writers of generated files (the docs, render mode's manifests). The record lists
the names written (`files`) and, for each, the SHA-256 of the text written (`sha256`). A later
run deletes a file it no longer generates only when the file's content is what the record says
was written; a file changed by hand, or named by a record that never wrote it, is refused with
nothing deleted. A name recorded without a digest (a record of an earlier version) proves
nothing, so it is refused the same way if it would be deleted.

A record written before the files of a run (so that a run killed part way is still owned by the
next one) may give more than one digest for a file: the one it had and the one it is getting.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from components.contract.problems import Problem

_HEX = re.compile(r"[0-9a-f]{64}")

Digests = Mapping[str, frozenset[str]]


class RecordError(Exception):
    """The record cannot be trusted: one problem per finding; nothing was touched."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text(files: Mapping[str, Iterable[str]], **fields: str) -> str:
    """The record's JSON: `fields` first, then the names and the digests of what each may hold."""
    names = sorted(files)
    record = {"generator": "model-fleet", **fields, "files": names, "sha256": {n: sorted(set(files[n])) for n in names}}
    return json.dumps(record, indent=2) + "\n"


def parse(data: bytes, where: str, name_problem: Callable[[int, object], str | None]) -> dict[str, frozenset[str]]:
    """Name → the digests it may hold. `name_problem(index, name)` says why a listed name is not one
    the generator writes (None when it is). Raises RecordError."""
    try:
        record = json.loads(data.decode("utf-8"))
        files = record["files"]
    except (ValueError, KeyError, TypeError) as err:
        raise RecordError([Problem(where, f"unreadable record of generated files: {err}")]) from None
    if not isinstance(files, list):
        raise RecordError([Problem(where, f'"files" is not a list: {json.dumps(files)}')])
    problems = [Problem(where, message) for i, name in enumerate(files) if (message := name_problem(i, name)) is not None]
    if problems:
        raise RecordError(problems)
    listed = set(files)
    digests = record.get("sha256", {}) if isinstance(record, dict) else {}
    if not isinstance(digests, dict):
        raise RecordError([Problem(where, f'"sha256" is not a mapping of file names to digests: {json.dumps(digests)}')])
    problems = [
        Problem(where, f'sha256 {json.dumps(name)}: {json.dumps(value)} is not a list of SHA-256 digests of a file in "files"')
        for name, value in digests.items()
        if name not in listed or not (isinstance(value, list) and all(isinstance(d, str) and _HEX.fullmatch(d) for d in value))
    ]
    if problems:
        raise RecordError(problems)
    return {name: frozenset(digests.get(name, ())) for name in files}


def unproven(directory: Path, recorded: Digests, names: Iterable[str], where: str) -> list[Problem]:
    """A problem for each of `names` (to be deleted) that exists but does not hold what the record
    says was written: a link, a directory, or a file of other content is never deleted."""
    problems = []
    for name in sorted(names):
        path = directory / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        held = digest_of(path) if stat.S_ISREG(mode) else None
        if held is None or held not in recorded.get(name, ()):
            why = "is not a regular file" if held is None else "does not hold what model-fleet wrote there"
            problems.append(
                Problem(
                    where,
                    f"{name} {why} (edited, or never written by model-fleet); nothing was deleted: remove it yourself or take it out of the record",
                )
            )
    return problems


def digest_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None
