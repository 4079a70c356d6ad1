"""The docs writer under hostile or broken input, kills and concurrent runs: it never leaves the docs
root, never shows a traceback, and every run it does not finish is finished by the next one."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest

from components.contract import config
from components.files import atomic_files
from docsgen import writer
from docsgen.__main__ import main as docsgen
from harness.factories import entry, stack, write_stack

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = Path("docs/.snippets/code/get-started/start-building")
RECORD = Path("docs") / writer.RECORD
PAGES = Path("docs/get-started/start-building")
FORM = (
    "code/get-started/start-building/real-time/real-time-<name>.py|.md"
    ", code/get-started/start-building/batch/batch-jsonl-<name>.py|.md"
    " or text/get-started/rate-limit.md"
)
BUSY = "another docs run is writing this docs root; run again when it has finished"


def run(project: Path, *args: str) -> int:
    return docsgen(["--stack", "dev", "--project-dir", str(project), *args])


def command(project: Path) -> list[str]:
    return [sys.executable, "-m", "docsgen", "--stack", "dev", "--project-dir", str(project)]


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under `path` (links not followed), by relative path."""
    files = {}
    for directory, _, names in os.walk(path):
        for name in names:
            file = Path(directory, name)
            files[str(file.relative_to(path))] = b"<link>" if file.is_symlink() else file.read_bytes()
    return files


def problem_report(*problems: str) -> str:
    count = len(problems)
    return (
        "\n".join([f"docs: {count} problem{'s' if count != 1 else ''} found; nothing was changed", *[f"  - {p}" for p in problems]]) + "\n"
    )


def generated(tmp_path: Path, *names: str) -> dict[str, bytes]:
    write_stack(tmp_path, stack(*[entry(name) for name in names]))
    assert run(tmp_path) == 0
    return snapshot(tmp_path / "docs")


# The record is input: only the snippet paths this generator writes may be listed.


@pytest.mark.unit
@pytest.mark.parametrize("listed", ["{victim}", "../../victim/x"], ids=["absolute", "parent"])
def test_a_record_naming_a_file_outside_the_snippets_is_a_problem_and_nothing_is_touched(tmp_path, capsys, listed):
    victim = tmp_path / "victim/x"
    victim.parent.mkdir()
    victim.write_text("not yours\n")
    generated(tmp_path, "a")
    record = json.loads((tmp_path / RECORD).read_text())
    record["files"].append(listed.format(victim=victim))
    (tmp_path / RECORD).write_text(json.dumps(record))
    write_stack(tmp_path, stack(entry("b")))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    shown = json.dumps(listed.format(victim=victim))
    assert capsys.readouterr().err == problem_report(
        f".snippets/code/get-started/start-building/.model-fleet-generated.json: files[4] {shown} is not a snippet this generator writes: {FORM}"
    )
    assert victim.read_text() == "not yours\n"
    assert snapshot(tmp_path / "docs") == before
    assert run(tmp_path, "--check") == 1
    assert victim.read_text() == "not yours\n"


@pytest.mark.unit
@pytest.mark.parametrize(
    "listed",
    [
        5,
        None,
        "code/get-started/start-building/real-time/real-time-a\n.py",
        "code/get-started/start-building/real-time/real-time-a.py\n",
        "code/get-started/start-building/real-time/../batch/batch-jsonl-a.py",
        "code/get-started/start-building/batch/real-time-a.py",
        "code/get-started/other/real-time-a.py",
        "code/get-started/start-building/real-time/real-time-A.py",
        "code/get-started/start-building/real-time/real-time--a.py",
        "code/get-started/start-building/real-time/real-time-a.txt",
        "/code/get-started/start-building/real-time/real-time-a.py",
        "text/get-started/other.md",
        "text/get-started/../../get-started/models.md",
        "code/get-started/start-building/real-time/real-time-a.pytext/get-started/rate-limit.md",
    ],
)
def test_a_record_entry_of_any_other_form_is_a_problem(tmp_path, capsys, listed):
    generated(tmp_path, "a")
    (tmp_path / RECORD).write_text(json.dumps({"files": ["code/get-started/start-building/batch/batch-jsonl-a.md", listed]}))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    where = ".snippets/code/get-started/start-building/.model-fleet-generated.json"
    assert capsys.readouterr().err == problem_report(
        f"{where}: files[1] {json.dumps(listed)} is not a snippet this generator writes: {FORM}"
    )
    assert snapshot(tmp_path / "docs") == before


@pytest.mark.unit
def test_a_record_whose_files_are_not_a_list_is_a_problem(tmp_path, capsys):
    generated(tmp_path, "a")
    (tmp_path / RECORD).write_text(json.dumps({"files": "../../victim"}))
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(
        '.snippets/code/get-started/start-building/.model-fleet-generated.json: "files" is not a list: "../../victim"'
    )


# Links in the docs tree may not carry a write or a delete out of it.


WHERE = ".snippets/code/get-started/start-building/.model-fleet-generated.json"
UNPROVEN = "does not hold what model-fleet wrote there (edited, or never written by model-fleet); nothing was deleted: remove it yourself or take it out of the record"


@pytest.mark.unit
def test_the_record_holds_the_digest_of_each_snippet_written(tmp_path):
    generated(tmp_path, "a")
    record = json.loads((tmp_path / RECORD).read_text())
    snippets = tmp_path / "docs/.snippets"
    assert record["sha256"] == {name: [hashlib.sha256((snippets / name).read_bytes()).hexdigest()] for name in record["files"]}


@pytest.mark.unit
def test_a_removed_models_snippet_edited_since_it_was_written_is_a_problem_and_nothing_is_deleted(tmp_path, capsys):
    generated(tmp_path, "a", "b")
    (tmp_path / SNIPPETS / "batch/batch-jsonl-a.md").write_text("my own notes\n")
    write_stack(tmp_path, stack(entry("b")))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(f"{WHERE}: code/get-started/start-building/batch/batch-jsonl-a.md {UNPROVEN}")
    assert snapshot(tmp_path / "docs") == before


@pytest.mark.unit
def test_a_record_naming_a_hand_written_snippet_it_never_wrote_is_a_problem_and_nothing_is_deleted(tmp_path, capsys):
    # A record of an earlier version, or a forged one: a name of the right form, no digest of what was written.
    generated(tmp_path, "a")
    mine = "code/get-started/start-building/real-time/real-time-mine.py"
    (tmp_path / "docs/.snippets" / mine).write_text("print('mine')\n")
    record = json.loads((tmp_path / RECORD).read_text())
    (tmp_path / RECORD).write_text(json.dumps({"files": [*record["files"], mine], "sha256": record["sha256"]}))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(f"{WHERE}: {mine} {UNPROVEN}")
    assert snapshot(tmp_path / "docs") == before


@pytest.mark.unit
def test_a_removed_models_unedited_snippets_are_deleted(tmp_path):
    generated(tmp_path, "a", "b")
    write_stack(tmp_path, stack(entry("b")))

    assert run(tmp_path) == 0

    assert not list((tmp_path / SNIPPETS).glob("*/*-a.*"))
    assert set(json.loads((tmp_path / RECORD).read_text())["sha256"]) == set(json.loads((tmp_path / RECORD).read_text())["files"])


@pytest.mark.unit
def test_a_snippet_directory_linked_out_of_the_docs_root_is_a_problem_and_nothing_is_touched(tmp_path, capsys):
    generated(tmp_path, "a", "b")
    outside = tmp_path / "outside"
    shutil.move(tmp_path / SNIPPETS / "real-time", outside)
    (tmp_path / SNIPPETS / "real-time").symlink_to(outside)
    write_stack(tmp_path, stack(entry("b"), entry("c")))
    before, outside_before = snapshot(tmp_path / "docs"), snapshot(outside)
    capsys.readouterr()

    for args in ((), ("--check",)):
        assert run(tmp_path, *args) == 1

        root = tmp_path / "docs"
        assert capsys.readouterr().err == problem_report(
            f".snippets/code/get-started/start-building/real-time: resolves to {outside}, outside the docs root {root}"
        )
        assert snapshot(root) == before and snapshot(outside) == outside_before
        assert sorted(outside_before) == ["real-time-a.md", "real-time-a.py", "real-time-b.md", "real-time-b.py"]


@pytest.mark.unit
def test_a_page_linked_out_of_the_docs_root_is_a_problem_and_nothing_is_touched(tmp_path, capsys):
    generated(tmp_path, "a")
    page = tmp_path / PAGES / "batch.md"
    outside = tmp_path / "their-batch.md"
    shutil.move(page, outside)
    page.symlink_to(outside)
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    before, theirs = snapshot(tmp_path / "docs"), outside.read_text()
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(
        f"get-started/start-building/batch.md: resolves to {outside}, outside the docs root {tmp_path / 'docs'}"
    )
    assert snapshot(tmp_path / "docs") == before and outside.read_text() == theirs


# A docs tree that cannot be read or written is one problem, never a traceback.


@pytest.mark.unit
@pytest.mark.parametrize("args", [(), ("--check",)], ids=["write", "check"])
def test_a_docs_root_that_is_a_file_is_a_problem(tmp_path, capsys, args):
    write_stack(tmp_path, stack(entry("a")))
    file = tmp_path / "notes.md"
    file.write_text("mine\n")

    assert run(tmp_path, "--docs-root", str(file), *args) == 1

    assert capsys.readouterr().err == problem_report(f"{file}: the docs root is not a directory")
    assert file.read_text() == "mine\n"


@pytest.mark.unit
@pytest.mark.parametrize("args", [(), ("--check",)], ids=["write", "check"])
def test_a_docs_root_in_a_link_loop_is_a_problem(tmp_path, capsys, args):
    write_stack(tmp_path, stack(entry("a"), docs={"root": "loop"}))
    (tmp_path / "loop").symlink_to("loop")

    assert run(tmp_path, *args) == 1

    assert capsys.readouterr().err == problem_report(f"{tmp_path / 'loop'}: cannot read the docs root: {os.strerror(errno.ELOOP)}")
    assert (tmp_path / "loop").readlink() == Path("loop")


@pytest.mark.unit
def test_a_snippet_directory_in_a_link_loop_is_a_problem_and_nothing_is_written(tmp_path, capsys):
    generated(tmp_path, "a")
    shutil.rmtree(tmp_path / SNIPPETS / "real-time")
    (tmp_path / SNIPPETS / "real-time").symlink_to("real-time")
    write_stack(tmp_path, stack(entry("a", display_name="Renamed")))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(
        f".snippets/code/get-started/start-building/real-time/real-time-a.py: cannot read: {os.strerror(errno.ELOOP)}"
    )
    assert snapshot(tmp_path / "docs") == before


@pytest.mark.unit
def test_a_page_path_that_is_a_directory_is_a_problem_and_nothing_is_written(tmp_path, capsys):
    write_stack(tmp_path, stack(entry("a")))
    (tmp_path / PAGES / "real-time.md").mkdir(parents=True)

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(f"get-started/start-building/real-time.md: cannot read: {os.strerror(errno.EISDIR)}")
    assert snapshot(tmp_path / "docs") == {}


@pytest.mark.unit
def test_a_page_that_is_not_utf8_is_a_problem_and_nothing_is_written(tmp_path, capsys):
    generated(tmp_path, "a")
    page = tmp_path / PAGES / "batch.md"
    page.write_bytes(page.read_bytes() + b"caf\xe9\n")
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    offset = len(page.read_bytes()) - 2
    assert capsys.readouterr().err == problem_report(f"get-started/start-building/batch.md: cannot read: not UTF-8 text (byte {offset})")
    assert snapshot(tmp_path / "docs") == before


@pytest.mark.unit
def test_an_error_while_writing_is_reported_and_the_next_run_finishes(tmp_path, capsys, monkeypatch):
    old = generated(tmp_path, "a", "b")
    write_stack(tmp_path, stack(entry("b"), entry("c")))
    replace = os.replace

    def disk_full_at_the_batch_page(source, target):
        if str(target).endswith("batch.md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        replace(source, target)

    monkeypatch.setattr(os, "replace", disk_full_at_the_batch_page)
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == (
        f"docs: cannot write get-started/start-building/batch.md: {os.strerror(errno.ENOSPC)}; "
        "every file is either as it was or as generated: run again to finish\n"
    )
    monkeypatch.undo()
    halfway = snapshot(tmp_path / "docs")
    assert run(tmp_path) == 0
    assert_old_or_new(halfway, old, snapshot(tmp_path / "docs"))
    assert not any(Path(path).name.startswith(atomic_files.TEMP_PREFIX) for path in halfway)
    assert run(tmp_path, "--check") == 0


# A run killed at any moment leaves each file old or new, and the next run converges.


def fleet(numbers: range, label: str) -> dict:
    return stack(
        *[entry(f"m-{i:03d}", display_name=f"Model {i:03d} {label}", **{"deployment_config.enable_autoscaling": False}) for i in numbers],
        cluster=None,
        # Too many models for the inventory: they render, so the docs need no cluster either.
        kubernetes={"render_yaml_to_directory": "rendered"},
    )


@dataclass
class Fleets:
    """Docs of a 150-model stack A, and the same tree after B replaced half of A's models and renamed the rest."""

    old_docs: Path
    old: dict[str, bytes]
    new: dict[str, bytes]
    new_stack: dict


@pytest.fixture(scope="module")
def fleets(tmp_path_factory) -> Fleets:
    old_project, new_project = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("new")
    write_stack(old_project, fleet(range(0, 150), "A"))
    assert run(old_project) == 0
    new_stack = fleet(range(75, 225), "B")
    shutil.copytree(old_project / "docs", new_project / "docs")
    write_stack(new_project, new_stack)
    assert run(new_project) == 0
    return Fleets(old_project / "docs", snapshot(old_project / "docs"), snapshot(new_project / "docs"), new_stack)


def going_to_b(fleets: Fleets, project: Path) -> Path:
    project.mkdir()
    shutil.copytree(fleets.old_docs, project / "docs")
    write_stack(project, fleets.new_stack)
    return project


def assert_old_or_new(state: dict[str, bytes], old: dict[str, bytes], new: dict[str, bytes]) -> None:
    record = str(writer.RECORD)
    for path in sorted(set(state) | set(old) | set(new)):
        if Path(path).name.startswith(atomic_files.TEMP_PREFIX):
            continue
        if path == record:
            listed = set(json.loads(state[path])["files"])
            before, after = set(json.loads(old[path])["files"]), set(json.loads(new[path])["files"])
            assert listed in (before, after, before | after)
        else:
            assert state.get(path) in (old.get(path), new.get(path)), path


def assert_converges(project: Path, fleets: Fleets, capsys) -> None:
    assert run(project) == 0
    assert snapshot(project / "docs") == fleets.new
    capsys.readouterr()
    assert run(project) == 0
    assert capsys.readouterr().out.endswith(f": 0 written, 0 deleted, {len(fleets.new)} unchanged\n")
    assert run(project, "--check") == 0


KILLED_AT_CALL = """
import os, signal, sys
from docsgen.__main__ import main

kill_at, calls = int(sys.argv[1]), 0


def counted(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call


os.replace, os.unlink = counted(os.replace), counted(os.unlink)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.process
@pytest.mark.kill
def test_a_docs_run_killed_before_any_replace_or_delete_leaves_old_or_new_files_and_the_next_run_converges(tmp_path, fleets, capsys):
    planned = going_to_b(fleets, tmp_path / "planned")
    spec = config.load_stack_file(planned, "dev").spec
    changed, deleted = writer.plan(spec, planned / "docs").changes()
    steps = len(changed) + len(deleted)

    for kill_at in (1, steps // 2, steps, steps + 1):
        project = going_to_b(fleets, tmp_path / f"killed-at-{kill_at}")
        result = subprocess.run(
            [sys.executable, "-c", KILLED_AT_CALL, str(kill_at), "--stack", "dev", "--project-dir", str(project)],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )

        if kill_at <= steps:
            assert result.returncode == -signal.SIGKILL
        assert_old_or_new(snapshot(project / "docs"), fleets.old, fleets.new)
        assert_converges(project, fleets, capsys)


# Runs that write take the docs root for themselves; a second one fails at once.

HOLDER = """
import sys
from pathlib import Path
from components.contract import config
from docsgen import writer

project = Path(sys.argv[1])
spec = config.load_stack_file(project, "dev").spec
plan = writer.plan_for_writing(spec, writer.docs_root(spec, project))
print("planned", flush=True)
sys.stdin.readline()
writer.apply(plan)
"""


@pytest.mark.process
@pytest.mark.lock
def test_a_second_run_on_a_docs_root_being_written_fails_at_once_and_writes_nothing(tmp_path, capsys):
    generated(tmp_path, "a")
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert first.stdout.readline() == "planned\n"
    before = snapshot(tmp_path / "docs")
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == problem_report(f"{tmp_path / 'docs'}: {BUSY}")
    assert snapshot(tmp_path / "docs") == before
    # A check needs no lock: it reads what is there.
    assert run(tmp_path, "--check") == 1
    first.communicate("go\n", timeout=60)
    assert first.returncode == 0
    assert run(tmp_path, "--check") == 0


@pytest.mark.unit
def test_a_run_that_fails_lets_the_next_one_write(tmp_path, capsys):
    write_stack(tmp_path, stack(entry("a")))
    mine = tmp_path / SNIPPETS / "batch/batch-jsonl-a.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("# mine\n")
    assert run(tmp_path) == 1
    mine.unlink()

    assert run(tmp_path) == 0


@pytest.mark.mocks
@pytest.mark.lock
def test_the_pulumi_program_takes_the_same_lock(tmp_path):
    from harness.program import copy_project, run_program

    copy_project(tmp_path)
    spec = config.load_stack_file(tmp_path, "dev").spec
    held = writer.plan_for_writing(spec, writer.docs_root(spec, tmp_path))

    monitors: list = []
    with pytest.raises(pulumi.RunError) as caught:
        run_program(tmp_path, monitors=monitors)

    assert str(caught.value) + "\n" == problem_report(f"{tmp_path / 'docs'}: {BUSY}")
    assert monitors[0].registered == []
    writer.apply(held)
    run_program(tmp_path)
