"""The pull-request preview: validation, docs drift, the resource plan and the Markdown summary.

Two kinds of `pulumi preview --json` documents feed the renderer here:
- RECORDED from the real engine for this program's dev stack (tests/cli/recorded/, made by
  tests/cli/record_preview.py and re-recorded by the engine tier);
- built by hand in the shape pulumi 3.259.0 prints (pkg/backend/display/json.go), for what one
  recording does not hold: several changes to one model's objects, provider-level changes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from components.commands import pr_preview
from components.contract import config
from components.contract.spec import GatewayRef
from components.engine import policy_pack, runner
from components.engine.discover import Engine
from components.manifests import http_route
from docsgen.__main__ import main as docsgen
from harness.factories import entry, pooled_stack, stack, write_stack

# Each test's tier is marked on it: `unit` runs in this process, `process` starts bash or a command.
ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "cli" / "recorded"
COMPONENT = "model-fleet:index:ModelDeployment"


def urn(type_chain: str, name: str) -> str:
    return f"urn:pulumi:dev::model-fleet::{type_chain}::{name}"


def child(model: str, k8s_type: str, name: str) -> tuple[str, str]:
    return urn(f"{COMPONENT}${k8s_type}", name), urn(COMPONENT, model)


STACK_URN = urn("pulumi:pulumi:Stack", "model-fleet-dev")


def step(op: str, target: tuple[str, str] | str, *, old: bool = False, **fields) -> dict:
    """One step of a hand-built preview document; `target` is a URN or (URN, parent URN)."""
    address, parent = target if isinstance(target, tuple) else (target, STACK_URN)
    state = {"urn": address, "custom": True, "type": address.split("::")[2].split("$")[-1], "parent": parent}
    return {"op": op, "urn": address, ("oldState" if old else "newState"): state, "detailedDiff": None, **fields}


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


DEPLOYMENT, SERVICE, CLAIM = "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:core/v1:PersistentVolumeClaim"
MONITOR, AUTOSCALER = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler"


@pytest.mark.unit
def test_a_recorded_first_preview_creates_each_model_with_its_children():
    steps = pr_preview.steps_from_preview(recorded("dev-create"))
    qwen, mistral, bge = "qwen3-coder-30b", "mistral-nemo-instruct-2407", "bge-m3"
    assert {(s.model, s.op, s.type, s.name) for s in steps} == {
        (None, "create", "pulumi:pulumi:Stack", "model-fleet-dev"),
        (None, "create", "pulumi:providers:kubernetes", "kubernetes"),
        (None, "create", "kubernetes:core/v1:Namespace", "namespace"),
        *[(m, "create", COMPONENT, m) for m in (qwen, mistral, bge)],
        *[
            (m, "create", t, f"{m}-{suffix}")
            for m in (qwen, mistral, bge)
            for t, suffix in ((DEPLOYMENT, "deployment"), (SERVICE, "service"), (MONITOR, "servicemonitor"))
        ],
        (qwen, "create", CLAIM, f"{qwen}-hf-cache"),
        (mistral, "create", CLAIM, f"{mistral}-hf-cache"),
        (qwen, "create", AUTOSCALER, f"{qwen}-podautoscaler"),
    }


@pytest.mark.unit
def test_a_recorded_change_renders_update_replace_delete_and_create_per_model():
    plan = pr_preview.ResourcePlan(computed=True, steps=pr_preview.steps_from_preview(recorded("dev-change")))
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=3), pr_preview.DocsDrift(), plan)
    table = ["| change | resource | keys |", "|---|---|---|"]
    assert summary.splitlines()[7:] == [
        "**Resources**: 4 to create, 1 to update, 1 to replace, 5 to delete.",
        "",
        "#### `bge-small`",
        "",
        *table,
        f"| create | `{DEPLOYMENT}` `bge-small-deployment` |  |",
        f"| create | `{SERVICE}` `bge-small-service` |  |",
        f"| create | `{MONITOR}` `bge-small-servicemonitor` |  |",
        f"| create | `{COMPONENT}` `bge-small` |  |",
        "",
        "#### `mistral-nemo-instruct-2407`",
        "",
        *table,
        f"| delete | `{DEPLOYMENT}` `mistral-nemo-instruct-2407-deployment` |  |",
        # The claim leaves the stack and stays in the cluster (retainOnDelete), and the summary says so.
        f"| delete (kept in the cluster) | `{CLAIM}` `mistral-nemo-instruct-2407-hf-cache` |  |",
        f"| delete | `{SERVICE}` `mistral-nemo-instruct-2407-service` |  |",
        f"| delete | `{MONITOR}` `mistral-nemo-instruct-2407-servicemonitor` |  |",
        f"| delete | `{COMPONENT}` `mistral-nemo-instruct-2407` |  |",
        "",
        "#### `qwen3-coder-30b`",
        "",
        *table,
        # The provider's detailedDiff names the changed keys, and why the claim is replaced.
        f"| update | `{DEPLOYMENT}` `qwen3-coder-30b-deployment` | `spec.template.spec.containers[0].image` |",
        f"| replace | `{CLAIM}` `qwen3-coder-30b-hf-cache` | `spec.storageClassName` (replaced because of `spec.storageClassName`) |",
        "",
        "**Policy**: passed.",
    ]


def digest() -> dict:
    """Add model `a`, change the image and the cache class of `b`, remove model `c` (hand-built, not recorded)."""
    return {
        "steps": [
            step("same", STACK_URN),
            step("create", urn(COMPONENT, "a")),
            step("create", child("a", "kubernetes:apps/v1:Deployment", "a")),
            step("create", child("a", "kubernetes:core/v1:Service", "a")),
            step(
                "update",
                child("b", "kubernetes:apps/v1:Deployment", "b"),
                diffReasons=["spec"],
                detailedDiff={"spec.template.spec.containers[0].image": {"kind": "update", "inputDiff": True}},
            ),
            step(
                "replace",
                child("b", "kubernetes:core/v1:PersistentVolumeClaim", "b-hf-cache"),
                diffReasons=["spec"],
                replaceReasons=["spec"],
                detailedDiff={"spec.storageClassName": {"kind": "update-replace", "inputDiff": True}},
            ),
            step("delete", child("c", "kubernetes:core/v1:Service", "c"), old=True),
            step("delete", urn(COMPONENT, "c"), old=True),
            step("update", urn("kubernetes:core/v1:Namespace", "namespace"), diffReasons=["metadata"]),
        ],
        "changeSummary": {"create": 3, "update": 2, "replace": 1, "delete": 2, "same": 1},
    }


@pytest.mark.unit
def test_steps_are_grouped_by_model_with_the_keys_that_change():
    steps = pr_preview.steps_from_preview(digest())
    by_model = {(s.model, s.op, s.type, s.name): (s.keys, s.replace_keys) for s in steps}
    assert by_model == {
        ("a", "create", COMPONENT, "a"): ((), ()),
        ("a", "create", "kubernetes:apps/v1:Deployment", "a"): ((), ()),
        ("a", "create", "kubernetes:core/v1:Service", "a"): ((), ()),
        ("b", "update", "kubernetes:apps/v1:Deployment", "b"): (("spec.template.spec.containers[0].image",), ()),
        ("b", "replace", "kubernetes:core/v1:PersistentVolumeClaim", "b-hf-cache"): (("spec.storageClassName",), ("spec",)),
        ("c", "delete", "kubernetes:core/v1:Service", "c"): ((), ()),
        ("c", "delete", COMPONENT, "c"): ((), ()),
        (None, "update", "kubernetes:core/v1:Namespace", "namespace"): (("metadata",), ()),
    }


@pytest.mark.unit
def test_a_replacement_shown_as_several_steps_is_one_change():
    pvc = child("b", "kubernetes:core/v1:PersistentVolumeClaim", "b-hf-cache")
    document = {"steps": [step(op, pvc, replaceReasons=["spec"]) for op in ("create-replacement", "replace", "delete-replaced")]}
    assert [(s.op, s.name) for s in pr_preview.steps_from_preview(document)] == [("replace", "b-hf-cache")]


@pytest.mark.unit
def test_the_summary_lists_each_models_changes():
    plan = pr_preview.ResourcePlan(computed=True, steps=pr_preview.steps_from_preview(digest()))
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), plan)
    assert summary == "\n".join(
        [
            "<!-- model-fleet pr-preview: dev -->",
            "## model-fleet preview of stack `dev`",
            "",
            "**Validation**: passed, 2 models.",
            "",
            "**Docs**: up to date.",
            "",
            "**Resources**: 3 to create, 2 to update, 1 to replace, 2 to delete.",
            "",
            "#### `a`",
            "",
            "| change | resource | keys |",
            "|---|---|---|",
            "| create | `kubernetes:apps/v1:Deployment` `a` |  |",
            "| create | `kubernetes:core/v1:Service` `a` |  |",
            "| create | `model-fleet:index:ModelDeployment` `a` |  |",
            "",
            "#### `b`",
            "",
            "| change | resource | keys |",
            "|---|---|---|",
            "| update | `kubernetes:apps/v1:Deployment` `b` | `spec.template.spec.containers[0].image` |",
            "| replace | `kubernetes:core/v1:PersistentVolumeClaim` `b-hf-cache` | `spec.storageClassName` (replaced because of `spec`) |",
            "",
            "#### `c`",
            "",
            "| change | resource | keys |",
            "|---|---|---|",
            "| delete | `kubernetes:core/v1:Service` `c` |  |",
            "| delete | `model-fleet:index:ModelDeployment` `c` |  |",
            "",
            "#### Shared resources",
            "",
            "| change | resource | keys |",
            "|---|---|---|",
            "| update | `kubernetes:core/v1:Namespace` `namespace` | `metadata` |",
            "",
            "**Policy**: passed.",
            "",
        ]
    )


# --- the command on a project ------------------------------------------------------------------

NO_ENGINE = Engine(None, None, None, Path("/nonexistent"), ["the pulumi CLI v3.259.0 (run `make engine`, or install it on PATH)"])


@pytest.fixture
def project(tmp_path) -> Path:
    """A project with two models and the docs generated for them."""
    write_stack(tmp_path, stack(entry("a"), entry("b")))
    assert docsgen(["--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    return tmp_path


@pytest.mark.unit
def test_a_clean_stack_without_the_engine_says_why_there_is_no_plan(project):
    status, summary = pr_preview.run("dev", project, NO_ENGINE)
    assert status == 0
    assert summary.splitlines()[3:] == [
        "**Validation**: passed, 2 models.",
        "",
        "**Docs**: up to date.",
        "",
        "**Resources**: the resource plan was not computed: the Pulumi engine is not installed: "
        "missing the pulumi CLI v3.259.0 (run `make engine`, or install it on PATH).",
        "",
        "**Policy**: not checked: the policy pack runs in the engine's preview, which did not run to the end.",
    ]


@pytest.mark.unit
def test_docs_drift_names_the_files_and_says_to_run_make_preview(project):
    write_stack(project, stack(entry("a", display_name="Model A Renamed"), entry("c")))
    status, summary = pr_preview.run("dev", project, NO_ENGINE)
    assert status == 1
    snippets = ".snippets/code/get-started/start-building"
    assert summary.splitlines()[5:21] == [
        "**Docs**: 14 files out of date; run `make preview STACK=dev` and commit the docs.",
        "",
        *[f"- added: `{snippets}/{kind}-c.{ext}`" for kind in ("batch/batch-jsonl", "real-time/real-time") for ext in ("md", "py")],
        f"- changed: `{snippets}/.model-fleet-generated.json`",
        f"- changed: `{snippets}/batch/batch-jsonl-a.py`",
        f"- changed: `{snippets}/real-time/real-time-a.py`",
        "- changed: `get-started/models.md`",
        "- changed: `get-started/start-building/batch.md`",
        "- changed: `get-started/start-building/real-time.md`",
        *[f"- removed: `{snippets}/{kind}-b.{ext}`" for kind in ("batch/batch-jsonl", "real-time/real-time") for ext in ("md", "py")],
    ]


@pytest.mark.unit
def test_invalid_config_reports_every_problem_and_checks_nothing_else(project):
    write_stack(project, stack(entry("a", **{"deployment_config.gpu_cout": 1}), entry("b", **{"requirements.memory": "x"})))
    status, summary = pr_preview.run("dev", project, NO_ENGINE)
    assert status == 1
    assert summary.splitlines()[3:] == [
        "**Validation**: failed; nothing else was checked.",
        "",
        "```text",
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        "  - models[0] (a) deployment_config.gpu_cout: unknown key 'gpu_cout' (did you mean 'gpu_count'?)",
        "  - models[1] (b) requirements.memory: 'x' is not a Kubernetes quantity (examples: 500m, 2, 16Gi)",
        "```",
        "",
        "**Resources**: the resource plan was not computed: the stack config is invalid.",
    ]


@pytest.mark.unit
def test_a_preview_document_becomes_the_plan_in_the_summary(project):
    plan = pr_preview.plan_of(0, json.dumps(digest()), "")
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), plan)
    assert "**Resources**: 3 to create, 2 to update, 1 to replace, 2 to delete." in summary
    assert "#### `b`" in summary


@pytest.mark.unit
def test_an_engine_failure_is_its_errors():
    failed = {
        "diagnostics": [
            {"message": "error: Pulumi.dev.yaml: 1 problem found; nothing was changed\n", "severity": "error"},
            {"message": "a warning", "severity": "warning"},
        ]
    }
    plan = pr_preview.plan_of(1, json.dumps(failed), "")
    assert plan.failed and plan.errors == ["error: Pulumi.dev.yaml: 1 problem found; nothing was changed"]
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), plan)
    assert summary.splitlines()[-7:] == [
        "**Resources**: `pulumi preview` failed.",
        "",
        "```text",
        "error: Pulumi.dev.yaml: 1 problem found; nothing was changed",
        "```",
        "",
        "**Policy**: not checked: the policy pack runs in the engine's preview, which did not run to the end.",
    ]


@pytest.mark.unit
def test_an_engine_that_prints_no_preview_fails_with_what_it_said():
    plan = pr_preview.plan_of(1, "", "error: no stack named dev found")
    assert plan.failed and plan.errors == ["`pulumi preview --json` printed no preview: error: no stack named dev found"]


def violation(policy: str, level: str, message: str, model: str | None = None) -> policy_pack.Violation:
    urn = child(model, "kubernetes:apps/v1:Deployment", f"{model}-deployment")[0] if model else STACK_URN
    return policy_pack.Violation(policy, level, message, urn)


# What the CLI's preview --json printed when a mandatory policy stopped it (recorded from the real engine).
STOPPED = {"steps": [step("same", STACK_URN)], "diagnostics": [{"message": "error: preview failed\n", "severity": "error"}]}


@pytest.mark.unit
def test_a_preview_stopped_by_a_mandatory_policy_is_a_policy_failure_not_an_engine_failure():
    found = [violation("image-source", "mandatory", "a: Deployment a, container vllm: image `x` has the tag `latest`; pin it", "a")]
    plan = pr_preview.plan_of(runner.EXIT_POLICY, json.dumps(STOPPED), "", found)
    assert plan.computed and not plan.failed and plan.policy_failed and plan.errors == []
    # The same exit without a mandatory violation reported is the engine failing.
    assert pr_preview.plan_of(runner.EXIT_POLICY, json.dumps(STOPPED), "", []).errors == ["error: preview failed"]
    # An engine error beside the policy stop is still the engine's failure.
    broken = {**STOPPED, "diagnostics": [*STOPPED["diagnostics"], {"message": "error: the provider crashed", "severity": "error"}]}
    assert pr_preview.plan_of(runner.EXIT_POLICY, json.dumps(broken), "", found).errors == ["error: the provider crashed"]


@pytest.mark.unit
def test_the_policy_section_lists_violations_per_model_mandatory_first():
    # A stack-wide violation has no model: its group leads the groups of its level.
    plan = pr_preview.ResourcePlan(
        computed=True,
        violations=[
            violation("managed-labels", "advisory", "b: Service b: lacks the team label `team`; add it to the model entry's `labels`", "b"),
            violation("gpu-budget", "mandatory", "the fleet can take 20 GPUs, over the budget of 16: a 12, b 8; lower them"),
            violation(
                "image-source", "mandatory", "b: Deployment b, container vllm: image `vllm/x:latest` has the tag `latest`; pin it", "b"
            ),
            violation("managed-labels", "advisory", "a: Service a: lacks the team label `team`; add it to the model entry's `labels`", "a"),
        ],
    )
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), plan)
    assert summary.split("**Resources**: no changes.\n", 1)[1].splitlines() == [
        "",
        "**Policy**: 2 mandatory, 2 advisory violations; the merge is blocked until they are fixed.",
        "",
        "#### The whole stack",
        "",
        "- **mandatory** `gpu-budget`: the fleet can take 20 GPUs, over the budget of 16: a 12, b 8; lower them",
        "",
        "#### `b`",
        "",
        "- **mandatory** `image-source`: b: Deployment b, container vllm: image `vllm/x:latest` has the tag `latest`; pin it",
        "- **advisory** `managed-labels`: b: Service b: lacks the team label `team`; add it to the model entry's `labels`",
        "",
        "#### `a`",
        "",
        "- **advisory** `managed-labels`: a: Service a: lacks the team label `team`; add it to the model entry's `labels`",
    ]
    stack_advisory = pr_preview.ResourcePlan(
        computed=True, violations=[plan.violations[0], plan.violations[2], violation("gpu-budget", "advisory", "the fleet is big")]
    )
    text = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), stack_advisory)
    assert [line for line in text.splitlines() if line.startswith("#### ")] == ["#### `b`", "#### The whole stack"]
    advisory = pr_preview.ResourcePlan(computed=True, violations=plan.violations[:1])
    text = pr_preview.render_summary("dev", pr_preview.Validation(models=2), pr_preview.DocsDrift(), advisory)
    assert "**Policy**: 1 advisory violation; advisory only, nothing is blocked." in text


@pytest.mark.process  # collect() asks the engine's CLI for its version
def test_a_mandatory_violation_gives_its_own_exit_status(project, monkeypatch):
    stopped = pr_preview.ResourcePlan(computed=True, violations=[violation("image-source", "mandatory", "a: pin it", "a")])
    monkeypatch.setattr(pr_preview, "resource_plan", lambda *args: stopped)
    assert pr_preview.collect("dev", project)[0] == 3
    monkeypatch.setattr(
        pr_preview, "resource_plan", lambda *args: pr_preview.ResourcePlan(computed=False, errors=["boom"], violations=stopped.violations)
    )
    assert pr_preview.collect("dev", project)[0] == 2
    advisory = pr_preview.ResourcePlan(computed=True, violations=[violation("image-source", "advisory", "a: pin it", "a")])
    monkeypatch.setattr(pr_preview, "resource_plan", lambda *args: advisory)
    assert pr_preview.collect("dev", project)[0] == 0


@pytest.mark.process
def test_the_command_writes_the_summary_file(project, tmp_path):
    summary = tmp_path / "out" / "summary.md"
    result = subprocess.run(
        [sys.executable, "-m", "components", "pr-preview", "--stack", "dev", "--project-dir", str(project), "--summary", str(summary)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert summary.read_text() == result.stdout
    assert "**Docs**: up to date." in result.stdout
    # Stack files alone: whether or not the engine is installed, there is no program to preview.
    assert (
        result.stdout.splitlines()[-1]
        == "**Policy**: not checked: the policy pack runs in the engine's preview, which did not run to the end."
    )
    assert result.stdout.splitlines()[-3] in (
        f"**Resources**: the resource plan was not computed: {project} holds the stack files but not the program (`__main__.py`).",
        "**Resources**: the resource plan was not computed: the Pulumi engine is not installed: missing "
        "the pulumi CLI v3.259.0 (run `make engine`, or install it on PATH); the kubernetes resource plugin v4.25.0 "
        f"(run `make engine`; not in {ROOT}/.engine/home/plugins, {tmp_path}/.pulumi/plugins).",
    )


# --- values from data are inert in the comment, and the comment fits -------------------------------

TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
HOSTILE = [
    "@octocat please",
    "# Heading from data",
    "<img src=x onerror=alert(1)>",
    "a|b|c",
    "tick`s ``and`` more`",
    "line\nbreak\n\n# after a blank line",
    "[a link](https://example.com) *bold* ~~gone~~ <!-- x -->",
    f"token {TOKEN} here",
    "```\nfenced out\n```",
]
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def hostile_plan() -> pr_preview.ResourcePlan:
    steps = [pr_preview.Step(op="update", type=value, name=value, model=value, keys=(value,), replace_keys=(value,)) for value in HOSTILE]
    return pr_preview.ResourcePlan(computed=True, steps=steps)


def rendered_text(summary: str) -> list[tuple[str, str]]:
    """(token type, content) of everything GitHub would render, inline tokens flattened."""
    out = []
    for token in GFM.parse(summary):
        out.append((token.type, token.content))
        out += [(child.type, child.content) for child in token.children or []]
    return out


def assert_inert(summary: str, headings: int) -> None:
    tokens = rendered_text(summary)
    kinds = [kind for kind, _ in tokens]
    # The first line, the marker comment, is the only HTML; the headings are ours.
    assert [content for kind, content in tokens if kind.startswith("html")] == [summary.splitlines()[0] + "\n"]
    assert kinds.count("heading_open") == headings
    assert not {"link_open", "image", "em_open", "s_open"} & set(kinds)
    # Bold is ours only: one label at the start of each of our lines.
    assert kinds.count("strong_open") == sum(1 for line in summary.splitlines() if line.startswith("**"))
    # A mention is live in text, never in code.
    assert not [content for kind, content in tokens if kind == "text" and re.search(r"@\w", content)]
    assert TOKEN not in summary and "hf_AbCd" not in summary


@pytest.mark.unit
def test_every_value_from_the_engine_is_inert_in_the_comment():
    plan = hostile_plan()
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=1), pr_preview.DocsDrift(), plan)

    assert_inert(summary, headings=1 + len(HOSTILE))
    # Each table keeps its three columns and one row per change: no value ended a cell or a row.
    for token in (t for t in GFM.parse(summary) if t.type == "table_open"):
        assert token.map is not None
        rows = summary.splitlines()[token.map[0] : token.map[1]]
        assert len(rows) == 3 and all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows)
    # A code span holds the whole value, backticks and line breaks included, on one line.
    spans = [content for kind, content in rendered_text(summary) if kind == "code_inline"]
    assert "tick`s ``and`` more`" in spans and "line\\nbreak\\n\\n# after a blank line" in spans


@pytest.mark.unit
def test_file_names_problem_texts_and_engine_errors_are_inert_too():
    report = "Pulumi.dev.yaml: 2 problems found; nothing was changed\n" + "".join(f"  - models[0] {v}: bad\n" for v in HOSTILE)
    invalid = pr_preview.render_summary(
        "dev", pr_preview.Validation(report=report), None, pr_preview.ResourcePlan(computed=False, reason="x")
    )
    assert_inert(invalid, headings=1)

    drift = pr_preview.DocsDrift(added=HOSTILE, changed=HOSTILE)
    failed = pr_preview.ResourcePlan(computed=False, errors=HOSTILE)
    summary = pr_preview.render_summary("dev", pr_preview.Validation(models=1), drift, failed)
    assert_inert(summary, headings=1)
    assert sum(1 for kind, _ in rendered_text(summary) if kind == "list_item_open") == 2 * len(HOSTILE)

    reason = pr_preview.ResourcePlan(
        computed=False, reason=f"/work/@dev/<b>{TOKEN}</b> holds the stack files but not the program (`__main__.py`)"
    )
    assert_inert(pr_preview.render_summary("dev", pr_preview.Validation(models=1), pr_preview.DocsDrift(), reason), headings=1)


@pytest.mark.unit
def test_a_stack_name_cannot_end_the_marker_comment():
    summary = pr_preview.render_summary("x --> <b>@a</b>", pr_preview.Validation(models=1), None, pr_preview.ResourcePlan(False, "x"))
    assert summary.splitlines()[0] == "<!-- model-fleet pr-preview: x%20--%3E%20%3Cb%3E%40a%3C%2Fb%3E -->"
    assert_inert(summary, headings=1)


def many_models(count: int) -> pr_preview.ResourcePlan:
    steps = [
        pr_preview.Step(
            op="create", type=f"kubernetes:apps/v1:Deployment{'é' * 20}", name=f"model-{i:05d}-deployment", model=f"model-{i:05d}"
        )
        for i in range(count)
    ]
    return pr_preview.ResourcePlan(computed=True, steps=steps)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.unit
def test_a_long_summary_is_cut_to_the_comment_limit_saying_what_was_left_out_and_where():
    pieces = pr_preview._pieces("dev", pr_preview.Validation(models=3000), pr_preview.DocsDrift(), many_models(3000))

    comment = pr_preview.fit(pieces, "in `pr-preview-full.md`")

    assert utf16(comment) <= pr_preview.COMMENT_LIMIT
    shown = len(re.findall(r"^#### `model-\d{5}`$", comment, re.MULTILINE))
    assert 0 < shown < 3000
    assert comment.splitlines()[-1] == (
        f"**Cut to fit GitHub's comment limit**: {3000 - shown} models left out; the full report is in `pr-preview-full.md`."
    )
    assert comment.splitlines()[-2] == ""


@pytest.mark.unit
def test_a_cut_inside_a_problem_report_closes_its_fence_and_counts_the_problems():
    report = "Pulumi.dev.yaml: 20000 problems found; nothing was changed\n" + "\n".join(
        f"  - models[{i}] (m{i}) deployment_config.gpu_cout: unknown key 'gpu_cout'" for i in range(20000)
    )
    pieces = pr_preview._pieces(
        "dev", pr_preview.Validation(report=report), None, pr_preview.ResourcePlan(False, "the stack config is invalid")
    )

    comment = pr_preview.fit(pieces, "in `full.md`")

    assert utf16(comment) <= pr_preview.COMMENT_LIMIT
    shown = comment.count("  - models[")
    assert comment.endswith(
        f"```\n\n**Cut to fit GitHub's comment limit**: {20000 - shown} problems left out; the full report is in `full.md`.\n"
    )
    # The fence is closed: the cut line is a paragraph after it, not code.
    tokens = GFM.parse(comment)
    assert [token.type for token in tokens][-4:] == ["fence", "paragraph_open", "inline", "paragraph_close"]
    assert tokens[-2].content.startswith("**Cut to fit")


@pytest.mark.process
def test_the_command_writes_the_comment_and_the_full_report_beside_it(tmp_path):
    write_stack(tmp_path, stack(*[entry(f"model-{i:04d}", **{"deployment_config.gpu_cout": 1}) for i in range(1200)]))
    summary = tmp_path / "pr-preview.md"

    result = subprocess.run(
        [sys.executable, "-m", "components", "pr-preview", "--stack", "dev", "--project-dir", str(tmp_path), "--summary", str(summary)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )

    assert result.returncode == 1, result.stderr
    comment, full = summary.read_text(), (tmp_path / "pr-preview-full.md").read_text()
    assert comment == result.stdout and utf16(comment) <= pr_preview.COMMENT_LIMIT
    assert full.count("(did you mean 'gpu_count'?)") == 1200 and comment.count("(did you mean 'gpu_count'?)") < 1200
    assert comment.splitlines()[-1].endswith(
        "problems left out; the full report is in `pr-preview-full.md` (kept as an artifact of the workflow run)."
    )


def _route_inputs(canary_weight: int | None) -> dict:
    """The route's inputs as the program declares them (the builders' manifest), with a canary at `canary_weight`."""

    model = config.load(pooled_stack(entry()), source="t").spec.models[0]
    backends = [("qwen3-coder-30b", 100 - (canary_weight or 0))] + (
        [("qwen3-coder-30b-v2", canary_weight)] if canary_weight is not None else []
    )
    return http_route.build(model, "jan-models", GatewayRef(name="gw"), "qwen3-coder-30b", backends)


@pytest.mark.unit
def test_a_weight_change_is_one_line_in_the_summary():
    route = child("qwen3-coder-30b", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "qwen3-coder-30b-httproute")
    change = step(
        "update",
        route,
        diffReasons=["spec"],
        detailedDiff={
            "spec.rules[0].backendRefs[0].weight": {"kind": "update", "inputDiff": True},
            "spec.rules[0].backendRefs[1].weight": {"kind": "update", "inputDiff": True},
        },
    )
    change["oldState"] = {**change["newState"], "inputs": _route_inputs(10)}
    change["newState"]["inputs"] = _route_inputs(50)
    plan = pr_preview.ResourcePlan(computed=True, steps=pr_preview.steps_from_preview({"steps": [change]}))

    summary = pr_preview.render_summary("prod", pr_preview.Validation(models=1), pr_preview.DocsDrift(), plan)

    assert summary.splitlines()[7:] == [
        "**Resources**: 1 to update.",
        "",
        "#### `qwen3-coder-30b`",
        "",
        "**Traffic**: `qwen3-coder-30b: v2 10% -> 50%`",
        "",
        "| change | resource | keys |",
        "|---|---|---|",
        "| update | `kubernetes:gateway.networking.k8s.io/v1:HTTPRoute` `qwen3-coder-30b-httproute` | "
        "`spec.rules[0].backendRefs[0].weight`, `spec.rules[0].backendRefs[1].weight` |",
        "",
        "**Policy**: passed.",
    ]


@pytest.mark.unit
def test_a_canary_added_or_removed_moves_its_share_from_or_to_nothing():
    route = child("qwen3-coder-30b", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "qwen3-coder-30b-httproute")
    added, removed = step("update", route), step("update", route)
    added["oldState"], added["newState"]["inputs"] = {**added["newState"], "inputs": _route_inputs(None)}, _route_inputs(5)
    removed["oldState"], removed["newState"]["inputs"] = {**removed["newState"], "inputs": _route_inputs(5)}, _route_inputs(None)
    assert [s.traffic for s in pr_preview.steps_from_preview({"steps": [added]})] == [("qwen3-coder-30b: v2 0% -> 5%",)]
    assert [s.traffic for s in pr_preview.steps_from_preview({"steps": [removed]})] == [("qwen3-coder-30b: v2 5% -> 0%",)]
