"""Read `model-fleet:*` stack config into a StackSpec, with one report of every problem.

Two sources give the same raw mapping: the stack files (`stack_files`, for the commands that run
without the engine) and the config the Pulumi engine hands the program (`pulumi_config`, secrets
decrypted). Validation never stops at the first problem: each section and each model entry is
checked on its own (`field_problems` words pydantic's errors), then the rules across fields and
across entries (`rules`), then the cluster (`preflight`).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components.contract import catalog, k8s_names, preflight, rules
from components.contract.field_problems import absent_problems, entry_label, pydantic_problems, quoted, shown
from components.contract.problems import Findings, Problem, ProblemsFound, did_you_mean
from components.contract.spec import (
    NAMESPACE,
    DeploymentConfig,
    KubernetesConfig,
    ModelDocs,
    ModelEntry,
    Requirements,
    Routing,
    RoutingConfig,
    StackSpec,
)
from components.contract.stack_files import StackFiles, model_fleet_section, read_stack


@dataclass
class LoadedStack:
    spec: StackSpec
    facts: preflight.ClusterFacts
    warnings: list[str] = field(default_factory=list)


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


def _checked_entry(raw_entry: Any, label: str, stack_routing: Routing = Routing.aibrix) -> tuple[ModelEntry | None, Findings]:
    """One entry validated alone: its fields, then the rules across them on the parts that are valid."""
    try:
        entry = ModelEntry.model_validate(raw_entry)
    except ValidationError as err:
        name = raw_entry.get("name") if isinstance(raw_entry, dict) else None
        valid_name = name if isinstance(name, str) and k8s_names.model_name_problem(name) is None else None
        requirements = _valid_part(Requirements, raw_entry, "requirements")
        config = _valid_part(DeploymentConfig, raw_entry, "deployment_config")
        docs = _valid_part(ModelDocs, raw_entry, "docs")
        found = rules.entry_findings(valid_name, None, requirements, config, label, docs, stack_routing)
        return None, Findings(pydantic_problems(err, ModelEntry, label) + found.problems)
    routing = entry.routing if entry.routing is not None else stack_routing
    found = rules.entry_findings(entry.name, entry.huggingface_id, entry.requirements, entry.deployment_config, label, entry.docs, routing)
    canary = rules.canary_findings(entry, label, routing)
    return entry, Findings(found.problems + canary.problems, found.warnings + canary.warnings)


def _catalog_problems(name: str, base: Any, catalog_file: str, stack_routing: Routing = Routing.aibrix) -> list[Problem]:
    """A catalog entry's own problems, found once however many items serve it."""
    label = f"{catalog_file} catalog.{shown(str(name))}"
    if not isinstance(base, dict):
        return [Problem(label, "must be a map of entry keys to values")]
    if "name" in base:
        return [Problem(f"{label} name", "the catalog key names the entry; remove `name`")]
    return _checked_entry(catalog.catalog_entry(name, base), label, stack_routing)[1].problems


def _in_project(kubernetes: KubernetesConfig, project_dir: Path | None) -> KubernetesConfig:
    """The kubeconfig path relative to the project, as the engine (which runs there) reads it,
    whatever directory a command is started from."""
    path = kubernetes.kubeconfig_path
    if project_dir is None or path is None or os.path.isabs(path):
        return kubernetes
    return kubernetes.model_copy(update={"kubeconfig": str(project_dir.resolve() / path)})


def _parse(
    raw: dict[str, Any], catalog_file: str = catalog.PROJECT_FILE, stack_file: str = "stack file", project_dir: Path | None = None
) -> _Parsed:
    problems: list[Problem] = []
    warnings: list[str] = []
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "catalog":
            continue
        if key not in StackSpec.model_fields:
            hint = did_you_mean(key, list(StackSpec.model_fields), prefix=f"{NAMESPACE}:")
            problems.append(Problem(key, f"unknown key {quoted(NAMESPACE + ':' + key)}{hint}"))
        elif key != "models":
            # Each section alone: the others keep their defaults, so errors stay in this one.
            try:
                fields[key] = getattr(StackSpec.model_validate({key: value}), key)
            except ValidationError as err:
                problems += pydantic_problems(err, StackSpec, "")

    routing: RoutingConfig | None = fields.get("routing", RoutingConfig() if "routing" not in raw else None)
    stack_routing = routing.mode if routing is not None else Routing.aibrix
    raw_models = raw.get("models") or []
    if not isinstance(raw_models, list):
        problems.append(Problem("models", "must be a list of model entries"))
        raw_models = []
    resolution = catalog.resolve(raw_models, raw.get("catalog"), stack_file=stack_file, catalog_file=catalog_file)
    problems += resolution.problems
    broken = set()
    for name, base in resolution.used.items():
        found_in_catalog = _catalog_problems(name, base, catalog_file, stack_routing)
        problems += found_in_catalog
        if found_in_catalog:
            broken.add(name)
    models: list[ModelEntry] = []
    labels: list[str] = []
    for item in resolution.items:
        if item.catalog in broken:
            continue
        label = entry_label(item.index, item.entry, item.catalog)
        entry, found = _checked_entry(item.entry, label, stack_routing)
        absent = absent_problems(item, label)
        problems += found.problems + absent
        if entry is None or absent:
            continue
        warnings += found.warnings
        models.append(entry)
        labels.append(label)

    # An invalid docs section has its own problems; its tiers are unknown, not missing.
    if "docs" in fields or "docs" not in raw:
        problems += rules.unknown_tiers(models, labels, fields["docs"].limit_tiers if "docs" in fields else [])
    problems += rules.repeated(models, labels, "name", lambda e: e.name)
    problems += rules.repeated(models, labels, "display_name", lambda e: e.display_name.casefold())
    problems += rules.service_monitor_labels_are_not_ours(fields.get("monitoring"))
    problems += rules.canaries_route_by_inference_pool(models, labels, routing)
    problems += rules.inference_pool_has_its_picker_and_gateway(models, labels, routing)
    problems += rules.canary_names_are_free(models, labels)
    if "kubernetes" in fields:
        fields["kubernetes"] = _in_project(fields["kubernetes"], project_dir)
    return _Parsed(StackSpec(**fields, models=models), labels, problems, warnings)


def _entry_order(problem: Problem) -> int:
    """Problems of the stack's sections first, then entry by entry, then those of the whole fleet."""
    if problem.where == "models":
        return sys.maxsize
    match = re.match(r"models\[(\d+)\]", problem.where)  # a prefix, not the whole location
    return int(match[1]) + 1 if match else 0


def load(
    raw: dict[str, Any],
    *,
    source: str,
    extra_problems: list[Problem] | None = None,
    catalog_source: str = catalog.PROJECT_FILE,
    project_dir: Path | None = None,
) -> LoadedStack:
    """Validate `raw` and run the preflight; raises ProblemsFound listing every problem. A relative
    kubeconfig is relative to `project_dir` (else to the current directory)."""
    parsed = _parse(raw, catalog_source, source, project_dir)
    problems = list(extra_problems or []) + parsed.problems
    try:
        facts = preflight.gather(parsed.spec)
    except preflight.PreflightError as err:
        problems.append(Problem("kubernetes", str(err)))
    else:
        checked = preflight.check(parsed.spec, facts, parsed.labels)
        problems += checked.problems
        if (target := preflight.deploy_target_problem(parsed.spec)) is not None:
            problems.append(target)
    if problems:
        raise ProblemsFound(sorted(problems, key=_entry_order), source=source)
    return LoadedStack(parsed.spec, facts, parsed.warnings + checked.warnings)


def offline_problems(files: StackFiles) -> list[Problem]:
    """What `check` finds in a stack without reaching a cluster: every validation problem, and the
    preflight's when the stack's cluster facts come from its inventory."""
    parsed = _parse(model_fleet_section(files.config), files.catalog_source, files.source, files.project_dir)
    problems = files.token_problems + parsed.problems
    if not parsed.spec.kubernetes.live:
        problems += preflight.check(parsed.spec, preflight.gather(parsed.spec), parsed.labels).problems
    if (target := preflight.deploy_target_problem(parsed.spec)) is not None:
        problems.append(target)
    return problems


def load_cluster_facts(project_dir: Path, stack: str) -> preflight.ClusterFacts:
    """The cluster facts alone, as the status command reports them: a model the cluster cannot
    run must not hide the cluster. Only the sections that say where the cluster is must be valid."""
    files = read_stack(project_dir, stack)
    parsed = _parse(model_fleet_section(files.config), files.catalog_source, files.source, files.project_dir)
    problems = [p for p in parsed.problems if p.where.split(".")[0] in ("kubernetes", "cluster")]
    if problems:
        raise ProblemsFound(problems, source=files.source)
    try:
        return preflight.gather(parsed.spec)
    except preflight.PreflightError as err:
        raise ProblemsFound([Problem("kubernetes", str(err))], source=files.source) from None


def load_stack_file(project_dir: Path, stack: str) -> LoadedStack:
    files = read_stack(project_dir, stack)
    return load(
        model_fleet_section(files.config),
        source=files.source,
        extra_problems=files.token_problems,
        catalog_source=files.catalog_source,
        project_dir=project_dir,
    )
