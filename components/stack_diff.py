"""What differs between the models two stacks serve, value by value of their effective entries.

python -m components diff --from A --to B [--json]     # exit 0 when equal, 1 when they differ
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from components import catalog, stack_files

UNSET = "(unset)"


@dataclass
class ModelDiff:
    name: str
    only_in: str | None = None
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # path -> (from value, to value)


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


def compare(before: dict[str, Any], after: dict[str, Any], from_stack: str, to_stack: str) -> list[ModelDiff]:
    diffs = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after or name not in before:
            diffs.append(ModelDiff(name, only_in=from_stack if name in before else to_stack))
            continue
        old, new = catalog.leaves(shown(before[name])), catalog.leaves(shown(after[name]))
        changed = {
            path: (old.get(path, UNSET), new.get(path, UNSET))
            for path in [*old, *(p for p in new if p not in old)]
            if old.get(path, UNSET) != new.get(path, UNSET)
        }
        if changed:
            diffs.append(ModelDiff(name, changed=changed))
    return diffs


def _value(value: Any) -> str:
    return value if value == UNSET else json.dumps(value)


def report(diffs: list[ModelDiff], from_stack: str, to_stack: str) -> str:
    if not diffs:
        return f"{from_stack} and {to_stack} serve the same models"
    lines = []
    for diff in diffs:
        if diff.only_in is not None:
            lines.append(f"{diff.name}: only in {diff.only_in}")
            continue
        lines.append(f"{diff.name}:")
        lines += [f"  {path}: {_value(old)} -> {_value(new)}" for path, (old, new) in diff.changed.items()]
    count = len(diffs)
    lines.append(f"{count} model{'s' if count != 1 else ''} differ{'s' if count == 1 else ''} from {from_stack} to {to_stack}")
    return "\n".join(lines)


def as_json(diffs: list[ModelDiff], from_stack: str, to_stack: str) -> dict:
    models: dict[str, Any] = {}
    for diff in diffs:
        if diff.only_in is not None:
            models[diff.name] = {"only_in": diff.only_in}
        else:
            models[diff.name] = {"changed": {p: {"from": old, "to": new} for p, (old, new) in diff.changed.items()}}
    return {"from": from_stack, "to": to_stack, "equal": not diffs, "models": models}


def command(args: argparse.Namespace) -> int:
    """Raises ConfigError when either stack cannot be resolved; the caller reports it."""
    old, new = (effective_entries(stack_files.resolve_stack(args.project_dir, s)[1]) for s in (args.from_stack, args.to_stack))
    diffs = compare(old, new, args.from_stack, args.to_stack)
    if args.json:
        print(json.dumps(as_json(diffs, args.from_stack, args.to_stack), indent=2))
    else:
        print(report(diffs, args.from_stack, args.to_stack))
    return 1 if diffs else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--to", dest="to_stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml and the stack files are")
