"""Read `model-fleet:*` stack config into a StackSpec, with one report of every problem.

Two sources give the same raw mapping: the stack file itself (for the commands that run
without the engine) and the config the Pulumi engine hands the program (decrypted secrets).
Validation never stops at the first problem: each section and each model entry is checked
on its own, then the rules across fields, across entries and against the cluster.
"""

from __future__ import annotations

import difflib
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from components import preflight, vllm_args
from components.problems import ConfigError, Problem
from components.spec import MODEL_ID, SERVING_PORT, DeploymentConfig, ModelEntry, Requirements, StackSpec

NAMESPACE = "model-fleet"
# A real Hugging Face access token: `hf_` followed by a long random string.
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")


@dataclass
class LoadedStack:
    spec: StackSpec
    facts: preflight.ClusterFacts
    warnings: list[str] = field(default_factory=list)


def entry_label(index: int, raw_entry: Any) -> str:
    name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
    return f"models[{index}] ({name})" if isinstance(name, str) and name else f"models[{index}]"


# --- reading the sources ---------------------------------------------------------------


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> dict[str, Any]:
    """The whole `config:` mapping of a stack file, as written (secure values still encrypted)."""
    if not path.is_file():
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        hint = f" (stacks here: {', '.join(stacks)})" if stacks else ""
        raise ConfigError([Problem("", f"{path.name} not found in {path.parent}{hint}")], source=path.name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError([Problem("", f"not valid YAML: {err}")], source=path.name) from err
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem("config", "must be a mapping of `namespace:key` to values")], source=path.name)
    return document.get("config") or {}


def _reveal_secure(value: Any) -> Any:
    """Replace `{secure: ...}` by its ciphertext: commands without the engine only need to know a secret is set."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return str(value["secure"])
        return {k: _reveal_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal_secure(v) for v in value]
    return value


def model_fleet_section(config: dict[str, Any]) -> dict[str, Any]:
    prefix = NAMESPACE + ":"
    return {k[len(prefix) :]: _reveal_secure(v) for k, v in config.items() if k.startswith(prefix)}


def raw_from_pulumi() -> dict[str, Any]:
    """The `model-fleet:*` config the engine gave this program, secrets already decrypted."""
    import json

    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw: dict[str, Any] = {}
    for key, value in merged.items():
        if not key.startswith(NAMESPACE + ":"):
            continue
        try:
            raw[key[len(NAMESPACE) + 1 :]] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[key[len(NAMESPACE) + 1 :]] = value
    return raw


# --- the plaintext token scan ------------------------------------------------------------


def plaintext_token_problems(config: dict[str, Any], file_name: str) -> list[Problem]:
    """A Hugging Face token written in clear anywhere in a stack file; never echoes the token."""
    problems: list[Problem] = []

    def walk(value: Any, path: str, label: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                return
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key), label)
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{path}[{i}]", label)
        elif isinstance(value, str):
            is_token_field = path.endswith("hugging_face_token")
            if (is_token_field and value) or HF_TOKEN_PATTERN.search(value):
                problems.append(
                    Problem(
                        label + path,
                        f"plaintext Hugging Face token in {file_name}; remove it and store it encrypted with "
                        f"`pulumi config set --secret --path '{_config_path(label, path)}' <token>`",
                    )
                )

    for key, value in config.items():
        if key == f"{NAMESPACE}:models" and isinstance(value, list):
            for i, entry in enumerate(value):
                walk(entry, "", f"{entry_label(i, entry)} ")
        else:
            walk(value, str(key), "")
    return problems


def _config_path(label: str, path: str) -> str:
    if label.startswith("models["):
        index = label[len("models[") : label.index("]")]
        return f"{NAMESPACE}:models[{index}].{path}"
    return path


# --- validation --------------------------------------------------------------------------


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


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(err: ValidationError, model: type[BaseModel], prefix: str) -> list[Problem]:
    problems = []
    for item in err.errors():
        loc = tuple(item["loc"])
        where = (prefix + " " + _dotted(loc)).strip() if loc else prefix
        if item["type"] == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'"
            close = difflib.get_close_matches(key, _fields_at(model, loc[:-1]), n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(where, message))
    return problems


def _entry_problems(
    name: str, requirements: Requirements | None, config: DeploymentConfig | None, label: str
) -> list[Problem]:
    """Rules across the fields of one entry, in the deployment API's words where it has them.

    Each rule runs when the parts it reads are valid, even if other parts of the entry are not.
    """
    problems: list[Problem] = []

    def add(field_path: str, message: str) -> None:
        problems.append(Problem(f"{label} {field_path}", message))

    if config is None:
        return problems
    try:
        cmdline = vllm_args.parse(config.command, config.args)
    except vllm_args.VllmArgsError as err:
        add("deployment_config.args", str(err))
        cmdline = None
    if cmdline is not None:
        served = cmdline.served_model_name
        if config.enable_autoscaling and served is None:
            add(
                "deployment_config.args",
                "--served-model-name parameter not found in args. For Aibrix autoscaling compatibility, "
                f"please add '--served-model-name {name}' to your vLLM command",
            )
        elif config.enable_autoscaling and served != name:
            add(
                "deployment_config.args",
                f"--served-model-name '{served}' must match model name '{name}' (required by Aibrix for autoscaling)",
            )
        if cmdline.port is not None and cmdline.port != str(SERVING_PORT):
            add(
                "deployment_config.args",
                f"vLLM --port {cmdline.port} must be {SERVING_PORT}: the Service, probes and autoscaler use port {SERVING_PORT}",
            )
        model_id = cmdline.served_model_name or cmdline.model
        if model_id is not None and not MODEL_ID.match(model_id):
            add("deployment_config.args", f"model ID '{model_id}' may hold only letters, digits and . _ : / -")

    gpu = requirements.gpu if requirements is not None else None
    if gpu is not None and not gpu.min_gpus <= config.gpu_count <= gpu.upper:
        add(
            "deployment_config.gpu_count",
            f"gpu_count {config.gpu_count} is outside requirements.gpu min_gpus..max_gpus ({gpu.min_gpus}..{gpu.upper})",
        )
    seen_env: set[str] = set()
    for i, env in enumerate(config.extra_env):
        if env.name in seen_env:
            add(f"deployment_config.extra_env[{i}].name", f"'{env.name}' is set twice")
        seen_env.add(env.name)
        if config.hugging_face_token is not None and env.name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            add(f"deployment_config.extra_env[{i}].name", f"'{env.name}' is set from hugging_face_token already")
    return problems


def _valid_part(model: type[BaseModel], raw_entry: Any, key: str) -> Any:
    try:
        return model.model_validate(raw_entry[key])
    except (ValidationError, KeyError, TypeError):
        return None


@dataclass
class _Parsed:
    spec: StackSpec
    labels: list[str]
    problems: list[Problem]


def _parse(raw: dict[str, Any]) -> _Parsed:
    problems: list[Problem] = []
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in StackSpec.model_fields:
            message = f"unknown key '{NAMESPACE}:{key}'"
            close = difflib.get_close_matches(key, list(StackSpec.model_fields), n=1)
            if close:
                message += f" (did you mean '{NAMESPACE}:{close[0]}'?)"
            problems.append(Problem(key, message))
        elif key != "models":
            # Each section alone: the others keep their defaults, so errors stay in this one.
            try:
                fields[key] = getattr(StackSpec.model_validate({key: value}), key)
            except ValidationError as err:
                problems += _pydantic_problems(err, StackSpec, "")

    raw_models = raw.get("models") or []
    if not isinstance(raw_models, list):
        problems.append(Problem("models", "must be a list of model entries"))
        raw_models = []
    models: list[ModelEntry] = []
    labels: list[str] = []
    for index, raw_entry in enumerate(raw_models):
        label = entry_label(index, raw_entry)
        try:
            entry = ModelEntry.model_validate(raw_entry)
        except ValidationError as err:
            problems += _pydantic_problems(err, ModelEntry, label)
            name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
            if isinstance(name, str):
                requirements = _valid_part(Requirements, raw_entry, "requirements")
                problems += _entry_problems(name, requirements, _valid_part(DeploymentConfig, raw_entry, "deployment_config"), label)
            continue
        problems += _entry_problems(entry.name, entry.requirements, entry.deployment_config, label)
        models.append(entry)
        labels.append(label)

    first_label: dict[str, str] = {}
    for entry, label in zip(models, labels):
        if entry.name in first_label:
            problems.append(Problem(f"{label} name", f"'{entry.name}' is already used by {first_label[entry.name]}"))
        first_label.setdefault(entry.name, label)

    return _Parsed(StackSpec(**fields, models=models), labels, problems)


def _entry_order(problem: Problem) -> int:
    """Problems of the stack's sections first, then entry by entry, then those of the whole fleet."""
    if problem.where == "models":
        return sys.maxsize
    match = re.match(r"models\[(\d+)\]", problem.where)
    return int(match[1]) + 1 if match else 0


def load(raw: dict[str, Any], *, source: str, extra_problems: list[Problem] | None = None) -> LoadedStack:
    """Validate `raw` and run the preflight; raises ConfigError listing every problem."""
    parsed = _parse(raw)
    problems = list(extra_problems or []) + parsed.problems
    try:
        facts = preflight.gather(parsed.spec)
    except preflight.PreflightError as err:
        problems.append(Problem("kubernetes", str(err)))
    else:
        checked = preflight.check(parsed.spec, facts, parsed.labels)
        problems += checked.problems
    if problems:
        raise ConfigError(sorted(problems, key=_entry_order), source=source)
    return LoadedStack(parsed.spec, facts, checked.warnings)


def load_stack_file(project_dir: Path, stack: str) -> LoadedStack:
    path = stack_file(project_dir, stack)
    config = read_stack_file(path)
    return load(
        model_fleet_section(config),
        source=path.name,
        extra_problems=plaintext_token_problems(config, path.name),
    )
