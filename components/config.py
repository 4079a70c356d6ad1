"""Read `model-fleet:*` stack config into a StackSpec, with one report of every problem.

Two sources give the same raw mapping: the stack file itself (for the commands that run
without the engine) and the config the Pulumi engine hands the program (decrypted secrets).
Validation never stops at the first problem: each section and each model entry is checked
on its own, then the rules across fields, across entries and against the cluster.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from components import catalog, docs_facts, k8s_names, preflight, vllm_args
from components.manifests.deployment import TOKEN_ENV_NAMES
from components.manifests.labels import OWN_LABEL_KEYS
from components.problems import ConfigError, Findings, Problem, did_you_mean
from components.spec import MODEL_ID, SERVING_PORT, DeploymentConfig, ModelDocs, ModelEntry, Requirements, StackSpec

NAMESPACE = "model-fleet"
# libyaml's loader when PyYAML was built with it: the same documents, read many times faster.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A real Hugging Face access token: `hf_` followed by a long random string.
HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")


@dataclass
class LoadedStack:
    spec: StackSpec
    facts: preflight.ClusterFacts
    warnings: list[str] = field(default_factory=list)


def entry_label(index: int, raw_entry: Any, catalog_name: str | None = None) -> str:
    name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
    shown = _shown(name) if isinstance(name, str) and name else None
    if catalog_name is not None:
        renamed = f"{shown}, " if shown is not None and name != catalog_name else ""
        return f"models[{index}] ({renamed}catalog {_shown(catalog_name)})"
    return f"models[{index}]" if shown is None else f"models[{index}] ({shown})"


# --- reading the sources ---------------------------------------------------------------


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path, text: str | None = None) -> dict[str, Any]:
    """The whole `config:` mapping of a stack file, as written (secure values still encrypted);
    `text` is read in place of the file's (what an edit would write there)."""
    if text is not None:
        return _config_of(path, text)
    if not path.is_file():
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        hint = f" (stacks here: {', '.join(stacks)})" if stacks else ""
        raise ConfigError([Problem("", f"{path.name} not found in {path.parent}{hint}")], source=path.name)
    return _config_of(path)


def _config_of(path: Path, text: str | None = None) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8") if text is None else text, Loader=SAFE_LOADER) or {}
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise ConfigError([Problem("", f"not UTF-8 text: byte {err.object[err.start]:#04x} on line {line}")], source=path.name) from None
    except OSError as err:
        raise ConfigError([Problem("", f"cannot read {path}: {err.strerror or err}")], source=path.name) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem("", f"not valid YAML: {err}")], source=path.name) from err
    # `config:` with nothing under it is a file without config yet, as for Pulumi.
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigError([Problem("config", "must be a mapping of `namespace:key` to values")], source=path.name)
    return document.get("config") or {}


@dataclass
class StackFiles:
    """What a stack's config is made of without the engine: Pulumi.yaml's project config, each key
    replaced by the stack file's key of the same name, as the engine merges them."""

    source: str  # the stack file's name, which heads every report
    config: dict[str, Any]  # merged, secure values still encrypted
    stack_config: dict[str, Any]  # the stack file's own `config:`
    catalog_source: str  # the file the stack's `model-fleet:catalog` comes from
    token_problems: list[Problem]


def read_stack(project_dir: Path, stack: str, *, required: bool = True, text: str | None = None) -> StackFiles:
    path = stack_file(project_dir, stack)
    stack_config = read_stack_file(path, text) if required or text is not None or path.is_file() else {}
    project_path = project_dir / catalog.PROJECT_FILE
    project_config: dict[str, Any] = {}
    if project_path.is_file():
        document = _config_of(project_path)
        project_config, problems = catalog.project_values(document)
        if problems:
            raise ConfigError(problems, source=project_path.name)
    own_catalog = catalog.CATALOG_KEY in stack_config
    return StackFiles(
        source=path.name,
        config={**project_config, **stack_config},
        stack_config=stack_config,
        catalog_source=path.name if own_catalog else project_path.name,
        token_problems=plaintext_token_problems(project_config, project_path.name) + plaintext_token_problems(stack_config, path.name),
    )


def _reveal_secure(value: Any) -> Any:
    """Replace `{secure: ...}` by its ciphertext as a SecretStr: commands without the engine only
    need to know a secret is set, and a SecretStr never prints its value."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SecretStr(str(value["secure"]))
        return {k: _reveal_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal_secure(v) for v in value]
    return value


def model_fleet_section(config: dict[str, Any], *, reveal: bool = True) -> dict[str, Any]:
    """The `model-fleet:*` keys without their namespace; `reveal=False` keeps `{secure: ...}` as written."""
    prefix = NAMESPACE + ":"
    return {k[len(prefix) :]: _reveal_secure(v) if reveal else v for k, v in config.items() if k.startswith(prefix)}


def resolve_stack(project_dir: Path, stack: str, *, reveal: bool = True, text: str | None = None) -> tuple[StackFiles, catalog.Resolution]:
    """A stack's items resolved against its catalog, the entries not validated: what `models --explain`,
    `diff` and `promote` compare, also for a stack whose cluster is out of reach. `text` stands for
    the stack file's."""
    files = read_stack(project_dir, stack, text=text)
    section = model_fleet_section(files.config, reveal=reveal)
    models = section.get("models") or []
    if not isinstance(models, list):
        raise ConfigError([Problem("models", "must be a list of model entries")], source=files.source)
    resolution = catalog.resolve(models, section.get("catalog"), stack_file=files.source, catalog_file=files.catalog_source)
    if files.token_problems or resolution.problems:
        raise ConfigError(files.token_problems + resolution.problems, source=files.source)
    return files, resolution


def mark_secrets(raw: dict[str, Any], file_section: dict[str, Any]) -> dict[str, Any]:
    """The engine's decrypted config, with every value the stack file holds encrypted made a SecretStr.

    The engine marks a whole top-level key secret when any value under it is (`--secret --path`);
    the stack file says which value it was, so only that one becomes a Kubernetes Secret.
    """

    def walk(value: Any, written: Any) -> Any:
        if isinstance(written, SecretStr) and isinstance(value, str):
            return SecretStr(value)
        if isinstance(value, dict) and isinstance(written, dict):
            return {k: walk(v, written.get(k)) for k, v in value.items()}
        if isinstance(value, list) and isinstance(written, list):
            return [walk(v, written[i] if i < len(written) else None) for i, v in enumerate(value)]
        return value

    return walk(raw, file_section)


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
    """A Hugging Face token written in clear anywhere in a stack file or Pulumi.yaml; never echoes the token."""
    problems: list[Problem] = []

    # Project config cannot be encrypted: a catalog token goes to the stack items serving the entry.
    fix = (
        "project config cannot hold secrets: remove it and set it on each stack's item serving this entry with "
        f"`pulumi config set --secret --path '{NAMESPACE}:models[N].deployment_config.hugging_face_token' <token>`"
        if file_name == catalog.PROJECT_FILE
        else None
    )

    def walk(value: Any, path: str, label: str) -> None:
        if isinstance(value, dict):
            if catalog.is_secure(value):
                return
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key), label)
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{path}[{i}]", label)
        elif isinstance(value, str):
            is_token_field = path.endswith("hugging_face_token")
            if (is_token_field and value) or HF_TOKEN_PATTERN.search(value):
                how = (
                    fix
                    or f"remove it and store it encrypted with `pulumi config set --secret --path '{_config_path(label, path)}' <token>`"
                )
                problems.append(Problem(label + path, f"plaintext Hugging Face token in {file_name}; {how}"))

    for key, value in config.items():
        if key == f"{NAMESPACE}:models" and isinstance(value, list):
            for i, entry in enumerate(value):
                catalog_name = entry.get("catalog") if isinstance(entry, dict) and isinstance(entry.get("catalog"), str) else None
                walk(entry, "", f"{entry_label(i, entry, catalog_name)} ")
        elif key == catalog.CATALOG_KEY and isinstance(value, dict):
            for name, entry in value.items():
                walk(entry, "", f"{file_name} catalog.{_shown(str(name))} ")
        else:
            walk(value, str(key), "")
    return problems


def _config_path(label: str, path: str) -> str:
    if label.startswith("models["):
        index = label[len("models[") : label.index("]")]
        return f"{NAMESPACE}:models[{index}].{path}"
    if " catalog." in label:
        return f"{catalog.CATALOG_KEY}.{label.split(' catalog.', 1)[1].strip()}.{path}"
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


def _unknown_key(key: str, known: list[str]) -> str:
    return f"unknown key '{key}'{did_you_mean(key, known)}"


def _absent_problems(item: catalog.Item, label: str) -> list[Problem]:
    """A null for a key the catalog entry lacks removes nothing; a misspelt key must still be reported."""
    problems = []
    for path in item.absent:
        *parents, key = path.split(".")
        known = _fields_at(ModelEntry, tuple(parents))
        if known and key not in known:
            problems.append(Problem(f"{label} {path}", _unknown_key(key, known)))
    return problems


def _pydantic_problems(err: ValidationError, model: type[BaseModel], prefix: str) -> list[Problem]:
    problems = []
    for item in err.errors():
        loc = tuple(item["loc"])
        where = (prefix + " " + _dotted(loc)).strip() if loc else prefix
        if item["type"] == "extra_forbidden":
            message = _unknown_key(str(loc[-1]), _fields_at(model, loc[:-1]))
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(where, message))
    return problems


def _shown(value: str) -> str:
    """A value from the user as the report shows it: as is, or escaped when it would break the line."""
    return value if value.isprintable() else repr(value)


def _quoted(value: str) -> str:
    return f"'{value}'" if value.isprintable() and "'" not in value else repr(value)


def _entry_findings(
    name: str | None,
    huggingface_id: str | None,
    requirements: Requirements | None,
    config: DeploymentConfig | None,
    label: str,
    docs: ModelDocs | None,
) -> Findings:
    """Rules across the fields of one entry, in the deployment API's words where it has them.

    Each rule runs when the parts it reads are valid, even if other parts of the entry are not;
    `name` is None when the name itself is invalid.
    """
    found = Findings()

    def add(field_path: str, message: str) -> None:
        found.problems.append(Problem(f"{label} {field_path}", message))

    def warn(field_path: str, message: str) -> None:
        found.warnings.append(f"{label} {field_path}: {message}")

    if config is None:
        return found
    try:
        cmdline = vllm_args.parse(config.command, config.args)
    except vllm_args.VllmArgsError as err:
        add("deployment_config.args", str(err))
        cmdline = None
    if cmdline is not None:
        served = cmdline.served_model_name
        if name is not None and served is None and config.enable_autoscaling:
            add(
                "deployment_config.args",
                "--served-model-name parameter not found in args. For Aibrix autoscaling compatibility, "
                f"please add '--served-model-name {name}' to your vLLM command",
            )
        elif name is not None and served is not None and served != name:
            add(
                "deployment_config.args",
                f"--served-model-name {_quoted(served)} must match model name '{name}' (required by Aibrix for autoscaling)",
            )
        if cmdline.port is not None and cmdline.port != str(SERVING_PORT):
            add(
                "deployment_config.args",
                f"vLLM --port {_shown(cmdline.port)} must be {SERVING_PORT}: the Service, probes and autoscaler use port {SERVING_PORT}",
            )
        model_id = cmdline.model_id(huggingface_id) if huggingface_id is not None else cmdline.served_model_name or cmdline.model
        if model_id is not None and not MODEL_ID.fullmatch(model_id):
            add("deployment_config.args", f"model ID {model_id!r} may hold only letters, digits and . _ : / -")
        elif model_id is not None and name is not None and served is None and not config.enable_autoscaling:
            why = ", and a label cannot hold '/'" if "/" in model_id else ""
            warn(
                "deployment_config.args",
                f"no --served-model-name: clients must call the model by {model_id!r}, which the AIBrix gateway "
                f"cannot route (it routes by the label model.aibrix.ai/name '{name}'{why}); "
                f"add '--served-model-name {name}' to your vLLM command",
            )
        for field_path, message in docs_facts.contradictions(docs or ModelDocs(), cmdline):
            add(field_path, message)

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
        if config.hugging_face_token is not None and env.name in TOKEN_ENV_NAMES:
            add(f"deployment_config.extra_env[{i}].name", f"'{env.name}' is set from hugging_face_token already")

    most = config.most_replicas
    if config.enable_pvc and (config.enable_autoscaling or most > 1):
        scale = f"up to {most} replicas" if config.enable_autoscaling else f"{most} replicas"
        if config.pvc_access_mode == "ReadWriteOncePod":
            add(
                "deployment_config.pvc_access_mode",
                f"ReadWriteOncePod lets one pod mount the cache claim but this model runs {scale}; "
                "use ReadWriteMany, or one replica without autoscaling",
            )
        elif config.pvc_access_mode == "ReadWriteOnce":
            warn(
                "deployment_config.pvc_access_mode",
                f"ReadWriteOnce: of the {scale}, pods scheduled on another node than the first cannot mount the "
                "cache claim and stay Pending; use ReadWriteMany to scale across nodes",
            )
    return found


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
    warnings: list[str]


def _checked_entry(raw_entry: Any, label: str) -> tuple[ModelEntry | None, Findings]:
    """One entry validated alone: its fields, then the rules across them on the parts that are valid."""
    try:
        entry = ModelEntry.model_validate(raw_entry)
    except ValidationError as err:
        name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
        valid_name = name if isinstance(name, str) and k8s_names.model_name_problem(name) is None else None
        requirements = _valid_part(Requirements, raw_entry, "requirements")
        config = _valid_part(DeploymentConfig, raw_entry, "deployment_config")
        docs = _valid_part(ModelDocs, raw_entry, "docs")
        found = _entry_findings(valid_name, None, requirements, config, label, docs)
        return None, Findings(_pydantic_problems(err, ModelEntry, label) + found.problems)
    return entry, _entry_findings(entry.name, entry.huggingface_id, entry.requirements, entry.deployment_config, label, entry.docs)


def _catalog_problems(name: str, base: Any, catalog_file: str) -> list[Problem]:
    """A catalog entry's own problems, found once however many items serve it."""
    label = f"{catalog_file} catalog.{_shown(str(name))}"
    if not isinstance(base, dict):
        return [Problem(label, "must be a map of entry keys to values")]
    if "name" in base:
        return [Problem(f"{label} name", "the catalog key names the entry; remove `name`")]
    return _checked_entry(catalog.catalog_entry(name, base), label)[1].problems


def _parse(raw: dict[str, Any], catalog_file: str = catalog.PROJECT_FILE, stack_file: str = "stack file") -> _Parsed:
    problems: list[Problem] = []
    warnings: list[str] = []
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "catalog":
            continue
        if key not in StackSpec.model_fields:
            hint = did_you_mean(key, list(StackSpec.model_fields), prefix=f"{NAMESPACE}:")
            problems.append(Problem(key, f"unknown key '{NAMESPACE}:{key}'{hint}"))
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
    resolution = catalog.resolve(raw_models, raw.get("catalog"), stack_file=stack_file, catalog_file=catalog_file)
    problems += resolution.problems
    broken = set()
    for name, base in resolution.used.items():
        found_in_catalog = _catalog_problems(name, base, catalog_file)
        problems += found_in_catalog
        if found_in_catalog:
            broken.add(name)
    models: list[ModelEntry] = []
    labels: list[str] = []
    for item in resolution.items:
        if item.catalog in broken:
            continue
        label = entry_label(item.index, item.entry, item.catalog)
        entry, found = _checked_entry(item.entry, label)
        absent = _absent_problems(item, label)
        problems += found.problems + absent
        if entry is None or absent:
            continue
        warnings += found.warnings
        models.append(entry)
        labels.append(label)

    # An invalid docs section has its own problems; its tiers are unknown, not missing.
    if "docs" in fields or "docs" not in raw:
        tiers = fields["docs"].limit_tiers if "docs" in fields else []
        for entry, label in zip(models, labels, strict=True):
            problems += [Problem(f"{label} {where}", message) for where, message in docs_facts.unknown_tiers(entry.docs, tiers)]
    problems += _repeated(models, labels, "name", lambda e: e.name)
    problems += _repeated(models, labels, "display_name", lambda e: e.display_name.casefold())
    monitoring = fields.get("monitoring")
    for key in sorted(set(monitoring.service_monitor_labels) & OWN_LABEL_KEYS if monitoring else ()):
        problems.append(
            Problem(
                "monitoring.service_monitor_labels",
                f"'{key}' is a label model-fleet sets on every object of a model (selectors and the gateway read it); remove it",
            )
        )
    return _Parsed(StackSpec(**fields, models=models), labels, problems, warnings)


def _repeated(models: list[ModelEntry], labels: list[str], field_name: str, key_of) -> list[Problem]:
    """A problem for each entry whose `key_of` value an earlier entry already has."""
    problems: list[Problem] = []
    first_label: dict[object, str] = {}
    for entry, label in zip(models, labels, strict=True):
        key = key_of(entry)
        if key in first_label:
            value = getattr(entry, field_name)
            problems.append(Problem(f"{label} {field_name}", f"'{value}' is already used by {first_label[key]}"))
        first_label.setdefault(key, label)
    return problems


def _entry_order(problem: Problem) -> int:
    """Problems of the stack's sections first, then entry by entry, then those of the whole fleet."""
    if problem.where == "models":
        return sys.maxsize
    match = re.match(r"models\[(\d+)\]", problem.where)  # a prefix, not the whole location
    return int(match[1]) + 1 if match else 0


def load(
    raw: dict[str, Any], *, source: str, extra_problems: list[Problem] | None = None, catalog_source: str = catalog.PROJECT_FILE
) -> LoadedStack:
    """Validate `raw` and run the preflight; raises ConfigError listing every problem."""
    parsed = _parse(raw, catalog_source, source)
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
    return LoadedStack(parsed.spec, facts, parsed.warnings + checked.warnings)


def offline_problems(files: StackFiles) -> list[Problem]:
    """What `check` finds in a stack without reaching a cluster: every validation problem, and the
    preflight's when the stack's cluster facts come from its inventory."""
    parsed = _parse(model_fleet_section(files.config), files.catalog_source, files.source)
    problems = files.token_problems + parsed.problems
    if not parsed.spec.kubernetes.live:
        problems += preflight.check(parsed.spec, preflight.gather(parsed.spec), parsed.labels).problems
    return problems


def load_cluster_facts(project_dir: Path, stack: str) -> preflight.ClusterFacts:
    """The cluster facts alone, as the status command reports them: a model the cluster cannot
    run must not hide the cluster. Only the sections that say where the cluster is must be valid."""
    files = read_stack(project_dir, stack)
    parsed = _parse(model_fleet_section(files.config), files.catalog_source, files.source)
    problems = [p for p in parsed.problems if p.where.split(".")[0] in ("kubernetes", "cluster")]
    if problems:
        raise ConfigError(problems, source=files.source)
    try:
        return preflight.gather(parsed.spec)
    except preflight.PreflightError as err:
        raise ConfigError([Problem("kubernetes", str(err))], source=files.source) from None


def load_stack_file(project_dir: Path, stack: str) -> LoadedStack:
    files = read_stack(project_dir, stack)
    return load(
        model_fleet_section(files.config),
        source=files.source,
        extra_problems=files.token_problems,
        catalog_source=files.catalog_source,
    )
