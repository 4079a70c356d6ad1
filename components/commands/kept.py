"""What a stack keeps as its own when another stack's models are promoted to it.

The keys in KEPT say how an environment runs a model, not what it serves, and every encrypted
value is the stack's own (each stack encrypts with its own key). `promoted_entry` is the entry a
stack serves once another's is promoted to it; `promote` writes it and `diff` compares with it,
so a difference only in what the target keeps is no difference for either.
"""

from __future__ import annotations

import copy
from typing import Any

from components.contract import catalog

# Scaling, node placement, the cluster's storage and routing, the Hugging Face token and the docs.
KEPT = (
    "deployment_config.replicas",
    "deployment_config.enable_autoscaling",
    "deployment_config.autoscaling_config",
    "deployment_config.node_selector",
    "deployment_config.tolerations",
    "deployment_config.storage_class",
    "deployment_config.pvc_access_mode",
    "deployment_config.pvc_size",
    "deployment_config.hugging_face_token",
    "docs",
    # What routes a model depends on the cluster's gateway; a canary promoted to a stack that
    # routes the model otherwise is refused by the promotion's own check.
    "routing",
)

# A step to a value inside an entry: a map's key, a list's index, or the item of a list of maps
# with that `name` (an `extra_env` variable is the same variable wherever it sits in the list).
Step = str | int | tuple[str, str]


def same(a: Any, b: Any) -> bool:
    """Equal as YAML values: `true` is not `1`, `1` is not `1.0`, a map's key order does not count."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def is_kept(path: str) -> bool:
    """`path` (as catalog.leaves writes it) is, or is inside, a key of KEPT."""
    return any(path == key or path.startswith((key + ".", key + "[")) for key in KEPT)


def _lookup(entry: Any, path: str) -> tuple[bool, Any]:
    for key in path.split("."):
        if not (isinstance(entry, dict) and key in entry):
            return False, None
        entry = entry[key]
    return True, entry


def _put(entry: dict[str, Any], path: str, found: bool, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        if not isinstance(entry.get(key), dict):
            if not found:
                return
            entry[key] = {}
        entry = entry[key]
    if found:
        entry[last] = copy.deepcopy(value)
    else:
        entry.pop(last, None)


def _named(item: Any) -> str | None:
    return item["name"] if isinstance(item, dict) and isinstance(item.get("name"), str) else None


def secrets(value: Any, steps: tuple[Step, ...] = ()) -> list[tuple[tuple[Step, ...], Any]]:
    """Every `{secure: ...}` value under `value`, with the steps to it."""
    if catalog.is_secure(value):
        return [(steps, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in secrets(v, (*steps, k))]
    if isinstance(value, list):
        names = [_named(v) for v in value]
        unique = {n for n in names if n is not None and names.count(n) == 1}
        found: list[tuple[tuple[Step, ...], Any]] = []
        for i, v in enumerate(value):
            name = names[i]
            found += secrets(v, (*steps, ("name", name) if name is not None and name in unique else i))
        return found
    return []


def _place(entry: dict[str, Any], steps: tuple[Step, ...], secret: Any, own: dict[str, Any]) -> bool:
    """Put the target's `secret` at `steps` in `entry`; False when `entry` has no place for it."""
    here: Any = entry
    theirs: Any = own
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        if isinstance(step, tuple):
            if not isinstance(here, list):
                return False
            matches = [i for i, v in enumerate(here) if _named(v) == step[1]]
            item = next(v for v in theirs if _named(v) == step[1])
            if not matches:
                # A variable the source does not set: the target's goes on holding its secret.
                here.append(copy.deepcopy(item))
                return True
            index = matches[0]
            if last or not isinstance(here[index], dict):
                here[index] = copy.deepcopy(item)
                return True
            here, theirs = here[index], item
        elif isinstance(step, int):
            if not (isinstance(here, list) and step < len(here)):
                return False
            if last:
                here[step] = copy.deepcopy(secret)
                return True
            here, theirs = here[step], theirs[step]
        else:
            if not isinstance(here, dict):
                return False
            if last:
                here[step] = copy.deepcopy(secret)
                return True
            if step not in here:
                here[step] = copy.deepcopy(theirs[step])
                return True
            here, theirs = here[step], theirs[step]
    return False


def promoted_entry(served: dict[str, Any], own: dict[str, Any] | None) -> dict[str, Any]:
    """The entry a stack serves once `served` is promoted to it: `served`, with the target's own
    values (or their absence) at the KEPT keys and the target's secrets where they were."""
    wanted = copy.deepcopy(served)
    if own is None:
        return wanted
    for path in KEPT:
        _put(wanted, path, *_lookup(own, path))
    for steps, secret in secrets(own):
        if not is_kept(path_of(steps)):
            _place(wanted, steps, secret, own)
    return wanted


def path_of(steps: tuple[Step, ...]) -> str:
    """The steps as catalog.leaves and the reports write a path: `deployment_config.extra_env[KEY]`."""
    out = ""
    for step in steps:
        if isinstance(step, tuple):
            out += f"[{step[1]}]"
        elif isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out


def foreign_secrets(wanted: dict[str, Any], own: dict[str, Any] | None) -> list[str]:
    """Paths of the secrets in `wanted` that are not the target's own: they would have to travel."""
    theirs = {path_of(steps): value for steps, value in secrets(own)} if own is not None else {}
    return [path_of(steps) for steps, value in secrets(wanted) if theirs.get(path_of(steps)) != value]
