"""The stack config contract: one validated pydantic model per part of `model-fleet:*`.

Model entries keep the exact shape and defaults of the deployment API's "Create New Model"
request body, so a request body pasted as YAML is a valid entry. Fields the API lacks but a
real deployment needs are added with defaults and described where they are declared.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    field_validator,
    model_validator,
)

from components.contract import k8s_names, vllm_args

# What the gateway and every snippet may carry as a model ID: an HF-style id such as
# `mistralai/Mistral-Nemo-Instruct-2407`, or a local path. The snippets escape it anyway.
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
# A Hugging Face repository: `name` or `owner/name`.
HUGGINGFACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
QUANTITY = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
GO_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")
URL_HOST = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*")
URL_PATH = re.compile(r"(/[A-Za-z0-9._~%-]+)*/?")
# Every character a base URL of ours may hold; urlsplit alone silently drops tabs and newlines.
URL_CHARS = re.compile(r"[A-Za-z0-9:/._~%\[\]-]+")
ENV_NAME = re.compile(r"[-._A-Za-z][-._A-Za-z0-9]*")
PLATFORM_NAME = re.compile(r"[\w .-]+")
# Upper bounds that no real deployment reaches: a typo, not a fleet.
MAX_GPUS_PER_REPLICA = 64
MAX_REPLICAS = 1000
MAX_SECONDS = 86400

# The namespace of this program's keys in stack config: `model-fleet:models`, ...
NAMESPACE = "model-fleet"
SERVING_PORT = 8000
# The variables vLLM (huggingface_hub) reads the Hugging Face token from; hugging_face_token sets both.
TOKEN_ENV_NAMES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
AIBRIX_CRD = "podautoscalers.autoscaling.aibrix.ai"
SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com"
GPU_OPERATOR_CRD = "clusterpolicies.nvidia.com"
KUBERAY_CRD = "rayclusters.ray.io"
ENVOY_GATEWAY_CRD = "gatewayclasses.gateway.networking.k8s.io"
# What a model routed by `inference-pool` declares: the Gateway API Inference Extension's pool
# and the Gateway API's route.
INFERENCE_POOL_CRD = "inferencepools.inference.networking.k8s.io"
HTTP_ROUTE_CRD = "httproutes.gateway.networking.k8s.io"
# The most of a model's requests a canary may take: weights are percentages.
FULL_WEIGHT = 100


# What each suffix of the API server's quantity grammar multiplies by.
_SCALE = {
    **{suffix: Decimal(1000) ** power for power, suffix in enumerate(("k", "M", "G", "T", "P", "E"), start=1)},
    **{suffix: Decimal(10) ** -power for power, suffix in ((3, "m"), (6, "u"), (9, "n"))},
    **{f"{suffix}i": Decimal(1024) ** power for power, suffix in enumerate("KMGTPE", start=1)},
}


@functools.lru_cache(maxsize=4096)
def quantity_value(value: str) -> Decimal:
    """A quantity in the API server's grammar (`500m`, `16Gi`, `1e3`) as a number; ValueError for
    anything else. The same values as the kubernetes client's parse_quantity (a property test
    holds them equal), without importing the client, which costs a command about 0.2-0.6 s.
    A fleet repeats a few quantities thousands of times; a Decimal is immutable, so one serves all."""
    match = QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    suffix = match.group(3) or ""
    if suffix not in _SCALE:  # none, or a decimal exponent (`e3`): the number as written
        return Decimal(value)
    return Decimal(value[: len(value) - len(suffix)]) * _SCALE[suffix]


def _quantity(value: str) -> str:
    # The API server's grammar, matched whole: parse_quantity alone takes " 2", "2\n", "inf" and "NaN".
    try:
        ok = QUANTITY.fullmatch(value) is not None and quantity_value(value).is_finite()
    except (ValueError, ArithmeticError):
        ok = False
    if not ok:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 16Gi)")
    return value


def _positive_quantity(value: str) -> str:
    if quantity_value(_quantity(value)) <= 0:
        raise ValueError(f"{value!r} must be greater than 0")
    return value


def _non_negative_quantity(value: str) -> str:
    if quantity_value(_quantity(value)) < 0:
        raise ValueError(f"{value!r} must not be negative")
    return value


def _rule(accepts: Callable[[str], object], what: str) -> AfterValidator:
    """A check that `accepts` the whole value, else the problem "'<value>' is not <what>"."""

    def check(value: str) -> str:
        if not accepts(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _model_name(value: str) -> str:
    problem = k8s_names.model_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _display_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if not value.isprintable() or value != value.strip():
        raise ValueError(
            "must be one line of printable characters without leading or trailing spaces (it titles the docs entries and the snippets)"
        )
    if '"' in value:
        raise ValueError("must not hold double quotes (it becomes a docs entry title)")
    return value


def _text_or_secret(value: Any) -> str | SecretStr:
    # One check with one message, where a plain union would report each member by pydantic's name.
    if isinstance(value, (str, SecretStr)):
        return value
    raise ValueError("must be a string, or a secret set with `pulumi config set --secret --path`")


def _no_bool(value: Any) -> Any:
    # pydantic reads true as 1; for a count that is a typo, not a number.
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean, not a whole number")
    return value


def _token_count(value: Any) -> Any:
    # Written as vLLM reads --max-model-len, so a docs fact and the command compare as numbers.
    if isinstance(value, str):
        return vllm_args.token_count(value)
    return _no_bool(value)


def _one_line(value: str) -> str:
    if not value.isprintable() or value != value.strip():
        raise ValueError("must be one line of printable characters without leading or trailing spaces")
    return value


PositiveQuantity = Annotated[str, AfterValidator(_positive_quantity)]
NonNegativeQuantity = Annotated[str, AfterValidator(_non_negative_quantity)]
Duration = Annotated[str, _rule(GO_DURATION.fullmatch, "a duration (examples: 30s, 3m, 1h30m)")]
Label = Annotated[str, _rule(k8s_names.is_dns1123_label, k8s_names.DNS1123_LABEL_RULE)]
LabelKey = Annotated[str, _rule(k8s_names.is_label_key, k8s_names.LABEL_KEY_RULE)]
LabelValue = Annotated[str, _rule(k8s_names.is_label_value, k8s_names.LABEL_VALUE_RULE)]
StorageClassName = Annotated[str, _rule(lambda v: v == "" or k8s_names.is_dns1123_subdomain(v), k8s_names.DNS1123_SUBDOMAIN_RULE)]
HuggingFaceId = Annotated[
    str, _rule(HUGGINGFACE_ID.fullmatch, "a Hugging Face repository id (`owner/name`: letters, digits, '.', '_' and '-')")
]
EnvName = Annotated[
    str, _rule(ENV_NAME.fullmatch, "an environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)")
]
ModelName = Annotated[str, AfterValidator(_model_name)]
DisplayName = Annotated[str, AfterValidator(_display_name)]
Count = Annotated[int, BeforeValidator(_no_bool)]
TokenCount = Annotated[int, BeforeValidator(_token_count), Field(ge=1)]
OneLine = Annotated[str, AfterValidator(_one_line)]


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, label in value.items():
        if not k8s_names.is_label_key(key):
            raise ValueError(f"{key!r} is not {k8s_names.LABEL_KEY_RULE}")
        if not k8s_names.is_label_value(label):
            raise ValueError(f"{label!r} (label {key}) is not {k8s_names.LABEL_VALUE_RULE}")
    return value


def base_url(value: str) -> str:
    """An http(s) URL of a host and a path, without a trailing slash; the snippets append API paths to it.

    Credentials, a query or a fragment cannot be a base URL (the API path would land after them),
    so they are refused along with anything a shell or a Python string would read as code.
    """
    problem = (
        f"{value!r} is not an http(s) base URL: scheme http or https, a host, an optional port and path, "
        "without credentials, query or fragment"
    )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(problem) from None
    host = parts.hostname or ""
    if (
        not URL_CHARS.fullmatch(value)
        or parts.scheme not in ("http", "https")
        or not value.startswith(parts.scheme + "://")
        or parts.username is not None
        or parts.password is not None
        or not (URL_HOST.fullmatch(host) or _is_ip(host))
        or (port is not None and not 0 < port < 65536)
        or not URL_PATH.fullmatch(parts.path)
        or parts.query
        or parts.fragment
        # urlsplit lowercases the host it returns; a host is case-insensitive.
        or parts.netloc.lower() != (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    ):
        raise ValueError(problem)
    return value.rstrip("/")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelType(str, Enum):
    chat = "chat"
    completion = "completion"
    embedding = "embedding"


class GPURequirement(Strict):
    min_vram: NonNegativeQuantity = Field("0", description="VRAM the model needs across its `min_gpus` GPUs, e.g. `24Gi`.")
    min_gpus: Count = Field(1, ge=1, le=MAX_GPUS_PER_REPLICA, description="Fewest GPUs one replica can run on.")
    max_gpus: Count | None = Field(
        None, ge=1, le=MAX_GPUS_PER_REPLICA, description="Most GPUs one replica may use; defaults to `min_gpus`."
    )

    @model_validator(mode="after")
    def _max_not_below_min(self) -> GPURequirement:
        if self.max_gpus is not None and self.max_gpus < self.min_gpus:
            raise ValueError(f"max_gpus {self.max_gpus} is less than min_gpus {self.min_gpus}")
        return self

    @property
    def upper(self) -> int:
        return self.max_gpus if self.max_gpus is not None else self.min_gpus


class Requirements(Strict):
    cpu: PositiveQuantity = Field(description="CPU request of one replica, e.g. `2000m`.")
    memory: PositiveQuantity = Field(description="Memory request of one replica, e.g. `16Gi`.")
    cpu_limit: PositiveQuantity | None = Field(
        None,
        description="CPU limit of one replica; defaults to `cpu`, which with `memory_limit` unset gives the pods the Guaranteed QoS class.",
    )
    memory_limit: PositiveQuantity | None = Field(
        None, description="Memory limit of one replica (the container is killed above it); defaults to `memory`."
    )
    gpu: GPURequirement | None = Field(None, description="GPU needs, checked against the cluster by the preflight.")

    @model_validator(mode="after")
    def _limits_not_below_requests(self) -> Requirements:
        for resource, request, limit in (("cpu", self.cpu, self.cpu_limit), ("memory", self.memory, self.memory_limit)):
            if limit is not None and quantity_value(limit) < quantity_value(request):
                raise ValueError(
                    f"{resource}_limit {limit} is less than the {resource} request {request}; Kubernetes refuses a limit below the request"
                )
        return self

    @property
    def limits(self) -> dict[str, str]:
        """The CPU and memory limits of one replica, each defaulting to its request."""
        return {"cpu": self.cpu_limit or self.cpu, "memory": self.memory_limit or self.memory}


class AutoscalingConfig(Strict):
    min_replicas: Count = Field(1, ge=0, le=MAX_REPLICAS, description="Fewest replicas the autoscaler keeps.")
    max_replicas: Count = Field(10, ge=1, le=MAX_REPLICAS, description="Most replicas the autoscaler may run.")
    target_metric: str = Field("num_requests_running", min_length=1, description="vLLM metric the autoscaler tracks.")
    target_value: str = Field("40", description="Target value of the metric per pod, a number as a string.")
    scale_down_delay: Duration = Field("3m", description="How long load must stay low before scaling down.")
    scaling_strategy: Literal["KPA", "APA", "HPA"] = Field(
        "KPA", description="AIBrix algorithm. KPA and APA scrape pods directly; HPA needs a custom-metrics adapter."
    )

    @field_validator("target_value")
    @classmethod
    def _positive_number(cls, value: str) -> str:
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"{value!r} is not a finite number greater than 0")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} is greater than max_replicas {self.max_replicas}")
        return self


class EnvVar(Strict):
    name: EnvName = Field(description="Variable name: letters, digits, `_`, `-` and `.`, not starting with a digit.")
    value: Annotated[str | SecretStr, PlainValidator(_text_or_secret)] = Field(
        "",
        description="Value. A secret set with `pulumi config set --secret --path` reaches the pod through a Secret, "
        "never in the Deployment.",
    )

    @property
    def is_secret(self) -> bool:
        return isinstance(self.value, SecretStr)


class Toleration(Strict):
    key: LabelKey | None = Field(None, description="Taint key; unset with `Exists` tolerates every taint.")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="How the taint's value is matched.")
    value: LabelValue | None = Field(None, description="Taint value for `Equal`.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(None, description="Taint effect; unset matches all.")

    @model_validator(mode="after")
    def _operator_fits(self) -> Toleration:
        # The API server refuses both; caught here they name the entry.
        if self.operator == "Exists" and self.value:
            raise ValueError(f"operator Exists matches any value: remove value '{self.value}' or use operator Equal")
        if self.operator == "Equal" and not self.key:
            raise ValueError("operator Equal needs a key; to tolerate every taint use operator Exists without a key")
        return self


class DeploymentConfig(Strict):
    image: str = Field(min_length=1, description="Container image of the vLLM server.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field("IfNotPresent", description="Kubernetes image pull policy.")
    command: list[str] = Field(min_length=1, description="Container command, e.g. `[sh]` or `[vllm, serve]`.")
    args: list[str] = Field(
        default_factory=list, description="Container arguments; `--served-model-name` is read from here or from `command`."
    )
    gpu_count: Count = Field(0, ge=0, le=MAX_GPUS_PER_REPLICA, description="GPUs requested and limited per replica (`nvidia.com/gpu`).")
    initial_delay_seconds: Count = Field(
        240, ge=0, le=MAX_SECONDS, description="Seconds before the first startup probe; typical model load time."
    )
    enable_pvc: bool = Field(False, description="Keep the Hugging Face cache on a PersistentVolumeClaim.")
    storage_class: StorageClassName = Field("", description="Storage class of the cache PVC; empty uses the cluster's default class.")
    enable_autoscaling: bool = Field(False, description="Declare an AIBrix PodAutoscaler for the Deployment.")
    autoscaling_config: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Autoscaler bounds and target.")
    extra_env: list[EnvVar] = Field(default_factory=list, description="Extra environment variables of the vLLM container.")
    hugging_face_token: SecretStr | None = Field(
        None, description="HF token for gated models. Set only with `pulumi config set --secret`; it reaches the pod through a Secret."
    )
    # Beyond the deployment API: what a real cluster needs.
    replicas: Count = Field(
        1, ge=0, le=MAX_REPLICAS, description="Replicas when autoscaling is off; the autoscaler owns the count otherwise."
    )
    startup_timeout_seconds: Count = Field(
        1800,
        ge=60,
        le=MAX_SECONDS,
        description="Whole startup budget (image pull, weight download, load) before the pod is restarted and `pulumi up` gives up.",
    )
    pvc_size: PositiveQuantity = Field("100Gi", description="Size of the cache PVC.")
    pvc_access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"] = Field(
        "ReadWriteOnce", description="Access mode of the cache PVC; use ReadWriteMany to share weights between replicas on several nodes."
    )
    retain_cache_on_delete: bool = Field(
        True, description="Keep the cache PVC (and its downloaded weights) when the model is removed from the stack."
    )
    shm_size: PositiveQuantity = Field(
        "2Gi", description="Size of the memory-backed `/dev/shm` (tensor-parallel workers share tensors through it)."
    )
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the pods must match.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the pods tolerate, e.g. `nvidia.com/gpu`.")

    @field_validator("node_selector")
    @classmethod
    def _node_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return _labels(value)

    @model_validator(mode="after")
    def _startup_budget(self) -> DeploymentConfig:
        if self.startup_timeout_seconds <= self.initial_delay_seconds:
            raise ValueError(
                f"startup_timeout_seconds {self.startup_timeout_seconds} must be greater than "
                f"initial_delay_seconds {self.initial_delay_seconds}"
            )
        return self

    @property
    def cmdline(self) -> vllm_args.VllmCommandLine:
        """The vLLM command line read from `command` and `args` (validation has refused one that cannot be read)."""
        return vllm_args.parse(self.command, self.args)

    @property
    def fewest_replicas(self) -> int:
        """The replicas the model runs at the least: the autoscaler's minimum, else `replicas`."""
        return self.autoscaling_config.min_replicas if self.enable_autoscaling else self.replicas

    @property
    def most_replicas(self) -> int:
        """The replicas the model may run at the most: the autoscaler's maximum, else `replicas`."""
        return self.autoscaling_config.max_replicas if self.enable_autoscaling else self.replicas


class Limits(Strict):
    context: TokenCount | None = Field(
        None, description="Context length in tokens (`32768`, or `32k` as vLLM reads it); defaults to the model's context length."
    )
    max_output: TokenCount | None = Field(None, description="Most tokens of one answer; defaults to the model's `docs.max_output_tokens`.")
    requests_per_minute: Count | None = Field(None, ge=0, description="Requests per minute.")
    tokens_per_minute: Count | None = Field(None, ge=0, description="Tokens per minute, prompt and answer together.")
    concurrent_requests: Count | None = Field(None, ge=0, description="Requests in flight at once.")
    batch_queue: Count | None = Field(None, ge=0, description="Batch requests waiting in the queue at once.")


class LimitTier(Strict):
    name: DisplayName = Field(description="Tier name, the title of its limits table, e.g. `Free`.")
    default: Limits = Field(
        default_factory=Limits, description="Limits of every model in the tier that its entry's `docs.limits` does not set."
    )


class ModelDocs(Strict):
    """What the docs say about a model that its vLLM command cannot tell."""

    context_length: TokenCount | None = Field(
        None,
        description="Context length in tokens (`131072` or `128K`), for a command without `--max-model-len`; "
        "with one, the docs show the command's and this must equal it.",
    )
    max_output_tokens: TokenCount | None = Field(None, description="Most tokens of one answer, at most the context length.")
    vision: bool = Field(False, description="Whether the model reads images.")
    reasoning: bool = Field(False, description="Whether the model reasons before it answers.")
    best_for: OneLine = Field("", description="One line on what the model is best for, in the models comparison table.")
    limits: dict[str, Limits] = Field(
        default_factory=dict, description="Limits of this model per tier name of `model-fleet:docs.limit_tiers`, over the tier's `default`."
    )


class Routing(str, Enum):
    """How requests reach a model: AIBrix's gateway by the model's name label, an InferencePool
    behind an HTTPRoute (the Gateway API Inference Extension), or nothing this program declares."""

    aibrix = "aibrix"
    inference_pool = "inference-pool"
    none = "none"


# What a canary may set of the model's `deployment_config` (besides `huggingface_id`, the entry's).
CANARY_DEPLOYMENT_KEYS = ("image", "command", "args")


class Canary(Strict):
    """A second version of a model, deployed beside it under `<name>-<version>`, taking `weight`
    percent of the model's requests; what it does not set is the model's own."""

    version: Label = Field(description="Version suffix: the canary's objects are named `<name>-<version>`, e.g. `v2`.")
    weight: Count = Field(
        ge=0, le=FULL_WEIGHT, description="Percent of the model's requests the canary serves; the model's own version serves the rest."
    )
    huggingface_id: HuggingFaceId | None = Field(None, description="Hugging Face repository of the canary; defaults to the model's.")
    image: str | None = Field(
        None, min_length=1, description="Container image of the canary; defaults to the model's `deployment_config.image`."
    )
    command: list[str] | None = Field(
        None, min_length=1, description="Container command of the canary; defaults to the model's `deployment_config.command`."
    )
    args: list[str] | None = Field(
        None,
        description="Container arguments of the canary; defaults to the model's `deployment_config.args`. It serves the model's served name.",
    )

    @property
    def overrides(self) -> dict[str, Any]:
        """The `deployment_config` values the canary sets itself."""
        return {key: getattr(self, key) for key in CANARY_DEPLOYMENT_KEYS if getattr(self, key) is not None}


class ModelEntry(Strict):
    name: ModelName = Field(
        description="Model name: names every Kubernetes object (a DNS-1035 label, since it names the Service) and must equal `--served-model-name`."
    )
    display_name: DisplayName = Field(description="Human-readable name shown in the docs, e.g. `Qwen3 Coder 30B`.")
    description: str = Field("", description="What the model is for.")
    model_type: ModelType = Field(ModelType.chat, description="`chat`, `completion` or `embedding`: picks the API the snippets call.")
    huggingface_id: HuggingFaceId = Field(description="Hugging Face repository of the weights, `owner/name`.")
    requirements: Requirements = Field(description="Resources of one replica.")
    deployment_config: DeploymentConfig = Field(description="How the vLLM server runs.")
    tags: list[str] = Field(default_factory=list, description="Free-form tags, reported in the outputs.")
    is_public: bool = Field(False, description="Whether the model is offered to everyone, reported in the outputs.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels every object of the model carries besides model-fleet's own, e.g. `team: search` (the policy pack can require them).",
    )
    docs: ModelDocs = Field(
        default_factory=ModelDocs,
        description="Docs facts the vLLM command cannot tell; context length and tool calling come from the command.",
    )
    routing: Routing | None = Field(None, description="How requests reach this model; defaults to `model-fleet:routing.mode`.")
    canary: Canary | None = Field(
        None, description="A second version taking a share of the requests by weight; needs routing `inference-pool`."
    )

    @property
    def served_model_id(self) -> str:
        """The model ID clients send: what vLLM's command line serves it as (`--served-model-name`,
        else `--model`, else `huggingface_id`)."""
        return self.deployment_config.cmdline.model_id(self.huggingface_id)

    def canary_entry(self) -> ModelEntry | None:
        """The canary as an entry of its own, named `<name>-<version>`: the model's values with the
        canary's (its objects select only its pods, the model's only the model's)."""
        canary = self.canary
        if canary is None:
            return None
        return self.model_copy(
            update={
                "name": f"{self.name}-{canary.version}",
                "huggingface_id": canary.huggingface_id or self.huggingface_id,
                "deployment_config": self.deployment_config.model_copy(update=canary.overrides),
                "canary": None,
            }
        )

    @field_validator("labels")
    @classmethod
    def _team_labels(cls, value: dict[str, str]) -> dict[str, str]:
        own = sorted(set(value) & k8s_names.OWN_LABEL_KEYS)
        if own:
            raise ValueError(k8s_names.own_label_problem(own[0]))
        return _labels(value)


class DocsConfig(Strict):
    enabled: bool = Field(True, description="Regenerate the docs snippets and pages on every preview.")
    root: str = Field("docs", min_length=1, description="Docs tree, relative to the project or absolute (an external docs checkout).")
    api_base_url: str = Field("https://api.example.com/v1", description="OpenAI-compatible gateway URL the snippets call.")
    platform_name: str = Field("model-fleet", description="Platform named in snippet comments and the API key prompt.")
    limit_tiers: list[LimitTier] = Field(
        default_factory=list,
        description="Pricing tiers: one limits table each in `.snippets/text/get-started/rate-limit.md`; none, no such file.",
    )

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return base_url(value)

    @field_validator("platform_name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not (PLATFORM_NAME.fullmatch(value) and value.isprintable()):
            raise ValueError(f"{value!r} may hold only letters, digits, spaces, '.', '-' and '_'")
        return value

    @field_validator("limit_tiers")
    @classmethod
    def _tiers_once(cls, value: list[LimitTier]) -> list[LimitTier]:
        first: dict[str, int] = {}
        for i, tier in enumerate(value):
            if tier.name.casefold() in first:
                raise ValueError(
                    f"tier name '{tier.name}' of limit_tiers[{i}] is already used by limit_tiers[{first[tier.name.casefold()]}]"
                )
            first[tier.name.casefold()] = i
        return value


class GPUNode(Strict):
    node_name: str = Field(min_length=1, description="Node name.")
    gpu_count: Count = Field(ge=0, le=MAX_GPUS_PER_REPLICA, description="GPUs on the node.")
    gpu_type: str = Field("", description="GPU product, e.g. `nvidia-a100`.")
    total_vram: NonNegativeQuantity = Field(description="Memory of all the node's GPUs together, e.g. `80Gi` for 2 x 40Gi.")
    available_vram: NonNegativeQuantity | None = Field(None, description="Informational; defaults to `total_vram`.")


class ClusterInventory(Strict):
    total_nodes: Count | None = Field(None, ge=0, description="Nodes in the cluster; defaults to the number of GPU nodes.")
    gpu_nodes: list[GPUNode] = Field(default_factory=list, description="GPU nodes, as the status command reports them.")
    crds: list[str] = Field(default_factory=list, description="Installed CRDs, e.g. `podautoscalers.autoscaling.aibrix.ai`.")


class KubernetesConfig(Strict):
    kubeconfig: str | None = Field(
        None,
        description="Path to a kubeconfig (`~` expanded, relative to the project); set it or `context` to deploy to and read a live cluster.",
    )
    context: str | None = Field(None, description="kubeconfig context to use.")
    render_yaml_to_directory: str | None = Field(
        None, description="Write manifests to this directory instead of applying them (no cluster needed)."
    )
    create_namespace: bool = Field(True, description="Declare the namespace (kept when the stack is destroyed).")

    @field_validator("render_yaml_to_directory")
    @classmethod
    def _names_a_directory(cls, value: str | None) -> str | None:
        # An empty value would mean render mode to some readers and not to others.
        if value is not None and not value.strip():
            raise ValueError("must name a directory; remove the key to apply to a cluster")
        return value

    @property
    def kubeconfig_path(self) -> str | None:
        return os.path.expanduser(self.kubeconfig) if self.kubeconfig else None

    @property
    def live(self) -> bool:
        return self.render_yaml_to_directory is None and (self.kubeconfig is not None or self.context is not None)


class MonitoringConfig(Strict):
    service_monitor_labels: dict[str, str] = Field(
        default_factory=dict, description="Extra ServiceMonitor labels; kube-prometheus-stack selects on `release`."
    )
    scrape_interval: Duration = Field("30s", description="How often Prometheus scrapes `/metrics`.")

    @field_validator("service_monitor_labels")
    @classmethod
    def _monitor_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return _labels(value)


class EndpointPicker(Strict):
    service: Annotated[str, _rule(k8s_names.is_dns1035_label, k8s_names.DNS1035_LABEL_RULE)] = Field(
        description="Service of the endpoint picker (the extension's EPP) in the models' namespace: each InferencePool's `endpointPickerRef`."
    )
    port: Count = Field(ge=1, le=65535, description="Port of the endpoint picker's Service (the extension's default is 9002).")
    failure_mode: Literal["FailOpen", "FailClose"] = Field(
        "FailClose",
        description="When the picker does not answer: `FailClose` refuses the request, `FailOpen` sends it to any pod of the pool.",
    )


class GatewayRef(Strict):
    name: Annotated[str, _rule(k8s_names.is_dns1123_subdomain, k8s_names.DNS1123_SUBDOMAIN_RULE)] = Field(
        description="Gateway every model's HTTPRoute attaches to."
    )
    namespace: Label | None = Field(None, description="Namespace of the Gateway; defaults to the models' namespace.")
    section_name: Annotated[str, _rule(k8s_names.is_dns1123_subdomain, k8s_names.DNS1123_SUBDOMAIN_RULE)] | None = Field(
        None, description="Listener of the Gateway the routes attach to; unset attaches to every listener that allows them."
    )


class RoutingConfig(Strict):
    mode: Routing = Field(
        Routing.aibrix,
        description="`aibrix`: AIBrix's gateway routes by the model name label, nothing declared (the preflight requires the AIBrix "
        "and Envoy Gateway CRDs, as the deployment API does); `inference-pool`: an InferencePool "
        "and an HTTPRoute per model; `none`: no routing declared. A model entry's `routing` overrides it.",
    )
    endpoint_picker: EndpointPicker | None = Field(
        None, description="The endpoint picker every InferencePool names; needed by `inference-pool`."
    )
    gateway: GatewayRef | None = Field(None, description="The Gateway every HTTPRoute attaches to; needed by `inference-pool`.")


class StackSpec(Strict):
    namespace: Label = Field("jan-models", description="Namespace of every model.")
    models: list[ModelEntry] = Field(default_factory=list, description="The model entries.")
    docs: DocsConfig = Field(default_factory=DocsConfig, description="Docs generation.")
    cluster: ClusterInventory | None = Field(None, description="Cluster facts for the preflight when no live cluster is read.")
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig, description="How to reach the cluster.")
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig, description="Prometheus scraping.")
    routing: RoutingConfig = Field(default_factory=RoutingConfig, description="How requests reach the models.")

    def routing_of(self, entry: ModelEntry) -> Routing:
        """The entry's own routing, else the stack's."""
        return entry.routing if entry.routing is not None else self.routing.mode
