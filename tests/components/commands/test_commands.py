"""The commands that run without the engine, the committed stack files and the README's reference."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.commands.cli import main as cli
from components.contract import config, reference, stack_files
from components.contract.problems import ProblemsFound
from harness.factories import DELETE, entry, stack, write_stack

# Each test's tier is marked on it: `unit` runs in this process, `process` starts bash or a command.
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.unit
def test_check_passes_a_clean_stack(tmp_path, capsys):
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "Pulumi.dev.yaml: 2 models valid, cluster facts from inventory\n"


NO_TARGET = (
    "the stack applies to a cluster but names none, and there is no kubeconfig to apply with ({missing} does not exist): "
    "set kubernetes.kubeconfig or kubernetes.context, describe the cluster in model-fleet:cluster, "
    "or set kubernetes.render_yaml_to_directory to write manifests instead"
)


@pytest.fixture
def no_ambient_kubeconfig(tmp_path_factory, monkeypatch) -> Path:
    """A home without ~/.kube/config and no $KUBECONFIG: what a stack naming no cluster would deploy with is missing."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return home / ".kube/config"


@pytest.mark.unit
def test_check_refuses_a_stack_that_would_deploy_without_a_kubeconfig(tmp_path, capsys, no_ambient_kubeconfig):
    write_stack(tmp_path, stack(entry("a"), cluster=DELETE))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err
        == "Pulumi.dev.yaml: 1 problem found; nothing was changed\n"
        + f"  - kubernetes: {NO_TARGET.format(missing=no_ambient_kubeconfig)}\n"
    )


@pytest.mark.unit
def test_check_names_every_missing_file_kubeconfig_lists(tmp_path, capsys, no_ambient_kubeconfig, monkeypatch):
    listed = [tmp_path / "one", tmp_path / "two"]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, listed)))
    write_stack(tmp_path, stack(entry("a"), cluster=DELETE))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    assert NO_TARGET.format(missing=f"{listed[0]}, {listed[1]}") in capsys.readouterr().err


@pytest.mark.unit
def test_a_stack_naming_no_cluster_passes_check_with_the_kubeconfig_it_would_deploy_with(tmp_path, capsys, ambient_kubeconfig):
    write_stack(tmp_path, stack(entry("a"), cluster=DELETE))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out == "Pulumi.dev.yaml: 1 model valid, cluster facts from none\n"


@pytest.mark.unit
@pytest.mark.parametrize(
    "sections",
    [{"kubernetes": {"render_yaml_to_directory": "out"}, "cluster": DELETE}, {}],
    ids=["render-mode", "inventory"],
)
def test_a_stack_that_renders_or_has_an_inventory_needs_no_kubeconfig(tmp_path, capsys, no_ambient_kubeconfig, sections):
    write_stack(tmp_path, stack(entry("a"), **sections))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Pulumi.dev.yaml: 1 model valid, cluster facts from ")


@pytest.mark.unit
def test_the_program_refuses_a_stack_that_would_deploy_without_a_kubeconfig(no_ambient_kubeconfig):
    with pytest.raises(ProblemsFound) as caught:
        config.load(stack(entry("a"), cluster=DELETE), source="Pulumi.dev.yaml")
    assert [str(p) for p in caught.value.problems] == [f"kubernetes: {NO_TARGET.format(missing=no_ambient_kubeconfig)}"]


@pytest.mark.process
def test_check_lists_every_problem_without_a_traceback(tmp_path):
    write_stack(tmp_path, stack(entry("a", **{"deployment_config.gpu_cout": 1}), entry("b", **{"requirements.memory": "x"})))
    result = subprocess.run(
        [sys.executable, "-m", "components", "check", "--stack", "dev", "--project-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        "  - models[0] (a) deployment_config.gpu_cout: unknown key 'gpu_cout' (did you mean 'gpu_count'?)",
        "  - models[1] (b) requirements.memory: 'x' is not a Kubernetes quantity (examples: 500m, 2, 16Gi)",
    ]


@pytest.mark.unit
def test_status_json_has_the_apis_shape(tmp_path, capsys):
    write_stack(tmp_path, stack(entry()))
    assert cli(["status", "--stack", "dev", "--project-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stack"] == "dev"
    assert set(report["cluster_status"]) >= {
        "has_gpus",
        "total_nodes",
        "gpu_nodes",
        "total_gpus",
        "gpu_operator_ok",
        "aibrix_ok",
        "kuberay_ok",
        "envoy_gateway_ok",
    }


@pytest.mark.unit
def test_models_lists_the_stacks_models(tmp_path, capsys):
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    assert cli(["models", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 models"
    assert out[0].split() == ["a", "jan-models", "managed", "declared", "a"]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_committed_stack_files_are_valid(name):
    files = stack_files.read_stack(ROOT, name)
    assert files.token_problems == []
    parsed = config._parse(stack_files.model_fleet_section(files.config), files.catalog_source, files.source)
    assert parsed.problems == []
    assert len(parsed.spec.models) >= 2


@pytest.mark.unit
def test_dev_stack_passes_the_preflight_with_its_inventory():
    loaded = config.load_stack_file(ROOT, "dev")
    # The deployment API's example keeps its cache on a ReadWriteOnce claim while autoscaling, and
    # the docs walk-through's model is served under its Hugging Face ID: both are warned about.
    assert loaded.facts.source == "inventory" and loaded.warnings == [
        "models[0] (catalog qwen3-coder-30b) deployment_config.pvc_access_mode: ReadWriteOnce: of the up to 8 replicas, "
        "pods scheduled on another node than the first cannot mount the cache claim and stay Pending; "
        "use ReadWriteMany to scale across nodes",
        "models[1] (catalog mistral-nemo-instruct-2407) deployment_config.args: no --served-model-name: clients must call "
        "the model by 'mistralai/Mistral-Nemo-Instruct-2407', which the AIBrix gateway cannot route (it routes by "
        "the label model.aibrix.ai/name 'mistral-nemo-instruct-2407', and a label cannot hold '/'); "
        "add '--served-model-name mistral-nemo-instruct-2407' to your vLLM command",
    ]


@pytest.mark.unit
def test_the_handbooks_reference_is_generated_from_the_schema():
    page = reference.PAGE.read_text()
    assert reference.updated(page) == page, "run: .venv/bin/python -m components.contract.reference"
    for key in ("hugging_face_token", "startup_timeout_seconds", "retain_cache_on_delete", "render_yaml_to_directory"):
        assert f"| `{key}` |" in page


def _readme_section(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(f"\n## {heading}\n") :]
    return section[: section.index("\n## ", 1)]


def _make_targets() -> dict[str, bool]:
    """Each target of the Makefile and mk/*.mk, and whether a `##` comment (which `make help` prints) describes it."""
    targets: dict[str, bool] = {}
    for path in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if match := re.match(r"^([a-z][\w-]*):(?!=)", line):
                documented = number > 0 and lines[number - 1].startswith("## ")
                targets[match[1]] = targets.get(match[1], False) or documented
    return targets


@pytest.mark.unit
def test_the_readmes_two_commands_are_make_targets_and_ci_runs_the_test_one():
    block = re.search(r"```bash\n(.*?)```", _readme_section("The two commands"), re.S)
    assert block
    commands = [line.split("#")[0].strip() for line in block[1].splitlines()]
    assert commands == ["make preview", "make test"]
    targets = _make_targets()
    assert targets.get("preview") and targets.get("test")
    assert (ROOT / ".ci/run").read_text().splitlines()[-1] == commands[1]


@pytest.mark.unit
def test_every_command_in_the_readmes_table_exists_with_the_options_it_shows(capsys):
    from docsgen.__main__ import main as docsgen_main

    rows = re.findall(r"^\| (`.+?`) \| ", _readme_section("Commands"), re.M)
    commands = [c for row in rows if row != "`command`" for c in re.findall(r"`([^`]+)`", row)]
    assert len(commands) >= 12
    targets, seen = _make_targets(), set()
    for command in commands:
        words = command.split()
        options = [w.strip("[]") for w in words if w.strip("[]").startswith("--")]
        if words[:3] == ["python", "-m", "components"] or words[:3] == ["python", "-m", "docsgen"]:
            argv = words[3:4] if words[2] == "components" else []
            with pytest.raises(SystemExit) as exited:
                (cli if words[2] == "components" else docsgen_main)([*argv, "--help"])
            assert exited.value.code == 0, command
            shown = capsys.readouterr().out
            assert [o for o in options if o not in shown] == [], command
        elif words[:3] == ["python", "-m", "components.engine"]:
            from components.engine import runner

            named = re.search(r"\[(.+?) --stack", command)
            assert named and tuple(named[1].split("\\|")) == runner.OPERATIONS, command
        else:
            assert words[0] == "make" and targets.get(words[1]), f"{command}: not a make target with a ## comment"
        seen.add(" ".join(words[:4]))
    assert {"python -m components check", "python -m components promote", "make test-fast"} <= seen


@pytest.mark.unit
def test_unreadable_stack_file_is_a_message_not_a_traceback(tmp_path, capsys):
    (tmp_path / "Pulumi.dev.yaml").write_bytes(b"config:\n  model-fleet:namespace: \xff\n")
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "Pulumi.dev.yaml: 1 problem found; nothing was changed\n  - not UTF-8 text: byte 0xff on line 2\n"


@pytest.mark.unit
def test_status_reports_the_cluster_even_when_a_model_cannot_run_on_it(tmp_path, capsys):
    raw = stack(entry())
    raw["cluster"]["crds"] = []  # the model autoscales: check fails without the AIBrix CRD
    write_stack(tmp_path, raw)
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    capsys.readouterr()

    assert cli(["status", "--stack", "dev", "--project-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["cluster_status"]
    assert report["aibrix_ok"] is False and report["total_gpus"] == 3


@pytest.mark.unit
def test_status_still_needs_valid_cluster_sections(tmp_path, capsys):
    write_stack(tmp_path, stack(entry(), cluster={"gpu_nodes": "many"}))
    assert cli(["status", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    assert "cluster.gpu_nodes" in capsys.readouterr().err
