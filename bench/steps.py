"""The measured steps and their floors, each prepared untimed and then run once in a child process.

A step is a function of the benchmark project (see stacks.py and __main__.py) that does its
untimed preparation and returns the work to time; `facts` turns what the work returned and
printed into the counts the table shows, and fails the run when a step did not do its job.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

STACK = "dev"  # the stack the mocks run the program as


def _docs_main(project: Path, *extra: str) -> Callable[[], Any]:
    from docsgen.__main__ import main

    return lambda: main(["--stack", STACK, "--project-dir", str(project), *extra])


def check(project: Path) -> Callable[[], Any]:
    from components.commands.cli import main

    return lambda: main(["check", "--stack", STACK, "--project-dir", str(project)])


def parse_floor(project: Path) -> Callable[[], Any]:
    """Reading and parsing the stack file with the fastest loader the dependencies offer."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    path = project / f"Pulumi.{STACK}.yaml"
    return lambda: yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def docs_cold(project: Path) -> Callable[[], Any]:
    return _docs_main(project, "--docs-root", str(Path(tempfile.mkdtemp(dir=project)) / "docs"))


def docs_unchanged(project: Path) -> Callable[[], Any]:
    return _docs_main(project)


def docs_check(project: Path) -> Callable[[], Any]:
    return _docs_main(project, "--check")


def _generated(project: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(project / "docs") for f in files]


def write_floor(project: Path) -> Callable[[], Any]:
    """The same bytes written with plain I/O into an empty directory."""
    docs = project / "docs"
    contents = {path.relative_to(docs): path.read_bytes() for path in _generated(project)}
    target = Path(tempfile.mkdtemp(dir=project))

    def write() -> int:
        for directory in sorted({p.parent for p in contents}):
            (target / directory).mkdir(parents=True, exist_ok=True)
        for path, data in contents.items():
            with open(target / path, "wb") as out:
                out.write(data)
        return len(contents)

    return write


def stat_floor(project: Path) -> Callable[[], Any]:
    """A stat of every generated file: what finding that nothing changed needs at least."""
    paths = _generated(project)
    return lambda: len([os.stat(p) for p in paths])


def _program(directory: Path, values: dict[str, str]) -> Callable[[], Any]:
    import importlib

    from harness.program import run_program

    # Imported untimed for the program and its floor alike: what the program imports, and the
    # resource modules pulumi_kubernetes would load on first use.
    for module in (
        "components.model_deployment",
        "components.contract.config",
        "components.manifest_files",
        "docsgen.writer",
        "pulumi_kubernetes.core.v1",
        "pulumi_kubernetes.apps.v1",
        "pulumi_kubernetes.apiextensions",
    ):
        importlib.import_module(module)
    return lambda: run_program(directory, values=values)[0]


def program(project: Path) -> Callable[[], Any]:
    """The Pulumi program (__main__.py) under the project's mocks, as tests/test_program.py runs it."""
    from harness.program import engine_config

    return _program(project, engine_config(project, STACK))


def program_floor(project: Path) -> Callable[[], Any]:
    """The same raw pulumi_kubernetes resources with the builders' output as literals, under the same mocks."""
    from bench import program_floor as floor

    floor.prepare(project, STACK)
    return _program(floor.write_program(project), {})


STEPS: dict[str, Callable[[Path], Callable[[], Any]]] = {
    "check": check,
    "parse_floor": parse_floor,
    "docs_cold": docs_cold,
    "docs_unchanged": docs_unchanged,
    "docs_check": docs_check,
    "write_floor": write_floor,
    "stat_floor": stat_floor,
    "program": program,
    "program_floor": program_floor,
}


# A floor process: Python started, the stack parsed with libyaml, and with `stat` each generated file stat'ed.
_FLOOR_PROCESS = """\
import os, sys, yaml
project = sys.argv[1]
with open(os.path.join(project, sys.argv[3]), encoding="utf-8") as f:
    yaml.load(f.read(), Loader=yaml.CSafeLoader)
if sys.argv[2] == "stat":
    for d, _, files in os.walk(os.path.join(project, "docs")):
        for name in files:
            os.stat(os.path.join(d, name))
"""

# Steps run as processes of their own, by their command line; measure.py times them from outside.
PROCESS_STEPS: dict[str, Callable[[Path], list[str]]] = {
    "check_process": lambda p: [sys.executable, "-m", "components", "check", "--stack", STACK, "--project-dir", str(p)],
    "docs_unchanged_process": lambda p: [sys.executable, "-m", "docsgen", "--stack", STACK, "--project-dir", str(p)],
    "parse_floor_process": lambda p: [sys.executable, "-c", _FLOOR_PROCESS, str(p), "parse", f"Pulumi.{STACK}.yaml"],
    "parse_stat_floor_process": lambda p: [sys.executable, "-c", _FLOOR_PROCESS, str(p), "stat", f"Pulumi.{STACK}.yaml"],
}
ALL = [*STEPS, *PROCESS_STEPS]


class WrongOutcome(Exception):
    pass


def _docs_counts(printed: str) -> dict[str, int]:
    match = re.search(r": (\d+) written, (\d+) deleted, (\d+) unchanged", printed)
    if not match:
        raise WrongOutcome(f"no summary line in the output of docsgen:\n{printed}")
    return dict(zip(("written", "deleted", "unchanged"), map(int, match.groups()), strict=True))


def facts(step: str, outcome: Any, printed: str, errors: str) -> dict:
    if step in ("check", "docs_cold", "docs_unchanged", "docs_check", *PROCESS_STEPS) and outcome != 0:
        raise WrongOutcome(f"{step} exited {outcome}:\n{printed}{errors}")
    if step in ("docs_cold", "docs_unchanged", "docs_unchanged_process"):
        counts = _docs_counts(printed)
        if step != "docs_cold" and (counts["written"] or counts["deleted"]):
            raise WrongOutcome(f"docsgen with nothing changed wrote or deleted files: {counts}")
        return counts
    if step in ("program", "program_floor"):
        types = [r.type for r in outcome.registered]
        return {
            "kubernetes": sum(t.startswith(("kubernetes:", "pulumi:providers:kubernetes")) for t in types),
            "components": sum(not t.startswith(("kubernetes:", "pulumi:providers:")) for t in types),
        }
    if step in ("write_floor", "stat_floor"):
        return {"files": outcome}
    return {}
