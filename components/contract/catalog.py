"""The model catalog: each model defined once, in Pulumi.yaml, and served by the stacks that name it.

A stack's `model-fleet:models` mixes full entries and catalog items, `{catalog: NAME, ...overrides}`.
The overrides merge into the catalog entry: maps key by key, lists and scalars replace, null
removes a key. Every value of the merged entry remembers where it was written, for the report,
`models --explain` and `diff`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.contract.problems import Problem, did_you_mean

PROJECT_FILE = "Pulumi.yaml"
CATALOG_KEY = "model-fleet:catalog"
# Where a value of a merged entry came from, besides a stack file's name.
FROM_CATALOG = "catalog"
# The config reference's rows for the catalog and the item form (python -m components.contract.reference).
REFERENCE_CATALOG_ROW = (
    "catalog",
    "map",
    "unset",
    "Model catalog every stack inherits: in `Pulumi.yaml` as project config under `value:`, a map from model name to "
    "an entry of `model-fleet:models[]` without `name`. A stack setting it replaces the project's.",
)
REFERENCE_ITEM_ROWS = (
    ("catalog", "string", "required", "Name of the catalog entry this item serves."),
    ("name", "string", "the catalog key", "Serve the catalog entry under another name."),
    (
        "any key of an entry",
        "as in the entry",
        "the catalog's",
        "Override merged into the catalog entry: maps key by key, lists and scalars replace, `null` removes the key.",
    ),
)


@dataclass
class Item:
    """One item of `model-fleet:models`, resolved: the entry it stands for and where each value came from."""

    index: int
    entry: Any  # the merged entry of a catalog item, the item itself otherwise
    catalog: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # dotted path of each value -> FROM_CATALOG or the stack file
    removed: list[str] = field(default_factory=list)  # catalog keys the item removed with null
    absent: list[str] = field(default_factory=list)  # keys set to null that the catalog entry does not have


@dataclass
class Resolution:
    items: list[Item]
    problems: list[Problem]
    catalog_file: str
    catalog: dict[str, Any] = field(default_factory=dict)  # the whole catalog the stack sees
    used: dict[str, Any] = field(default_factory=dict)  # catalog entries the items name, in order of first use

    def served(self) -> dict[str, Item]:
        """The items by the name they serve, in the stack's order (entries not validated: one
        without a string name serves nothing)."""
        return {item.entry["name"]: item for item in self.items if isinstance(item.entry, dict) and isinstance(item.entry.get("name"), str)}


def project_values(config: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Pulumi.yaml's `config:` as the engine hands it to every stack: each key's `value:`.

    A key without `value:` only declares a type for the stacks to set, so it gives no value.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, item in config.items():
        if not isinstance(item, dict):
            values[key] = item
        elif "value" in item:
            values[key] = item["value"]
        elif key == CATALOG_KEY:
            problems.append(Problem(CATALOG_KEY, "write the catalog in the structured form, under `value:`"))
    return values, problems


def resolve(models: list[Any], catalog: Any, *, stack_file: str, catalog_file: str) -> Resolution:
    """The entries a stack's items stand for; an item naming no catalog entry is left out, with a problem."""
    problems: list[Problem] = []
    if catalog is None:
        catalog = {}
    elif not isinstance(catalog, dict):
        problems.append(Problem(f"{catalog_file} {CATALOG_KEY}", "must be a map of model name to entry"))
        catalog = {}
    resolution = Resolution([], problems, catalog_file, catalog)
    for index, raw in enumerate(models):
        if not (isinstance(raw, dict) and "catalog" in raw):
            resolution.items.append(Item(index, raw, sources=_sources(raw, "", stack_file)))
            continue
        name = raw["catalog"]
        if not isinstance(name, str) or name not in catalog:
            message = f"{name!r} is not an entry of the catalog in {catalog_file}{did_you_mean(str(name), [str(k) for k in catalog])}"
            problems.append(Problem(f"models[{index}] catalog", message))
            continue
        base = catalog[name]
        resolution.used.setdefault(name, base)
        item = Item(index, {}, catalog=name)
        if isinstance(base, dict):
            item.sources = _sources(base, "", FROM_CATALOG)
            item.sources["name"] = FROM_CATALOG
            overrides = {k: v for k, v in raw.items() if k != "catalog"}
            item.entry = _merge(catalog_entry(name, base), overrides, "", item, stack_file)
        resolution.items.append(item)
    return resolution


def catalog_entry(name: str, base: Any) -> Any:
    """A catalog entry as a full entry, to be validated like one: its key is its name."""
    return {"name": name, **base} if isinstance(base, dict) else base


def is_secure(value: Any) -> bool:
    """`{secure: ciphertext}`: one encrypted value, replaced whole, never merged into."""
    return isinstance(value, dict) and set(value) == {"secure"}


def _merge(base: dict[str, Any], override: dict[str, Any], prefix: str, item: Item, origin: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not is_secure(value) and not is_secure(merged[key]):
            merged[key] = _merge(merged[key], value, path, item, origin)
            continue
        _forget(item.sources, path)
        if value is None:
            (item.removed if key in merged else item.absent).append(path)
            merged.pop(key, None)
        else:
            merged[key] = value
            item.sources.update(_sources(value, path, origin))
    return merged


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every value under `path` by its dotted path: scalars, lists (replaced whole) and empty maps."""
    if isinstance(value, dict) and value and not is_secure(value):
        found: dict[str, Any] = {}
        for key, child in value.items():
            found.update(leaves(child, f"{path}.{key}" if path else str(key)))
        return found
    return {path: value} if path else {}


def _sources(value: Any, path: str, origin: str) -> dict[str, str]:
    return dict.fromkeys(leaves(value, path), origin)


def _forget(sources: dict[str, str], path: str) -> None:
    for known in [p for p in sources if p == path or p.startswith(path + ".")]:
        del sources[known]


def explained(item: Item, catalog_file: str) -> list[tuple[str, Any, str]]:
    """The merged entry value by value, each with the file and entry it came from."""
    where = f"catalog {item.catalog} ({catalog_file})"
    return [
        (path, value, where if item.sources.get(path) == FROM_CATALOG else item.sources.get(path, ""))
        for path, value in leaves(item.entry).items()
    ]
