"""Promotion: the change to Pulumi.<to>.yaml that makes that stack serve what another one serves.

    python -m components promote --from A --to B [--model NAME ...] [--write]

For each model, B's item becomes A's (a catalog item stays a catalog item, with the overrides
that give A's effective entry), except the keys in KEPT: those say how an environment runs a
model, not what it serves, and B keeps its own values. The stack file is edited through a
round-trip YAML library, so its comments, key order and quoting stay as they were.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from components import atomic_files, catalog, spec, stack_files
from components.problems import ConfigError, Problem, did_you_mean
from components.stack_diff import effective_entries

# Scaling, node placement, the cluster's storage, secrets (each stack encrypts its own) and docs.
KEPT = (
    "deployment_config.replicas",
    "deployment_config.enable_autoscaling",
    "deployment_config.autoscaling_config",
    "deployment_config.node_selector",
    "deployment_config.tolerations",
    "deployment_config.storage_class",
    "deployment_config.pvc_access_mode",
    "deployment_config.pvc_size",
    "deployment_config.hugging_face_token",
    "docs",
)
MODELS_KEY = f"{spec.NAMESPACE}:models"


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    # The stack files' own layout: lists indented under their key, long vLLM command lines unfolded.
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    # `key: null` is how an override removes a catalog key; ruamel would write it as `key:`.
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _lookup(entry: Any, path: str) -> tuple[bool, Any]:
    for key in path.split("."):
        if not (isinstance(entry, dict) and key in entry):
            return False, None
        entry = entry[key]
    return True, entry


def _put(entry: dict[str, Any], path: str, found: bool, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        if not isinstance(entry.get(key), dict):
            if not found:
                return
            entry[key] = {}
        entry = entry[key]
    if found:
        entry[last] = copy.deepcopy(value)
    else:
        entry.pop(last, None)


def wanted_entry(served: dict[str, Any], kept_from: dict[str, Any] | None) -> dict[str, Any]:
    """The entry B should serve: A's, with B's own values (or their absence) at the KEPT keys."""
    wanted = copy.deepcopy(served)
    if kept_from is not None:
        for path in KEPT:
            _put(wanted, path, *_lookup(kept_from, path))
    return wanted


def overrides(base: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """The fewest overrides that merge `base` into `target` (catalog.resolve's rules)."""
    found: dict[str, Any] = {}
    for key, value in target.items():
        if key not in base:
            found[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(base[key], dict) and not catalog.is_secure(value) and not catalog.is_secure(base[key]):
            nested = overrides(base[key], value)
            if nested:
                found[key] = nested
        elif base[key] != value:
            found[key] = copy.deepcopy(value)
    found.update({key: None for key in base if key not in target})
    return found


def item_for(wanted: dict[str, Any], source: catalog.Item, to_catalog: dict[str, Any]) -> dict[str, Any]:
    """B's new item: a catalog item when A serves the model from an entry B's catalog has too."""
    if source.catalog is None or not isinstance(to_catalog.get(source.catalog), dict):
        return wanted
    base = catalog.catalog_entry(source.catalog, to_catalog[source.catalog])
    return {"catalog": source.catalog, **overrides(base, wanted)}


def _sync(node: Any, target: Any) -> Any:
    """`node` (a round-trip YAML node) made equal to `target`, touching only what differs."""
    if isinstance(node, dict) and isinstance(target, dict) and ("catalog" in node) == ("catalog" in target):
        for key in [k for k in node if k not in target]:
            del node[key]
        for key, value in target.items():
            if key in node:
                node[key] = _sync(node[key], value)
            else:
                node[key] = value
        return node
    return node if node == target else target


def _secret_paths(value: Any, path: str) -> list[str]:
    if catalog.is_secure(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{path}[{i}]")]
    return []


def _secret_problems(name: str, wanted: dict[str, Any], from_file: str, to_file: str) -> list[Problem]:
    return [
        Problem(
            f"{name} {path}",
            f"a secret of {from_file} cannot be copied to {to_file} (each stack encrypts its own); "
            f"set it in {to_file} with `pulumi config set --secret --path`",
        )
        for path in _secret_paths(wanted, "")
        if not any(path == k or path.startswith(k + ".") for k in KEPT)
    ]


def promoted(project_dir: Path, from_stack: str, to_stack: str, names: list[str]) -> tuple[Path, str, str]:
    """(stack file of B, its text now, its text promoted)."""
    from_files, from_resolution = stack_files.resolve_stack(project_dir, from_stack, reveal=False)
    to_files, to_resolution = stack_files.resolve_stack(project_dir, to_stack, reveal=False)
    by_name, to_items = from_resolution.served(), to_resolution.served()
    served = effective_entries(from_resolution)
    to_entries = effective_entries(to_resolution)
    problems = []
    for name in names:
        if name not in served:
            problems.append(Problem("--model", f"{from_files.source} serves no model named {name!r}{did_you_mean(name, list(served))}"))
    path = stack_files.stack_file(project_dir, to_stack)
    text = path.read_text(encoding="utf-8")
    yaml = _round_trip()
    document = yaml.load(text)
    models = document["config"].setdefault(MODELS_KEY, [])
    for name in [n for n in (names or list(served)) if n in served]:
        wanted = wanted_entry(served[name], to_entries.get(name))
        problems += _secret_problems(name, wanted, from_files.source, to_files.source)
        item = item_for(wanted, by_name[name], to_resolution.catalog)
        if name in to_items:
            index = to_items[name].index
            models[index] = _sync(models[index], item)
        else:
            models.append(item)
    if problems:
        raise ConfigError(problems, source=f"promote {from_stack} -> {to_stack}")
    out = io.StringIO()
    yaml.dump(document, out)
    return path, text, out.getvalue()


def command(args: argparse.Namespace) -> int:
    """Raises ConfigError when a stack cannot be resolved or a model cannot be promoted; the caller reports it."""
    path, before, after = promoted(args.project_dir, args.from_stack, args.to_stack, args.model or [])
    if before == after:
        print(f"{path.name} already serves what {args.from_stack} serves for these models: nothing to change")
        return 0
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path.name}", f"b/{path.name}")
    print("".join(diff), end="")
    if args.write:
        atomic_files.write_text(path, after)
        print(f"wrote {path.name}")
    else:
        print(f"(not written: run with --write to change {path.name})")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_stack", required=True, help="the stack whose models are promoted")
    parser.add_argument("--to", dest="to_stack", required=True, help="the stack whose file changes: Pulumi.<stack>.yaml")
    parser.add_argument(
        "--model", action="extend", nargs="+", metavar="NAME", help="a model to promote (repeatable; default: every model of --from)"
    )
    parser.add_argument("--write", action="store_true", help="write the change instead of only printing it")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml and the stack files are")
