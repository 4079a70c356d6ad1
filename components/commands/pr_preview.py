"""What a pull request changes in a stack, as a Markdown summary fit for a PR comment.

    python -m components pr-preview --stack STACK [--summary PATH]

Four parts, run in order:
- validation of the stack file (what `python -m components check` does);
- docs drift: the docs tree against what the config implies (what `python -m docsgen --check`
  compares), naming the files to add, change and remove;
- the resource plan: `preview --json` of the stack, run by the engine through the runner
  (`python -m components.engine preview --json`: the Automation API, no language host needed),
  where the engine is installed (`make engine`); elsewhere the summary says it was not computed and why;
- the policy pack's violations in that preview (policy/; the engine runs it), per model, mandatory first.

Exit status: 0 clean, 1 invalid config or stale docs, 2 the engine failed, 3 a mandatory policy
was violated (and the engine did not fail otherwise). The first that applies of 2, 3, 1 is given.

The resource part reads the document `pulumi preview --json` prints (a "preview digest": `steps`
with `op`, `urn`, `oldState`/`newState`, `diffReasons`, `replaceReasons`, `detailedDiff`, and
`diagnostics`), as pulumi v3.259.0 defines it in pkg/backend/display/json.go. The kubernetes
provider names the changed keys in `detailedDiff` (e.g. `spec.template.spec.containers[0].image`),
read first; tests/cli/recorded/ holds previews of this program recorded from the real engine.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.commands import traffic
from components.contract import config
from components.contract.problems import ProblemsFound, redacted
from components.details import COMPONENT_TYPE as MODEL_TYPE
from components.engine import discover, policy_pack
from components.engine.runner import EXIT_POLICY
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
    traffic: tuple[str, ...] = ()  # a model's route: each canary's share that changes, one line each


@dataclass
class ResourcePlan:
    computed: bool
    reason: str = ""  # why it was not computed
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[policy_pack.Violation] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def policy_failed(self) -> bool:
        return any(v.level == "mandatory" for v in self.violations)


# --- the parts -------------------------------------------------------------------------------


def validate(project_dir: Path, stack: str) -> tuple[Validation, config.LoadedStack | None]:
    try:
        loaded = config.load_stack_file(project_dir, stack)
    except ProblemsFound as err:
        return Validation(report=err.report()), None
    return Validation(models=len(loaded.spec.models)), loaded


def docs_drift(loaded: config.LoadedStack, project_dir: Path) -> DocsDrift:
    if not loaded.spec.docs.enabled:
        return DocsDrift(disabled=True)
    root = writer.docs_root(loaded.spec, project_dir)
    try:
        changed, deleted = writer.plan(loaded.spec, root).changes()
    except ProblemsFound as err:
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
                traffic=tuple(
                    traffic.route_change_lines((raw.get("oldState") or {}).get("inputs"), (raw.get("newState") or {}).get("inputs"))
                )
                if own_type == traffic.ROUTE_TYPE
                else (),
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
    with tempfile.TemporaryDirectory(prefix="pr-preview-") as scratch:
        events = Path(scratch) / "policy-events.json"
        command = [sys.executable, "-m", "components.engine", "preview", "--json", "--stack", stack, "--project-dir", str(project_dir)]
        command += ["--policy-events", str(events)]
        try:
            result = subprocess.run(
                command, cwd=discover.PROJECT_DIR, capture_output=True, text=True, timeout=ENGINE_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            return ResourcePlan(computed=False, errors=[f"`pulumi preview` took over {ENGINE_TIMEOUT}s"])
        violations = policy_pack.read(events) if events.is_file() else []
    return plan_of(result.returncode, result.stdout, result.stderr, violations)


# The one error the CLI adds when a mandatory policy stops a preview: the violations say why.
_POLICY_STOP = "preview failed"


def plan_of(returncode: int, stdout: str, stderr: str, violations: list[policy_pack.Violation] | None = None) -> ResourcePlan:
    """The plan from what the runner's `preview --json` printed, its exit status and the policy violations it reported."""
    violations = list(violations or [])
    try:
        digest = json.loads(stdout)
    except json.JSONDecodeError:
        digest = None
    if not isinstance(digest, dict):
        detail = stderr.strip() or stdout.strip() or f"exit status {returncode}"
        return ResourcePlan(computed=False, errors=[f"`pulumi preview --json` printed no preview: {detail}"], violations=violations)
    errors = engine_errors(digest)
    stopped_by_policy = returncode == EXIT_POLICY and any(v.level == "mandatory" for v in violations)
    if stopped_by_policy:
        errors = [e for e in errors if e.removeprefix("error:").strip() != _POLICY_STOP]
    if returncode != 0 and not errors and not stopped_by_policy:
        errors = [stderr.strip() or f"`pulumi preview` exited with status {returncode}"]
    computed = returncode == 0 or (stopped_by_policy and not errors)
    return ResourcePlan(computed=computed, steps=steps_from_preview(digest), errors=errors, violations=violations)


# --- the summary -----------------------------------------------------------------------------
#
# Every value in the summary comes from config, the file tree or the engine, and the comment is
# rendered by GitHub: each is written through one of the escapes below for the spot it goes in,
# and a Hugging Face token is never shown, whatever holds it.

# GitHub refuses a comment body longer than this, counted in UTF-16 code units (a JavaScript string).
COMMENT_LIMIT = 65536
# What GitHub-flavoured Markdown makes live in running text: code, emphasis and strikethrough,
# links and images, HTML and entities, table cells.
_TEXT_SPECIAL = set("\\`*_[]<>&|~")


def _one_line(value: str) -> str:
    """Control characters, line breaks included, written as escapes: nothing of a value can end a line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value)


def _text(value: str) -> str:
    """A value as plain text in running Markdown: no emphasis, link, HTML, table cell end or @mention."""
    plain = _one_line(redacted(str(value)))
    out = []
    for i, ch in enumerate(plain):
        if ch == "@":
            out.append("@&#8203;")  # as Dependabot writes it: GitHub links no mention after a zero-width space
        elif ch == "_" and plain[i - 1 : i].isalnum() and plain[i + 1 : i + 2].isalnum():
            out.append(ch)  # inside a word, `_` is never emphasis: paths and names read as they are
        elif ch in _TEXT_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _prose(message: str) -> str:
    """A message of ours with `code` in backticks, around values: each part escaped for what it is."""
    parts = message.split("`")
    if len(parts) % 2 == 0:  # an odd backtick came from a value: all of it is text
        return _text(message)
    return "".join(_code(part) if i % 2 else _text(part) for i, part in enumerate(parts))


def _code(value: str, *, cell: bool = False) -> str:
    """A value as one inline code span: fenced by more backticks than it holds, on one line; in a
    table cell, `|` escaped too (GitHub splits cells before reading code spans)."""
    body = _one_line(redacted(str(value)))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    # A space each side keeps a backtick at an end from joining the fence (CommonMark strips one).
    pad = " " if body.startswith("`") or body.endswith("`") or (body.startswith(" ") and body.endswith(" ") and body.strip()) else ""
    span = f"{fence}{pad}{body}{pad}{fence}"
    return span.replace("|", "\\|") if cell else span


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _safe_block_text(value: str) -> str:
    """Text for a fenced block: its lines kept, every other control character escaped."""
    return "\n".join(_one_line(line) for line in redacted(str(value)).replace("\r\n", "\n").split("\n"))


@dataclass
class _Piece:
    """Lines of the summary; `kind` names what a cut leaves out with it, `close` what must follow it if the cut comes next."""

    lines: list[str]
    kind: str | None = None
    close: list[str] = field(default_factory=list)


def _fenced(text: str) -> list[_Piece]:
    """A problem report in a fenced block, each problem (a line starting `  - `, with the lines
    that continue it) one piece."""
    body = _safe_block_text(text)
    fence = _fence_for(body)
    pieces = [_Piece([fence + "text"], close=[fence])]
    for line in body.split("\n"):
        if line.startswith("  - ") or len(pieces) == 1:
            pieces.append(_Piece([line], "problem" if line.startswith("  - ") else None, [fence]))
        else:
            pieces[-1].lines.append(line)
    return [*pieces, _Piece([fence])]


def _errors(errors: list[str]) -> list[_Piece]:
    """Engine errors in one fenced block, each error one item."""
    body = [_safe_block_text(error) for error in errors]
    fence = _fence_for("\n".join(body))
    return [_Piece([fence + "text"], close=[fence]), *(_Piece(e.split("\n"), "problem", [fence]) for e in body), _Piece([fence])]


def _resource_lines(steps: list[Step]) -> list[str]:
    lines = ["| change | resource | keys |", "|---|---|---|"]
    for step in sorted(steps, key=lambda s: (OP_ORDER.index(s.op), s.type, s.name)):
        keys = ", ".join(_code(k, cell=True) for k in step.keys)
        if step.replace_keys:
            keys += (" " if keys else "") + "(replaced because of " + ", ".join(_code(k, cell=True) for k in step.replace_keys) + ")"
        change = f"{step.op} (kept in the cluster)" if step.kept else step.op
        lines.append(f"| {change} | {_code(step.type, cell=True)} {_code(step.name, cell=True)} | {keys} |")
    return lines


def _pieces(stack: str, validation: Validation, docs: DocsDrift | None, plan: ResourcePlan) -> list[_Piece]:
    # The first line finds the comment to update: the stack name cannot end the HTML comment.
    marker = re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"%{ord(m[0]):02X}", stack)
    pieces = [_Piece([f"<!-- model-fleet pr-preview: {marker} -->", f"## model-fleet preview of stack {_code(stack)}", ""])]

    if validation.ok:
        pieces.append(_Piece([f"**Validation**: passed, {validation.models} model{'s' if validation.models != 1 else ''}."]))
    else:
        pieces += [_Piece(["**Validation**: failed; nothing else was checked.", ""]), *_fenced(validation.report)]
    pieces.append(_Piece([""]))

    if docs is not None:
        if docs.disabled:
            pieces.append(_Piece(["**Docs**: not compared: docs generation is disabled for this stack (`model-fleet:docs.enabled`)."]))
        elif docs.error:
            pieces += [_Piece(["**Docs**: cannot be generated.", ""]), *_fenced(docs.error)]
        elif not docs.stale:
            pieces.append(_Piece(["**Docs**: up to date."]))
        else:
            count = len(docs.added) + len(docs.changed) + len(docs.removed)
            pieces.append(
                _Piece(
                    [
                        f"**Docs**: {count} file{'s' if count != 1 else ''} out of date; run {_code(f'make preview STACK={stack}')} and commit the docs.",
                        "",
                    ]
                )
            )
            for label, paths in (("added", docs.added), ("changed", docs.changed), ("removed", docs.removed)):
                pieces += [_Piece([f"- {label}: {_code(p)}"], "file") for p in paths]
        pieces.append(_Piece([""]))

    if plan.errors:
        pieces += [_Piece(["**Resources**: `pulumi preview` failed.", ""]), *_errors(plan.errors)]
    elif not plan.computed:
        pieces.append(_Piece([f"**Resources**: the resource plan was not computed: {_prose(plan.reason)}."]))
    elif not plan.steps:
        pieces.append(_Piece(["**Resources**: no changes."]))
    else:
        counts = {op: sum(1 for s in plan.steps if s.op == op) for op in OP_ORDER}
        pieces.append(_Piece(["**Resources**: " + ", ".join(f"{n} to {op}" for op, n in counts.items() if n) + "."]))
        models = sorted({s.model for s in plan.steps if s.model is not None})
        for model in models:
            steps = [s for s in plan.steps if s.model == model]
            shares = [f"**Traffic**: {_code(line)}" for s in steps for line in s.traffic]
            pieces.append(_Piece(["", f"#### {_code(model)}", "", *shares, *([""] if shares else []), *_resource_lines(steps)], "model"))
        others = [s for s in plan.steps if s.model is None]
        if others:
            pieces.append(_Piece(["", "#### Shared resources", "", *_resource_lines(others)], "resources"))
    if validation.ok:
        pieces += _policy_pieces(plan)
    return pieces


def _model_of_violation(violation: policy_pack.Violation) -> str | None:
    """The model a violation is about: a rule names it first (`MODEL: ...`) for an object under a ModelDeployment."""
    model, sep, _ = violation.message.partition(": ")
    return model if sep and f"{MODEL_TYPE}$" in violation.urn else None


def _violation_line(violation: policy_pack.Violation) -> str:
    return f"- **{violation.level}** {_code(violation.policy)}: {_prose(violation.message)}"


def _policy_pieces(plan: ResourcePlan) -> list[_Piece]:
    if not plan.violations:
        if plan.computed:
            return [_Piece(["", "**Policy**: passed."])]
        return [_Piece(["", "**Policy**: not checked: the policy pack runs in the engine's preview, which did not run to the end."])]
    mandatory = sum(1 for v in plan.violations if v.level == "mandatory")
    advisory = len(plan.violations) - mandatory
    counts = ", ".join(f"{n} {level}" for level, n in (("mandatory", mandatory), ("advisory", advisory)) if n)
    verdict = "the merge is blocked until they are fixed" if mandatory else "advisory only, nothing is blocked"
    pieces = [_Piece(["", f"**Policy**: {counts} violation{'s' if len(plan.violations) != 1 else ''}; {verdict}."])]
    order = {"mandatory": 0, "advisory": 1}
    ranked = sorted(plan.violations, key=lambda v: (order.get(v.level, 2), v.policy, v.message))
    by_model: dict[str | None, list[policy_pack.Violation]] = {}
    for violation in ranked:
        by_model.setdefault(_model_of_violation(violation), []).append(violation)
    # The groups with a mandatory violation first; within a level the whole stack's, then the models' by name.
    groups = sorted(by_model, key=lambda m: (order.get(by_model[m][0].level, 2), m is not None, m or ""))
    for model in groups:
        title = "The whole stack" if model is None else _code(model)
        pieces.append(_Piece(["", f"#### {title}", "", *(_violation_line(v) for v in by_model[model])], "violations"))
    return pieces


def _joined(lines: list[str]) -> str:
    return "\n".join(lines).rstrip() + "\n"


def _size(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


LEFT_OUT = {
    "model": "model",
    "file": "file",
    "problem": "problem",
    "resources": "table of shared resources",
    "violations": "list of policy violations",
}


def _cut_line(left: dict[str, int], full_report: str) -> str:
    counts = [f"{n} {LEFT_OUT[kind]}{'s' if n != 1 else ''}" for kind, n in left.items() if n]
    what = ", ".join(counts[:-1]) + (" and " if len(counts) > 1 else "") + counts[-1] if counts else "the rest"
    return f"**Cut to fit GitHub's comment limit**: {what} left out; the full report is {full_report}."


def fit(pieces: list[_Piece], full_report: str, limit: int = COMMENT_LIMIT) -> str:
    """The summary as one comment: whole when it fits, else cut after the last piece that fits,
    with a line saying what was left out and where the full report is."""
    full = _joined([line for piece in pieces for line in piece.lines])
    if _size(full) <= limit:
        return full
    # left[n]: what a cut before piece n leaves out.
    left = [dict.fromkeys(LEFT_OUT, 0) for _ in range(len(pieces) + 1)]
    for n in range(len(pieces) - 1, -1, -1):
        left[n] = dict(left[n + 1])
        kind = pieces[n].kind
        if kind is not None:
            left[n][kind] += 1
    kept: list[str] = []
    size, close, cut = 0, [], len(pieces)
    for n, piece in enumerate(pieces):
        grown = size + sum(_size(line) + 1 for line in piece.lines)
        ending = [*piece.close, "", _cut_line(left[n + 1], full_report)]
        if grown + sum(_size(line) + 1 for line in ending) > limit:
            cut = n
            break
        kept += piece.lines
        size, close = grown, piece.close
    return _joined([*kept, *close, "", _cut_line(left[cut], full_report)])


def render_summary(stack: str, validation: Validation, docs: DocsDrift | None, plan: ResourcePlan) -> str:
    """The whole summary, however long."""
    return _joined([line for piece in _pieces(stack, validation, docs, plan) for line in piece.lines])


# --- the command -----------------------------------------------------------------------------


def collect(stack: str, project_dir: Path, found: discover.Engine | None = None) -> tuple[int, list[_Piece]]:
    """The exit status and the summary's pieces."""
    validation, loaded = validate(project_dir, stack)
    if loaded is None:
        plan = ResourcePlan(computed=False, reason="the stack config is invalid")
        return 1, _pieces(stack, validation, None, plan)
    docs = docs_drift(loaded, project_dir)
    plan = resource_plan(stack, project_dir, found if found is not None else discover.detect())
    status = 2 if plan.failed else 3 if plan.policy_failed else 1 if docs.stale or docs.error else 0
    return status, _pieces(stack, validation, docs, plan)


def full_report_path(summary: Path) -> Path:
    """Where the whole report goes beside the comment: `pr-preview.md` -> `pr-preview-full.md`."""
    return summary.with_name(f"{summary.stem}-full{summary.suffix or '.md'}")


def _where(full_report: Path) -> str:
    return f"in {_code(full_report.name)} (kept as an artifact of the workflow run)"


def run(stack: str, project_dir: Path, found: discover.Engine | None = None, summary: Path = Path("pr-preview.md")) -> tuple[int, str]:
    """The exit status and the comment: the summary, cut to GitHub's limit when it is longer."""
    status, pieces = collect(stack, project_dir, found)
    return status, fit(pieces, _where(full_report_path(summary)))


def command(args: argparse.Namespace) -> int:
    status, pieces = collect(args.stack, args.project_dir)
    if not args.summary:
        sys.stdout.write(_joined([line for piece in pieces for line in piece.lines]))
        return status
    full = full_report_path(args.summary)
    comment = fit(pieces, _where(full))
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(comment, encoding="utf-8")
    full.write_text(_joined([line for piece in pieces for line in piece.lines]), encoding="utf-8")
    sys.stdout.write(comment)
    return status
