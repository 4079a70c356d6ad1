"""What differs between the models two stacks serve, value by value of their effective entries.

python -m components diff --from A --to B [--json]     # exit 0 when B serves what A serves, 1 when not

A value B keeps as its own (components/commands/kept.py: scaling, placement, storage, the token, the docs,
its secrets) is listed but is no difference: it is what `promote --from A --to B` leaves as it is,
so diff exits 0 exactly when promote has nothing to change.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from components.commands import kept
from components.contract import catalog, stack_files
from components.contract.spec import CANARY_DEPLOYMENT_KEYS

UNSET = "(unset)"


@dataclass
class ModelDiff:
    name: str
    only_in: str | None = None
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # path -> (from value, to value)
    kept: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # the same, where the target keeps its own value
    # The source made the target's canary the model: one line for the canary's changes, left out of `changed`.
    finished: str | None = None


def effective_entries(resolution: catalog.Resolution) -> dict[str, Any]:
    """The entries a stack serves by name, in the stack's order."""
    return {name: item.entry for name, item in resolution.served().items()}


def shown(value: Any) -> Any:
    """A value as the diff shows it: a secret only as set, since each stack encrypts its own."""
    if isinstance(value, SecretStr) or catalog.is_secure(value):
        return "[secret]"
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    return value


def changes(old_entry: Any, new_entry: Any) -> dict[str, tuple[Any, Any]]:
    """The values that differ, by path, each as (old, new), secrets shown only as set."""
    old, new = catalog.leaves(shown(old_entry)), catalog.leaves(shown(new_entry))
    return {
        path: (old.get(path, UNSET), new.get(path, UNSET))
        for path in [*old, *(p for p in new if p not in old)]
        if path not in old or path not in new or not kept.same(old[path], new[path])
    }


# What a canary sets of its own, by the entry's path that holds the same value once it is the model.
CANARY_VALUES = {**{key: f"deployment_config.{key}" for key in CANARY_DEPLOYMENT_KEYS}, "huggingface_id": "huggingface_id"}


def finished_canary(running: Any, finished: Any) -> str | None:
    """The version of the canary `running` runs when `finished` is the same model with that canary
    made the model itself: no canary, and every value the canary set of its own is the entry's."""
    canary = running.get("canary") if isinstance(running, dict) else None
    if not isinstance(canary, dict) or not isinstance(finished, dict) or finished.get("canary") is not None:
        return None
    values = catalog.leaves(finished)
    if any(key in canary and not kept.same(canary[key], values.get(path, UNSET)) for key, path in CANARY_VALUES.items()):
        return None
    version = canary.get("version")
    return version if isinstance(version, str) else None


def canary_line(version: str, changed: dict[str, tuple[Any, Any]], running: Any) -> tuple[str, dict[str, tuple[Any, Any]]]:
    """A finished canary's changes as one line, and the changes it does not account for (listed as they are)."""
    canary = running["canary"]
    own = {CANARY_VALUES[key] for key in CANARY_VALUES if key in canary}
    covered = {path for path in changed if path == "canary" or path.startswith("canary.") or path in own}
    line = f"canary {version} -> the model: {version} serves all of it, the old version is removed"
    return line, {path: values for path, values in changed.items() if path not in covered}


def compare(before: dict[str, Any], after: dict[str, Any], from_stack: str, to_stack: str) -> list[ModelDiff]:
    """Per model, what differs from `before` (A's entries) to `after` (B's), split into what
    promotion would change and what B keeps as its own."""
    diffs = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after or name not in before:
            diffs.append(ModelDiff(name, only_in=from_stack if name in before else to_stack))
            continue
        differing = changes(before[name], after[name])
        promoted = changes(kept.promoted_entry(before[name], after[name]), after[name])
        diff = ModelDiff(
            name,
            changed={path: values for path, values in differing.items() if path in promoted},
            kept={path: values for path, values in differing.items() if path not in promoted},
        )
        diff.changed.update({path: values for path, values in promoted.items() if path not in differing})
        if (version := finished_canary(after[name], before[name])) is not None:
            diff.finished, diff.changed = canary_line(version, diff.changed, after[name])
        if diff.changed or diff.kept or diff.finished:
            diffs.append(diff)
    return diffs


def differ(diffs: list[ModelDiff]) -> list[ModelDiff]:
    """The models B does not serve as A does: only in one, or changed beyond what B keeps."""
    return [diff for diff in diffs if diff.only_in is not None or diff.changed or diff.finished]


def value_text(value: Any) -> str:
    """A value as a report line writes it: JSON, or `(unset)`."""
    return value if value == UNSET else json.dumps(value)


def report(diffs: list[ModelDiff], from_stack: str, to_stack: str) -> str:
    lines = []
    for diff in diffs:
        if diff.only_in is not None:
            lines.append(f"{diff.name}: only in {diff.only_in}")
            continue
        lines.append(f"{diff.name}:")
        lines += [f"  {diff.finished}"] if diff.finished else []
        lines += [f"  {path}: {value_text(old)} -> {value_text(new)}" for path, (old, new) in diff.changed.items()]
        lines += [
            f"  {path}: {value_text(old)} -> {value_text(new)}  ({to_stack}'s own: promote keeps it)"
            for path, (old, new) in diff.kept.items()
        ]
    count = len(differ(diffs))
    if count:
        lines.append(f"{count} model{'s' if count != 1 else ''} differ{'s' if count == 1 else ''} from {from_stack} to {to_stack}")
    else:
        kept_values = sum(len(diff.kept) for diff in diffs)
        own = f" ({to_stack} keeps {kept_values} value{'s' if kept_values != 1 else ''} of its own)" if kept_values else ""
        lines.append(f"{from_stack} and {to_stack} serve the same models{own}")
    return "\n".join(lines)


def as_json(diffs: list[ModelDiff], from_stack: str, to_stack: str) -> dict:
    models: dict[str, Any] = {}
    for diff in diffs:
        if diff.only_in is not None:
            models[diff.name] = {"only_in": diff.only_in}
        else:
            models[diff.name] = {
                "changed": {p: {"from": old, "to": new} for p, (old, new) in diff.changed.items()},
                "kept": {p: {"from": old, "to": new} for p, (old, new) in diff.kept.items()},
                **({"canary_finished": diff.finished} if diff.finished else {}),
            }
    return {"from": from_stack, "to": to_stack, "equal": not differ(diffs), "models": models}


def command(args: argparse.Namespace) -> int:
    """Raises ProblemsFound when either stack cannot be resolved; the caller reports it."""
    # Secrets as written ({secure: ...}): each is shown only as set, and B's are its own.
    old, new = (
        effective_entries(stack_files.resolve_stack(args.project_dir, s, reveal=False)[1]) for s in (args.from_stack, args.to_stack)
    )
    diffs = compare(old, new, args.from_stack, args.to_stack)
    if args.json:
        print(json.dumps(as_json(diffs, args.from_stack, args.to_stack), indent=2))
    else:
        print(report(diffs, args.from_stack, args.to_stack))
    return 1 if differ(diffs) else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--to", dest="to_stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml and the stack files are")
