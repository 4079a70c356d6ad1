"""Pydantic's validation errors as problems at a dotted field path, and how a value from the user
is shown in a report line (escaped when it would break the line)."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from components.contract import catalog
from components.contract.problems import Problem, did_you_mean
from components.contract.spec import ModelEntry


def shown(value: str) -> str:
    """A value from the user as the report shows it: as is, or escaped when it would break the line."""
    return value if value.isprintable() else repr(value)


def quoted(value: str) -> str:
    return f"'{value}'" if value.isprintable() and "'" not in value else repr(value)


def entry_label(index: int, raw_entry: Any, catalog_name: str | None = None) -> str:
    name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
    name_shown = shown(name) if isinstance(name, str) and name else None
    if catalog_name is not None:
        renamed = f"{name_shown}, " if name_shown is not None and name != catalog_name else ""
        return f"models[{index}] ({renamed}catalog {shown(catalog_name)})"
    return f"models[{index}]" if name_shown is None else f"models[{index}] ({name_shown})"


def model_behind(annotation: Any) -> Any:
    """The model class behind Optional[...], list[...] or dict[..., ...]."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = models[0] if models else args[0]
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = model_behind(current.model_fields[part].annotation)
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_key(key: str, known: list[str]) -> str:
    return f"unknown key {quoted(key)}{did_you_mean(key, known)}"


def absent_problems(item: catalog.Item, label: str) -> list[Problem]:
    """A null for a key the catalog entry lacks removes nothing; a misspelt key must still be reported."""
    problems = []
    for path in item.absent:
        *parents, key = path.split(".")
        known = _fields_at(ModelEntry, tuple(parents))
        if known and key not in known:
            problems.append(Problem(f"{label} {path}", unknown_key(key, known)))
    return problems


def pydantic_problems(err: ValidationError, model: type[BaseModel], prefix: str) -> list[Problem]:
    problems = []
    for item in err.errors():
        loc = tuple(item["loc"])
        where = (prefix + " " + dotted(loc)).strip() if loc else prefix
        if item["type"] == "extra_forbidden":
            message = unknown_key(str(loc[-1]), _fields_at(model, loc[:-1]))
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(where, message))
    return problems
