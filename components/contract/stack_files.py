"""Reading a stack's config without the engine: `Pulumi.yaml`'s project config with the stack
file's keys over it, as the engine merges them, each file read with the strict YAML loader and
scanned for plaintext tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.contract import catalog
from components.contract.field_problems import dotted
from components.contract.problems import Problem, ProblemsFound, UnreadableFile
from components.contract.secret_values import reveal_secure
from components.contract.spec import NAMESPACE
from components.contract.strict_yaml import StrictYAMLError, decode, parse_yaml
from components.contract.token_scan import plaintext_token_problems


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


@dataclass
class ConfigFile:
    """One file's `config:` mapping as written (secure values still encrypted), and its text."""

    config: dict[str, Any]
    text: str


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UnreadableFile([Problem("", f"cannot read {path}: {err.strerror or err}")], source=path.name) from None
    try:
        return decode(data, path.name)
    except StrictYAMLError as err:
        raise ProblemsFound([Problem("", f"{err.message} on line {err.line}")], source=path.name) from None


def read_config_file(path: Path, text: str | None = None) -> ConfigFile:
    """Raises UnreadableFile when the file cannot be read, ProblemsFound when it is not a config file.
    `text` is read in place of the file's (what an edit would write there)."""
    if text is None:
        text = _read_text(path)
    try:
        document = parse_yaml(text, path.name)
    except StrictYAMLError as err:
        raise ProblemsFound([yaml_problem(err)], source=path.name) from None
    document = document or {}
    # `config:` with nothing under it is a file without config yet, as for Pulumi.
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ProblemsFound([Problem("config", "must be a mapping of `namespace:key` to values")], source=path.name)
    return ConfigFile(document.get("config") or {}, text)


def yaml_problem(err: StrictYAMLError) -> Problem:
    """A document the loader refused, as a problem at the entry and field it is in where it is in
    one (`models[2] deployment_config.gpu_count`), with the line and column."""
    place = f"line {err.line}" + (f", column {err.column}" if err.column else "") if err.line else ""
    path = list(err.path[1:]) if err.path[:1] == ("config",) else list(err.path)
    where = ""
    if len(path) >= 2 and path[0] == f"{NAMESPACE}:models" and isinstance(path[1], int):
        where = f"models[{path[1]}]" + (" " + dotted(path[2:]) if path[2:] else "")
    elif path:
        where = dotted(path)
    if not where:
        return Problem(place, err.message)
    return Problem(where, f"{err.message} ({place})" if place else err.message)


def read_stack_file(path: Path, text: str | None = None) -> ConfigFile:
    """A stack file (or `text` in its place); one that is missing is named with the stacks there are."""
    if text is not None:
        return read_config_file(path, text)
    if not path.is_file():
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        hint = f" (stacks here: {', '.join(stacks)})" if stacks else ""
        raise UnreadableFile([Problem("", f"{path.name} not found in {path.parent}{hint}")], source=path.name)
    return read_config_file(path)


@dataclass
class StackFiles:
    """What a stack's config is made of without the engine: Pulumi.yaml's project config, each key
    replaced by the stack file's key of the same name, as the engine merges them."""

    source: str  # the stack file's name, which heads every report
    config: dict[str, Any]  # merged, secure values still encrypted
    stack_config: dict[str, Any]  # the stack file's own `config:`
    catalog_source: str  # the file the stack's `model-fleet:catalog` comes from
    token_problems: list[Problem]
    project_dir: Path  # what a relative path in the config is relative to


def read_stack(project_dir: Path, stack: str, *, required: bool = True, text: str | None = None) -> StackFiles:
    """`text` stands for the stack file's (what an edit would write)."""
    path = stack_file(project_dir, stack)
    own = read_stack_file(path, text) if required or text is not None or path.is_file() else ConfigFile({}, "")
    project_path = project_dir / catalog.PROJECT_FILE
    project = ConfigFile({}, "")
    project_config: dict[str, Any] = {}
    if project_path.is_file():
        project = read_config_file(project_path)
        project_config, problems = catalog.project_values(project.config)
        if problems:
            raise ProblemsFound(problems, source=project_path.name)
    own_catalog = catalog.CATALOG_KEY in own.config
    return StackFiles(
        source=path.name,
        config={**project_config, **own.config},
        stack_config=own.config,
        catalog_source=path.name if own_catalog else project_path.name,
        token_problems=plaintext_token_problems(project_config, project_path.name, project.text)
        + plaintext_token_problems(own.config, path.name, own.text),
        project_dir=project_dir,
    )


def model_fleet_section(config: dict[str, Any], *, reveal: bool = True) -> dict[str, Any]:
    """The `model-fleet:*` keys without their namespace; `reveal=False` keeps `{secure: ...}` as written."""
    prefix = NAMESPACE + ":"
    return {k[len(prefix) :]: reveal_secure(v) if reveal else v for k, v in config.items() if k.startswith(prefix)}


def resolve_stack(project_dir: Path, stack: str, *, reveal: bool = True, text: str | None = None) -> tuple[StackFiles, catalog.Resolution]:
    """A stack's items resolved against its catalog, the entries not validated: what `models --explain`,
    `diff` and `promote` compare, also for a stack whose cluster is out of reach. `text` stands for
    the stack file's."""
    files = read_stack(project_dir, stack, text=text)
    section = model_fleet_section(files.config, reveal=reveal)
    models = section.get("models") or []
    if not isinstance(models, list):
        raise ProblemsFound([Problem("models", "must be a list of model entries")], source=files.source)
    resolution = catalog.resolve(models, section.get("catalog"), stack_file=files.source, catalog_file=files.catalog_source)
    if files.token_problems or resolution.problems:
        raise ProblemsFound(files.token_problems + resolution.problems, source=files.source)
    return files, resolution
