"""Rendered manifests: a pure function of the config, written on every run, never a secret value."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from components import manifest_files
from components.commands.cli import main as cli
from components.contract import config
from components.contract.problems import ProblemsFound
from components.files import atomic_files
from components.manifests import objects
from harness.factories import entry, pooled_stack, stack, write_stack
from harness.program import copy_project

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_" + "R4t5Y6u7I8" * 4
ENV_SECRET = "env-secret-value-42"


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def render(project: Path, *args: str) -> int:
    return cli(["render", "--stack", "dev", "--project-dir", str(project), *args])


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path, program=False)


def test_deleting_the_rendered_directory_and_rendering_again_gives_back_the_same_files(project):
    assert render(project) == 0
    before = files_of(project / "rendered/dev")

    shutil.rmtree(project / "rendered")
    assert render(project) == 0

    assert files_of(project / "rendered/dev") == before
    assert "namespace-jan-models.yaml" in before  # cluster-scoped: no namespace in its name
    assert "deployment-jan-models-qwen3-coder-30b.yaml" in before


def test_files_hold_exactly_what_the_component_declares(project):
    loaded = config.load_stack_file(project, "dev")
    rendered = manifest_files.render(loaded.spec, loaded.facts)

    declared = [
        m
        for e in loaded.spec.models
        for _, m in objects.model_objects(e, objects.Context("jan-models", loaded.spec.monitoring, service_monitor_enabled=True))
    ]
    assert [yaml.safe_load(text) for name, text in rendered.items() if name != "namespace-jan-models.yaml"] == declared


def test_second_run_rewrites_nothing_and_a_removed_model_loses_only_its_files(project):
    write_stack(project, stack(entry("a"), entry("b"), kubernetes={"render_yaml_to_directory": "out"}))
    assert render(project) == 0
    (project / "out/hand-written.yaml").write_text("kept: true\n")
    mtimes = {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()}

    assert render(project) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()} == mtimes

    write_stack(project, stack(entry("b"), kubernetes={"render_yaml_to_directory": "out"}))
    assert render(project) == 0
    names = sorted(p.name for p in (project / "out").iterdir())
    assert not any("-a" in n and n.endswith("-a.yaml") for n in names)
    assert "hand-written.yaml" in names and "deployment-jan-models-b.yaml" in names


def test_no_rendered_file_holds_a_secret_value_in_any_encoding(tmp_path):
    # As the program sees its config under the engine: decrypted, marked secret (secret_values.mark_secrets).
    secret_entry = entry(
        **{
            "deployment_config.hugging_face_token": SecretStr(TOKEN),
            "deployment_config.extra_env": [{"name": "KEY", "value": SecretStr(ENV_SECRET)}],
        }
    )
    loaded = config.load(stack(secret_entry), source="t")

    written = manifest_files.write(manifest_files.plan(tmp_path, manifest_files.render(loaded.spec, loaded.facts)))

    assert "secret-jan-models-qwen3-coder-30b-hf-token.yaml" in written.written
    assert "secret-jan-models-qwen3-coder-30b-env.yaml" in written.written
    everything = b"".join(files_of(tmp_path).values())
    for value in (TOKEN, ENV_SECRET):
        for encoded in (value.encode(), base64.b64encode(value.encode()), base64.b64encode(value.encode()).rstrip(b"=")):
            assert encoded not in everything


def test_a_tampered_record_is_a_problem_and_nothing_is_touched(project, tmp_path_factory):
    victim = tmp_path_factory.mktemp("victim") / "precious.yaml"
    victim.write_text("mine\n")
    assert render(project) == 0
    record = project / "rendered/dev" / manifest_files.RECORD
    record.write_text(json.dumps({"files": [str(victim), "../../precious.yaml"]}))
    before = files_of(project / "rendered/dev")

    with pytest.raises(ProblemsFound) as caught:
        manifest_files.plan(project / "rendered/dev", {})

    assert victim.read_text() == "mine\n" and files_of(project / "rendered/dev") == before
    assert [p.message for p in caught.value.problems] == [
        f"{str(victim)!r} is not a file name model-fleet writes; nothing was touched",
        "'../../precious.yaml' is not a file name model-fleet writes; nothing was touched",
    ]


def test_a_stack_that_applies_to_a_cluster_renders_only_with_out(project, capsys):
    write_stack(project, stack(entry(), kubernetes={}))
    assert render(project) == 0
    assert "nothing rendered; pass --out DIR" in capsys.readouterr().out
    assert not (project / "rendered").exists()
    assert render(project, "--out", str(project / "elsewhere")) == 0
    assert (project / "elsewhere/deployment-jan-models-qwen3-coder-30b.yaml").is_file()


def test_temporary_files_a_killed_run_left_are_removed(project):
    assert render(project) == 0
    leftover = project / "rendered/dev" / f"{atomic_files.TEMP_PREFIX}deployment-x.yaml.abc123"
    leftover.write_text("half")
    assert render(project) == 0
    assert not leftover.exists()


def test_written_files_get_the_mode_a_plain_open_gives_and_keep_one_they_had(tmp_path):
    atomic_files.write_text(tmp_path / "new.yaml", "a: 1\n")
    assert (tmp_path / "new.yaml").stat().st_mode & 0o777 == atomic_files.NEW_FILE_MODE
    (tmp_path / "new.yaml").chmod(0o640)
    atomic_files.write_text(tmp_path / "new.yaml", "a: 2\n")
    assert (tmp_path / "new.yaml").stat().st_mode & 0o777 == 0o640


def test_a_write_that_fails_part_way_says_how_far_it_got(project):
    loaded = config.load_stack_file(project, "dev")
    files = manifest_files.render(loaded.spec, loaded.facts)
    directory = project / "rendered/dev"
    first, second = list(files)[:2]
    planned = manifest_files.plan(directory, files)
    # After the plan, the second file's name is taken by a folder: the write of that file fails,
    # the first is done. (A folder there before the plan is refused by it, writing nothing.)
    (directory / second).mkdir(parents=True)

    with pytest.raises(manifest_files.WriteError) as caught:
        manifest_files.write(planned)

    assert str(caught.value) == (
        f"manifests: cannot write {directory / second}: Is a directory; 1 written and 0 deleted before it stopped; "
        "every file is either as it was or as rendered: run again to finish"
    )
    assert (directory / first).read_text() == files[first]


def _rendered_a_and_b(project: Path) -> Path:
    write_stack(project, stack(entry("a"), entry("b"), kubernetes={"render_yaml_to_directory": "out"}))
    assert render(project) == 0
    write_stack(project, stack(entry("b"), kubernetes={"render_yaml_to_directory": "out"}))
    return project / "out"


def test_the_record_holds_the_digest_of_each_file_written(project):
    out = _rendered_a_and_b(project)
    record = json.loads((out / manifest_files.RECORD).read_text())
    assert record["files"] == sorted(p.name for p in out.iterdir() if p.name != manifest_files.RECORD)
    assert record["sha256"] == {name: [hashlib.sha256((out / name).read_bytes()).hexdigest()] for name in record["files"]}


def test_a_removed_models_file_edited_since_it_was_written_is_refused_and_nothing_is_deleted(project, capsys):
    out = _rendered_a_and_b(project)
    (out / "deployment-jan-models-a.yaml").write_text("# my notes\n", encoding="utf-8")
    before = files_of(out)
    capsys.readouterr()

    assert render(project) == 1

    assert files_of(out) == before
    assert (
        f"{out / manifest_files.RECORD}: deployment-jan-models-a.yaml does not hold what model-fleet wrote there "
        "(edited, or never written by model-fleet); nothing was deleted: remove it yourself or take it out of the record"
    ) in capsys.readouterr().err


def test_a_record_naming_a_hand_written_file_without_its_digest_is_refused_and_nothing_is_deleted(project, capsys):
    # A record of an earlier version, or a forged one: it names a file it never wrote, in a name we could have.
    out = _rendered_a_and_b(project)
    (out / "service-jan-models-mine.yaml").write_text("mine: true\n")
    record = json.loads((out / manifest_files.RECORD).read_text())
    (out / manifest_files.RECORD).write_text(json.dumps({"files": [*record["files"], "service-jan-models-mine.yaml"]}))
    before = files_of(out)
    capsys.readouterr()

    assert render(project) == 1

    assert files_of(out) == before
    err = capsys.readouterr().err
    assert "service-jan-models-mine.yaml does not hold what model-fleet wrote there" in err
    assert "deployment-jan-models-a.yaml does not hold what model-fleet wrote there" in err


def test_a_record_naming_a_kind_the_program_never_renders_is_refused(project):
    out = _rendered_a_and_b(project)
    (out / "configmap-jan-models-mine.yaml").write_text("mine: true\n")
    record = json.loads((out / manifest_files.RECORD).read_text())
    record["files"].append("configmap-jan-models-mine.yaml")
    record["sha256"]["configmap-jan-models-mine.yaml"] = [hashlib.sha256(b"mine: true\n").hexdigest()]
    (out / manifest_files.RECORD).write_text(json.dumps(record))
    before = files_of(out)

    with pytest.raises(ProblemsFound) as caught:
        manifest_files.plan(out, {})

    assert files_of(out) == before
    assert [p.message for p in caught.value.problems] == [
        "'configmap-jan-models-mine.yaml' is not a file name model-fleet writes; nothing was touched"
    ]


def test_a_recorded_name_that_is_now_a_link_is_never_deleted(project, tmp_path_factory):
    victim = tmp_path_factory.mktemp("victim") / "precious.yaml"
    victim.write_text("mine\n")
    out = _rendered_a_and_b(project)
    (out / "service-jan-models-a.yaml").unlink()
    (out / "service-jan-models-a.yaml").symlink_to(victim)

    with pytest.raises(ProblemsFound) as caught:
        manifest_files.plan(out, {})

    assert (out / "service-jan-models-a.yaml").is_symlink() and victim.read_text() == "mine\n"
    assert "service-jan-models-a.yaml is not a regular file (edited, or never written by model-fleet)" in caught.value.report()


def test_malformed_digests_in_the_record_are_a_problem(project):
    out = _rendered_a_and_b(project)
    record = json.loads((out / manifest_files.RECORD).read_text())
    record["sha256"]["deployment-jan-models-a.yaml"] = "not a list"
    (out / manifest_files.RECORD).write_text(json.dumps(record))

    with pytest.raises(ProblemsFound) as caught:
        manifest_files.plan(out, {})

    assert [p.message for p in caught.value.problems] == [
        'sha256 "deployment-jan-models-a.yaml": "not a list" is not a list of SHA-256 digests of a file in "files"'
    ]


def test_every_kind_the_program_renders_is_one_the_record_accepts(tmp_path):
    everything = entry(
        **{
            "deployment_config.hugging_face_token": SecretStr(TOKEN),
            "deployment_config.enable_pvc": True,
            "deployment_config.enable_autoscaling": True,
        }
    )
    # Routed by inference-pool, so its pool and route are rendered too.
    loaded = config.load(pooled_stack(everything), source="t")
    names = manifest_files.render(loaded.spec, loaded.facts)
    kinds = {name.split("-")[0] for name in names}
    assert kinds == set(manifest_files.KINDS)
    assert all(manifest_files.FILE_NAME.fullmatch(name) for name in names)


def test_a_file_the_record_does_not_name_is_never_overwritten_and_nothing_is_written(project, capsys):
    out = project / "rendered/dev"
    out.mkdir(parents=True)
    mine = out / "deployment-jan-models-qwen3-coder-30b.yaml"
    mine.write_text("# my own Deployment, copied in by hand\n")
    capsys.readouterr()

    assert render(project) == 1

    assert files_of(out) == {mine.name: b"# my own Deployment, copied in by hand\n"}
    assert capsys.readouterr().err == (
        "rendered manifests: 1 problem found; nothing was changed\n"
        f"  - {mine}: exists but was not written by model-fleet (its record does not name it): "
        "move it, or remove it to have it rendered\n"
    )


def test_files_that_already_hold_what_would_be_written_are_taken_over_without_a_record(project):
    assert render(project) == 0
    out = project / "rendered/dev"
    before = files_of(out)
    (out / manifest_files.RECORD).unlink()

    assert render(project) == 0

    assert files_of(out) == before
