"""Every object one model entry declares, in dependency order.

The one list both the ModelDeployment component declares and the manifest renderer writes, so
the resources Pulumi manages and the files on disk cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.contract.spec import FULL_WEIGHT, EndpointPicker, GatewayRef, ModelEntry, MonitoringConfig, Routing, StackSpec
from components.manifests import deployment, http_route, inference_pool, pod_autoscaler, pvc, secret, service, service_monitor


@dataclass(frozen=True)
class Route:
    """A model's one HTTPRoute: on the stack's Gateway, for the model ID clients call, to each
    version's pool by weight, as (pool name, percent)."""

    gateway: GatewayRef
    model_id: str
    backends: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PoolRouting:
    """What one version of a model routed by `inference-pool` declares beyond its server: its pool,
    and on the model's own version the model's route (None on a canary)."""

    picker: EndpointPicker
    route: Route | None = None


def versions(spec: StackSpec) -> list[tuple[ModelEntry, PoolRouting | None]]:
    """Each version the stack deploys, in the stack's order: a model, then its canary, with what
    each declares for its routing (None: nothing, under `aibrix` and `none`)."""
    found: list[tuple[ModelEntry, PoolRouting | None]] = []
    picker, gateway = spec.routing.endpoint_picker, spec.routing.gateway
    for entry in spec.models:
        canary = entry.canary_entry()
        if spec.routing_of(entry) is not Routing.inference_pool or picker is None or gateway is None:
            # Validation refuses a canary here, and inference-pool without a picker and a Gateway.
            found.append((entry, None))
            continue
        weight = entry.canary.weight if entry.canary is not None else 0
        backends = ((entry.name, FULL_WEIGHT - weight),) + (((canary.name, weight),) if canary is not None else ())
        found.append((entry, PoolRouting(picker, Route(gateway, entry.served_model_id, backends))))
        if canary is not None:
            found.append((canary, PoolRouting(picker)))
    return found


@dataclass(frozen=True)
class Context:
    """What every model of a stack builds its objects with beyond its own entry: the namespace,
    the monitoring settings, and whether the cluster has the ServiceMonitor CRD."""

    namespace: str
    monitoring: MonitoringConfig
    service_monitor_enabled: bool

    @classmethod
    def of(cls, spec: StackSpec, *, service_monitor_enabled: bool) -> Context:
        return cls(spec.namespace, spec.monitoring, service_monitor_enabled)


def model_objects(
    entry: ModelEntry,
    context: Context,
    *,
    routing: PoolRouting | None = None,
    token: Any = None,
    env_values: dict[str, Any] | None = None,
) -> list[tuple[str, dict]]:
    """(Pulumi resource name, manifest) of each object. `routing`: the version's pool and, on a
    model's own version, its route. `token` and `env_values` are the Secrets' values; None declares
    a Secret without its value."""
    name = entry.name
    namespace, monitoring = context.namespace, context.monitoring
    config = entry.deployment_config
    objects: list[tuple[str, dict]] = []
    if config.hugging_face_token is not None:
        objects.append((f"{name}-hf-token", secret.build(entry, namespace, token)))
    if secret.secret_env_names(entry):
        objects.append((f"{name}-env", secret.build_env(entry, namespace, env_values)))
    if config.enable_pvc:
        objects.append((f"{name}-hf-cache", pvc.build(entry, namespace)))
    objects.append((f"{name}-deployment", deployment.build(entry, namespace)))
    objects.append((f"{name}-service", service.build(entry, namespace)))
    if context.service_monitor_enabled:
        objects.append((f"{name}-servicemonitor", service_monitor.build(entry, namespace, monitoring)))
    if config.enable_autoscaling:
        objects.append((f"{name}-podautoscaler", pod_autoscaler.build(entry, namespace)))
    if routing is not None:
        objects.append((f"{name}-inferencepool", inference_pool.build(entry, namespace, routing.picker)))
        if routing.route is not None:
            route = routing.route
            objects.append((f"{name}-httproute", http_route.build(entry, namespace, route.gateway, route.model_id, list(route.backends))))
    return objects
