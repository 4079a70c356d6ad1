"""The floor of the Pulumi program: the raw pulumi_kubernetes resources the program declares, with
the builders' output computed beforehand and passed as literals. No validation, no components,
no docs: what is left is the cost of registering the resources under the mocks.
"""

from __future__ import annotations

from pathlib import Path

# (kind, resource name, manifest) of every object, and the provider settings; set by prepare().
OBJECTS: list[tuple[str, dict]] = []
NAMESPACE = ""


def prepare(project: Path, stack: str) -> None:
    global NAMESPACE
    from components.contract import config
    from components.contract.spec import SERVICE_MONITOR_CRD
    from components.manifests import namespace, objects

    loaded = config.load_stack_file(project, stack)
    spec = loaded.spec
    NAMESPACE = spec.namespace
    OBJECTS.clear()
    if spec.kubernetes.create_namespace:
        OBJECTS.append(("namespace", namespace.build(spec.namespace)))
    context = objects.Context.of(spec, service_monitor_enabled=loaded.facts.has_crd(SERVICE_MONITOR_CRD))
    for entry, routing in objects.versions(spec):
        OBJECTS.extend(objects.model_objects(entry, context, routing=routing))


def write_program(project: Path) -> Path:
    """A project directory whose __main__.py declares the floor, for the same runner as the program."""
    directory = project / "floor"
    directory.mkdir(exist_ok=True)
    (directory / "__main__.py").write_text("from bench import program_floor\n\nprogram_floor.declare()\n")
    return directory


def declare() -> None:
    import pulumi
    import pulumi_kubernetes as k8s

    from components import collector

    # The program runs with the collector tuned for its resource graph; so does its floor, or
    # the ratio would credit the program with the collector's settings rather than its own work.
    collector.tune()
    provider = k8s.Provider("kubernetes", namespace=NAMESPACE, enable_server_side_apply=True)
    opts = pulumi.ResourceOptions(provider=provider)
    for name, manifest in OBJECTS:
        kind = manifest["kind"]
        if kind == "Namespace":
            k8s.core.v1.Namespace(name, metadata=manifest["metadata"], opts=opts)
        elif kind == "Secret":
            k8s.core.v1.Secret(
                name, metadata=manifest["metadata"], type=manifest["type"], string_data=manifest.get("stringData"), opts=opts
            )
        elif kind == "PersistentVolumeClaim":
            k8s.core.v1.PersistentVolumeClaim(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
        elif kind == "Deployment":
            k8s.apps.v1.Deployment(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
        elif kind == "Service":
            k8s.core.v1.Service(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
        else:
            k8s.apiextensions.CustomResource(
                name, api_version=manifest["apiVersion"], kind=kind, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts
            )
