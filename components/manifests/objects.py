"""Every object one model entry declares, in dependency order.

The one list both the ModelDeployment component declares and the manifest renderer writes, so
the resources Pulumi manages and the files on disk cannot disagree.
"""

from __future__ import annotations

from typing import Any

from components.manifests import deployment, pod_autoscaler, pvc, secret, service, service_monitor
from components.spec import ModelEntry, MonitoringConfig


def model_objects(
    entry: ModelEntry,
    namespace: str,
    monitoring: MonitoringConfig,
    *,
    service_monitor_enabled: bool,
    token: Any = None,
    env_values: dict[str, Any] | None = None,
) -> list[tuple[str, dict]]:
    """(Pulumi resource name, manifest) of each object. `token` and `env_values` are the Secrets'
    values; None declares a Secret without its value."""
    name = entry.name
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
    if service_monitor_enabled:
        objects.append((f"{name}-servicemonitor", service_monitor.build(entry, namespace, monitoring)))
    if config.enable_autoscaling:
        objects.append((f"{name}-podautoscaler", pod_autoscaler.build(entry, namespace)))
    return objects
