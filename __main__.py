"""model-fleet: one ModelDeployment per model entry of the stack config, and the docs that go with them."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components import collector, manifest_files
from components.contract import config, pulumi_config, secret_values, stack_files
from components.contract.problems import ProblemsFound
from components.contract.spec import SERVICE_MONITOR_CRD, StackSpec
from components.manifests import namespace as namespace_manifest
from components.manifests import objects
from components.model_deployment import ModelDeployment
from docsgen import writer

PROJECT_DIR = Path(__file__).resolve().parent


def load() -> config.LoadedStack:
    try:
        # The engine hands over decrypted values, project config already merged; the files
        # themselves tell whether a token was written in clear and where the catalog comes from.
        files = stack_files.read_stack(PROJECT_DIR, pulumi.get_stack(), required=False)
        raw = secret_values.mark_secrets(pulumi_config.raw_from_pulumi(), stack_files.model_fleet_section(files.stack_config))
        return config.load(
            raw, source=files.source, extra_problems=files.token_problems, catalog_source=files.catalog_source, project_dir=PROJECT_DIR
        )
    except ProblemsFound as err:
        # RunError ends the program with this message alone, without a Python traceback.
        raise pulumi.RunError(err.report()) from None


def provider_args(spec: StackSpec) -> dict:
    settings = spec.kubernetes
    # Server-side apply, whatever PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY says: a create is then an
    # apply, so what this stack keeps when it deletes (the namespace, cache claims) is taken back
    # as it is when declared again, instead of failing because it exists.
    args: dict = {"namespace": spec.namespace, "enable_server_side_apply": True}
    if settings.render_yaml_to_directory:
        # The provider writes a file only when the state says its resource changed; the files
        # users apply are written by the program itself (write_manifests). The provider still
        # needs a directory to render into in this mode, kept out of the way.
        args["render_yaml_to_directory"] = str(PROJECT_DIR / ".pulumi-state" / "provider-render" / pulumi.get_stack())
        # Unset, the SDK fills `kubeconfig` from $KUBECONFIG, and the provider (before 4.32)
        # refuses any kubeconfig next to a render directory: an empty one is the SDK's "none".
        args["kubeconfig"] = ""
    else:
        if settings.kubeconfig_path:
            args["kubeconfig"] = settings.kubeconfig_path
        if settings.context:
            args["context"] = settings.context
    return args


def docs_plan(spec: StackSpec) -> writer.Plan | None:
    if not spec.docs.enabled:
        return None
    try:
        return writer.plan_for_writing(spec, writer.docs_root(spec, PROJECT_DIR))
    except ProblemsFound as err:
        raise pulumi.RunError(err.report()) from None


def write_docs(plan: writer.Plan) -> None:
    try:
        changed, deleted = writer.apply(plan)
    except (ProblemsFound, writer.WriteError) as err:
        raise pulumi.RunError(str(err)) from None
    pulumi.log.info(f"docs: {len(changed)} written, {len(deleted)} deleted, {len(plan.writes) - len(changed)} unchanged")


def manifests_plan(loaded: config.LoadedStack) -> manifest_files.Plan | None:
    directory = manifest_files.render_dir(loaded.spec, PROJECT_DIR)
    if directory is None:
        return None
    try:
        return manifest_files.plan(directory, manifest_files.render(loaded.spec, loaded.facts))
    except ProblemsFound as err:
        raise pulumi.RunError(err.report()) from None


def write_manifests(plan: manifest_files.Plan) -> None:
    try:
        done = manifest_files.write(plan)
    except manifest_files.WriteError as err:
        raise pulumi.RunError(str(err)) from None
    pulumi.log.info(f"manifests in {plan.directory}: {len(done.written)} written, {len(done.deleted)} deleted, {done.unchanged} unchanged")


def main() -> None:
    collector.tune()
    loaded = load()
    spec = loaded.spec
    # Planned before any resource is declared, so a docs conflict or a tampered record of
    # rendered files also stops everything.
    docs = docs_plan(spec)
    manifests = manifests_plan(loaded)
    for warning in loaded.warnings:
        pulumi.log.warn(warning)

    args = provider_args(spec)
    k8s_provider = k8s.Provider("kubernetes", **args)
    opts = pulumi.ResourceOptions(provider=k8s_provider)
    if spec.kubernetes.create_namespace:
        namespace = k8s.core.v1.Namespace(
            "namespace",
            metadata=namespace_manifest.build(spec.namespace)["metadata"],
            # Deleting a namespace deletes every claim in it: kept cached weights would go too.
            opts=pulumi.ResourceOptions(provider=k8s_provider, retain_on_delete=True),
        )
        opts = pulumi.ResourceOptions(provider=k8s_provider, depends_on=[namespace])

    context = objects.Context.of(spec, service_monitor_enabled=loaded.facts.has_crd(SERVICE_MONITOR_CRD))
    deployments = [
        ModelDeployment(
            entry,
            context=context,
            routing=routing,
            rendering=bool(spec.kubernetes.render_yaml_to_directory),
            opts=opts,
        )
        # A model, then its canary: each version its own component.
        for entry, routing in objects.versions(spec)
    ]
    if docs is not None:
        write_docs(docs)
    if manifests is not None:
        write_manifests(manifests)

    statuses = pulumi.Output.all(*[d.status for d in deployments])
    pulumi.export("models", statuses.apply(lambda each: {d.fields["name"]: d.report(s) for d, s in zip(deployments, each, strict=True)}))
    pulumi.export("cluster_status", loaded.facts.status())


main()
