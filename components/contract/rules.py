"""The rules across fields of one entry and across the entries of a stack, in the deployment API's
words where it has them. Each rule is a function of a few lines that reads the parts of an entry
it needs; a part is None when it is itself invalid, and the rule then does not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from components.contract import docs_facts, k8s_names, vllm_args
from components.contract.field_problems import quoted, shown
from components.contract.k8s_names import OWN_LABEL_KEYS
from components.contract.problems import Findings, Problem
from components.contract.spec import (
    MODEL_ID,
    SERVING_PORT,
    TOKEN_ENV_NAMES,
    DeploymentConfig,
    ModelDocs,
    ModelEntry,
    MonitoringConfig,
    Requirements,
    Routing,
    RoutingConfig,
)

# What a rule finds: ("problem" | "warning", field path in the entry, message).
Finding = tuple[str, str, str]


@dataclass(frozen=True)
class EntryParts:
    """The valid parts of one entry: `name` is None when the name is invalid, and so on."""

    name: str | None
    huggingface_id: str | None
    requirements: Requirements | None
    config: DeploymentConfig
    docs: ModelDocs | None
    cmdline: vllm_args.VllmCommandLine | None  # None when the command line cannot be read
    routing: Routing = Routing.aibrix


def served_name_matches(parts: EntryParts) -> Iterator[Finding]:
    """AIBrix's autoscaler and gateway find a model by its served name, which must be its name."""
    served = parts.cmdline.served_model_name if parts.cmdline else None
    if parts.name is None or parts.cmdline is None:
        return
    if served is None and parts.config.enable_autoscaling:
        yield (
            "problem",
            "deployment_config.args",
            "--served-model-name parameter not found in args. For Aibrix autoscaling compatibility, "
            f"please add '--served-model-name {parts.name}' to your vLLM command",
        )
    elif served is not None and served != parts.name:
        yield (
            "problem",
            "deployment_config.args",
            f"--served-model-name {quoted(served)} must match model name '{parts.name}' (required by Aibrix for autoscaling)",
        )


def port_is_the_serving_port(parts: EntryParts) -> Iterator[Finding]:
    port = parts.cmdline.port if parts.cmdline else None
    if port is not None and port != str(SERVING_PORT):
        yield (
            "problem",
            "deployment_config.args",
            f"vLLM --port {shown(port)} must be {SERVING_PORT}: the Service, probes and autoscaler use port {SERVING_PORT}",
        )


def vllm_accepts_the_command_line(parts: EntryParts) -> Iterator[Finding]:
    """What vLLM's own argument parser refuses (the servers tier reads every entry with it)."""
    cmdline = parts.cmdline
    if cmdline is None:
        return
    if cmdline.serve_with_model_flag:
        yield (
            "problem",
            "deployment_config.args",
            "vLLM refuses --model with `vllm serve`: give the model as its argument (`vllm serve MODEL`)",
        )
    if cmdline.auto_tool_choice and not cmdline.tool_calling:
        yield (
            "problem",
            "deployment_config.args",
            "vLLM refuses --enable-auto-tool-choice without --tool-call-parser: "
            "add the parser of the model's tool-call format (e.g. --tool-call-parser hermes)",
        )


def model_id_is_routable(parts: EntryParts) -> Iterator[Finding]:
    """The ID clients call the model by must be one a label can carry, or the gateway cannot route it."""
    cmdline = parts.cmdline
    if cmdline is None:
        return
    served = cmdline.served_model_name
    model_id = cmdline.model_id(parts.huggingface_id) if parts.huggingface_id is not None else served or cmdline.model
    if model_id is not None and not MODEL_ID.fullmatch(model_id):
        yield "problem", "deployment_config.args", f"model ID {model_id!r} may hold only letters, digits and . _ : / -"
    elif (
        model_id is not None
        and parts.name is not None
        and served is None
        and not parts.config.enable_autoscaling
        and parts.routing is Routing.aibrix
    ):
        why = ", and a label cannot hold '/'" if "/" in model_id else ""
        yield (
            "warning",
            "deployment_config.args",
            f"no --served-model-name: clients must call the model by {model_id!r}, which the AIBrix gateway "
            f"cannot route (it routes by the label model.aibrix.ai/name '{parts.name}'{why}); "
            f"add '--served-model-name {parts.name}' to your vLLM command",
        )


def docs_agree_with_the_command_line(parts: EntryParts) -> Iterator[Finding]:
    if parts.cmdline is not None:
        for field_path, message in docs_facts.contradictions(parts.docs or ModelDocs(), parts.cmdline):
            yield "problem", field_path, message


def gpu_count_within_requirements(parts: EntryParts) -> Iterator[Finding]:
    gpu = parts.requirements.gpu if parts.requirements is not None else None
    count = parts.config.gpu_count
    if gpu is not None and not gpu.min_gpus <= count <= gpu.upper:
        yield (
            "problem",
            "deployment_config.gpu_count",
            f"gpu_count {count} is outside requirements.gpu min_gpus..max_gpus ({gpu.min_gpus}..{gpu.upper})",
        )


def extra_env_set_once(parts: EntryParts) -> Iterator[Finding]:
    """Each variable once, and not one that `hugging_face_token` sets already."""
    seen: set[str] = set()
    for i, env in enumerate(parts.config.extra_env):
        if env.name in seen:
            yield "problem", f"deployment_config.extra_env[{i}].name", f"'{env.name}' is set twice"
        seen.add(env.name)
        if parts.config.hugging_face_token is not None and env.name in TOKEN_ENV_NAMES:
            yield "problem", f"deployment_config.extra_env[{i}].name", f"'{env.name}' is set from hugging_face_token already"


def cache_claim_fits_the_replicas(parts: EntryParts) -> Iterator[Finding]:
    """A claim one pod (or one node) may mount cannot serve a model that runs more replicas."""
    config = parts.config
    most = config.most_replicas
    if not config.enable_pvc or not (config.enable_autoscaling or most > 1):
        return
    scale = f"up to {most} replicas" if config.enable_autoscaling else f"{most} replicas"
    if config.pvc_access_mode == "ReadWriteOncePod":
        yield (
            "problem",
            "deployment_config.pvc_access_mode",
            f"ReadWriteOncePod lets one pod mount the cache claim but this model runs {scale}; "
            "use ReadWriteMany, or one replica without autoscaling",
        )
    elif config.pvc_access_mode == "ReadWriteOnce":
        yield (
            "warning",
            "deployment_config.pvc_access_mode",
            f"ReadWriteOnce: of the {scale}, pods scheduled on another node than the first cannot mount the "
            "cache claim and stay Pending; use ReadWriteMany to scale across nodes",
        )


ENTRY_RULES: tuple[Callable[[EntryParts], Iterator[Finding]], ...] = (
    served_name_matches,
    port_is_the_serving_port,
    vllm_accepts_the_command_line,
    model_id_is_routable,
    docs_agree_with_the_command_line,
    gpu_count_within_requirements,
    extra_env_set_once,
    cache_claim_fits_the_replicas,
)


def entry_findings(
    name: str | None,
    huggingface_id: str | None,
    requirements: Requirements | None,
    config: DeploymentConfig | None,
    label: str,
    docs: ModelDocs | None,
    routing: Routing = Routing.aibrix,
) -> Findings:
    """Every entry rule over the parts of one entry that are valid; `label` heads each line."""
    found = Findings()
    if config is None:
        return found
    try:
        cmdline = vllm_args.parse(config.command, config.args)
    except vllm_args.VllmArgsError as err:
        found.problems.append(Problem(f"{label} deployment_config.args", str(err)))
        cmdline = None
    parts = EntryParts(name, huggingface_id, requirements, config, docs, cmdline, routing)
    for rule in ENTRY_RULES:
        for level, field_path, message in rule(parts):
            if level == "problem":
                found.problems.append(Problem(f"{label} {field_path}", message))
            else:
                found.warnings.append(f"{label} {field_path}: {message}")
    return found


# --- rules across the entries of a stack ---------------------------------------------------


def unknown_tiers(models: list[ModelEntry], labels: list[str], tiers: list) -> list[Problem]:
    """A model's docs may name only the limit tiers the stack's docs section defines, and a tier may
    not promise more than the model's server serves."""
    return [
        Problem(f"{label} {where}", message)
        for entry, label in zip(models, labels, strict=True)
        for where, message in [*docs_facts.unknown_tiers(entry.docs, tiers), *docs_facts.tier_contradictions(entry, tiers)]
    ]


def repeated(models: list[ModelEntry], labels: list[str], field_name: str, key_of: Callable[[ModelEntry], object]) -> list[Problem]:
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


def canary_findings(entry: ModelEntry, label: str, routing: Routing = Routing.aibrix) -> Findings:
    """The entry rules over the canary's own command line, where it sets one (what it takes from the
    model is the model's to answer for), reported at the canary's keys. Both versions serve one
    model ID: the one clients call and the route matches."""
    found = Findings()
    canary, canary_entry = entry.canary, entry.canary_entry()
    if canary is None or canary_entry is None:
        return found
    if (problem := k8s_names.model_name_problem(canary_entry.name)) is not None:
        found.problems.append(Problem(f"{label} canary.version", f"the canary's name: {problem}"))
    if not {"command", "args", "huggingface_id"} & canary.model_fields_set:
        return found
    where = "canary.command" if canary.command is not None and canary.args is None else "canary.args"
    config = canary_entry.deployment_config
    try:
        cmdline = vllm_args.parse(config.command, config.args)
    except vllm_args.VllmArgsError as err:
        found.problems.append(Problem(f"{label} {where}", str(err)))
        return found
    parts = EntryParts(entry.name, canary_entry.huggingface_id, entry.requirements, config, entry.docs, cmdline, routing)
    for rule in (served_name_matches, port_is_the_serving_port, vllm_accepts_the_command_line, model_id_is_routable):
        for level, _, message in rule(parts):
            if level == "problem":
                found.problems.append(Problem(f"{label} {where}", message))
            else:
                found.warnings.append(f"{label} {where}: {message}")
    if (loads := canary_loads_the_weights_it_names(entry, cmdline)) is not None:
        found.warnings.append(f"{label} canary.huggingface_id: {loads}")
    if (serves := versions_serve_one_model_id(entry, canary_entry, cmdline)) is not None:
        found.problems.append(Problem(f"{label} {where}", serves))
    return found


def canary_loads_the_weights_it_names(entry: ModelEntry, cmdline: vllm_args.VllmCommandLine) -> str | None:
    """The command line names the weights vLLM loads; a canary's huggingface_id alone changes none."""
    named = entry.canary.huggingface_id if entry.canary is not None else None
    if named is not None and cmdline.model == entry.deployment_config.cmdline.model != named:
        return (
            f"the canary's command line still loads {quoted(cmdline.model or '')}, "
            f"not {quoted(named)}: set canary.args (or canary.command) to serve it"
        )
    return None


def versions_serve_one_model_id(entry: ModelEntry, canary_entry: ModelEntry, cmdline: vllm_args.VllmCommandLine) -> str | None:
    """Both versions serve the model ID clients call and the route matches. (Two served names that
    differ are each held to the model's name by served_name_matches.)"""
    ids = (entry.served_model_id, canary_entry.served_model_id)
    if ids[0] != ids[1] and None in (entry.deployment_config.cmdline.served_model_name, cmdline.served_model_name):
        return (
            f"the canary serves model ID {quoted(ids[1])} but the model serves {quoted(ids[0])}: both versions must serve "
            f"one model ID, the one clients call and the route matches; add '--served-model-name {entry.name}' to both"
        )
    return None


def _mode(entry: ModelEntry, routing: RoutingConfig) -> Routing:
    return entry.routing if entry.routing is not None else routing.mode


def canaries_route_by_inference_pool(models: list[ModelEntry], labels: list[str], routing: RoutingConfig | None) -> list[Problem]:
    """A canary needs `inference-pool` routing: only a route splits one model's requests by weight."""
    if routing is None:  # the routing section is invalid and has problems of its own
        return []
    problems = []
    for entry, label in zip(models, labels, strict=True):
        mode = _mode(entry, routing)
        if entry.canary is None or mode is Routing.inference_pool:
            continue
        why = (
            "AIBrix routes by the label model.aibrix.ai/name, one label per model, so it cannot split a model's requests "
            "by weight between two versions"
            if mode is Routing.aibrix
            else "routing none declares no route to split a model's requests by weight"
        )
        problems.append(
            Problem(
                f"{label} canary",
                f"a canary needs routing inference-pool: {why}; set `routing: inference-pool` on this entry "
                "(or model-fleet:routing.mode), or remove the canary",
            )
        )
    return problems


def inference_pool_has_its_picker_and_gateway(models: list[ModelEntry], labels: list[str], routing: RoutingConfig | None) -> list[Problem]:
    """Routing by `inference-pool`, for the stack or any entry, needs the stack's endpoint picker and Gateway."""
    if routing is None:
        return []
    pooled = [label for entry, label in zip(models, labels, strict=True) if _mode(entry, routing) is Routing.inference_pool]
    if not pooled:
        return []
    needs = (
        "routing inference-pool needs"
        if routing.mode is Routing.inference_pool
        else f"{', '.join(pooled)} {'route' if len(pooled) > 1 else 'routes'} by inference-pool, which needs"
    )
    problems = []
    if routing.endpoint_picker is None:
        problems.append(
            Problem(
                "routing.endpoint_picker",
                f"required key is missing: {needs} the endpoint picker every InferencePool names (its Service name and port)",
            )
        )
    if routing.gateway is None:
        problems.append(Problem("routing.gateway", f"required key is missing: {needs} the Gateway every HTTPRoute attaches to (its name)"))
    return problems


def canary_names_are_free(models: list[ModelEntry], labels: list[str]) -> list[Problem]:
    """A canary's objects take `<name>-<version>`: no other model or canary may have that name,
    or two Deployments (and two pools) would select each other's pods."""
    first = {entry.name: label for entry, label in zip(models, labels, strict=True)}
    problems = []
    for entry, label in zip(models, labels, strict=True):
        canary = entry.canary_entry()
        if canary is None:
            continue
        if canary.name in first:
            problems.append(
                Problem(f"{label} canary.version", f"the canary's name '{canary.name}' is already used by {first[canary.name]}")
            )
        else:
            first[canary.name] = f"{label} canary"
    return problems


def service_monitor_labels_are_not_ours(monitoring: MonitoringConfig | None) -> list[Problem]:
    """The ServiceMonitor's own labels may not override the labels every object of a model carries."""
    return [
        Problem("monitoring.service_monitor_labels", k8s_names.own_label_problem(key))
        for key in sorted(set(monitoring.service_monitor_labels) & OWN_LABEL_KEYS if monitoring else ())
    ]
