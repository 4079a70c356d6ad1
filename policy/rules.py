"""The organisation's rules over what a stack declares: pure functions over resource inputs.

Each rule reads the objects as the engine sees them (a resource's type, its name and its inputs,
which for the kubernetes provider are the manifest's fields) and its settings, and returns the
violations it finds, each naming the model, the object and the value, and saying what to change.
`policy.pack` serves them to the engine as a Pulumi policy pack; nothing here imports Pulumi, so
the rules run on the manifests the builders produce as well (tests/policy).

A rule's settings and enforcement level come from the pack's config for the stack's environment
(`policy/config/<stack>.json`); what a file leaves out is the default below.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from components.contract.k8s_names import MANAGED_LABEL, MODEL_NAME_LABEL, RETAIN_ON_DELETE_ANNOTATION
from components.contract.problems import HF_TOKEN_PATTERN
from components.contract.spec import TOKEN_ENV_NAMES, quantity_value

Level = Literal["advisory", "mandatory", "remediate", "disabled"]
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POD_AUTOSCALER = "kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
GPU = "nvidia.com/gpu"
COMPONENT_TYPE = "model-fleet:index:ModelDeployment"
# An env variable named like a credential.
_CREDENTIAL_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY)($|_)")


@dataclass(frozen=True)
class Resource:
    """One resource as a policy sees it: its type token, Pulumi name, inputs and parent's URN."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: str = ""

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.props.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def labels(self) -> Mapping[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, Mapping) else {}

    @property
    def model(self) -> str | None:
        name = self.labels.get(MODEL_NAME_LABEL)
        return name if isinstance(name, str) else None

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def title(self) -> str:
        """`Deployment qwen3-coder-30b`: the object as kubectl names it."""
        return f"{self.kind} {self.metadata.get('name') or self.name}"

    @property
    def is_kubernetes_object(self) -> bool:
        return self.type.startswith("kubernetes:") and not self.type.startswith("pulumi:providers:")

    @property
    def in_a_model(self) -> bool:
        """Declared under a ModelDeployment component (the parent's URN ends with its type and name)."""
        return f"{COMPONENT_TYPE}::" in self.parent


@dataclass(frozen=True)
class Violation:
    message: str
    model: str | None = None
    urn: str = ""


class Settings(BaseModel):
    """A rule's settings, as the pack's config file spells them (camelCase, Pulumi's convention)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSettings(Settings):
    pass


# --- images ------------------------------------------------------------------------------------


class ImageSettings(Settings):
    allowedRegistries: list[str] = Field(
        default_factory=lambda: ["docker.io/vllm", "registry.menlo.ai"],
        description="Registries (a host, or a host and a path) images may come from; `vllm/vllm-openai` is `docker.io/vllm/vllm-openai`.",
    )
    requireDigest: bool = Field(False, description="Whether every image must be pinned by digest (`image@sha256:...`).")


@dataclass(frozen=True)
class ImageReference:
    registry: str  # the host, `docker.io` when the reference names none
    repository: str  # the path within the registry, `library/NAME` for a bare Docker Hub name
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageReference:
    """An image reference as a container runtime reads it (`[host[:port]/]path[:tag][@digest]`)."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return ImageReference(registry, path, tag, digest or None)


def _allowed(reference: ImageReference, registries: Iterable[str]) -> bool:
    name = reference.name
    return any(name == r.rstrip("/") or name.startswith(r.rstrip("/") + "/") for r in registries)


def _containers(pod_owner: Resource) -> list[Mapping[str, Any]]:
    spec = pod_owner.props.get("spec") or {}
    pod = ((spec.get("template") or {}).get("spec")) or {}
    return [c for key in ("initContainers", "containers") for c in pod.get(key) or [] if isinstance(c, Mapping)]


def _where(resource: Resource, container: Mapping[str, Any] | None = None) -> str:
    where = f"{resource.model}: {resource.title}" if resource.model else resource.title
    return f"{where}, container {container.get('name')}" if container is not None else where


def image_source(resource: Resource, settings: ImageSettings) -> list[Violation]:
    if resource.type != DEPLOYMENT:
        return []
    found = []
    for container in _containers(resource):
        image = str(container.get("image") or "")
        reference = parse_image(image)
        where = _where(resource, container)
        if not _allowed(reference, settings.allowedRegistries):
            allowed = ", ".join(f"`{r}`" for r in settings.allowedRegistries) or "none"
            found.append(f"{where}: image `{image}` is not from an allowed registry ({allowed}); pull it through one of them")
        if reference.tag in (None, "latest") and reference.digest is None:
            what = "has no tag, so it means `latest`" if reference.tag is None else "has the tag `latest`"
            found.append(f"{where}: image `{image}` {what}, which moves under a running model; pin a release tag, e.g. `:v0.10.2`")
        elif settings.requireDigest and reference.digest is None:
            found.append(
                f"{where}: image `{image}` is not pinned by digest, which this environment requires; write it as `{image}@sha256:<digest>`"
            )
    return [Violation(message, resource.model, resource.urn) for message in found]


# --- resources -----------------------------------------------------------------------------------


def _quantity(value: Any) -> Decimal:
    """A quantity of the inputs (`"1"`, or the engine's `2.0`) as the API server reads it; 0 when it is none."""
    try:
        return quantity_value(str(value))
    except ValueError:
        return Decimal(0)


def _count(value: Any) -> int:
    """A whole number from the inputs; the engine passes every number as a float (`2.0`)."""
    return int(_quantity(value))


def _gpus_of(container: Mapping[str, Any]) -> Decimal:
    resources = container.get("resources") or {}
    return max(_quantity((resources.get(part) or {}).get(GPU, 0)) for part in ("requests", "limits"))


def _wants_gpu_nodes(resource: Resource) -> bool:
    pod = (((resource.props.get("spec") or {}).get("template") or {}).get("spec")) or {}
    tolerates = any(isinstance(t, Mapping) and t.get("key") == GPU for t in pod.get("tolerations") or [])
    selects = any(str(key).startswith("nvidia.com/") for key in pod.get("nodeSelector") or {})
    return tolerates or selects


def container_resources(resource: Resource, settings: NoSettings) -> list[Violation]:
    if resource.type != DEPLOYMENT:
        return []
    found = []
    gpu_pod = _wants_gpu_nodes(resource) or any(_gpus_of(c) > 0 for c in _containers(resource))
    for container in _containers(resource):
        resources = container.get("resources") or {}
        where = _where(resource, container)
        missing = [
            f"{part}.{name}" for part in ("requests", "limits") for name in ("cpu", "memory") if not (resources.get(part) or {}).get(name)
        ]
        if missing:
            found.append(
                f"{where}: lacks {' and '.join(f'`resources.{m}`' for m in missing)}; set requirements.cpu and requirements.memory "
                "(the limits default to them; requirements.cpu_limit and memory_limit set them apart)"
            )
        if gpu_pod and container.get("name") == "vllm":
            requested = (resources.get("requests") or {}).get(GPU)
            limited = (resources.get("limits") or {}).get(GPU)
            if not requested or not limited or _quantity(requested) <= 0 or str(requested) != str(limited):
                found.append(
                    f"{where}: runs on GPU nodes but requests `{GPU}` {requested or 'not at all'} (limit {limited or 'none'}); "
                    "set deployment_config.gpu_count, which requests and limits it alike"
                )
    return [Violation(message, resource.model, resource.urn) for message in found]


# --- labels ---------------------------------------------------------------------------------------


class LabelSettings(Settings):
    requiredLabels: list[str] = Field(
        default_factory=list,
        description="Labels every object of a model must carry besides model-fleet's own, e.g. `team` (set in the entry's `labels`).",
    )


def managed_labels(resource: Resource, settings: LabelSettings) -> list[Violation]:
    if not resource.is_kubernetes_object:
        return []
    labels = resource.labels
    own = [] if str(labels.get(MANAGED_LABEL)) == "true" else [f'`{MANAGED_LABEL}: "true"`']
    team: list[str] = []
    if resource.in_a_model:
        own += [] if labels.get(MODEL_NAME_LABEL) else [f"`{MODEL_NAME_LABEL}`"]
        team = [f"`{key}`" for key in settings.requiredLabels if not labels.get(key)]
    found = []
    if own:
        found.append(f"lacks {', '.join(own)}, which model-fleet's builders set; declare the object through them")
    if team:
        found.append(
            f"lacks the team label{'s' if len(team) > 1 else ''} {', '.join(team)}; add {'them' if len(team) > 1 else 'it'} to the model entry's `labels`"
        )
    return [Violation(f"{_where(resource)}: {'; '.join(found)}", resource.model, resource.urn)] if found else []


# --- secrets --------------------------------------------------------------------------------------


def plaintext_secrets(resource: Resource, settings: NoSettings) -> list[Violation]:
    if resource.type != DEPLOYMENT:
        return []
    found = []
    for container in _containers(resource):
        for variable in container.get("env") or []:
            if not isinstance(variable, Mapping):
                continue
            name, value = str(variable.get("name") or ""), variable.get("value")
            where = _where(resource, container)
            from_secret = isinstance((variable.get("valueFrom") or {}).get("secretKeyRef"), Mapping)
            if isinstance(value, str) and HF_TOKEN_PATTERN.search(value):
                found.append(
                    f"{where}: env {name} holds a Hugging Face token in plain text (not shown); "
                    "set it with `pulumi config set --secret --path` so that it reaches the pod through a Secret"
                )
            elif (name in TOKEN_ENV_NAMES or _CREDENTIAL_NAME.search(name.upper())) and not from_secret:
                found.append(
                    f"{where}: env {name} is named as a credential but is not read from a Secret (`valueFrom.secretKeyRef`); "
                    f"set it with `pulumi config set --secret --path` so that it reaches the pod through a Secret"
                )
    return [Violation(message, resource.model, resource.urn) for message in found]


# --- prod -----------------------------------------------------------------------------------------


class ReplicaSettings(Settings):
    minReplicas: int = Field(2, ge=1, description="Fewest replicas an autoscaled model may scale down to.")


def autoscaled_replicas(resource: Resource, settings: ReplicaSettings) -> list[Violation]:
    if resource.type != POD_AUTOSCALER:
        return []
    fewest = _count((resource.props.get("spec") or {}).get("minReplicas", 1))
    if fewest >= settings.minReplicas:
        return []
    return [
        Violation(
            f"{_where(resource)}: scales down to {fewest} replica{'s' if fewest != 1 else ''}, fewer than the {settings.minReplicas} "
            f"this environment keeps; set deployment_config.autoscaling_config.min_replicas to {settings.minReplicas} or more",
            resource.model,
            resource.urn,
        )
    ]


def cache_claims_retained(resource: Resource, settings: NoSettings) -> list[Violation]:
    if resource.type != CLAIM:
        return []
    kept = (resource.metadata.get("annotations") or {}).get(RETAIN_ON_DELETE_ANNOTATION)
    if kept == "true":
        return []
    return [
        Violation(
            f"{_where(resource)}: the cache claim is deleted with the model (`{RETAIN_ON_DELETE_ANNOTATION}: {kept or 'unset'}`), "
            "and its downloaded weights with it; set deployment_config.retain_cache_on_delete to true",
            resource.model,
            resource.urn,
        )
    ]


# --- GPUs over the whole stack --------------------------------------------------------------------


@dataclass(frozen=True)
class GpuUse:
    """What one Deployment can take: GPUs per replica times its most replicas."""

    deployment: Resource
    per_replica: int
    replicas: int
    autoscaled: bool

    @property
    def total(self) -> int:
        return self.per_replica * self.replicas

    @property
    def label(self) -> str:
        return self.deployment.model or str(self.deployment.metadata.get("name") or self.deployment.name)

    def sum(self) -> str:
        replicas = f"{self.replicas} replica{'s' if self.replicas != 1 else ''}{' at most' if self.autoscaled else ''}"
        return f"{self.per_replica} x {replicas}"


def gpu_uses(resources: Iterable[Resource]) -> list[GpuUse]:
    resources = list(resources)
    autoscalers = {}
    for r in resources:
        if r.type == POD_AUTOSCALER:
            target = ((r.props.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
            autoscalers[(r.metadata.get("namespace"), target)] = r
    uses = []
    for r in resources:
        if r.type != DEPLOYMENT:
            continue
        per_replica = int(sum(_gpus_of(c) for c in _containers(r)))
        autoscaler = autoscalers.get((r.metadata.get("namespace"), r.metadata.get("name")))
        if autoscaler is not None:
            replicas = _count((autoscaler.props.get("spec") or {}).get("maxReplicas", 0))
        else:
            replicas = _count((r.props.get("spec") or {}).get("replicas", 1))
        uses.append(GpuUse(r, per_replica, replicas, autoscaler is not None))
    return uses


class GpuCapSettings(Settings):
    maxGpus: int = Field(8, ge=0, description="Most GPUs one model may take at its most replicas.")


def gpus_per_model(resources: Iterable[Resource], settings: GpuCapSettings) -> list[Violation]:
    return [
        Violation(
            f"{use.label}: {use.deployment.title} can take {use.total} GPUs ({use.sum()}), over the cap of {settings.maxGpus} per model; "
            "lower deployment_config.gpu_count or the most replicas (autoscaling_config.max_replicas, or replicas)",
            use.deployment.model,
            use.deployment.urn,
        )
        for use in gpu_uses(resources)
        if use.total > settings.maxGpus
    ]


class GpuBudgetSettings(Settings):
    maxGpus: int = Field(16, ge=0, description="Most GPUs the stack's whole fleet may take, every model at its most replicas.")


def gpu_budget(resources: Iterable[Resource], settings: GpuBudgetSettings) -> list[Violation]:
    uses = [use for use in gpu_uses(resources) if use.total]
    total = sum(use.total for use in uses)
    if total <= settings.maxGpus:
        return []
    sums = ", ".join(f"{use.label} {use.total} ({use.sum()})" for use in sorted(uses, key=lambda u: (-u.total, u.label)))
    return [
        Violation(
            f"the fleet can take {total} GPUs, over the budget of {settings.maxGpus}: {sums}; lower the biggest models' most replicas "
            "or gpu_count, or remove a model"
        )
    ]


# --- the table of rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    kind: Literal["resource", "stack"]
    level: Level  # the default enforcement level
    settings: type[Settings]
    check: Callable[..., list[Violation]]
    # Objects as the builders would make them, broken the way the rule refuses, and the settings
    # it runs with: the handbook's example violation.
    example: Callable[[], tuple[list[Resource], dict[str, Any]]] = field(repr=False, default=lambda: ([], {}))

    def run(self, resources: Iterable[Resource], config: Mapping[str, Any] | None = None) -> list[Violation]:
        settings = self.settings.model_validate(dict(config or {}))
        if self.kind == "stack":
            return self.check(list(resources), settings)
        return [v for r in resources for v in self.check(r, settings)]


def _deployment(name: str = "qwen3-coder-30b", **container: Any) -> Resource:
    base = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.10.2",
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}},
    }
    labels = {MODEL_NAME_LABEL: name, MANAGED_LABEL: "true"}
    props = {
        "metadata": {"name": name, "namespace": "jan-models", "labels": labels},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{**base, **container}]}}},
    }
    return Resource(DEPLOYMENT, f"{name}-deployment", props, parent=f"urn:pulumi:dev::model-fleet::{COMPONENT_TYPE}::{name}")


def _autoscaler(name: str, most: int, fewest: int = 1) -> Resource:
    props = {
        "metadata": {"name": name, "namespace": "jan-models", "labels": {MODEL_NAME_LABEL: name, MANAGED_LABEL: "true"}},
        "spec": {"scaleTargetRef": {"name": name}, "minReplicas": fewest, "maxReplicas": most},
    }
    return Resource(POD_AUTOSCALER, f"{name}-podautoscaler", props, parent=f"urn:pulumi:dev::model-fleet::{COMPONENT_TYPE}::{name}")


def _gpu_deployment(name: str, gpus: int) -> Resource:
    gpu = {"cpu": "4", "memory": "32Gi", GPU: str(gpus)}
    return _deployment(name, resources={"requests": gpu, "limits": gpu})


def _claim(kept: str) -> Resource:
    props = {
        "metadata": {
            "name": "qwen3-coder-30b-hf-cache",
            "labels": {MODEL_NAME_LABEL: "qwen3-coder-30b", MANAGED_LABEL: "true"},
            "annotations": {RETAIN_ON_DELETE_ANNOTATION: kept},
        }
    }
    return Resource(CLAIM, "qwen3-coder-30b-hf-cache", props, parent=f"urn:pulumi:dev::model-fleet::{COMPONENT_TYPE}::qwen3-coder-30b")


RULES: tuple[Rule, ...] = (
    Rule(
        "image-source",
        "Images come only from allowed registries, with a tag that is not `latest` (and a digest where the environment requires one).",
        "resource",
        "mandatory",
        ImageSettings,
        image_source,
        lambda: ([_deployment(image="vllm/vllm-openai:latest")], {}),
    ),
    Rule(
        "gpus-per-model",
        "A model takes at most a cap of GPUs: per replica times its most replicas (the autoscaler's maximum).",
        "stack",
        "mandatory",
        GpuCapSettings,
        gpus_per_model,
        lambda: ([_gpu_deployment("qwen3-coder-30b", 2), _autoscaler("qwen3-coder-30b", 8)], {}),
    ),
    Rule(
        "gpu-budget",
        "The stack's whole fleet takes at most a budget of GPUs, every model at its most replicas.",
        "stack",
        "mandatory",
        GpuBudgetSettings,
        gpu_budget,
        lambda: (
            [
                _gpu_deployment("qwen3-coder-30b", 1),
                _autoscaler("qwen3-coder-30b", 8),
                _gpu_deployment("mistral-nemo", 2),
                _autoscaler("mistral-nemo", 6),
            ],
            {},
        ),
    ),
    Rule(
        "container-resources",
        "Every container has CPU and memory requests and limits; a pod bound for GPU nodes requests `nvidia.com/gpu`.",
        "resource",
        "mandatory",
        NoSettings,
        container_resources,
        lambda: ([_deployment(resources={"requests": {"cpu": "2", "memory": "8Gi"}})], {}),
    ),
    Rule(
        "managed-labels",
        f'Every object carries `{MANAGED_LABEL}: "true"`; every object of a model also `{MODEL_NAME_LABEL}` and the team labels the config requires.',
        "resource",
        "mandatory",
        LabelSettings,
        managed_labels,
        lambda: ([_deployment()], {"requiredLabels": ["team"]}),
    ),
    Rule(
        "plaintext-secrets",
        "No secret in a Deployment's plain env: no value shaped like a Hugging Face token, no variable named as a credential without `secretKeyRef`.",
        "resource",
        "mandatory",
        NoSettings,
        plaintext_secrets,
        lambda: ([_deployment(env=[{"name": "OPENAI_API_KEY", "value": "sk-not-a-real-key"}])], {}),
    ),
    Rule(
        "autoscaled-replicas",
        "An autoscaled model keeps at least a number of replicas (off by default; prod turns it on).",
        "resource",
        "disabled",
        ReplicaSettings,
        autoscaled_replicas,
        lambda: ([_autoscaler("qwen3-coder-30b", 8, fewest=1)], {}),
    ),
    Rule(
        "cache-claims-retained",
        "A model's cache claim outlives the model, keeping its downloaded weights (off by default; prod turns it on).",
        "resource",
        "disabled",
        NoSettings,
        cache_claims_retained,
        lambda: ([_claim("false")], {}),
    ),
)

BY_NAME = {rule.name: rule for rule in RULES}
