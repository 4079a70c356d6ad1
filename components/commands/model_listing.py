"""The models of a stack, and those a live cluster runs: managed by this stack or not."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from components.contract.field_problems import shown
from components.contract.k8s_names import MODEL_NAME_LABEL
from components.contract.live_cluster import Listed, ListRequest, LiveCluster, at, labels, mapping, text
from components.contract.spec import StackSpec
from components.details import deployment_status


def managed(spec: StackSpec) -> list[dict]:
    """Each version the stack deploys: a model, then its canary (`<name>-<version>`), which serves its model ID."""
    return [
        {
            "name": entry.name,
            "namespace": spec.namespace,
            "is_managed": True,
            "status": "declared",
            "model_type": entry.model_type.value,
            "display_name": entry.display_name,
            "description": entry.description,
            "model_id": entry.served_model_id,
        }
        for model in spec.models
        for entry in (model, model.canary_entry())
        if entry is not None
    ]


def read_live_models(spec: StackSpec) -> Listed:
    """Deployments carrying the AIBrix model label, in every namespace, as the listing shows them;
    `skipped` has a line for each one left out or read another way, saying why."""
    from kubernetes import client

    cluster = LiveCluster(spec, "cannot list deployments")
    apps = client.AppsV1Api(cluster.api)
    (listed,) = cluster.read(
        ListRequest(
            "/apis/apps/v1/deployments",
            "DeploymentList",
            functools.partial(apps.list_deployment_for_all_namespaces, label_selector=MODEL_NAME_LABEL),
        )
    )
    found = Listed([], listed.skipped)
    for index, item in enumerate(listed.items):
        model = _model_from_live(item, index, found.skipped)
        if model is not None:
            found.items.append(model)
    return found


def _model_from_live(item: dict[str, Any], index: int, notes: list[str]) -> dict[str, Any] | None:
    namespace, name = text(item, "metadata", "namespace"), text(item, "metadata", "name")
    if not namespace or not name:
        notes.append(f"DeploymentList item {index} skipped: no metadata.{'namespace' if name else 'name'}")
        return None
    deployment = f"deployment {shown(namespace)}/{shown(name)}"
    model = labels(item).get(MODEL_NAME_LABEL)
    if not model:
        notes.append(f"{deployment} skipped: no {MODEL_NAME_LABEL} label")
        return None
    status = mapping(item, "status")
    if status is None:
        # A Deployment the API server has not yet given a status counts no replicas.
        notes.append(f"{deployment} has no status yet: counted with no replicas")
    counts = []
    for key in ("readyReplicas", "replicas"):
        value = (status or {}).get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            notes.append(f"{deployment}: status.{key} {shown(repr(value))} is not a count: counted as 0")
            value = 0
        counts.append(value)
    ready, replicas = counts
    return {
        "name": model,
        "namespace": namespace,
        "status": deployment_status(ready, replicas),
        "replicas": replicas,
        "created_at": _created(item, deployment, notes),
    }


def _created(item: dict[str, Any], deployment: str, notes: list[str]) -> str | None:
    written = at(item, "metadata", "creationTimestamp")
    if written is None:
        return None
    try:
        created = datetime.fromisoformat(written) if isinstance(written, str) else None
    except ValueError:
        created = None
    if created is None:
        notes.append(f"{deployment}: metadata.creationTimestamp {shown(repr(written))} is not a time: left out")
        return None
    return created.isoformat().replace("+00:00", "Z")


def merge_live(declared: list[dict], live: list[dict], namespace: str) -> list[dict]:
    """Declared models with their live status, then every other model the cluster runs."""
    by_key = {(m["namespace"], m["name"]): m for m in live}
    merged = []
    for model in declared:
        seen = by_key.pop((namespace, model["name"]), None)
        merged.append({**model, **(seen or {"status": "not deployed", "replicas": 0, "created_at": None}), "is_managed": True})
    merged += [{**m, "is_managed": False} for m in sorted(by_key.values(), key=lambda m: (m["namespace"], m["name"]))]
    return merged
