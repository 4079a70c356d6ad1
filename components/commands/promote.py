"""Promotion: the change to Pulumi.<to>.yaml that makes that stack serve what another one serves.

    python -m components promote --from A --to B [--model NAME ...] [--write]

For each model, B's item comes to serve A's entry, except for what B keeps as its own
(components/commands/kept.py: scaling, placement, storage, the token, the docs and every secret). A
catalog item stays a catalog item, with the overrides that give that entry. The stack file is
edited in place (components/commands/yaml_edit.py): only the values that change are written, so its
comments, quoting, indentation, line endings and BOM stay as they were.

Nothing is written unless the result reads back, through the project's own reader, as exactly
what was meant: the promoted models' entries as A serves them, every other value as it was, and
no problem `check` would find that it does not find today.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.commands import kept, stack_diff, yaml_edit
from components.contract import catalog, config, stack_files
from components.contract.field_problems import entry_label
from components.contract.problems import Problem, ProblemsFound, did_you_mean
from components.contract.spec import NAMESPACE
from components.files import atomic_files

MODELS_KEY = f"{NAMESPACE}:models"


@dataclass
class Promotion:
    path: Path  # the stack file of B, as named in the project
    before: str
    after: str
    summary: list[str] = field(default_factory=list)  # per model, what changes and what B keeps
    notes: list[str] = field(default_factory=list)


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
        elif not kept.same(base[key], value):
            found[key] = copy.deepcopy(value)
    found.update({key: None for key in base if key not in target})
    return found


def _still_true(written: dict[str, Any], found: dict[str, Any], wanted: Any) -> dict[str, Any]:
    """`found` (the fewest overrides) with each override the target wrote that still holds: one
    that only repeats the catalog's value pins it there, and is not the promotion's to remove."""
    result = dict(found)
    for key, value in written.items():
        if key == "catalog" or not isinstance(wanted, dict):
            continue
        if key in result:
            if isinstance(value, dict) and isinstance(result[key], dict) and not catalog.is_secure(value):
                result[key] = _still_true(value, result[key], wanted.get(key))
        elif value is None:
            if key not in wanted:
                result[key] = None
        elif key in wanted and kept.same(value, wanted[key]):
            result[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(wanted.get(key), dict) and not catalog.is_secure(value):
            nested = _still_true(value, {}, wanted[key])
            if nested:
                result[key] = nested
    return result


def item_for(wanted: dict[str, Any], catalog_names: list[str], to_catalog: dict[str, Any], written: Any = None) -> dict[str, Any]:
    """B's item for `wanted`: an item of the first of `catalog_names` in B's catalog whose
    overrides give exactly `wanted` (a null override removes a key, so not every entry is one),
    else the full entry. `written` is B's item as it stands: its overrides that still hold stay."""
    for name in catalog_names:
        if not isinstance(to_catalog.get(name), dict):
            continue
        found = overrides(catalog.catalog_entry(name, to_catalog[name]), wanted)
        if isinstance(written, dict) and written.get("catalog") == name:
            found = _still_true(written, found, wanted)
        item = {"catalog": name, **found}
        resolved = catalog.resolve([item], to_catalog, stack_file="", catalog_file="")
        if resolved.items and kept.same(resolved.items[0].entry, wanted):
            return item
    return wanted


def _label(item: catalog.Item) -> str:
    return entry_label(item.index, item.entry, item.catalog)


def _belongs(problem: Problem, item: catalog.Item, catalog_file: str) -> bool:
    """The problem is about this item, or about the catalog entry it serves."""
    places = [_label(item)] + ([f"{catalog_file} catalog.{item.catalog}"] if item.catalog is not None else [])
    return any(problem.where == place or problem.where.startswith(place + " ") for place in places)


def _read(path: Path) -> str:
    """The stack file's text as it is on disk: CRLF and a BOM included."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def promoted(project_dir: Path, from_stack: str, to_stack: str, names: list[str]) -> Promotion:
    """The promotion, checked; raises ProblemsFound naming every problem, with nothing written."""
    source = f"promote {from_stack} -> {to_stack}"
    from_files, from_resolution = stack_files.resolve_stack(project_dir, from_stack, reveal=False)
    to_files, to_resolution = stack_files.resolve_stack(project_dir, to_stack, reveal=False)
    served, to_items = from_resolution.served(), to_resolution.served()
    to_entries = stack_diff.effective_entries(to_resolution)
    names = list(dict.fromkeys(names))
    problems = [
        Problem("--model", f"{from_files.source} serves no model named {name!r}{did_you_mean(name, list(served))}")
        for name in names
        if name not in served
    ]
    chosen = [name for name in (names or list(served)) if name in served]
    if MODELS_KEY not in to_files.stack_config and MODELS_KEY in to_files.config:
        problems.append(
            Problem(
                MODELS_KEY,
                f"{to_files.source} has no {MODELS_KEY} of its own: it serves the list in {catalog.PROJECT_FILE}, which every "
                f"stack without one shares. promote edits only {to_files.source}, where a list would replace that one for this "
                f"stack; copy the list into {to_files.source} first (or change {catalog.PROJECT_FILE} by hand)",
            )
        )
    refused_at_source = config.offline_problems(from_files)
    for name in chosen:
        for problem in refused_at_source:
            if _belongs(problem, served[name], from_files.catalog_source):
                problems.append(Problem(name, f"check refuses it in {from_files.source}, so promote does not copy it: {problem}"))

    path = stack_files.stack_file(project_dir, to_stack)
    before = _read(path)
    summary: list[str] = []
    edited: dict[int, tuple[Any, bool]] = {}
    appended: list[Any] = []
    wanted_by_name: dict[str, dict[str, Any]] = {}
    own_items = to_files.stack_config.get(MODELS_KEY) or []
    for name in chosen:
        own = to_entries.get(name)
        wanted = kept.promoted_entry(served[name].entry, own)
        problems += [
            Problem(
                f"{name} {path_}",
                f"a secret of {from_files.source} cannot be copied to {to_files.source} (each stack encrypts its own); "
                f"set it in {to_files.source} with `pulumi config set --secret --path`",
            )
            for path_ in kept.foreign_secrets(wanted, own)
        ]
        if own is not None and kept.same(own, wanted):
            continue
        wanted_by_name[name] = wanted
        if name in to_items:
            item = to_items[name]
            raw = own_items[item.index] if item.index < len(own_items) else None
            candidates = [item.catalog] if item.catalog is not None else []
            new_item = item_for(wanted, candidates, to_resolution.catalog, raw)
            edited[item.index] = (new_item, isinstance(raw, dict) and ("catalog" in raw) == ("catalog" in new_item))
            summary.append(f"{name}: {to_files.source} {_label(item)}")
            if isinstance(new_item, dict) and "catalog" in new_item and to_files.catalog_source == to_files.source:
                summary.append(
                    f"  written as overrides in this item, over the entry {new_item['catalog']} of {to_files.source}'s own {catalog.CATALOG_KEY}"
                )
            changed = stack_diff.changes(own, wanted)
            if (version := stack_diff.finished_canary(own, wanted)) is not None:
                line, rest = stack_diff.canary_line(version, changed, own)
                summary.append(f"  {line}")
            else:
                rest = changed
            summary += [f"  {p}: {stack_diff.value_text(old)} -> {stack_diff.value_text(new)}" for p, (old, new) in rest.items()]
            differing = stack_diff.changes(served[name].entry, own)
            keeps = [p for p in differing if p not in changed]
            if keeps:
                summary.append(f"  kept as {to_stack}'s own: {', '.join(keeps)}")
        else:
            source_catalog = served[name].catalog
            appended.append(item_for(wanted, [source_catalog] if source_catalog is not None else [], to_resolution.catalog))
            summary.append(f"{name}: added to {to_files.source}")
    if problems:
        raise ProblemsFound(problems, source=source)

    notes = [
        f"{to_stack} also serves {name}, which {from_stack} does not: promote leaves it"
        for name in to_entries
        if name not in served and not names
    ]
    if not edited and not appended:
        return Promotion(path, before, before, notes=notes)
    try:
        document = yaml_edit.Document(before, path.name)
        labels = {item.index: _label(item) for item in to_items.values()}
        document.edit_list(["config", MODELS_KEY], edited, appended, lambda index: labels.get(index, f"models[{index}]"))
        after = document.text()
    except yaml_edit.Refused as err:
        raise ProblemsFound([Problem(f"{path.name} {err.where}".strip(), err.message)], source=source) from None
    _verify(project_dir, to_stack, to_files, after, wanted_by_name, set(edited), source)
    return Promotion(path, before, after, summary, notes)


def _verify(
    project_dir: Path, to_stack: str, to_files: stack_files.StackFiles, after: str, wanted: dict[str, Any], edited: set[int], source: str
) -> None:
    """The edited file, read back through the project's reader, holds what was meant and nothing else changed."""
    try:
        new_files, new_resolution = stack_files.resolve_stack(project_dir, to_stack, reveal=False, text=after)
    except ProblemsFound as err:
        raise ProblemsFound(
            [Problem(to_files.source, f"the edited file would not read back: {p}") for p in err.problems], source=source
        ) from None
    problems = [
        Problem(to_files.source, f"the edit would change {key} too; make this change by hand")
        for key in {*to_files.stack_config, *new_files.stack_config}
        if key != MODELS_KEY and not kept.same(to_files.stack_config.get(key), new_files.stack_config.get(key))
    ]
    old_models = to_files.stack_config.get(MODELS_KEY) or []
    new_models = new_files.stack_config.get(MODELS_KEY) or []
    entries = stack_diff.effective_entries(new_resolution)
    promoted_names = set(wanted)
    for name, entry in entries.items():
        if name in promoted_names and not kept.same(entry, wanted[name]):
            problems.append(Problem(f"{to_files.source} {name}", "the edit would not serve the promoted entry; make this change by hand"))
    for index, old in enumerate(old_models):
        if index not in edited and not (index < len(new_models) and kept.same(old, new_models[index])):
            problems.append(Problem(f"{to_files.source} models[{index}]", "the edit would change this model too; make this change by hand"))
    missing = promoted_names - set(entries)
    problems += [Problem(f"{to_files.source} {name}", "the edit would not serve this model") for name in sorted(missing)]
    if problems:
        raise ProblemsFound(problems, source=source)
    known = {str(p) for p in config.offline_problems(to_files)}
    new_problems = [p for p in config.offline_problems(new_files) if str(p) not in known]
    if new_problems:
        raise ProblemsFound(
            [
                Problem(f"{to_files.source} {p.where}".strip(), f"{p.message} (check would refuse {to_files.source} after this promotion)")
                for p in new_problems
            ],
            source=source,
        )


def write(path: Path, text: str, source: str) -> Path:
    """Write the stack file through a symlink to the file it names, or not at all: the old file
    stays whole when the write fails."""
    target = path.resolve() if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
        if not os.access(target, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise ProblemsFound([Problem("", f"{target} is read-only: make it writable to promote into it")], source=source)
        atomic_files.write_text(target, text)
    except OSError as err:
        raise ProblemsFound([Problem("", f"cannot write {target}: {err.strerror or err}")], source=source) from None
    return target


def command(args: argparse.Namespace) -> int:
    """Raises ProblemsFound when a stack cannot be resolved or a model cannot be promoted; the caller reports it."""
    result = promoted(args.project_dir, args.from_stack, args.to_stack, args.model or [])
    name = result.path.name
    if result.before == result.after:
        print(f"{name} already serves what {args.from_stack} serves for these models: nothing to change")
        for note in result.notes:
            print(note)
        return 0
    for line in result.summary + result.notes:
        print(line)
    before, after = (text.replace("\r\n", "\n").splitlines(keepends=True) for text in (result.before, result.after))
    print("".join(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}")), end="")
    if args.write:
        target = write(result.path, result.after, f"promote {args.from_stack} -> {args.to_stack}")
        print(f"wrote {name}" + (f" (through the link, to {target})" if target != result.path else ""))
    else:
        print(f"(not written: run with --write to change {name})")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_stack", required=True, help="the stack whose models are promoted")
    parser.add_argument("--to", dest="to_stack", required=True, help="the stack whose file changes: Pulumi.<stack>.yaml")
    parser.add_argument(
        "--model",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="a model to promote (repeatable, each once; default: every model of --from)",
    )
    parser.add_argument("--write", action="store_true", help="write the change instead of only printing it")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml and the stack files are")
