"""The models of a stack, and those a live cluster runs: managed by this stack or not."""

from __future__ import annotations

from components.details import deployment_status, served_model_id
from components.k8s_names import MODEL_NAME_LABEL
from components.preflight import PreflightError, api_client
from components.spec import StackSpec


def managed(spec: StackSpec) -> list[dict]:
    return [
        {
            "name": entry.name,
            "namespace": spec.namespace,
            "is_managed": True,
            "status": "declared",
            "model_type": entry.model_type.value,
            "display_name": entry.display_name,
            "description": entry.description,
            "model_id": served_model_id(entry),
        }
        for entry in spec.models
    ]


def read_live_models(spec: StackSpec) -> list[dict]:
    """Deployments carrying the AIBrix model label, in every namespace."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = api_client(spec)
    try:
        items = client.AppsV1Api(api).list_deployment_for_all_namespaces(label_selector=MODEL_NAME_LABEL, _request_timeout=15).items
    except (ApiException, HTTPError, OSError) as err:
        raise PreflightError(f"cannot list deployments at {api.configuration.host}: {getattr(err, 'reason', None) or err}") from err
    found = []
    for item in items or ():
        # A Deployment the API server has not yet given a status counts no replicas.
        ready, replicas = (item.status.ready_replicas or 0, item.status.replicas or 0) if item.status else (0, 0)
        meta = item.metadata
        name = (meta.labels or {}).get(MODEL_NAME_LABEL) if meta else None
        if meta is None or name is None:
            continue
        created = meta.creation_timestamp
        found.append(
            {
                "name": name,
                "namespace": meta.namespace,
                "status": deployment_status(ready, replicas),
                "replicas": replicas,
                "created_at": created.isoformat().replace("+00:00", "Z") if created else None,
            }
        )
    return found


def merge_live(declared: list[dict], live: list[dict], namespace: str) -> list[dict]:
    """Declared models with their live status, then every other model the cluster runs."""
    by_key = {(m["namespace"], m["name"]): m for m in live}
    merged = []
    for model in declared:
        seen = by_key.pop((namespace, model["name"]), None)
        merged.append({**model, **(seen or {"status": "not deployed", "replicas": 0, "created_at": None}), "is_managed": True})
    merged += [{**m, "is_managed": False} for m in sorted(by_key.values(), key=lambda m: (m["namespace"], m["name"]))]
    return merged
