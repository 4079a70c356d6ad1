"""The ModelDeployment component: one model entry as Kubernetes resources, through the builders."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.details import model_details
from components.inventory import deployment_status
from components.manifests import deployment, pod_autoscaler, pvc, secret, service, service_monitor
from components.spec import ModelEntry, MonitoringConfig

TYPE = "model-fleet:index:ModelDeployment"


def _status(observed) -> str:
    """Status words from the Deployment's observed status (absent while previewing or rendering)."""
    if not observed:
        return "pending"
    return deployment_status(getattr(observed, "ready_replicas", None) or 0, getattr(observed, "replicas", None) or 0)


def _custom_resource(name: str, manifest: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


class ModelDeployment(pulumi.ComponentResource):
    def __init__(
        self,
        entry: ModelEntry,
        *,
        namespace: str,
        monitoring: MonitoringConfig,
        service_monitor_enabled: bool,
        cache_provider: pulumi.ProviderResource | None = None,
        secret_values: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`cache_provider` declares the cache claim: one that adopts a claim kept from before.

        `secret_values` False declares the Secrets without their values: for manifests rendered
        to disk, where a value would be written in clear (base64 is not encryption).
        """
        super().__init__(TYPE, entry.name, None, opts)
        name = entry.name
        config = entry.deployment_config
        child = pulumi.ResourceOptions(parent=self)

        def declare_secret(resource_name: str, manifest: dict) -> k8s.core.v1.Secret:
            return k8s.core.v1.Secret(
                resource_name,
                metadata=manifest["metadata"],
                type=manifest["type"],
                string_data=manifest.get("stringData"),
                opts=child,
            )

        depends: list[pulumi.Resource] = []
        if config.hugging_face_token is not None:
            token = pulumi.Output.secret(config.hugging_face_token.get_secret_value()) if secret_values else None
            depends.append(declare_secret(f"{name}-hf-token", secret.build(entry, namespace, token)))
        env_names = secret.secret_env_names(entry)
        if env_names:
            values = (
                {e.name: pulumi.Output.secret(e.value.get_secret_value()) for e in config.extra_env if e.is_secret}
                if secret_values
                else None
            )
            depends.append(declare_secret(f"{name}-env", secret.build_env(entry, namespace, values)))
        if config.enable_pvc:
            manifest = pvc.build(entry, namespace)
            depends.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-hf-cache",
                    metadata=manifest["metadata"],
                    spec=manifest["spec"],
                    # Weights take long to download: by default removing the model keeps them,
                    # and declaring the model again adopts the same claim.
                    opts=pulumi.ResourceOptions.merge(
                        child,
                        pulumi.ResourceOptions(retain_on_delete=config.retain_cache_on_delete, provider=cache_provider),
                    ),
                )
            )

        manifest = deployment.build(entry, namespace)
        timeout = f"{deployment.rollout_seconds(entry)}s"
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=depends,
                    custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                ),
            ),
        )

        manifest = service.build(entry, namespace)
        self.service = k8s.core.v1.Service(
            f"{name}-service", metadata=manifest["metadata"], spec=manifest["spec"], opts=child
        )

        if service_monitor_enabled:
            _custom_resource(f"{name}-servicemonitor", service_monitor.build(entry, namespace, monitoring), child)
        if config.enable_autoscaling:
            _custom_resource(
                f"{name}-podautoscaler",
                pod_autoscaler.build(entry, namespace),
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.deployment])),
            )

        details = model_details(entry, namespace)
        self.details = self.deployment.status.apply(lambda status: {**details, "status": _status(status)})
        self.register_outputs({"details": self.details})
