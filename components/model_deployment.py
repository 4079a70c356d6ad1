"""The ModelDeployment component: one model entry as Kubernetes resources, through the builders."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.details import COMPONENT_TYPE, deployment_status, model_details
from components.manifests import deployment, objects
from components.spec import ModelEntry, MonitoringConfig

TYPE = COMPONENT_TYPE


# What a model's `status` output is: in render mode nothing is applied, so there is no status to
# read; otherwise it is the Deployment's status as the engine read it when it last applied the
# Deployment (often before its pods were ready), not a live reading.
RENDERED = "rendered"
AS_OF = {True: "render mode: manifests written, nothing applied",
         False: "the Deployment as the engine last read it (at its last update); `python -m components models --all` reads the cluster"}


def _status(observed) -> str:
    """Status words from the Deployment's observed status (absent while previewing)."""
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
        rendering: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`rendering` (render mode) declares the Secrets without their values, since a value
        in a manifest on disk would be in clear (base64 is not encryption), and reports the
        status as `rendered`.
        """
        super().__init__(TYPE, entry.name, None, opts)
        config = entry.deployment_config
        child = pulumi.ResourceOptions(parent=self)

        token = None
        if config.hugging_face_token is not None and not rendering:
            token = pulumi.Output.secret(config.hugging_face_token.get_secret_value())
        env_values = None
        if not rendering:
            env_values = {e.name: pulumi.Output.secret(e.value.get_secret_value()) for e in config.extra_env if e.is_secret}

        # What the Deployment's pods mount or read must exist first.
        prerequisites: list[pulumi.Resource] = []
        for resource_name, manifest in objects.model_objects(
            entry,
            namespace,
            monitoring,
            service_monitor_enabled=service_monitor_enabled,
            token=token,
            env_values=env_values,
        ):
            kind = manifest["kind"]
            if kind == "Secret":
                prerequisites.append(
                    k8s.core.v1.Secret(
                        resource_name,
                        metadata=manifest["metadata"],
                        type=manifest["type"],
                        string_data=manifest.get("stringData"),
                        opts=child,
                    )
                )
            elif kind == "PersistentVolumeClaim":
                prerequisites.append(
                    k8s.core.v1.PersistentVolumeClaim(
                        resource_name,
                        metadata=manifest["metadata"],
                        spec=manifest["spec"],
                        # Weights take long to download: by default removing the model keeps them,
                        # and declaring the model again takes the same claim back (server-side apply).
                        opts=pulumi.ResourceOptions.merge(
                            child,
                            pulumi.ResourceOptions(retain_on_delete=config.retain_cache_on_delete),
                        ),
                    )
                )
            elif kind == "Deployment":
                timeout = f"{deployment.rollout_seconds(entry)}s"
                self.deployment = k8s.apps.v1.Deployment(
                    resource_name,
                    metadata=manifest["metadata"],
                    spec=manifest["spec"],
                    opts=pulumi.ResourceOptions.merge(
                        child,
                        pulumi.ResourceOptions(
                            depends_on=prerequisites,
                            custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                        ),
                    ),
                )
            elif kind == "Service":
                k8s.core.v1.Service(resource_name, metadata=manifest["metadata"], spec=manifest["spec"], opts=child)
            else:
                # The autoscaler targets the Deployment, which is declared before it.
                after = [self.deployment] if kind == "PodAutoscaler" else []
                _custom_resource(resource_name, manifest, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after)))

        self.fields = {**model_details(entry, namespace), "status_as_of": AS_OF[rendering]}
        self.status = pulumi.Output.from_input(RENDERED) if rendering else self.deployment.status.apply(_status)
        # The model's details are the stack's `models` export; registered here as well, each
        # component's state would hold them a second time.
        self.register_outputs({"status": self.status})

    def report(self, status: str) -> dict:
        """The model's details with its status. Outputs of plain strings are what the stack's export
        should combine: Pulumi unwraps a dict inside an Output one value at a time, each an Output."""
        return {**self.fields, "status": status}
