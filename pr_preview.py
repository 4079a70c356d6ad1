"""What a pull request changes in a stack, as a Markdown summary fit for a PR comment.

    python -m components pr-preview --stack STACK [--summary PATH]

Three parts, run in order:
- validation of the stack file (what `python -m components check` does);
- docs drift: the docs tree against what the config implies (what `python -m docsgen --check`
  compares), naming the files to add, change and remove;
- the resource plan: `preview --json` of the stack, run by the engine through the runner
  (`python -m components.engine preview --json`: the Automation API, no language host needed),
  where the engine is installed (`make engine`); elsewhere the summary says it was not computed and why.

Exit status: 0 clean, 1 invalid config or stale docs, 2 the engine failed.

The resource part reads the document `pulumi preview --json` prints (a "preview digest": `steps`
with `op`, `urn`, `oldState`/`newState`, `diffReasons`, `replaceReasons`, `detailedDiff`, and
`diagnostics`), as pulumi v3.259.0 defines it in pkg/backend/display/json.go. The kubernetes
provider names the changed keys in `detailedDiff` (e.g. `spec.template.spec.containers[0].image`),
read first; tests/cli/recorded/ holds previews of this program recorded from the real engine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import config
from components.details import COMPONENT_TYPE as MODEL_TYPE
from components.engine import discover
from components.problems import ConfigError
from docsgen import writer

# Replacement steps collapse into one "replace"; `same` is not a change.
OPS = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "delete": "delete",
}
OP_ORDER = ("create", "update", "replace", "delete")
ENGINE_TIMEOUT = 1800


@dataclass
class Validation:
    report: str = ""
    models: int = 0

    @property
    def ok(self) -> bool:
        return not self.report


@dataclass
class DocsDrift:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    disabled: bool = False
    error: str = ""  # why the docs could not be planned (a file in the way)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    name: str
    model: str | None
    keys: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    kept: bool = False  # a delete of a resource with retainOnDelete: gone from the stack, left in the cluster


@dataclass
class ResourcePlan:
    computed: bool
    reason: str = ""  # why it was not computed
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


# --- the parts -------------------------------------------------------------------------------


def validate(project_dir: Path, stack: str) -> tuple[Validation, config.LoadedStack | None]:
    try:
        loaded = config.load_stack_file(project_dir, stack)
    except ConfigError as err:
        return Validation(report=err.report()), None
    return Validation(models=len(loaded.spec.models)), loaded


def docs_drift(loaded: config.LoadedStack, project_dir: Path) -> DocsDrift:
    if not loaded.spec.docs.enabled:
        return DocsDrift(disabled=True)
    root = writer.docs_root(loaded.spec, project_dir)
    try:
        changed, deleted = writer.plan(loaded.spec, root).changes()
    except ConfigError as err:
        return DocsDrift(error=err.report())
    return DocsDrift(
        added=sorted(str(p) for p in changed if not (root / p).exists()),
        changed=sorted(str(p) for p in changed if (root / p).exists()),
        removed=sorted(str(p) for p in deleted),
    )


def _urn_parts(urn: str) -> tuple[str, str]:
    """(the resource's own type, its name) from `urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", urn
    return parts[2].split("$")[-1], "::".join(parts[3:])


def _model_of(step: dict[str, Any], by_urn: dict[str, str]) -> str | None:
    own_type, name = _urn_parts(step.get("urn", ""))
    if own_type == MODEL_TYPE:
        return name
    state = step.get("newState") or step.get("oldState") or {}
    parent = state.get("parent") or ""
    seen = set()
    while parent and parent not in seen:
        parent_type, parent_name = _urn_parts(parent)
        if parent_type == MODEL_TYPE:
            return parent_name
        seen.add(parent)
        parent = by_urn.get(parent, "")
    return None


def _changed_inputs(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two resource inputs differ, as dotted paths; for a provider that names no changed keys.

    Secret values read `[secret]` on both sides, so a changed secret is not seen here.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if not k.startswith("__"))
        return [p for k in keys for p in _changed_inputs(old.get(k), new.get(k), f"{path}.{k}" if path else k)]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for i, (o, n) in enumerate(zip(old, new, strict=True)) for p in _changed_inputs(o, n, f"{path}[{i}]")]
    return [path] if old != new and path else []


def steps_from_preview(digest: dict[str, Any]) -> list[Step]:
    """The changes of a `pulumi preview --json` document, each assigned to its model."""
    raw_steps = digest.get("steps") or []
    parents = {}
    for raw in raw_steps:
        state = raw.get("newState") or raw.get("oldState") or {}
        if state.get("parent"):
            parents[raw.get("urn", "")] = state["parent"]
    steps = []
    for raw in raw_steps:
        op = OPS.get(raw.get("op", ""))
        if op is None:
            continue
        own_type, name = _urn_parts(raw.get("urn", ""))
        keys = (
            sorted(raw.get("detailedDiff") or {})
            or sorted(raw.get("diffReasons") or [])
            or _changed_inputs((raw.get("oldState") or {}).get("inputs"), (raw.get("newState") or {}).get("inputs"))
        )
        steps.append(
            Step(
                op=op,
                type=own_type,
                name=name,
                model=_model_of(raw, parents),
                keys=tuple(keys) if op in ("update", "replace") else (),
                replace_keys=tuple(sorted(raw.get("replaceReasons") or [])),
                kept=op == "delete" and bool((raw.get("oldState") or {}).get("retainOnDelete")),
            )
        )
    # A replacement shown as several steps is one change of one resource.
    return list(dict.fromkeys(steps))


def engine_errors(digest: dict[str, Any]) -> list[str]:
    return [d.get("message", "").strip() for d in digest.get("diagnostics") or [] if d.get("severity") == "error"]


def resource_plan(stack: str, project_dir: Path, found: discover.Engine) -> ResourcePlan:
    """`preview --json` of the stack, run by the runner: the program through the Automation API."""
    if not found.inline:
        return ResourcePlan(computed=False, reason="the Pulumi engine is not installed: missing " + "; ".join(found.missing))
    if not (project_dir / "__main__.py").is_file():
        return ResourcePlan(computed=False, reason=f"{project_dir} holds the stack files but not the program (`__main__.py`)")
    # In a process of its own: the program runs inside the runner's process, with Pulumi's
    # runtime state, which this one keeps out of.
    command = [sys.executable, "-m", "components.engine", "preview", "--json", "--stack", stack, "--project-dir", str(project_dir)]
    try:
        result = subprocess.run(
            command, cwd=discover.PROJECT_DIR, capture_output=True, text=True, timeout=ENGINE_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return ResourcePlan(computed=False, errors=[f"`pulumi preview` took over {ENGINE_TIMEOUT}s"])
    return plan_of(result.returncode, result.stdout, result.stderr)


def plan_of(returncode: int, stdout: str, stderr: str) -> ResourcePlan:
    """The plan from what the runner's `preview --json` printed and its exit status."""
    try:
        digest = json.loads(stdout)
    except json.JSONDecodeError:
        digest = None
    if not isinstance(digest, dict):
        detail = stderr.strip() or stdout.strip() or f"exit status {returncode}"
        return ResourcePlan(computed=False, errors=[f"`pulumi preview --json` printed no preview: {detail}"])
    errors = engine_errors(digest)
    if returncode != 0 and not errors:
        errors = [stderr.strip() or f"`pulumi preview` exited with status {returncode}"]
    return ResourcePlan(computed=returncode == 0, steps=steps_from_preview(digest), errors=errors)


# --- the summary -----------------------------------------------------------------------------


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _fenced(text: str) -> list[str]:
    return ["```text", text.replace("```", "'''"), "```"]


def _resource_lines(steps: list[Step]) -> list[str]:
    lines = ["| change | resource | keys |", "|---|---|---|"]
    for step in sorted(steps, key=lambda s: (OP_ORDER.index(s.op), s.type, s.name)):
        keys = ", ".join(_code(k) for k in step.keys)
        if step.replace_keys:
            keys += (" " if keys else "") + "(replaced because of " + ", ".join(_code(k) for k in step.replace_keys) + ")"
        change = f"{step.op} (kept in the cluster)" if step.kept else step.op
        lines.append(f"| {change} | {_code(step.type)} {_code(step.name)} | {keys} |")
    return lines


def render_summary(stack: str, validation: Validation, docs: DocsDrift | None, plan: ResourcePlan) -> str:
    lines = [f"<!-- model-fleet pr-preview: {stack} -->", f"## model-fleet preview of stack `{stack}`", ""]

    if validation.ok:
        lines.append(f"**Validation**: passed, {validation.models} model{'s' if validation.models != 1 else ''}.")
    else:
        lines += ["**Validation**: failed; nothing else was checked.", "", *_fenced(validation.report)]
    lines.append("")

    if docs is not None:
        if docs.disabled:
            lines.append("**Docs**: not compared: docs generation is disabled for this stack (`model-fleet:docs.enabled`).")
        elif docs.error:
            lines += ["**Docs**: cannot be generated.", "", *_fenced(docs.error)]
        elif not docs.stale:
            lines.append("**Docs**: up to date.")
        else:
            count = len(docs.added) + len(docs.changed) + len(docs.removed)
            lines.append(
                f"**Docs**: {count} file{'s' if count != 1 else ''} out of date; run `make preview STACK={stack}` and commit the docs."
            )
            lines.append("")
            for label, paths in (("added", docs.added), ("changed", docs.changed), ("removed", docs.removed)):
                lines += [f"- {label}: {_code(p)}" for p in paths]
        lines.append("")

    if plan.errors:
        lines += ["**Resources**: `pulumi preview` failed.", "", *_fenced("\n".join(plan.errors))]
    elif not plan.computed:
        lines.append(f"**Resources**: the resource plan was not computed: {plan.reason}.")
    elif not plan.steps:
        lines.append("**Resources**: no changes.")
    else:
        counts = {op: sum(1 for s in plan.steps if s.op == op) for op in OP_ORDER}
        lines.append("**Resources**: " + ", ".join(f"{n} to {op}" for op, n in counts.items() if n) + ".")
        models = sorted({s.model for s in plan.steps if s.model is not None})
        for model in models:
            lines += ["", f"#### {_code(model)}", "", *_resource_lines([s for s in plan.steps if s.model == model])]
        others = [s for s in plan.steps if s.model is None]
        if others:
            lines += ["", "#### Shared resources", "", *_resource_lines(others)]
    return "\n".join(lines).rstrip() + "\n"


# --- the command -----------------------------------------------------------------------------


def run(stack: str, project_dir: Path, found: discover.Engine | None = None) -> tuple[int, str]:
    validation, loaded = validate(project_dir, stack)
    if loaded is None:
        plan = ResourcePlan(computed=False, reason="the stack config is invalid")
        return 1, render_summary(stack, validation, None, plan)
    docs = docs_drift(loaded, project_dir)
    plan = resource_plan(stack, project_dir, found if found is not None else discover.detect())
    status = 2 if plan.failed else 1 if docs.stale or docs.error else 0
    return status, render_summary(stack, validation, docs, plan)


def command(args: argparse.Namespace) -> int:
    status, summary = run(args.stack, args.project_dir)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(summary, encoding="utf-8")
    sys.stdout.write(summary)
    return status
