"""How a model's requests are shared between its versions while a canary runs, and a change of
that share as one line: `qwen3-coder-30b: v2 10% -> 50%`.

Read from the model's HTTPRoute as the builders write it (manifests/http_route.py): one rule
whose backends are the versions' pools, the model's own named as the model, a canary's
`<model>-<version>`, each weight the percent of the requests it serves.
"""

from __future__ import annotations

from typing import Any

from components.manifests import inference_pool

ROUTE_TYPE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def canary_shares(route: Any) -> tuple[str, dict[str, int]] | None:
    """(the model, {canary version: percent}) of a route's manifest or resource inputs; None when it
    is not a route to a model's pools as ours are."""
    if not isinstance(route, dict):
        return None
    model = (route.get("metadata") or {}).get("name") if isinstance(route.get("metadata"), dict) else None
    rules = (route.get("spec") or {}).get("rules") if isinstance(route.get("spec"), dict) else None
    if not isinstance(model, str) or not isinstance(rules, list) or len(rules) != 1 or not isinstance(rules[0], dict):
        return None
    backends = rules[0].get("backendRefs")
    if not isinstance(backends, list):
        return None
    shares: dict[str, int] = {}
    for backend in backends:
        if not (isinstance(backend, dict) and backend.get("kind") == inference_pool.KIND and isinstance(backend.get("name"), str)):
            return None
        name, weight = backend["name"], backend.get("weight")
        if name == model:
            continue
        if not (name.startswith(model + "-") and isinstance(weight, int) and not isinstance(weight, bool)):
            return None
        shares[name.removeprefix(model + "-")] = weight
    return model, shares


def change_lines(model: str, before: dict[str, int], after: dict[str, int]) -> list[str]:
    """One line per canary whose share changes; one added or removed goes from or to 0%."""
    return [
        f"{model}: {version} {before.get(version, 0)}% -> {after.get(version, 0)}%"
        for version in [*before, *(v for v in after if v not in before)]
        if before.get(version, 0) != after.get(version, 0)
    ]


def route_change_lines(old_route: Any, new_route: Any) -> list[str]:
    """The share changes between two states of one model's route (either may be absent: None)."""
    old, new = canary_shares(old_route), canary_shares(new_route)
    model = new[0] if new is not None else old[0] if old is not None else None
    if model is None:
        return []
    return change_lines(model, old[1] if old else {}, new[1] if new else {})
