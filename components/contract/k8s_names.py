"""The names Kubernetes accepts, by kind, and the object names derived from a model's name.

The API server checks a Service name against DNS-1035 (it must start with a letter), most
other names against DNS-1123, and label keys and values against their own rules. Checking
them here turns an apply-time rejection into a validation problem with the entry's name.
"""

from __future__ import annotations

import re

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

# The labels every object of a model carries (manifests/labels.py gives their values). The AIBrix
# gateway routes by the model name label; selectors read it and the managed label.
MODEL_NAME_LABEL = "model.aibrix.ai/name"
MODEL_PORT_LABEL = "model.aibrix.ai/port"
MODEL_ENGINE_LABEL = "model.aibrix.ai/engine"
MANAGED_LABEL = "jan-server.menlo.ai/managed"
APP_LABELS = tuple(f"app.kubernetes.io/{key}" for key in ("name", "instance", "component", "part-of", "managed-by"))
# On a cache claim: whether `pulumi destroy` and removing the model leave it in the cluster (the
# resource option retainOnDelete, which the engine does not show policy packs, written where they see it).
RETAIN_ON_DELETE_ANNOTATION = "jan-server.menlo.ai/retain-on-delete"
# Other labels (the ServiceMonitor's, a team's) may not override these.
OWN_LABEL_KEYS = frozenset({MODEL_NAME_LABEL, MODEL_PORT_LABEL, MODEL_ENGINE_LABEL, MANAGED_LABEL, *APP_LABELS})

DNS1123_LABEL_RULE = (
    "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
)
DNS1035_LABEL_RULE = (
    "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters"
)
DNS1123_SUBDOMAIN_RULE = (
    "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', each part starting and ending with a "
    "letter or digit, at most 253 characters"
)
LABEL_VALUE_RULE = "a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
LABEL_KEY_RULE = "a label key: an optional DNS-1123 subdomain prefix and '/', then a label value that is not empty"

CACHE_CLAIM_SUFFIX = "-hf-cache"
TOKEN_SECRET_SUFFIX = "-hf-token"
ENV_SECRET_SUFFIX = "-env"


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and _DNS1123_LABEL.fullmatch(value) is not None


def is_dns1035_label(value: str) -> bool:
    return len(value) <= 63 and _DNS1035_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def own_label_problem(key: str) -> str:
    """Why another label (a ServiceMonitor's, a team's) may not be one of OWN_LABEL_KEYS."""
    return f"'{key}' is a label model-fleet sets on every object of a model (selectors and the gateway read it); remove it"


def is_label_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and _LABEL_NAME.fullmatch(value) is not None)


def is_label_key(value: str) -> bool:
    prefix, _, name = value.rpartition("/")
    if "/" in value and not is_dns1123_subdomain(prefix):
        return False
    return name != "" and is_label_value(name)


# The rule the API server applies to the name of each kind a model declares.
NAME_RULES = {
    "Deployment": (is_dns1123_subdomain, DNS1123_SUBDOMAIN_RULE),
    "Service": (is_dns1035_label, DNS1035_LABEL_RULE),
    "ServiceMonitor": (is_dns1123_subdomain, DNS1123_SUBDOMAIN_RULE),
    "PodAutoscaler": (is_dns1123_subdomain, DNS1123_SUBDOMAIN_RULE),
    "PersistentVolumeClaim": (is_dns1123_subdomain, DNS1123_SUBDOMAIN_RULE),
    "Secret": (is_dns1123_subdomain, DNS1123_SUBDOMAIN_RULE),
    # The model's name is also the value of its labels, which the selectors match.
    "label value": (is_label_value, LABEL_VALUE_RULE),
}


def cache_claim_name(model: str) -> str:
    return model + CACHE_CLAIM_SUFFIX


def token_secret_name(model: str) -> str:
    return model + TOKEN_SECRET_SUFFIX


def env_secret_name(model: str) -> str:
    return model + ENV_SECRET_SUFFIX


def derived_names(model: str) -> list[tuple[str, str]]:
    """(kind, name) of every object and label a model named `model` may declare."""
    # The strictest rule first, so a bad name is reported by the rule that explains it.
    return [
        ("Service", model),
        ("Deployment", model),
        ("ServiceMonitor", model),
        ("PodAutoscaler", model),
        ("PersistentVolumeClaim", cache_claim_name(model)),
        ("Secret", token_secret_name(model)),
        ("Secret", env_secret_name(model)),
        ("label value", model),
    ]


def model_name_problem(model: str) -> str | None:
    """Why `model` cannot name a model's objects, or None when every derived name is accepted."""
    for kind, name in derived_names(model):
        accepts, rule = NAME_RULES[kind]
        if not accepts(name):
            named = repr(name) if name == model else f"{name!r} (derived from {model!r})"
            what = "a label value" if kind == "label value" else f"a {kind}"
            return f"{named} cannot name {what}: it must be {rule}"
    return None
