"""The ModelDeployment component: one model entry as Kubernetes resources, through the builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pydantic import SecretStr

from components.contract.spec import ModelEntry
from components.details import COMPONENT_TYPE, deployment_status, model_details
from components.manifests import deployment, objects

TYPE = COMPONENT_TYPE


# What a model's `status` output is: in render mode nothing is applied, so there is no status to
# read; otherwise it is the Deployment's status as the engine read it when it last applied the
# Deployment (often before its pods were ready), not a live reading.
RENDERED = "rendered"
AS_OF = {
    True: "render mode: manifests written, nothing applied",
    False: "the Deployment as the engine last read it (at its last update); `python -m components models --all` reads the cluster",
}


def _status(observed) -> str:
    """Status words from the Deployment's observed status (absent while previewing)."""
    if not observed:
        return "pending"
    return deployment_status(getattr(observed, "ready_replicas", None) or 0, getattr(observed, "replicas", None) or 0)


# Each kind of object as the resource that declares it, from its resource name and manifest.
RESOURCES: dict[str, Callable[..., pulumi.CustomResource]] = {
    "Secret": lambda name, m, opts: k8s.core.v1.Secret(
        name, metadata=m["metadata"], type=m["type"], string_data=m.get("stringData"), opts=opts
    ),
    "PersistentVolumeClaim": lambda name, m, opts: k8s.core.v1.PersistentVolumeClaim(
        name, metadata=m["metadata"], spec=m["spec"], opts=opts
    ),
    "Deployment": lambda name, m, opts: k8s.apps.v1.Deployment(name, metadata=m["metadata"], spec=m["spec"], opts=opts),
    "Service": lambda name, m, opts: k8s.core.v1.Service(name, metadata=m["metadata"], spec=m["spec"], opts=opts),
}


def _custom_resource(name: str, manifest: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name, api_version=manifest["apiVersion"], kind=manifest["kind"], metadata=manifest["metadata"], spec=manifest["spec"], opts=opts
    )


@dataclass
class _Declared:
    """What a model's objects declared so far: what the Deployment's pods need first, and the Deployment."""

    prerequisites: list[pulumi.Resource] = field(default_factory=list)
    deployment: k8s.apps.v1.Deployment | None = None


def _options(kind: str, entry: ModelEntry, declared: _Declared) -> pulumi.ResourceOptions:
    """The options of one kind of object beyond its parent."""
    if kind == "PersistentVolumeClaim":
        # Weights take long to download: by default removing the model keeps them, and declaring
        # the model again takes the same claim back (server-side apply).
        return pulumi.ResourceOptions(retain_on_delete=entry.deployment_config.retain_cache_on_delete)
    if kind == "Deployment":
        timeout = f"{deployment.rollout_seconds(entry)}s"
        return pulumi.ResourceOptions(
            depends_on=list(declared.prerequisites), custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)
        )
    if kind == "PodAutoscaler":
        # The autoscaler targets the Deployment, which is declared before it.
        return pulumi.ResourceOptions(depends_on=[d for d in (declared.deployment,) if d is not None])
    return pulumi.ResourceOptions()


class ModelDeployment(pulumi.ComponentResource):
    def __init__(
        self,
        entry: ModelEntry,
        *,
        context: objects.Context,
        routing: objects.PoolRouting | None = None,
        rendering: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`rendering` (render mode) declares the Secrets without their values, since a value
        in a manifest on disk would be in clear (base64 is not encryption), and reports the
        status as `rendered`. `routing`: the version's pool and, on a model's own version, its route.
        """
        super().__init__(TYPE, entry.name, None, opts)
        config = entry.deployment_config
        token = env_values = None
        if not rendering:
            if config.hugging_face_token is not None:
                token = pulumi.Output.secret(config.hugging_face_token.get_secret_value())
            env_values = {
                e.name: pulumi.Output.secret(e.value.get_secret_value()) for e in config.extra_env if isinstance(e.value, SecretStr)
            }

        declared = _Declared()
        listing = objects.model_objects(entry, context, routing=routing, token=token, env_values=env_values)
        for resource_name, manifest in listing:
            kind = manifest["kind"]
            options = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), _options(kind, entry, declared))
            resource = RESOURCES.get(kind, _custom_resource)(resource_name, manifest, options)
            if kind in ("Secret", "PersistentVolumeClaim"):
                # What the Deployment's pods mount or read must exist first.
                declared.prerequisites.append(resource)
            elif kind == "Deployment":
                declared.deployment = resource
        assert declared.deployment is not None, "objects.model_objects lists a Deployment for every model"
        self.deployment = declared.deployment

        self.fields = {**model_details(entry, context.namespace), "status_as_of": AS_OF[rendering]}
        self.status = pulumi.Output.from_input(RENDERED) if rendering else self.deployment.status.apply(_status)
        # The model's details are the stack's `models` export; registered here as well, each
        # component's state would hold them a second time.
        self.register_outputs({"status": self.status})

    def report(self, status: str) -> dict:
        """The model's details with its status. Outputs of plain strings are what the stack's export
        should combine: Pulumi unwraps a dict inside an Output one value at a time, each an Output."""
        return {**self.fields, "status": status}
