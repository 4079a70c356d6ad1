"""Promote round trips: generated projects of two stacks, promoted from one to the other, then
held to what the handbook (catalog.md) promises of `promote --write`.

A case is a catalog, a source stack (`staging`) and a target (`prod`), every model drawn valid by
strategies.model_entries. The source serves each model from the catalog with overrides, or as a
full entry; values include strings that YAML 1.1 reads as booleans, numbers or times. The
target's file is written as a person would: its own indentation, flow or block collections,
comments, quoting, booleans spelt `yes` or `on`, CRLF line endings and a BOM or not; it holds
items of its own for some of the source's models (other values, its own scaling, placement,
storage and secrets, overrides the source lacks), models the source does not serve, or no
models at all (an empty file, comments only, `models: null`, only `encryptionsalt`).

After `promote --from staging --to prod --write`:
- promote exits 0 with no traceback (every case is one it must accept);
- `diff --from staging --to prod` finds no difference for the source's models, and `check
  --stack prod` passes;
- promoting again changes nothing;
- the BOM, the line endings, every comment outside the models list and the text of the
  target's models the source does not serve are as they were;
- the target's own values (KEPT) and secrets are the same before and after.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from components.commands import kept, stack_diff
from components.commands.cli import main as cli
from components.contract import catalog, stack_files
from harness.factories import INVENTORY
from tests.fuzz.strategies import Result, display_names, model_entries, names

# Strings whose type YAML 1.1 and 1.2 readers disagree on, or that need quoting anywhere.
AMBIGUOUS = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "1:20",
    "0x10",
    "0o17",
    "010",
    "1e3",
    ".5",
    "~",
    "null",
    "2001-01-01",
    "",
    " x",
    "#x",
    "a: b",
    "- x",
]
text_values = st.one_of(st.sampled_from(AMBIGUOUS), st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12))
env_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"))
BOOLEAN_SPELLINGS = {True: ["true", "True", "yes", "on", "Yes", "ON"], False: ["false", "False", "no", "off", "No", "OFF"]}
EMPTY_FILES = [
    "",
    "# prod: no models yet\n",
    "encryptionsalt: v1:c2FsdA==\n",
    "config:\n",
    "config:\n  model-fleet:models: null  # none yet\n",
]


@dataclass
class PromoteCase:
    catalog: dict[str, Any]
    staging: dict[str, Any]  # Pulumi.staging.yaml's config
    prod_text: str  # Pulumi.prod.yaml as written
    promoted: list[str]  # the source's models
    markers: list[str] = field(default_factory=list)  # comments outside the models list
    own_items: list[str] = field(default_factory=list)  # texts of the target's models the source lacks

    def describe(self) -> str:
        files = {"Pulumi.yaml catalog": self.catalog, "Pulumi.staging.yaml": self.staging}
        shown = "\n".join(
            f"{name}:\n  " + yaml.safe_dump(v, sort_keys=False, width=200).rstrip().replace("\n", "\n  ") for name, v in files.items()
        )
        return f"{shown}\nPulumi.prod.yaml:\n  {self.prod_text!r}"

    def __repr__(self) -> str:
        return "PromoteCase(\n" + self.describe() + "\n)"


class _Writer:
    """Writes YAML as a person might, choosing each style with `draw`; PyYAML must read it back as the value."""

    def __init__(self, draw, step: int, offset: int) -> None:
        self.draw, self.step, self.offset = draw, step, offset
        self.comments = 0

    def comment(self) -> str:
        self.comments += 1
        return f"# note {self.comments}"

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):
            return self.draw(st.sampled_from(BOOLEAN_SPELLINGS[value]))
        if isinstance(value, str) and self.draw(st.booleans()):
            return yaml.safe_dump(value, default_style='"', width=2**31 - 1, allow_unicode=self.draw(st.booleans())).rstrip("\n")
        return yaml.safe_dump([value], default_flow_style=True, width=2**31 - 1, allow_unicode=False).strip()[1:-1]

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.scalar(k)}: {self.flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value)

    def block(self, value: Any, column: int, comments: bool) -> list[str]:
        pad = " " * column
        lines: list[str] = []
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and item and not catalog.is_secure(item) and self.draw(st.booleans()):
                    first, *rest = self.block(item, column + 2, comments)
                    lines += [f"{pad}- {first.lstrip()}", *rest]
                else:
                    lines.append(f"{pad}- {self.flow(item)}")
            return lines
        for key, child in value.items():
            if comments and self.draw(st.integers(0, 5)) == 0:
                lines.append(f"{pad}{self.comment()}")
            tail = f"  {self.comment()}" if comments and self.draw(st.integers(0, 5)) == 0 else ""
            nested = isinstance(child, (dict, list)) and child and not catalog.is_secure(child)
            if nested and self.draw(st.integers(0, 3)) > 0:
                step = self.step if isinstance(child, dict) else self.offset
                lines += [f"{pad}{self.scalar(key)}:{tail}", *self.block(child, column + step, comments)]
            else:
                lines.append(f"{pad}{self.scalar(key)}: {self.flow(child)}{tail}")
        return lines


def _variant(draw, base: dict[str, Any]) -> dict[str, Any]:
    """Overrides of what a stack serves: an image, a description, tags, environment variables."""
    changes: dict[str, Any] = {}
    if draw(st.booleans()):
        changes["deployment_config"] = {"image": f"vllm/vllm-openai:v0.{draw(st.integers(8, 12))}.{draw(st.integers(0, 3))}"}
    if draw(st.booleans()):
        changes["description"] = draw(text_values)
    if draw(st.booleans()):
        changes["tags"] = draw(st.lists(text_values, max_size=3))
    if draw(st.booleans()):
        variables = draw(st.lists(env_names, max_size=3, unique=True))
        changes.setdefault("deployment_config", {})["extra_env"] = [{"name": n, "value": draw(text_values)} for n in variables]
    return changes


def _own(draw, entry: dict[str, Any]) -> dict[str, Any]:
    """The target's own values: scaling, placement, storage and secrets, each valid with any source entry."""
    own: dict[str, Any] = {}
    if draw(st.booleans()):
        own["replicas"] = draw(st.integers(0, 1))
    if draw(st.booleans()):
        own["pvc_size"] = draw(st.sampled_from(["200Gi", "1Ti"]))
        own["storage_class"] = draw(st.sampled_from(["", "shared-rwx"]))
        own["pvc_access_mode"] = draw(st.sampled_from(["ReadWriteOnce", "ReadWriteMany"]))
    if draw(st.booleans()):
        own["node_selector"] = {"pool": draw(st.sampled_from(["gpu", "on", "1"]))}
        own["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}]
    if draw(st.booleans()):
        own["hugging_face_token"] = {"secure": "v1:dG9rZW4="}
    if draw(st.booleans()):
        variables = list(entry.get("deployment_config", {}).get("extra_env", []))
        own["extra_env"] = [*variables, {"name": "PROD_SECRET", "value": {"secure": "v1:c2VjcmV0"}}]
    return own


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not catalog.is_secure(value):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@st.composite
def promote_cases(draw) -> PromoteCase:
    inventory = draw(st.booleans())
    count = draw(st.integers(1, 3))
    model_names = draw(st.lists(names, min_size=count + 1, max_size=count + 1, unique=True))
    titles = draw(st.lists(display_names, min_size=count + 1, max_size=count + 1, unique_by=str.casefold))
    catalog: dict[str, Any] = {}
    staging_items, prod_items = [], []
    for name, title in zip(model_names[:count], titles[:count], strict=True):
        entry, _ = draw(model_entries(name, title, inventory))
        from_catalog = draw(st.booleans())
        if from_catalog:
            catalog[name] = {k: v for k, v in entry.items() if k != "name"}
        staging_changes = _variant(draw, entry)
        staging_items.append({"catalog": name, **staging_changes} if from_catalog else _merge(entry, staging_changes))
        if draw(st.integers(0, 4)) == 0:
            continue  # a model the target does not serve yet
        prod_changes = _merge(_variant(draw, entry), {"deployment_config": _own(draw, entry)})
        as_item = from_catalog and draw(st.booleans())
        prod_items.append({"catalog": name, **prod_changes} if as_item else _merge(entry, prod_changes))
    extra = None
    if draw(st.booleans()):
        extra, _ = draw(model_entries(model_names[count], titles[count], inventory))
    sections = {"model-fleet:cluster": copy.deepcopy(INVENTORY)} if inventory else {}
    staging = {**sections, "model-fleet:models": staging_items}
    writer = _Writer(draw, draw(st.sampled_from([2, 4])), draw(st.sampled_from([0, 2, 4])))
    markers: list[str] = []
    own_items: list[str] = []
    if not prod_items and extra is None and draw(st.booleans()):
        text = draw(st.sampled_from(EMPTY_FILES))
        if inventory:
            text = text if text.startswith("config:") else text + "config:\n"
            text = text.replace("config:\n", "config:\n" + "\n".join(writer.block(sections, 2, False)) + "\n", 1)
    else:
        header = [writer.comment(), "config:"]
        lines = writer.block({"model-fleet:namespace": "jan-models", **sections}, 2, False)
        markers += [header[0]]
        if draw(st.booleans()):
            marker = writer.comment()
            markers.append(marker)
            lines[0] += f"  {marker}"
        items = list(prod_items)
        position = draw(st.integers(0, len(items))) if extra is not None else None
        models_key = f"  model-fleet:models:  {writer.comment()}"
        body: list[str] = []
        column = 2 + writer.offset
        for item in [*items[:position], extra, *items[position:]] if extra is not None else items:
            first, *rest = writer.block(item, column + 2, item is not extra)
            block = [f"{' ' * column}- {first.lstrip()}", *rest]
            if item is extra:
                own_items.append("\n".join(block) + "\n")
            body += block
        if body:
            markers.append(models_key.split("  ", 2)[-1])
        text = "\n".join([*header, *lines, models_key, *body]) + "\n" if body else "\n".join([*header, *lines]) + "\n"
    config_read = (yaml.safe_load(text) or {}).get("config") or {}
    expected: dict[str, Any] = {**sections, **({"model-fleet:namespace": "jan-models"} if "model-fleet:namespace" in config_read else {})}
    if prod_items or extra is not None:
        expected["model-fleet:models"] = [*prod_items[:position], extra, *prod_items[position:]] if extra is not None else prod_items
    elif "model-fleet:models" in config_read:
        expected["model-fleet:models"] = None
    assert kept.same(config_read, expected), f"the fuzz writer wrote {text!r}, which reads back as {config_read!r}"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return PromoteCase(catalog, staging, text, model_names[:count], markers, own_items)


def _run(project: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli([*args, "--project-dir", str(project)])
    return code, out.getvalue(), err.getvalue()


def _own_values(project: Path) -> dict[str, dict[str, Any]]:
    """The target's kept values and secrets, per model."""
    entries = stack_diff.effective_entries(stack_files.resolve_stack(project, "prod", reveal=False)[1])
    found = {}
    for name, entry in entries.items():
        kept_values = {path: value for path, value in catalog.leaves(entry).items() if kept.is_kept(path)}
        found[name] = {"kept": kept_values, "secrets": {kept.path_of(steps): v for steps, v in kept.secrets(entry)}}
    return found


def check(case: PromoteCase) -> Result:
    result = Result(case)
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-promote-") as tmp:
            _check(case, Path(tmp), result)
    except Exception:
        result.outcome = "crash"
        result.add("crash", "the promote round trip raised", traceback.format_exc(limit=-4))
    return result


def _check(case: PromoteCase, project: Path, result: Result) -> None:
    project_file = {"name": "model-fleet", "runtime": "python", "config": {"model-fleet:catalog": {"value": case.catalog}}}
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(project_file, sort_keys=False))
    (project / "Pulumi.staging.yaml").write_text(yaml.safe_dump({"config": case.staging}, sort_keys=False))
    path = project / "Pulumi.prod.yaml"
    path.write_bytes(case.prod_text.encode())
    before_own = _own_values(project)

    code, out, err = _run(project, "promote", "--from", "staging", "--to", "prod", "--write")
    if code != 0:
        result.outcome = "rejected"
        result.add("refused-valid", "promote refused a promotion it must make", err + out)
        return
    result.outcome = "valid"
    after = path.read_bytes().decode()
    code, out, err = _run(project, "diff", "--from", "staging", "--to", "prod", "--json")
    models = json.loads(out)["models"] if out.startswith("{") else {}
    differing = {m: models[m] for m in case.promoted if m in models and (models[m].get("only_in") or models[m]["changed"])}
    if code == 2 or differing:
        result.add("unsafe", "after promote --write, diff still finds a difference", err + json.dumps(differing, indent=2) + "\n" + after)
    code, out, err = _run(project, "check", "--stack", "prod")
    if code != 0:
        result.add("unsafe", "after promote --write, check refuses the target", err + "\n" + after)
    code, out, err = _run(project, "promote", "--from", "staging", "--to", "prod")
    if code != 0 or "nothing to change" not in out:
        result.add("unsafe", "promoting again would change the target", out + err)
    if after.startswith("\ufeff") != case.prod_text.startswith("\ufeff"):
        result.add("unsafe", "the BOM was not kept", repr(after[:20]))
    if ("\r\n" in case.prod_text) != ("\r\n" in after) or ("\r\n" in after and after.count("\n") != after.count("\r\n")):
        result.add("unsafe", "the line endings were not kept", repr(after))
    for text in case.markers + case.own_items:
        if text.replace("\n", "\r\n" if "\r\n" in case.prod_text else "\n") not in after:
            result.add("unsafe", "text outside the promoted models was lost", f"{text!r} not in\n{after}")
    after_own = _own_values(project)
    for name, own in before_own.items():
        if name in after_own and own != after_own[name]:
            result.add("unsafe", "the target's own values or secrets changed", f"{name}: {own} -> {after_own[name]}")
