"""A stack's Kubernetes manifests as YAML files, one per object: a pure function of the config.

In render mode (`kubernetes.render_yaml_to_directory`) these files are the output users apply.
The Kubernetes provider's own rendering writes a file only when Pulumi's state says the resource
changed, so a fresh checkout or a second CI job sharing the state would get no files; these are
written on every run from the same builders the component declares, like the docs. Secrets are
written without their values. A record in the directory lists the files written with a digest of
each (written_record), so a removed model's files go, and only when they still hold what was
written; a file of the same name the record does not name is refused, and nothing else there is touched.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.contract.preflight import ClusterFacts
from components.contract.problems import Problem, ProblemsFound
from components.contract.spec import SERVICE_MONITOR_CRD, StackSpec
from components.files import atomic_files, written_record
from components.manifests import namespace as namespace_manifest
from components.manifests import objects

RECORD = ".model-fleet-rendered.json"
# The kinds of object stack_objects declares, as file_name spells them.
KINDS = (
    "namespace",
    "secret",
    "persistentvolumeclaim",
    "deployment",
    "service",
    "servicemonitor",
    "podautoscaler",
    "inferencepool",
    "httproute",
)
# What a file name of ours looks like: a kind we render, then namespace and name (DNS names), `.yaml`.
FILE_NAME = re.compile(rf"(?:{'|'.join(KINDS)})(-[a-z0-9]([-a-z0-9.]*[a-z0-9])?)+\.yaml")


def stack_objects(spec: StackSpec, facts: ClusterFacts) -> list[dict]:
    """Every object the program declares for the stack, Secrets without their values."""
    found = [namespace_manifest.build(spec.namespace)] if spec.kubernetes.create_namespace else []
    context = objects.Context.of(spec, service_monitor_enabled=facts.has_crd(SERVICE_MONITOR_CRD))
    for entry, routing in objects.versions(spec):
        found += [manifest for _, manifest in objects.model_objects(entry, context, routing=routing)]
    return found


def file_name(manifest: dict) -> str:
    """`<kind>-<namespace>-<name>.yaml`, or `<kind>-<name>.yaml` for a cluster-scoped object."""
    meta = manifest["metadata"]
    parts = [manifest["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p) + ".yaml"


def render(spec: StackSpec, facts: ClusterFacts) -> dict[str, str]:
    """File name → YAML text."""
    return {file_name(m): yaml.safe_dump(m, sort_keys=False, allow_unicode=True) for m in stack_objects(spec, facts)}


def render_dir(spec: StackSpec, project_dir: Path) -> Path | None:
    directory = spec.kubernetes.render_yaml_to_directory
    return (project_dir / directory).resolve() if directory else None


@dataclass
class Written:
    written: list[str]
    deleted: list[str]
    unchanged: int


def _name_problem(_index: int, name: object) -> str | None:
    if isinstance(name, str) and FILE_NAME.fullmatch(name):
        return None
    # Only file names this module writes may be deleted; anything else was not written by us.
    return f"{name!r} is not a file name model-fleet writes; nothing was touched"


def _refused(problems: list[Problem]) -> ProblemsFound:
    return ProblemsFound(problems, source="rendered manifests")


@dataclass
class Plan:
    """What to write into `directory` and delete from it, checked against the record before anything is touched."""

    directory: Path
    files: dict[str, str]
    previous: dict[str, frozenset[str]]
    deletes: list[str]


def plan(directory: Path, files: dict[str, str]) -> Plan:
    """Read and check the record of what was written before; raises ProblemsFound, touching nothing.

    A recorded file that is no longer rendered is deleted only if it holds what was written; a file
    to write that the record does not name is replaced only if it holds what would be written.
    """
    where = f"{directory / RECORD}"
    try:
        data = (directory / RECORD).read_bytes() if directory.is_dir() else None
    except FileNotFoundError:
        data = None
    except OSError as err:
        raise _refused([Problem(where, f"unreadable record of rendered files in {directory}: {err}")]) from None
    try:
        previous = {} if data is None else written_record.parse(data, where, _name_problem)
        gone = sorted(set(previous) - set(files))
        problems = written_record.unproven(directory, previous, gone, where) + _not_ours(directory, files, previous)
    except written_record.RecordError as err:
        raise _refused(err.problems) from None
    except OSError as err:
        raise _refused([Problem(where, f"cannot read {err.filename}: {err.strerror or err}; nothing was touched")]) from None
    if problems:
        raise _refused(problems)
    return Plan(directory, files, previous, [n for n in gone if os.path.lexists(directory / n)])


def _not_ours(directory: Path, files: dict[str, str], previous: dict[str, frozenset[str]]) -> list[Problem]:
    """A file to write that is there already, not in the record and not what would be written: it
    is someone else's (copied in, or written by hand), and writing would lose it."""
    problems = []
    for name in sorted(set(files) - set(previous)):
        path = directory / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if not (stat.S_ISREG(mode) and written_record.digest_of(path) == written_record.digest(files[name])):
            problems.append(
                Problem(
                    str(path),
                    "exists but was not written by model-fleet (its record does not name it): move it, or remove it to have it rendered",
                )
            )
    return problems


class WriteError(Exception):
    """Writing stopped part way: the message says what was written and deleted before it stopped."""


def write(planned: Plan) -> Written:
    """Write what changed, delete what this module wrote before and is gone; untouched files keep their mtime.

    Each file is replaced whole (atomic_files), so a failure part way leaves every file either as
    it was or as rendered; the error says how far it got, and a rerun finishes.
    """
    directory, files, previous = planned.directory, planned.files, planned.previous
    changed: list[str] = []
    gone: list[str] = []
    final = written_record.text({name: [written_record.digest(text)] for name, text in files.items()})
    # Written first, so every file this run may touch is owned by the next run if this one is killed.
    staged = written_record.text(
        {name: {*previous.get(name, ()), *([written_record.digest(files[name])] if name in files else [])} for name in {*previous, *files}}
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        on_disk = written_record.digest_of(directory / RECORD)
        if on_disk not in (written_record.digest(staged), written_record.digest(final)):
            atomic_files.write_text(directory / RECORD, staged)
        for name, text in files.items():
            path = directory / name
            try:
                same = path.read_text(encoding="utf-8") == text
            except (FileNotFoundError, UnicodeDecodeError):
                same = False
            if not same:
                atomic_files.write_text(path, text)
                changed.append(name)
        for name in planned.deletes:
            (directory / name).unlink(missing_ok=True)
            gone.append(name)
        for name in atomic_files.leftovers(directory):
            (directory / name).unlink()
        if written_record.digest_of(directory / RECORD) != written_record.digest(final):
            atomic_files.write_text(directory / RECORD, final)
    except OSError as err:
        done = "nothing was changed" if not (changed or gone) else f"{len(changed)} written and {len(gone)} deleted before it stopped"
        raise WriteError(
            f"manifests: cannot write {err.filename or directory}: {err.strerror or err}; {done}; "
            "every file is either as it was or as rendered: run again to finish"
        ) from None
    return Written(changed, gone, len(files) - len(changed))
