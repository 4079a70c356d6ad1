"""Plan the docs tree for a stack, then write it atomically; or compare it with what is on disk.

The whole plan is computed, and checked for conflicts, before the first byte is written.
A record beside the snippets lists the files this generator wrote, so a model removed from
the stack loses its files and page entries while hand-written ones are never touched. The
record is input like any other: it may only name snippet paths this generator writes, a file
is deleted only if it holds what the record says was written (written_record), and no write or
delete may leave the docs root, links followed.

A run may be killed at any point: every file is replaced whole, the record names every file
the run may touch before the first of them is written, and the next run removes the temporary
files a killed run left, so it converges. Runs that write take an exclusive lock on the docs
root for their whole plan and apply; a second one fails at once.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import re
import stat
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from components.contract.problems import Problem, ProblemsFound
from components.contract.spec import StackSpec
from components.files import atomic_files, written_record
from docsgen import pages, render

RECORD = Path(render.SNIPPETS_DIR) / render.INCLUDE_BASE / ".model-fleet-generated.json"
PAGES = ("real-time", "batch")
# Exactly the includes render.snippets_for writes for a model name (a DNS-1123 label), and the limits include.
RECORDED_INCLUDE = re.compile(
    re.escape(str(render.INCLUDE_BASE))
    + r"/(?:real-time/real-time|batch/batch-jsonl)-[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\.(?:py|md)"
    + "|"
    + re.escape(render.RATE_LIMIT_INCLUDE)
)
RECORDED_FORM = (
    f"{render.INCLUDE_BASE}/real-time/real-time-<name>.py|.md, {render.INCLUDE_BASE}/batch/batch-jsonl-<name>.py|.md "
    f"or {render.RATE_LIMIT_INCLUDE}"
)


class WriteError(Exception):
    """Writing stopped part way: each file is either as it was or as generated; a rerun finishes."""


class RootLock:
    """An exclusive flock on the docs root directory itself, so no lock file lands in the docs tree."""

    def __init__(self, fd: int) -> None:
        # Closing the descriptor releases the lock, also when a failed run drops its plan unapplied.
        self._close = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        self._close()


@dataclass
class Plan:
    root: Path
    writes: dict[Path, str]  # relative path -> content
    deletes: list[Path]
    # The record naming previous and current files, written before any of them is.
    staged_record: str
    lock: RootLock | None = None

    def changes(self) -> tuple[list[Path], list[Path]]:
        """(files whose content differs, files to delete that exist)."""
        changed = [p for p, text in self.writes.items() if _read_bytes(self.root / p) != text.encode("utf-8")]
        return changed, [p for p in self.deletes if os.path.lexists(self.root / p)]


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _shown(root: Path, filename: str | bytes | None) -> str:
    """A path as the user knows it: relative inside the docs root, absolute outside it."""
    if filename is None:
        return str(root)
    path = Path(os.fsdecode(filename))
    return str(path.relative_to(root)) if path != root and path.is_relative_to(root) else str(path)


@contextlib.contextmanager
def _reported(root: Path, doing: str) -> Iterator[None]:
    """An OSError becomes one problem naming the path, so the user never sees a traceback."""
    try:
        yield
    except OSError as err:
        problem = Problem(_shown(root, err.filename), f"cannot {doing}: {err.strerror or err}")
        raise ProblemsFound([problem], source="docs") from err


def docs_root(spec: StackSpec, project_dir: Path, override: Path | None = None) -> Path:
    """The docs tree with links resolved; a link loop is reported when the tree is read."""
    return Path(os.path.realpath(override if override is not None else project_dir / spec.docs.root))


def _check_root(root: Path) -> None:
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise ProblemsFound([Problem(str(root), f"cannot read the docs root: {err.strerror}")], source="docs") from err
    if not stat.S_ISDIR(mode):
        raise ProblemsFound([Problem(str(root), "the docs root is not a directory")], source="docs")


def _lock(root: Path) -> RootLock:
    _check_root(root)
    with _reported(root, "lock the docs root"):
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            busy = Problem(str(root), "another docs run is writing this docs root; run again when it has finished")
            raise ProblemsFound([busy], source="docs") from None
        except BaseException:
            os.close(fd)
            raise
    return RootLock(fd)


def plan_for_writing(spec: StackSpec, root: Path) -> Plan:
    """Lock the docs root and plan under the lock, which `apply` releases.

    Every run that writes docs starts here, so two of them never interleave on one docs root.
    """
    lock = _lock(root)
    try:
        result = plan(spec, root)
    except BaseException:
        lock.release()
        raise
    result.lock = lock
    return result


def _record_text(files: dict[str, set[str]]) -> str:
    return written_record.text(files, note="files written by `python -m docsgen`; do not edit")


def _include_problem(index: int, include: object) -> str | None:
    if isinstance(include, str) and RECORDED_INCLUDE.fullmatch(include):
        return None
    return f"files[{index}] {json.dumps(include)} is not a snippet this generator writes: {RECORDED_FORM}"


def read_record(root: Path) -> dict[str, frozenset[str]]:
    """Each include the record names → the digests its file may hold."""
    data = _read_bytes(root / RECORD)
    if data is None:
        return {}
    try:
        return written_record.parse(data, str(RECORD), _include_problem)
    except written_record.RecordError as err:
        raise ProblemsFound(err.problems, source="docs") from None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _check_inside(root: Path, paths: Iterable[Path]) -> None:
    """Every path, links followed, stays inside the docs root: a link must not carry a write out of it."""
    real_root = os.path.realpath(root)
    paths = list(paths)
    problems, real_dirs = [], {}
    for directory in sorted({p.parent for p in paths}):
        real_dirs[directory] = real = os.path.realpath(root / directory)
        if not _within(real, real_root):
            problems.append(Problem(str(directory), f"resolves to {real}, outside the docs root {real_root}"))
    for path in paths:
        real_dir = real_dirs[path.parent]
        if not _within(real_dir, real_root):
            continue
        # A file that is not a link resolves to its name in its resolved directory: one lstat
        # instead of one per component of the path.
        full = os.path.join(real_dir, path.name)
        real = os.path.realpath(full) if os.path.islink(full) else full
        if not _within(real, real_root):
            problems.append(Problem(str(path), f"resolves to {real}, outside the docs root {real_root}"))
    if problems:
        raise ProblemsFound(problems, source="docs")


def _orphans(root: Path, directories: Iterable[Path]) -> list[Path]:
    """Temporary files a killed run left in the directories this generator writes."""
    return [directory / name for directory in sorted(set(directories)) for name in atomic_files.leftovers(root / directory)]


def _page_text(root: Path, path: Path) -> str | None:
    data = _read_bytes(root / path)
    try:
        return None if data is None else data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProblemsFound([Problem(str(path), f"cannot read: not UTF-8 text (byte {err.start})")], source="docs") from err


def plan(spec: StackSpec, root: Path) -> Plan:
    _check_root(root)
    with _reported(root, "read"):
        return _plan(spec, root)


def _plan(spec: StackSpec, root: Path) -> Plan:
    _check_inside(root, [RECORD])
    previous = read_record(root)
    writes: dict[Path, str] = {}
    page_entries: dict[str, dict[str, list[pages.GeneratedEntry]]] = {page: {} for page in PAGES}
    current: set[str] = set()
    new_paths: dict[Path, tuple[str, str]] = {}  # snippet path not in the record -> (where, what to do)
    for entry in sorted(spec.models, key=render.sort_key):
        model = render.snippet_model(entry, spec)
        for snippet in render.snippets_for(entry):
            path = Path(render.SNIPPETS_DIR) / snippet.include
            if snippet.include not in previous:
                new_paths[path] = (entry.name, "rename the model or move the file")
            writes[path] = render.render_snippet(snippet, model)
            current.add(snippet.include)
            page_entries[snippet.page].setdefault(snippet.section, []).append(
                pages.GeneratedEntry(render.sort_key(entry), render.render_entry(entry.display_name, snippet))
            )
    if spec.docs.limit_tiers:
        path = Path(render.SNIPPETS_DIR) / render.RATE_LIMIT_INCLUDE
        if render.RATE_LIMIT_INCLUDE not in previous:
            new_paths[path] = ("docs.limit_tiers", "move the file")
        writes[path] = render.render_rate_limits(spec)
        current.add(render.RATE_LIMIT_INCLUDE)
    page_paths = {page: Path(render.PAGES_DIR) / f"{page}.md" for page in PAGES}
    models_page = Path(render.MODELS_PAGE)
    gone = set(previous) - current
    removed = sorted(Path(render.SNIPPETS_DIR) / include for include in gone)
    targets = [*writes, *page_paths.values(), models_page, RECORD, *removed]
    _check_inside(root, targets)
    orphans = _orphans(root, {p.parent for p in targets})
    _check_inside(root, orphans)

    problems = [
        Problem(where, f"{path} exists but was not generated by model-fleet; {hint}")
        for path, (where, hint) in new_paths.items()
        if os.path.lexists(root / path)
    ]
    problems += written_record.unproven(root / render.SNIPPETS_DIR, previous, gone, str(RECORD))
    if problems:
        raise ProblemsFound(problems, source="docs")

    owned = set(previous) | current
    for page, path in page_paths.items():
        existing = _page_text(root, path)
        text = existing if existing is not None else render.render_page(page, spec)
        with _page_problems(path):
            writes[path] = pages.merge(text, page_entries[page], owned, key_of=lambda title: (title.casefold(),))
    writes[models_page] = _models_page(spec, _page_text(root, models_page), models_page)
    written = {include: {written_record.digest(writes[Path(render.SNIPPETS_DIR) / include])} for include in current}
    writes[RECORD] = _record_text(written)
    # Before the run writes, a file may hold what it held or what it is getting.
    staged = {include: set(previous.get(include, ())) | written.get(include, set()) for include in owned}
    return Plan(root, writes, removed + orphans, staged_record=_record_text(staged))


@contextlib.contextmanager
def _page_problems(path: Path) -> Iterator[None]:
    """A page the generator cannot edit safely: one problem per finding, nothing written."""
    try:
        yield
    except pages.PageError as err:
        raise ProblemsFound([Problem(str(path), message) for message in err.messages], source="docs") from None


def _models_page(spec: StackSpec, existing: str | None, path: Path) -> str:
    text = existing if existing is not None else render.render_models_page(spec)
    with _page_problems(path):
        return pages.replace_blocks(text, render.render_models_blocks(spec))


def apply(result: Plan) -> tuple[list[Path], list[Path]]:
    """Write what changed, delete what is gone; untouched files keep their mtime. Releases the plan's lock."""
    root = result.root
    try:
        with _reported(root, "read"):
            changed, deleted = result.changes()
            # Links may have changed since the plan was made.
            _check_inside(root, [*changed, *deleted])
            record_on_disk = _read_bytes(root / RECORD)
        for path, text in _steps(result, changed, deleted, record_on_disk):
            try:
                if text is None:
                    (root / path).unlink(missing_ok=True)
                else:
                    atomic_files.write_text(root / path, text)
            except OSError as err:
                raise WriteError(
                    f"docs: cannot {'delete' if text is None else 'write'} {path}: {err.strerror or err}; "
                    "every file is either as it was or as generated: run again to finish"
                ) from err
        return changed, deleted
    finally:
        if result.lock is not None:
            result.lock.release()


def _steps(result: Plan, changed: list[Path], deleted: list[Path], record_on_disk: bytes | None) -> list[tuple[Path, str | None]]:
    """Writes (path, text) and deletes (path, None) in an order that keeps a killed run convergent.

    The record of previous and current files comes first, so whatever the run writes or has yet
    to delete is owned by the generator on the next run; the record of current files comes last.
    """
    staged, final = result.staged_record, result.writes[RECORD]
    steps: list[tuple[Path, str | None]] = [] if record_on_disk == staged.encode("utf-8") else [(RECORD, staged)]
    steps += [(path, result.writes[path]) for path in changed if path != RECORD]
    steps += [(path, None) for path in deleted]
    if final != staged:
        steps.append((RECORD, final))
    return steps


def diff(result: Plan) -> str:
    """A unified diff from what is on disk to what the config implies."""
    with _reported(result.root, "read"):
        changed, deleted = result.changes()
        before = {path: (_read_bytes(result.root / path) or b"").decode("utf-8", "replace") for path in [*changed, *deleted]}
    chunks: list[str] = []
    for path in changed:
        chunks += difflib.unified_diff(
            before[path].splitlines(keepends=True),
            result.writes[path].splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    for path in deleted:
        chunks += difflib.unified_diff(before[path].splitlines(keepends=True), [], fromfile=f"a/{path}", tofile="/dev/null")
    return "".join(chunks)
