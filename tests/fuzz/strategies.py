"""Generated stack configs for the fuzz tier and the fuzz benchmark, and the properties each one must keep.

Every case is a raw `model-fleet:*` mapping built with harness.factories:

- valid_cases: what the docs read, varied within the contract: names, display names (printable,
  markup and shell text included), model types, how vLLM is told the model ID, base URL,
  platform name, autoscaling and cache settings, with or without a cluster inventory;
- broken_cases: a valid case with one mutation from MUTATIONS (the classes of issue 8 among them);
- slipped_cases: a valid case whose loaded spec is then given hostile values, as if validation had
  let them through: escaping in the templates alone must keep each snippet's meaning;
- tampered_cases: a valid case whose docs tree is tampered with after a first run (the record of
  generated files edited to point elsewhere) or before it (a snippet folder that is a symlink).

check(case) runs a case through the project's entry points, `components.contract.config` and
`docsgen.writer` on a temporary docs root, runs every generated snippet with curl, jq, sleep and
the openai package replaced by recorders, and returns the findings. The test tier asserts there
are none; tests/fuzz/campaign.py counts them over a long campaign.
"""

from __future__ import annotations

import atexit
import copy
import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from components.contract import config
from components.contract.problems import ProblemsFound
from docsgen import writer
from harness.factories import DELETE, INVENTORY, entry, set_path, stack

# Every injection payload tries to create this file in the snippet's working directory.
PWNED = "fuzz-pwned"
API_KEY = "sk-fuzz-0123456789"
# Where the handbook (docs-generator.md) says the generated files live, relative to the docs root.
SNIPPETS = Path(".snippets/code/get-started/start-building")
INCLUDE_BASE = "code/get-started/start-building"
PAGES = Path("get-started/start-building")
MODELS_PAGE = Path("get-started/models.md")
RECORD = SNIPPETS / ".model-fleet-generated.json"
# What each model type calls, relative to the base URL (the real-time curl) and on the client (Python).
REAL_TIME_PATHS = {"chat": "/chat/completions", "completion": "/completions", "embedding": "/embeddings"}
CLIENT_APIS = {"chat": "chat.completions", "completion": "completions", "embedding": "embeddings"}
BATCH_FILE = "my_batch_request.jsonl"
SNIPPET_TIMEOUT = 20
DEFAULT_BASE_URL = "https://api.example.com/v1"
VLLM_SERVER = "python3 -m vllm.entrypoints.openai.api_server --host 0.0.0.0 --port 8000"

SHELL_CODE = [
    f"'; touch {PWNED}; echo '",
    f'"; touch {PWNED}; echo "',
    f";touch {PWNED};",
    f"$(touch {PWNED})",
    f"`touch {PWNED}`",
    f";{{touch,{PWNED}}};#",
    f"&touch {PWNED}&",
    f"|touch {PWNED}",
    f">{PWNED}",
    f"\ntouch {PWNED}\n",
    f"\rtouch {PWNED}\r",
    f"'\"$(touch {PWNED})\"'",
]
PYTHON_CODE = [
    f"\" + __import__('os').system('touch {PWNED}') + \"",
    f"' + __import__('os').system('touch {PWNED}') + '",
    f'""" + open("{PWNED}", "w").name + """',
    f"\nopen('{PWNED}', 'w')\n",
    f"\ropen('{PWNED}', 'w')\r",
    f"{{open('{PWNED}', 'w')}}",
    "\\",
]
JSON_BREAK = ['", "model": "other', '\\"', "\\u0022", "}'"]
PAYLOADS = SHELL_CODE + PYTHON_CODE + JSON_BREAK
# Characters with a meaning to bash, Python, JSON or Markdown, none of which a base URL may hold;
# NUL is left out: no argv can hold it.
METACHARACTERS = "'\"`$\\;&|<>(){}[]*?!#\n\r\t \u2028\x0b\x0c\x85"


# --- cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """One way to break a valid stack; `apply` edits the case and returns the fields a problem must name."""

    kind: str
    scope: str  # "entry", "stack" or "file"
    apply: Callable[[Any, Case], tuple[str, ...]]
    must_reject: bool = True  # False: refusing is fine, but when the stack loads its docs must stay safe
    needs: int = 0  # model entries the valid base must have


@dataclass
class Case:
    raw: dict
    model_ids: dict[str, str]  # what clients must send for each model, by name
    via_file: bool = False  # write Pulumi.dev.yaml and load it as the commands do
    mutation: Mutation | None = None
    index: int | None = None  # the entry a problem must name
    fields: tuple[str, ...] = ()  # a problem must name one of these
    file_prefix: bytes = b""  # bytes put before the stack file's YAML
    slip: dict[str, str] = field(default_factory=dict)  # spec field -> hostile value set after validation
    # ("record-escape", paths added to the record), ("record-garbage", the record's text) or ("symlink", None)
    tamper: tuple[str, Any] | None = None

    def describe(self) -> str:
        lines = []
        if self.mutation:
            where = f" at models[{self.index}]" if self.index is not None else ""
            lines.append(f"mutation: {self.mutation.kind}{where} (a problem must name one of {list(self.fields)})")
        if self.via_file:
            lines.append(f"loaded from Pulumi.dev.yaml{f' starting with {self.file_prefix!r}' if self.file_prefix else ''}")
        if self.slip:
            lines.append(f"set after validation: {self.slip!r}")
        if self.tamper:
            lines.append(f"docs tree tampered: {self.tamper!r}")
        stack_yaml = yaml.dump({f"model-fleet:{k}": v for k, v in self.raw.items()}, Dumper=_PlainDumper, sort_keys=False, width=200)
        lines.append("stack config:\n  " + stack_yaml.rstrip("\n").replace("\n", "\n  "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Case(\n" + self.describe() + "\n)"

    def _repr_pretty_(self, printer, cycle) -> None:  # how hypothesis prints a falsifying example
        printer.text(repr(self))


class _PlainDumper(yaml.SafeDumper):
    """Writes a reproducer to read and paste into a stack file: shared values in full, and strings
    holding a newline or another unprintable character double-quoted, with escapes."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=None if data.isprintable() else '"')


_PlainDumper.add_representer(str, _PlainDumper.represent_str)


def _get(target: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(target, dict):
            return None
        target = target.get(key)
    return target


def _entry(case: Case, index: int | None = None) -> dict:
    return case.raw["models"][case.index if index is None else index]


# --- valid values ------------------------------------------------------------------------

names = st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
huggingface_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}(/[A-Za-z0-9][A-Za-z0-9._-]{0,24})?", fullmatch=True)
namespaces = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
# Printable one-line titles that the docs must carry safely: markup, shell and Python text included.
MARKUP_TITLES = [
    "<script>alert(1)</script>",
    "A & B <i>beta</i>",
    "--8<-- 'x.py'",
    "??? example",
    "## Quickstart snippets",
    "### CLI",
    "```",
    f"$(touch {PWNED})",
    f"`touch {PWNED}`",
    f"'; touch {PWNED}; '",
    "{{ m.model_id }}",
    "{% raw %}",
    "x\\",
    "# not a comment",
    "Qwen3 Coder 30B",
]
display_names = st.one_of(
    st.sampled_from(MARKUP_TITLES),
    st.text(
        st.characters(categories=["L", "M", "N", "P", "S"], include_characters=" ", exclude_characters='"'),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool),
)
platform_names = (
    st.text(st.characters(categories=["Lu", "Ll", "Nd"], include_characters=" .-_"), min_size=1, max_size=24).map(str.strip).filter(bool)
)
descriptions = st.one_of(st.text(max_size=40), st.sampled_from(PAYLOADS))
QUANTITY_VALUES = {
    "requirements.cpu": ["500m", "2", "2000m", "0.5"],
    "requirements.memory": ["512Mi", "16Gi", "1G"],
    "deployment_config.pvc_size": ["10Gi", "100Gi", "1Ti"],
    "deployment_config.shm_size": ["512Mi", "2Gi", "8Gi"],
}
TOLERATIONS = [
    [],
    [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoExecute"}],
    [{"operator": "Exists"}],
]


@st.composite
def base_urls(draw, mixed_case: bool = True) -> str:
    """http(s) base URLs; `mixed_case` lets host names have capitals (hosts are case-insensitive)."""
    scheme = draw(st.sampled_from(["http", "https"]))
    label = "[A-Za-z0-9]([-A-Za-z0-9]{0,10}[A-Za-z0-9])?" if mixed_case else "[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?"
    host = draw(
        st.one_of(
            st.from_regex(rf"{label}(\.{label}){{0,2}}", fullmatch=True),
            st.sampled_from(["localhost", "127.0.0.1", "10.0.0.7", "[::1]"]),
        )
    )
    port = draw(st.none() | st.integers(1, 65535))
    path = draw(st.lists(st.from_regex(r"[A-Za-z0-9._~-]{1,8}", fullmatch=True), max_size=3))
    trailing = "/" if draw(st.booleans()) else ""
    return f"{scheme}://{host}{f':{port}' if port else ''}" + "".join("/" + p for p in path) + trailing


# How vLLM is told the model ID, and the ID clients then send (docs-generator.md: served name, else --model, else HF ID).
LAUNCHERS = ("served", "served-equals", "served-repeated", "model-only", "positional", "none")


def launch(launcher: str, name: str, huggingface_id: str) -> tuple[list[str], list[str], str]:
    """(command, args, model ID clients send) of a vLLM server started the `launcher` way."""
    if launcher == "served":
        return ["sh"], ["-c", f"{VLLM_SERVER} --model {huggingface_id} --served-model-name {name}"], name
    if launcher == "served-equals":
        return ["vllm", "serve", huggingface_id], [f"--served-model-name={name}", "--port", "8000"], name
    if launcher == "served-repeated":  # vLLM keeps the last value
        return ["sh"], ["-c", f"{VLLM_SERVER} --served-model-name draft --model {huggingface_id} --served-model-name {name}"], name
    if launcher == "model-only":
        return ["sh"], ["-c", f"{VLLM_SERVER} --model {huggingface_id}"], huggingface_id
    if launcher == "positional":
        return ["vllm", "serve", huggingface_id], ["--port", "8000"], huggingface_id
    return ["sh"], ["-c", VLLM_SERVER], huggingface_id


@st.composite
def model_entries(draw, name: str, display_name: str, inventory: bool) -> tuple[dict, str]:
    """A valid entry and the model ID its snippets must send. With the inventory's 3 GPUs
    (nodes of 2 and 1), each model needs at most one GPU at its minimum scale."""
    huggingface_id = draw(huggingface_ids)
    launcher = draw(st.sampled_from(LAUNCHERS))
    command, args, model_id = launch(launcher, name, huggingface_id)
    autoscaling = launcher.startswith("served") and draw(st.booleans())
    gpus = draw(st.integers(0, 1 if inventory else 2))
    floor = 1 if inventory and gpus else 3
    replicas = draw(st.integers(0, floor))
    min_replicas = draw(st.integers(0, min(floor, 2)))
    max_replicas = draw(st.integers(max(min_replicas, 1), 8))
    pvc = draw(st.booleans())
    several = autoscaling or replicas > 1
    modes = ["ReadWriteOnce", "ReadWriteMany"] + ([] if pvc and several else ["ReadWriteOncePod"])
    initial_delay = draw(st.integers(0, 900))
    gpu = (
        {"min_vram": draw(st.sampled_from(["0", "16Gi", "24Gi", "40Gi"])), "min_gpus": 1, "max_gpus": draw(st.integers(gpus, 2))}
        if gpus
        else DELETE
    )
    overrides = {
        "display_name": display_name,
        "description": draw(descriptions),
        "model_type": draw(st.sampled_from(sorted(REAL_TIME_PATHS))),
        "huggingface_id": huggingface_id,
        "tags": draw(st.lists(st.text(max_size=10), max_size=3)),
        "is_public": draw(st.booleans()),
        "requirements.gpu": gpu,
        "deployment_config.command": command,
        "deployment_config.args": args,
        "deployment_config.image_pull_policy": draw(st.sampled_from(["Always", "IfNotPresent", "Never"])),
        "deployment_config.gpu_count": gpus,
        "deployment_config.initial_delay_seconds": initial_delay,
        "deployment_config.startup_timeout_seconds": initial_delay + draw(st.integers(60, 3600)),
        "deployment_config.enable_autoscaling": autoscaling,
        "deployment_config.autoscaling_config": {
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "target_metric": draw(st.sampled_from(["num_requests_running", "gpu_cache_usage_perc"])),
            "target_value": draw(st.sampled_from(["40", "0.5", "100", "1e2"])),
            "scale_down_delay": draw(st.sampled_from(["3m", "30s", "1h", "2m30s"])),
            "scaling_strategy": draw(st.sampled_from(["KPA", "APA", "HPA"])),
        },
        "deployment_config.replicas": replicas,
        "deployment_config.enable_pvc": pvc,
        "deployment_config.pvc_access_mode": draw(st.sampled_from(modes)),
        "deployment_config.retain_cache_on_delete": draw(st.booleans()),
        "deployment_config.tolerations": copy.deepcopy(draw(st.sampled_from(TOLERATIONS))),
        **{path: draw(st.sampled_from(values)) for path, values in QUANTITY_VALUES.items()},
    }
    return entry(name, **overrides), model_id


@st.composite
def valid_cases(draw, min_models: int = 0, max_models: int = 3, mixed_case_hosts: bool = True) -> Case:
    """Valid stacks; the other strategies build on them with `mixed_case_hosts=False`, so that one
    refused host name cannot hide what they look for."""
    # The stack's sections first and the models last, so that shrinking drops models cleanly.
    inventory = draw(st.booleans())
    sections: dict[str, Any] = {"cluster": copy.deepcopy(INVENTORY) if inventory else DELETE}
    if draw(st.booleans()):
        sections["namespace"] = draw(namespaces)
    docs = {}
    if draw(st.booleans()):
        docs["api_base_url"] = draw(base_urls(mixed_case_hosts))
    if draw(st.booleans()):
        docs["platform_name"] = draw(platform_names)
    if docs:
        sections["docs"] = docs
    if draw(st.booleans()):
        sections["monitoring"] = {
            "scrape_interval": draw(st.sampled_from(["30s", "15s", "1m", "1h30m"])),
            "service_monitor_labels": draw(st.sampled_from([{}, {"release": "kube-prometheus-stack"}])),
        }
    via_file = draw(st.booleans())
    count = draw(st.integers(min_models, max(min_models, max_models)))
    model_names = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    titles = draw(st.lists(display_names, min_size=count, max_size=count, unique_by=str.casefold))
    entries, model_ids = [], {}
    for name, title in zip(model_names, titles, strict=True):
        raw_entry, model_ids[name] = draw(model_entries(name, title, inventory))
        entries.append(raw_entry)
    return Case(stack(models=entries, **sections), model_ids, via_file=via_file)


# --- mutations ---------------------------------------------------------------------------

MUTATIONS: list[Mutation] = []


def mutation(kind: str, scope: str = "entry", *, must_reject: bool = True, needs: int | None = None):
    def register(apply: Callable[[Any, Case], tuple[str, ...]]) -> Callable:
        MUTATIONS.append(Mutation(kind, scope, apply, must_reject, needs if needs is not None else int(scope == "entry")))
        return apply

    return register


def setting(kind: str, choices: list[tuple[str, Any]], scope: str = "entry", *, must_reject: bool = True) -> None:
    """A mutation that sets one (path, value) of `choices`; a callable value gets the current one."""

    def apply(draw, case: Case) -> tuple[str, ...]:
        path, value = draw(st.sampled_from(choices))
        target = _entry(case) if scope == "entry" else case.raw
        if callable(value):
            value = value(_get(target, path))
        if value is not DELETE:
            value = copy.deepcopy(value)
        set_path(target, path, value)
        return (path,)

    MUTATIONS.append(Mutation(kind, scope, apply, must_reject, int(scope == "entry")))


def _each(paths: list[str], values: list[Any]) -> list[tuple[str, Any]]:
    return [(path, value) for path in paths for value in values]


COUNTS = [
    "deployment_config.gpu_count",
    "deployment_config.replicas",
    "deployment_config.initial_delay_seconds",
    "deployment_config.startup_timeout_seconds",
    "deployment_config.autoscaling_config.min_replicas",
    "deployment_config.autoscaling_config.max_replicas",
    "requirements.gpu.min_gpus",
    "requirements.gpu.max_gpus",
]
QUANTITIES = list(QUANTITY_VALUES)
DEFAULTS = {
    "namespace": "jan-models",
    "docs.api_base_url": DEFAULT_BASE_URL,
    "docs.platform_name": "model-fleet",
    "monitoring.scrape_interval": "30s",
}

# Issue 8.2: a trailing newline passed `re.match(...$)`.
setting(
    "entry value with a trailing newline",
    [
        ("name", lambda name: name + "\n"),
        ("huggingface_id", lambda huggingface_id: huggingface_id + "\n"),
        ("deployment_config.autoscaling_config.scale_down_delay", "3m\n"),
        ("requirements.cpu", "2\n"),
        ("requirements.memory", "16Gi\n"),
    ],
)
setting(
    "stack value with a trailing newline",
    [(path, lambda value, path=path: (value or DEFAULTS[path]) + "\n") for path in DEFAULTS],
    scope="stack",
)
# Issue 8.5: names Kubernetes refuses for one of the kinds a model declares.
setting(
    "name Kubernetes refuses",
    [
        ("name", lambda name: "9" + name[:62]),
        ("name", lambda name: name.upper()),
        ("name", lambda name: name + "-" + "a" * max(1, 63 - len(name))),
        ("name", ""),
        ("name", "a_b"),
        ("name", "a.b"),
        ("name", "../x"),
        ("name", "a/b"),
        ("name", 7),
        ("name", None),
        ("name", True),
    ],
)


# Issue 8.3: line separators and control characters in display names; empty ones.
@mutation("display name with a line separator or control character")
def _display_name_control(draw, case: Case) -> tuple[str, ...]:
    title = _entry(case)["display_name"]
    at = draw(st.integers(0, len(title)))
    char = draw(st.sampled_from(["\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x00", "\n", "\r", "\t", "\x1b", "\u200e"]))
    _entry(case)["display_name"] = title[:at] + char + title[at:]
    return ("display_name",)


setting("display name empty or not a string", [("display_name", v) for v in ["", " ", "\u00a0", 5, ["x"], None]])
setting(
    "display name with a double quote", [("display_name", lambda t: t + ' "x"'), ("display_name", lambda t: '"' + t)], must_reject=False
)


@mutation("display name used twice", needs=2)
def _display_name_twice(draw, case: Case) -> tuple[str, ...]:
    count = len(case.raw["models"])
    i, j = draw(st.lists(st.integers(0, count - 1), min_size=2, max_size=2, unique=True))
    _entry(case, i)["display_name"] = _entry(case, j)["display_name"]
    case.index = max(i, j)  # reported on the later entry, like a repeated name
    return ("display_name",)


@mutation("display name used twice, differing in case", needs=2, must_reject=False)
def _display_name_twice_case(draw, case: Case) -> tuple[str, ...]:
    count = len(case.raw["models"])
    i, j = draw(st.lists(st.integers(0, count - 1), min_size=2, max_size=2, unique=True))
    title = _entry(case, j)["display_name"]
    _entry(case, i)["display_name"] = title.upper() if title.upper().casefold() == title.casefold() else title
    case.index = max(i, j)
    return ("display_name",)


def _serve_as_huggingface_id(case: Case, huggingface_id: str) -> None:
    """No --served-model-name and no --model: clients call the model by its Hugging Face ID."""
    target = _entry(case)
    command, args, model_id = launch("none", target["name"], huggingface_id)
    target["huggingface_id"] = huggingface_id
    target["deployment_config"].update(command=command, args=args, enable_autoscaling=False)
    case.model_ids[target["name"]] = model_id


def hostile(prefix: str, *, spaces: bool = True) -> st.SearchStrategy[str]:
    """`prefix` followed by code for bash, Python or JSON, or by text with at least one metacharacter."""
    payloads = [p for p in PAYLOADS if spaces or not any(c.isspace() for c in p)]
    alphabet = METACHARACTERS if spaces else "".join(c for c in METACHARACTERS if not c.isspace())
    return st.one_of(
        st.sampled_from(payloads).map(lambda p: prefix + p),
        st.text(alphabet + "ab", min_size=1, max_size=10).filter(lambda t: set(t) & set(alphabet)).map(lambda t: prefix + t),
    )


# Issue 8.1: code in the model ID the snippets send.
@mutation("code in huggingface_id, the model ID the snippets send")
def _code_in_model_id(draw, case: Case) -> tuple[str, ...]:
    _serve_as_huggingface_id(case, draw(hostile("org/x")))
    return ("huggingface_id", "deployment_config.args")


@mutation("code in huggingface_id while --served-model-name names the model", must_reject=False)
def _code_in_unused_huggingface_id(draw, case: Case) -> tuple[str, ...]:
    _entry(case)["huggingface_id"] = draw(hostile("org/x"))
    return ("huggingface_id",)


@mutation("code in --model, the model ID the snippets send")
def _code_in_model_flag(draw, case: Case) -> tuple[str, ...]:
    target = _entry(case)
    model_id = draw(hostile("org/x", spaces=False))
    # The api_server module: `vllm serve` refuses --model.
    command = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    target["deployment_config"].update(command=command, args=["--model", model_id, "--port", "8000"], enable_autoscaling=False)
    case.model_ids[target["name"]] = model_id
    return ("deployment_config.args",)


# Issue 8.7: a --served-model-name that is present must equal the name, autoscaling or not.
@mutation("--served-model-name differs from the name")
def _served_name_differs(draw, case: Case) -> tuple[str, ...]:
    target = _entry(case)
    other = draw(st.one_of(names, hostile("x", spaces=False)).filter(lambda n: n != target["name"]))
    target["deployment_config"].update(
        command=["sh"],
        args=["-c", f"{VLLM_SERVER} --model {target['huggingface_id']} --served-model-name {other}"],
        enable_autoscaling=False,
    )
    return ("deployment_config.args",)


@mutation("model ID with white space in one argument of an exec-form command")
def _model_id_with_space(draw, case: Case) -> tuple[str, ...]:
    """No shell splits `[vllm, serve, ..., "--served-model-name", "m\\n"]`: vLLM serves "m\\n", clients call "m"."""
    target = _entry(case)
    served = target["name"] + draw(st.sampled_from(["\n", " ", "\t", " extra", "\r\n"]))
    flags = draw(st.sampled_from([["--served-model-name", served], [f"--served-model-name={served}"]]))
    target["deployment_config"].update(command=["vllm", "serve", target["huggingface_id"]], args=[*flags, "--port", "8000"])
    return ("deployment_config.args",)


@mutation("vLLM --port is not 8000")
def _other_port(draw, case: Case) -> tuple[str, ...]:
    """The flag where vLLM reads it: in the shell script, or as an argument of an exec-form command."""
    config = _entry(case)["deployment_config"]
    if config["command"] == ["sh"]:
        config["args"] = ["-c", f"{config['args'][1]} --port 8080"]
    else:
        config["args"] = [*config["args"], draw(st.sampled_from(["--port=80", "--port=8080"]))]
    return ("deployment_config.args",)


# Issue 8.8: values that pass validation but fail at apply.
setting("quantity zero or negative", _each(QUANTITIES, ["0", "-1", "-500m", "0Gi", "-16Gi", "0.0"]))
setting(
    "quantity that is not a finite number", _each(QUANTITIES + ["requirements.gpu.min_vram"], ["inf", "Infinity", "NaN", "nan", "-inf"])
)
setting(
    "not a Kubernetes quantity",
    _each(QUANTITIES + ["requirements.gpu.min_vram"], ["2 Gi", "16GB", "", " 2", "2Gi "]) + [("requirements.gpu.min_vram", "-24Gi")],
)
setting("boolean where a count belongs", _each(COUNTS, [True, False]))
setting("absurdly large count", _each(COUNTS, [10**7, 2**31, 2**63, 10**30]))
setting("negative, fractional or non-numeric count", _each(COUNTS, [-1, 1.5, "many", [1]]))
setting(
    "target_value not a finite number above 0",
    [
        ("deployment_config.autoscaling_config.target_value", v)
        for v in ["inf", "Infinity", "-inf", "1e400", "nan", "0", "-1", "", "forty", 40]
    ],
)
setting(
    "scale_down_delay not a duration",
    [("deployment_config.autoscaling_config.scale_down_delay", v) for v in ["3 m", "3", "-3m", "m", "", "3m;", 180]],
)
setting(
    "toleration Kubernetes refuses",
    [
        ("deployment_config.tolerations", [{"key": "nvidia.com/gpu", "operator": "Exists", "value": "present"}]),
        ("deployment_config.tolerations", [{"operator": "Exists", "value": "x", "effect": "NoSchedule"}]),
        ("deployment_config.tolerations", [{"operator": "exists"}]),
        ("deployment_config.tolerations", [{"key": "k", "effect": "NoRun"}]),
        ("deployment_config.tolerations", [{"operator": "Equal", "value": "x"}]),
    ],
)
setting(
    "extra_env Kubernetes refuses",
    [
        ("deployment_config.extra_env", [{"name": "1X", "value": "a"}]),
        ("deployment_config.extra_env", [{"name": "A B", "value": "a"}]),
        ("deployment_config.extra_env", [{"name": "", "value": "a"}]),
        ("deployment_config.extra_env", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
    ],
)
setting(
    "node_selector Kubernetes refuses",
    [("deployment_config.node_selector", v) for v in [{"a b": "x"}, {"k": "v v"}, {"k": "x\n"}, {"": "x"}]],
)


@mutation("ReadWriteOncePod cache claim for several pods")
def _one_pod_claim(draw, case: Case) -> tuple[str, ...]:
    _entry(case)["deployment_config"].update(
        enable_pvc=True, pvc_access_mode="ReadWriteOncePod", enable_autoscaling=False, replicas=draw(st.integers(2, 3))
    )
    return ("deployment_config.pvc_access_mode", "deployment_config.replicas")


# Issue 8.6: the pod's GPUs must fit on one node of the inventory.
@mutation("gpu_count beyond the largest node")
def _gpu_count_beyond_node(draw, case: Case) -> tuple[str, ...]:
    case.raw["cluster"] = copy.deepcopy(INVENTORY)
    target = _entry(case)
    target["requirements"]["gpu"] = {"min_gpus": 1, "max_gpus": 4, "min_vram": "24Gi"}
    target["deployment_config"]["gpu_count"] = draw(st.sampled_from([3, 4]))
    return ("deployment_config.gpu_count", "requirements.gpu")


@mutation("min_gpus beyond every node")
def _min_gpus_beyond_nodes(draw, case: Case) -> tuple[str, ...]:
    case.raw["cluster"] = copy.deepcopy(INVENTORY)
    gpus = draw(st.sampled_from([3, 4, 8]))
    target = _entry(case)
    target["requirements"]["gpu"] = {"min_gpus": gpus, "max_gpus": gpus, "min_vram": "24Gi"}
    target["deployment_config"]["gpu_count"] = gpus
    return ("requirements.gpu", "deployment_config.gpu_count")


setting(
    "unknown key",
    [
        (path, 1)
        for path in [
            "foo",
            "displayname",
            "served_model_name",
            "requirements.gpus",
            "requirements.gpu.vram",
            "deployment_config.gpucount",
            "deployment_config.autoscaling_config.minReplicas",
        ]
    ],
)
setting(
    "missing key",
    [
        (path, DELETE)
        for path in [
            "name",
            "display_name",
            "huggingface_id",
            "requirements",
            "deployment_config",
            "requirements.cpu",
            "requirements.memory",
            "deployment_config.image",
            "deployment_config.command",
        ]
    ],
)
setting(
    "value of the wrong type",
    [
        ("requirements", "2 cpus"),
        ("requirements.gpu", 1),
        ("deployment_config", []),
        ("deployment_config.command", "sh"),
        ("deployment_config.command", []),
        ("deployment_config.args", "-c serve"),
        ("deployment_config.args", [1, 2]),
        ("deployment_config.extra_env", {"A": "b"}),
        ("deployment_config.extra_env", [{"name": "A", "value": 5}]),
        ("deployment_config.node_selector", ["gpu"]),
        ("deployment_config.autoscaling_config", 5),
        ("deployment_config.tolerations", "all"),
        ("deployment_config.enable_pvc", "maybe"),
        ("deployment_config.enable_autoscaling", 2),
        ("deployment_config.image_pull_policy", "always"),
        ("deployment_config.pvc_access_mode", "RWO"),
        ("model_type", "vision"),
        ("model_type", "chat\n"),
        ("is_public", {"x": 1}),
        ("tags", "coding"),
        ("description", 5),
        ("huggingface_id", ["org/x"]),
    ],
)


@mutation("model entry that is not a mapping")
def _entry_not_mapping(draw, case: Case) -> tuple[str, ...]:
    case.raw["models"][case.index] = draw(st.sampled_from(["qwen", None, [], 5]))
    return ()


@mutation("plaintext Hugging Face token in the stack file")
def _plaintext_token(draw, case: Case) -> tuple[str, ...]:
    case.via_file = True
    token = "hf_" + draw(st.from_regex(r"[A-Za-z0-9]{34}", fullmatch=True))
    path = draw(st.sampled_from(["deployment_config.hugging_face_token", "description"]))
    set_path(_entry(case), path, token)
    return (path,)


# Stack sections.
setting(
    "namespace Kubernetes refuses",
    [("namespace", v) for v in ["Jan-Models", "", "a_b", "-a", "a-", "jan.models", "a" * 64, 5, None]],
    scope="stack",
)
URL_CODE = [
    f"https://a.com/v1;{{touch,{PWNED}}};#",
    f"https://a.com/v1;touch {PWNED}",
    f"https://a.com/v1>{PWNED}",
    f"https://a.com/v1$(touch {PWNED})",
    f"https://a.com/v1`touch {PWNED}`",
    f"https://a.com/v1&&touch${{IFS}}{PWNED}",
    f"https://a.com/v1|touch${{IFS}}{PWNED}",
    "https://a.com/v1)",
    "https://a.com/v1'",
    f"https://a.com/v1\"+__import__('os').system('touch {PWNED}')+\"",
    f"https://a.com/v1\ntouch {PWNED}",
    "https://a.com/v1\\",
    "https://a.com/v1 x",
    "https://a.com/v1\t",
    "https://a.com/v1\u2028",
    "ftp://a.com/v1",
    "https://",
    "http:///v1",
    "a.com/v1",
    "javascript:alert(1)",
    "https://a.com:99999/v1",
    "https://a.com:0/v1",
    "https://a..com/v1",
    "https://-a.com/v1",
]
setting("api_base_url that is code or not a base URL", [("docs.api_base_url", v) for v in URL_CODE], scope="stack")


@mutation("api_base_url with code after a valid URL", "stack")
def _url_then_code(draw, case: Case) -> tuple[str, ...]:
    set_path(case.raw, "docs.api_base_url", draw(hostile(draw(base_urls(mixed_case=False)).rstrip("/"))))
    return ("docs.api_base_url",)


setting(
    "api_base_url with a query, fragment or credentials",
    [
        ("docs.api_base_url", v)
        for v in ["https://a.com/v1?x=1&y=2", "https://a.com/v1?x=1", "https://a.com/v1#frag", "https://u:p@a.com/v1"]
    ],
    scope="stack",
    must_reject=False,
)
setting(
    "platform_name that is not plain text",
    [
        ("docs.platform_name", v)
        for v in ["", 'x"y', "x'y", f"x$(touch {PWNED})", f"x`touch {PWNED}`", f"x;touch {PWNED}", "a\u2028b", "x\\", "x{y}", "<b>x</b>", 5]
    ],
    scope="stack",
)
setting("scrape_interval not a duration", [("monitoring.scrape_interval", v) for v in ["30", "soon", "-30s", "", 30]], scope="stack")
setting(
    "service_monitor_labels Kubernetes or model-fleet refuses",
    [
        ("monitoring.service_monitor_labels", v)
        for v in [{"model.aibrix.ai/name": "other"}, {"model.aibrix.ai/port": "9000"}, {"a b": "x"}, {"release": "x y"}]
    ],
    scope="stack",
)
setting("unknown stack key", [(key, {}) for key in ["modles", "doc", "namespaces", "Models"]], scope="stack")
setting(
    "stack section of the wrong type",
    [
        ("models", "qwen"),
        ("models", {"name": "qwen"}),
        ("docs", "docs"),
        ("docs.enabled", "maybe"),
        ("monitoring", []),
        ("cluster", 5),
        ("cluster.gpu_nodes", [{"node_name": "n", "gpu_count": True, "total_vram": "80Gi"}]),
        ("namespace", ["a"]),
    ],
    scope="stack",
)


# --- YAML-level attacks (issue 20.1): what only a file can hold -------------------------------


class Tagged:
    """A scalar written with a tag (`!!binary ...`, `!custom ...`)."""

    def __init__(self, tag: str, text: str) -> None:
        self.tag, self.text = tag, text


class Twice(dict):
    """A mapping written with one of its keys twice."""

    def __init__(self, items: dict, key: str) -> None:
        super().__init__(items)
        self.key = key

    def __deepcopy__(self, memo: dict) -> Twice:
        return Twice(copy.deepcopy(dict(self), memo), self.key)


class _AttackDumper(yaml.SafeDumper):
    """The stack file as SafeDumper writes it, plus what the attacks need; shared objects become
    anchors and aliases, as they do in safe_dump."""


for _dumper in (_AttackDumper, _PlainDumper):
    _dumper.add_representer(Tagged, lambda d, v: d.represent_scalar(v.tag, v.text))
    _dumper.add_representer(
        Twice,
        lambda d, v: yaml.MappingNode(
            "tag:yaml.org,2002:map",
            [(d.represent_data(k), d.represent_data(x)) for k, x in [*v.items(), (v.key, v[v.key])]],
        ),
    )


def _write_attack(project: Path, raw: dict) -> Path:
    path = project / "Pulumi.dev.yaml"
    config = {f"model-fleet:{key}": value for key, value in raw.items()}
    path.write_text(yaml.dump({"config": config}, Dumper=_AttackDumper, sort_keys=False))
    return path


YAML_FIELDS = ["display_name", "description", "deployment_config.gpu_count", "deployment_config.image", "requirements.cpu"]


@mutation("YAML: a key written twice")
def _key_twice(draw, case: Case) -> tuple[str, ...]:
    case.via_file = True
    path = draw(st.sampled_from(YAML_FIELDS))
    *parents, key = path.split(".")
    holder = _entry(case)
    for part in parents:
        holder = holder[part]
    twice = Twice(holder, key)
    if parents:
        set_path(_entry(case), ".".join(parents), twice)
    else:
        case.raw["models"][case.index] = twice
    return (path,)


@mutation("YAML: a value behind a tag or of a type JSON lacks")
def _tagged_value(draw, case: Case) -> tuple[str, ...]:
    import datetime

    case.via_file = True
    path = draw(st.sampled_from(YAML_FIELDS))
    value = draw(
        st.sampled_from(
            [
                Tagged("tag:yaml.org,2002:binary", "aGZfdG9rZW4="),
                Tagged("!custom", "text"),
                Tagged("tag:yaml.org,2002:timestamp", "2026-12-01"),
                Tagged("tag:yaml.org,2002:set", "x"),
                datetime.date(2026, 12, 1),
                datetime.datetime(2026, 12, 1, 10, 30),
                b"binary",
                float("inf"),
                float("nan"),
            ]
        )
    )
    set_path(_entry(case), path, value)
    return (path,)


@mutation("YAML: aliases that expand past the budget, or nesting past the limit", "file")
def _alias_bomb(draw, case: Case) -> tuple[str, ...]:
    case.via_file = True
    if draw(st.booleans()):
        laughs: Any = ["lol"] * 10
        for _ in range(draw(st.integers(7, 9))):
            laughs = [laughs] * 10
        case.raw["x-laughs"] = laughs
    else:
        nested: Any = "deep"
        for _ in range(draw(st.integers(65, 200))):
            nested = [nested]
        case.raw["x-deep"] = nested
    return ()


@mutation("YAML: entries sharing a mapping through an anchor", must_reject=False, needs=2)
def _shared_anchor(draw, case: Case) -> tuple[str, ...]:
    """Valid YAML a user may write: the entries must read as if each had its own copy."""
    case.via_file = True
    models = case.raw["models"]
    shared = models[0]["requirements"]
    for other in models[1:]:
        other["requirements"] = shared
    return ()


# Issue 8.12: a stack file the commands cannot read is one clear problem.
@mutation("stack file that is not UTF-8 or not YAML", "file")
def _unreadable_file(draw, case: Case) -> tuple[str, ...]:
    case.via_file = True
    case.file_prefix = draw(st.sampled_from([b"# \xff\xfe\n", b"# caf\xe9\n", b"\x80\n", b"config: [\n", b"\t- :\n"]))
    return ()


@st.composite
def broken_cases(draw, mutation: Mutation | None = None) -> Case:
    chosen = mutation if mutation is not None else draw(st.sampled_from(MUTATIONS))
    case = draw(valid_cases(min_models=chosen.needs, mixed_case_hosts=False))
    case.mutation = chosen
    if chosen.scope == "entry":
        case.index = draw(st.integers(0, len(case.raw["models"]) - 1))
    case.fields = chosen.apply(draw, case)
    return case


# --- values set after validation, and tampered docs trees ------------------------------------

SLIPPABLE = ("huggingface_id", "api_base_url", "platform_name", "display_name")


@st.composite
def slipped_cases(draw) -> Case:
    case = draw(valid_cases(min_models=1, max_models=1, mixed_case_hosts=False))
    fields = draw(st.lists(st.sampled_from(SLIPPABLE), min_size=1, max_size=2, unique=True))
    prefixes = {"huggingface_id": "org/x", "api_base_url": "https://a.com/v1", "platform_name": "Fleet", "display_name": "Model"}
    case.slip = {name: draw(hostile(prefixes[name])) for name in fields}
    return case


# Paths a tampered record may list, relative to the snippets folder; "{outside}" is a folder beside the docs root.
RECORD_ESCAPES = [
    "../../outside/victim.txt",
    "{outside}/victim.txt",
    f"{INCLUDE_BASE}/real-time/../../../../../outside/victim.txt",
    "../index.md",
    "keep.md",
    f"{INCLUDE_BASE}/batch/../../../../keep.md",
    "..",
    "",
]
RECORD_GARBAGE = ["not json", "[]", '{"files": 42}', '{"files": [42]}', '{"files": [["a"]]}', '{"files": "abc"}', "{}"]


@st.composite
def tampered_cases(draw) -> Case:
    case = draw(valid_cases(min_models=1, max_models=2, mixed_case_hosts=False))
    kind = draw(st.sampled_from(["escape", "garbage", "symlink"]))
    if kind == "escape":
        files = draw(st.lists(st.sampled_from(RECORD_ESCAPES), min_size=1, max_size=3, unique=True))
        case.tamper = ("record-escape", files)
    elif kind == "garbage":
        case.tamper = ("record-garbage", draw(st.sampled_from(RECORD_GARBAGE)))
    else:
        case.tamper = ("symlink", None)
    return case


def cases() -> st.SearchStrategy[Case]:
    """Every kind of case, for the benchmark's campaign."""
    return st.one_of(valid_cases(), broken_cases(), slipped_cases(), tampered_cases())


# --- properties ---------------------------------------------------------------------------

KINDS = ("crash", "unsafe", "misreported", "accepted-broken", "refused-valid")


@dataclass
class Finding:
    kind: str  # one of KINDS
    what: str  # which property
    detail: str = ""


@dataclass
class Result:
    case: Any  # a Case, or a promote round trip's case (tests/fuzz/promotion.py): what describe()s itself
    outcome: str = ""  # "valid" (loaded), "rejected" (ProblemsFound) or "crash"
    findings: list[Finding] = field(default_factory=list)

    def add(self, kind: str, what: str, detail: str = "") -> None:
        self.findings.append(Finding(kind, what, detail))

    def report(self) -> str:
        lines = [f"{len(self.findings)} finding(s); the stack {self.outcome or 'was not loaded'}"]
        for f in self.findings:
            lines.append(f"- {f.kind}: {f.what}" + (("\n    " + f.detail.strip().replace("\n", "\n    ")) if f.detail else ""))
        return "\n".join(lines) + "\n" + self.case.describe()


def assert_holds(case: Case) -> None:
    result = check(case)
    assert not result.findings, result.report()


def check(case: Case) -> Result:
    result = Result(case)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        loaded = _load(case, Path(tmp), result)
        if loaded is not None:
            spec = _slip(case, loaded.spec)
            try:
                _check_docs(case, spec, Path(tmp), result)
            except Exception:
                result.add("crash", "docs generation raised", traceback.format_exc(limit=-4))
    return result


def _load(case: Case, tmp: Path, result: Result):
    try:
        if case.via_file:
            project = tmp / "project"
            project.mkdir()
            path = _write_attack(project, copy.deepcopy(case.raw))
            path.write_bytes(case.file_prefix + path.read_bytes())
            loaded = config.load_stack_file(project, "dev")
        else:
            loaded = config.load(copy.deepcopy(case.raw), source="fuzz")
    except ProblemsFound as err:
        result.outcome = "rejected"
        _check_report(case, err, result)
        return None
    except Exception:
        result.outcome = "crash"
        result.add("crash", "loading raised something else than ProblemsFound", traceback.format_exc(limit=-4))
        return None
    result.outcome = "valid"
    if case.mutation is not None and case.mutation.must_reject:
        result.add("accepted-broken", f"{case.mutation.kind}: the stack loaded")
    return loaded


ENTRY_FIELD = re.compile(r"models\[\d+\]( \(.*\))? [a-z_]+(\[\d+\])?(\.[A-Za-z0-9_]+(\[\d+\])?)*", re.DOTALL)


def _names(where: str, field_path: str, *, after_label: bool) -> bool:
    start = " " if after_label else "^"
    return re.search(start + re.escape(field_path) + r"($|[.\[])", where) is not None


def _check_report(case: Case, err: ProblemsFound, result: Result) -> None:
    problems = err.problems
    try:
        report = err.report()
    except Exception:
        result.add("crash", "ProblemsFound.report() raised", traceback.format_exc(limit=-2))
        return
    if case.mutation is None:
        result.add("refused-valid", "a valid stack was refused", report)
        return
    if not problems:
        result.add("misreported", "a ProblemsFound lists no problem", report)
        return
    for problem in problems:
        if not isinstance(problem.where, str) or not isinstance(problem.message, str) or not problem.message.strip():
            result.add("misreported", f"a problem without a location or a message: {problem!r}", report)
        elif problem.where.startswith("models["):
            bare_entry = case.fields == () and problem.where == f"models[{case.index}]"
            if not bare_entry and not ENTRY_FIELD.fullmatch(problem.where):
                result.add("misreported", f"a problem names an entry but no field: {problem.where!r}", report)
        elif case.mutation is not None and case.mutation.scope == "entry" and problem.where != "models":
            result.add("misreported", f"a broken entry yields a problem outside the entries: {problem.where!r}", report)
    if not case.fields or case.mutation is None:
        return
    if case.mutation.scope == "entry":
        label = f"models[{case.index}]"
        named = any(p.where.startswith(label) and any(_names(p.where, f, after_label=True) for f in case.fields) for p in problems)
        want = f"{label} and one of {list(case.fields)}"
    else:
        named = any(any(_names(p.where, f, after_label=False) for f in case.fields) for p in problems)
        want = f"one of {list(case.fields)}"
    if not named:
        result.add("misreported", f"{case.mutation.kind}: no problem names {want}", report)


def _slip(case: Case, spec):
    """The loaded spec with the case's hostile values set, bypassing validation as a bug would."""
    if not case.slip:
        return spec
    docs = spec.docs.model_copy(update={k: v for k, v in case.slip.items() if k in ("api_base_url", "platform_name")})
    models = []
    for model in spec.models:
        update = {k: v for k, v in case.slip.items() if k == "display_name"}
        if "huggingface_id" in case.slip:
            command, args, case.model_ids[model.name] = launch("none", model.name, case.slip["huggingface_id"])
            update["huggingface_id"] = case.slip["huggingface_id"]
            update["deployment_config"] = model.deployment_config.model_copy(
                update={"command": command, "args": args, "enable_autoscaling": False}
            )
        models.append(model.model_copy(update=update))
    return spec.model_copy(update={"docs": docs, "models": models})


def _snapshot(tmp: Path) -> dict[str, bytes | str]:
    """Every file and symlink under `tmp`, by relative path."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(tmp):
        for name in dirs + files:
            path = Path(folder) / name
            relative = str(path.relative_to(tmp))
            if path.is_symlink():
                found[relative] = "-> " + os.readlink(path)
            elif path.is_file():
                found[relative] = path.read_bytes()
    return found


def _expected_files(spec) -> dict[str, list[tuple[Path, str, str]]]:
    """The handbook (docs-generator.md): four snippet files per model: (path under the docs root, page, language)."""
    files = {}
    for model in spec.models:
        n = model.name
        files[n] = [
            (SNIPPETS / "real-time" / f"real-time-{n}.py", "real-time", "python"),
            (SNIPPETS / "real-time" / f"real-time-{n}.md", "real-time", "bash"),
            (SNIPPETS / "batch" / f"batch-jsonl-{n}.py", "batch", "python"),
            (SNIPPETS / "batch" / f"batch-jsonl-{n}.md", "batch", "bash"),
        ]
    return files


SAFE_PATH = re.compile(r"[A-Za-z0-9._/-]+")
SENTINELS = {
    "outside/victim.txt": b"another team's file\n",
    "docs/index.md": b"# Hand-written home page\n",
    "docs/.snippets/keep.md": b"hand-written\n",
}


def _docs_run(spec, root: Path) -> tuple[list, list]:
    return writer.apply(writer.plan(spec, root))


def _check_docs(case: Case, spec, tmp: Path, result: Result) -> None:
    root = tmp / "docs"
    for relative, content in SENTINELS.items():
        (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp / relative).write_bytes(content)
    if case.tamper and case.tamper[0] == "symlink":
        (tmp / "outside" / "linked").mkdir()
        (root / SNIPPETS).mkdir(parents=True)
        (root / SNIPPETS / "real-time").symlink_to(tmp / "outside" / "linked", target_is_directory=True)
    before = _snapshot(tmp)
    try:
        _docs_run(spec, root)
    except ProblemsFound as err:
        _check_untouched(before, _snapshot(tmp), "a docs run that was refused", result)
        # Refusing values set past validation, or a symlinked snippet folder, is fine.
        if not case.tamper and not case.slip:
            result.add("refused-valid", "the docs of a stack that loaded were refused", err.report())
        return
    _check_confined(before, _snapshot(tmp), result)
    if case.tamper and case.tamper[0] == "symlink":
        return
    expected = _expected_files(spec)
    missing = [str(p) for files in expected.values() for p, _, _ in files if not (root / p).is_file()]
    if missing:
        result.add("unsafe", "snippet files missing", "\n".join(missing))
        return
    if not case.slip:
        _check_pages(root, expected, result)
        changed, deleted = _docs_run(spec, root)
        if changed or deleted:
            result.add(
                "unsafe", "a second docs run changed files", f"changed {[str(p) for p in changed]}, deleted {[str(p) for p in deleted]}"
            )
    for model in spec.models:
        model_id = case.model_ids[model.name]
        for path, page, language in expected[model.name]:
            _check_snippet(root / path, page, language, model.model_type.value, model_id, spec.docs.api_base_url, result)
    if case.tamper and case.tamper[0].startswith("record"):
        _check_tampered_record(case, spec, root, tmp, result)


def _check_untouched(before: dict, after: dict, when: str, result: Result) -> None:
    if before != after:
        changed = sorted(set(before) ^ set(after) | {p for p in set(before) & set(after) if before[p] != after[p]})
        result.add("unsafe", f"{when} changed files", "\n".join(changed))


def _check_confined(before: dict, after: dict, result: Result) -> None:
    """Only files under the docs root change, never a hand-written one, and every new name is plain."""
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path):
            continue
        if not path.startswith("docs/") or path in SENTINELS:
            result.add("unsafe", f"the docs run changed {path}", "outside the generated files")
        elif not SAFE_PATH.fullmatch(path):
            result.add("unsafe", f"the docs run wrote a file named {path!r}")


def _check_pages(root: Path, expected: dict, result: Result) -> None:
    texts = {page: (root / PAGES / f"{page}.md").read_text(encoding="utf-8") for page in ("real-time", "batch")}
    for files in expected.values():
        for path, page, _ in files:
            include = str(path.relative_to(".snippets"))
            count = texts[page].count(include)
            if count != 1:
                result.add("unsafe", f"{page}.md includes {include} {count} times")
    for page, text in texts.items():
        for line in text.splitlines():
            if line.lstrip().startswith("??? example") and "<" in line:
                result.add("unsafe", f"raw HTML in an entry title of {page}.md", line)
    # The models page: one row per model in each table, each row as many cells as its header.
    tables = [line for line in (root / MODELS_PAGE).read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header_cells = {len(_cells(line)) for line in tables if line.startswith("| Model |")}
    rows = [line for line in tables if not line.startswith(("| Model |", "|---"))]
    if len(rows) != 2 * len(expected):
        result.add("unsafe", f"{MODELS_PAGE} has {len(rows)} table rows for {len(expected)} models", "\n".join(rows))
    for line in rows:
        if "<" in line or len(_cells(line)) not in header_cells:
            result.add("unsafe", f"a table row of {MODELS_PAGE} holds raw HTML or an unescaped |", line)


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def _check_snippet(path: Path, page: str, language: str, model_type: str, model_id: str, base: str, result: Result) -> None:
    # Bytes: reading text would turn a carriage return in the file into a newline.
    result.findings += _snippet_findings(path.read_bytes(), path.name, page, language, model_type, model_id, base)


@functools.lru_cache(maxsize=4096)
def _snippet_findings(
    content: bytes, name: str, page: str, language: str, model_type: str, model_id: str, base: str
) -> tuple[Finding, ...]:
    """Compile or `bash -n` a snippet, then run it with recorders in a folder of its own.

    A pure function of the snippet's text and what it must do, so it is cached: shrinking and a
    long campaign meet the same snippets again and again.
    """
    found = Result(Case({}, {}))
    with tempfile.TemporaryDirectory(prefix="fuzz-run-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        cwd = Path(tmp) / "run"
        cwd.mkdir()
        if language == "python":
            _check_python(path, cwd, page, model_type, model_id, base, found)
        else:
            _check_bash(path, cwd, page, model_type, model_id, base, found)
    return tuple(found.findings)


def _check_python(path: Path, cwd: Path, page: str, model_type: str, model_id: str, base: str, result: Result) -> None:
    name = path.name
    try:
        compile(path.read_bytes(), name, "exec")
    except (SyntaxError, ValueError) as err:
        result.add("unsafe", f"{name} does not compile", f"{err!r}")
        return
    calls, run = _run_python(path, cwd)
    _expect_clean_run(run, name, cwd, result)
    if run.returncode != 0:
        return
    clients = [c for c in calls if c["call"] == "OpenAI"]
    if not clients or clients[0]["kwargs"].get("base_url") != base:
        result.add("unsafe", f"{name} does not call the configured base URL {base!r}", json.dumps(clients)[:500])
    if page == "real-time":
        creates = [c for c in calls if c["call"] == f"OpenAI().{CLIENT_APIS[model_type]}.create"]
        if [c["kwargs"].get("model") for c in creates] != [model_id]:
            result.add("unsafe", f"{name} does not send model {model_id!r}", json.dumps(creates)[:500])
    else:
        _check_batch_file(cwd, name, model_id, result)


def _check_bash(path: Path, cwd: Path, page: str, model_type: str, model_id: str, base: str, result: Result) -> None:
    name = path.name
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, timeout=SNIPPET_TIMEOUT)
    if syntax.returncode != 0:
        result.add("unsafe", f"{name} fails bash -n", syntax.stderr.decode(errors="replace")[-500:])
        return
    no_key_cwd = cwd.parent / "run-without-key"
    no_key_cwd.mkdir()
    no_key = _run_bash(path, no_key_cwd, api_key=None)
    _expect_clean_run(no_key, name + " without API_KEY", no_key_cwd, result, expect_failure=True)
    if _curl_calls(_curl_log(no_key_cwd)):
        result.add("unsafe", f"{name} calls curl without API_KEY")
    run = _run_bash(path, cwd, api_key=API_KEY)
    _expect_clean_run(run, name, cwd, result)
    if run.returncode != 0:
        return
    calls = _curl_calls(_curl_log(cwd))
    if not calls:
        result.add("unsafe", f"{name} never calls curl")
    for args in calls:
        if not any(a.startswith(base + "/") for a in args) or not any(API_KEY in a for a in args):
            result.add("unsafe", f"{name} calls curl off the base URL {base!r} or without the API key", repr(args)[:500])
    if page == "real-time":
        url = base + REAL_TIME_PATHS[model_type]
        if len(calls) != 1 or url not in calls[0]:
            result.add("unsafe", f"{name} does not call {url!r} once", repr(calls)[:500])
        elif _json_model(calls[0]) != model_id:
            result.add("unsafe", f"{name} does not send model {model_id!r}", repr(calls[0])[:500])
    else:
        _check_batch_file(cwd, name, model_id, result)


def _json_model(args: list[str]) -> Any:
    for flag, value in itertools.pairwise(args):
        if flag in ("-d", "--data", "--data-raw", "--data-binary", "--json"):
            try:
                return json.loads(value).get("model")
            except (json.JSONDecodeError, AttributeError):
                return None
    return None


def _check_batch_file(cwd: Path, name: str, model_id: str, result: Result) -> None:
    try:
        lines = (cwd / BATCH_FILE).read_text(encoding="utf-8").splitlines()
        models = [json.loads(line)["body"]["model"] for line in lines if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as err:
        result.add("unsafe", f"{name} writes no readable {BATCH_FILE}", repr(err))
        return
    if not models or any(m != model_id for m in models):
        result.add("unsafe", f"{name} batch requests do not all use model {model_id!r}", repr(models)[:500])


def _expect_clean_run(run: subprocess.CompletedProcess, name: str, cwd: Path, result: Result, expect_failure: bool = False) -> None:
    pwned = list(cwd.parent.rglob(PWNED + "*"))
    if pwned:
        result.add("unsafe", f"running {name} executed injected code", f"created {[str(p.relative_to(cwd.parent)) for p in pwned]}")
        for marker in pwned:
            marker.unlink()
    extra = sorted(p.name for p in cwd.iterdir() if p.name != BATCH_FILE)
    if extra:
        result.add("unsafe", f"running {name} created unexpected files", repr(extra))
    output = (run.stdout + run.stderr).decode(errors="replace")[-800:]
    if run.returncode == -9:
        result.add("unsafe", f"{name} did not finish within {SNIPPET_TIMEOUT}s", output)
    elif expect_failure and (run.returncode == 0 or b"API_KEY" not in run.stderr):
        result.add("unsafe", f"{name} does not stop with a clear error", output)
    elif not expect_failure and run.returncode != 0:
        result.add("unsafe", f"{name} fails against a cooperating server (exit {run.returncode})", output)


# --- running snippets with recorders --------------------------------------------------------

CURL_STUB = """#!/bin/bash
{ printf '%s\\0' "$#"; printf '%s\\0' "$@"; } >> "$FUZZ_CURL_LOG"
echo '{"id": "fuzz", "status": "completed", "output_file_id": "fuzz"}'
"""
# A cooperating server's batch completes with no failed request: it has no error file.
JQ_STUB = '#!/bin/bash\ncat > /dev/null\ncase "$*" in *error_file_id*) exit 0 ;; esac\necho completed\n'
SLEEP_STUB = "#!/bin/bash\nexit 0\n"
PYTHON_RUNNER = '''\
"""Run a snippet with a recording stand-in for the openai package; write what it called as JSON."""
import getpass, json, runpy, sys, time, types

log_path, script = sys.argv[1], sys.argv[2]
calls = []


def plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)


class Recorder:
    def __init__(self, path):
        self._path = path

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "error_file_id":  # a cooperating server's batch has no failed request
            return None
        return "completed" if name == "status" else Recorder(self._path + "." + name)

    def __call__(self, *args, **kwargs):
        calls.append({"call": self._path, "args": [plain(a) for a in args], "kwargs": {k: plain(v) for k, v in kwargs.items()}})
        return Recorder(self._path + "()")

    def __getitem__(self, key):
        return Recorder(self._path + "[]")

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __format__(self, spec):
        return "<stub>"

    __str__ = __repr__ = lambda self: "<stub>"


def ask(prompt=""):
    calls.append({"call": "getpass", "args": [prompt], "kwargs": {}})
    return "sk-fuzz-0123456789"


openai = types.ModuleType("openai")
openai.OpenAI = Recorder("OpenAI")
openai.APIStatusError = type("APIStatusError", (Exception,), {})
sys.modules["openai"] = openai
getpass.getpass = ask
time.sleep = lambda seconds: None
sys.argv = [script]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    with open(log_path, "w") as log:
        json.dump(calls, log, default=repr)
'''
_stubs: list[Path] = []


def _stub_dir() -> Path:
    """curl, jq and sleep that only record, and the Python runner; made once per process."""
    if not _stubs:
        folder = Path(tempfile.mkdtemp(prefix="fuzz-stubs-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        for name, text in (("curl", CURL_STUB), ("jq", JQ_STUB), ("sleep", SLEEP_STUB), ("run_snippet.py", PYTHON_RUNNER)):
            (folder / name).write_text(text)
            (folder / name).chmod(0o755)
        _stubs.append(folder)
    return _stubs[0]


def _env(cwd: Path, api_key: str | None) -> dict[str, str]:
    env = {
        "PATH": f"{_stub_dir()}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(cwd),
        "LC_ALL": "C.UTF-8",
        "FUZZ_CURL_LOG": str(_curl_log(cwd)),
    }
    if api_key is not None:
        env["API_KEY"] = api_key
    return env


def _curl_log(cwd: Path) -> Path:
    return cwd.parent / (cwd.name + ".curl")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=SNIPPET_TIMEOUT)
    except subprocess.TimeoutExpired as err:
        return subprocess.CompletedProcess(argv, -9, err.stdout or b"", err.stderr or b"")


def _run_bash(path: Path, cwd: Path, api_key: str | None) -> subprocess.CompletedProcess:
    return _run(["bash", str(path)], cwd, _env(cwd, api_key))


def _run_python(path: Path, cwd: Path) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Run with API_KEY unset, so the key prompt (with the platform name) is evaluated too."""
    log = cwd.parent / (cwd.name + ".calls.json")
    run = _run([sys.executable, "-I", "-S", "-X", "utf8", str(_stub_dir() / "run_snippet.py"), str(log), str(path)], cwd, _env(cwd, None))
    try:
        calls = json.loads(log.read_text())
    except (OSError, ValueError):
        calls = []
    return calls, run


def _curl_calls(log: Path) -> list[list[str]]:
    """The argv of each curl call, from the stub's NUL-separated log: a count, then the arguments."""
    if not log.exists():
        return []
    items = log.read_bytes().decode("utf-8", errors="surrogateescape").split("\0")[:-1]
    calls, i = [], 0
    while i < len(items):
        count = int(items[i])
        calls.append(items[i + 1 : i + 1 + count])
        i += 1 + count
    return calls


def _check_tampered_record(case: Case, spec, root: Path, tmp: Path, result: Result) -> None:
    """After a clean run, the record of generated files is edited; the next run may only touch generated snippets."""
    assert case.tamper is not None  # only tampered cases come here
    kind, tampering = case.tamper
    if kind == "record-escape":
        record = json.loads((root / RECORD).read_text(encoding="utf-8"))
        record["files"] += [path.replace("{outside}", str(tmp / "outside")) for path in tampering]
        tampering = json.dumps(record)
    (root / RECORD).write_text(tampering, encoding="utf-8")
    before = _snapshot(tmp)
    try:
        _docs_run(spec, root)
    except ProblemsFound as err:
        _check_untouched(before, _snapshot(tmp), "a docs run refusing a tampered record", result)
        if not err.problems:
            result.add("misreported", "a ProblemsFound lists no problem", err.report())
        return
    except Exception:
        result.add("crash", "a docs run on a tampered record raised something else than ProblemsFound", traceback.format_exc(limit=-4))
        return
    after = _snapshot(tmp)
    generated = (f"docs/{SNIPPETS}/real-time/", f"docs/{SNIPPETS}/batch/")
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path) and not path.startswith(generated) and path != f"docs/{RECORD}":
            if not path.startswith(f"docs/{PAGES}/"):
                result.add("unsafe", f"a docs run on a tampered record changed {path}")
    if kind == "record-escape":
        result.add("unsafe", "a record naming files outside the generated snippet folders was not reported as a problem")
