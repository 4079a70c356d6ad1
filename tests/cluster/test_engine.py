"""The program itself, run by the real engine (the runner: Automation API, no language host) against the test cluster."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from components.contract import config
from components.manifests import objects
from components.manifests.labels import MODEL_NAME_LABEL
from harness.factories import DELETE, entry
from tests.cli.conftest import copy_program
from tests.cluster import fleet
from tests.cluster.stack import HEADER, STACK
from tests.engine_runs import engine_stack, require_engine

pytestmark = [pytest.mark.cluster, pytest.mark.engine]
TOKEN = "hf_" + "ClusterEngineToken0123456789abcd"
GPU_MODEL, CPU_MODEL = "qwen3-coder-30b", "embedding-cpu"


def cpu_entry(replicas: int = 2, **overrides) -> dict:
    return entry(
        CPU_MODEL,
        model_type="embedding",
        **{
            "requirements.gpu": DELETE,
            "deployment_config.gpu_count": 0,
            "deployment_config.enable_autoscaling": False,
            "deployment_config.enable_pvc": False,
            "deployment_config.replicas": replicas,
            "deployment_config.extra_env": [{"name": "VLLM_LOGGING_LEVEL", "value": "INFO"}],
            **overrides,
        },
    )


def write_stack(project, kubeconfig, namespace: str, models: list[dict], token: dict | None = None) -> None:
    """Pulumi.cluster.yaml with these models; `token` the GPU model's encrypted token as `pulumi config set` wrote it."""
    path = project / f"Pulumi.{STACK}.yaml"
    document = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    settings = document.setdefault("config", {})
    settings.update(
        {
            "model-fleet:namespace": namespace,
            "model-fleet:kubernetes": {"kubeconfig": str(kubeconfig.resolve())},
            "model-fleet:docs": {"enabled": False},
            "model-fleet:models": models,
        }
    )
    for model in models:
        if token is not None and model["name"] == GPU_MODEL:
            model["deployment_config"]["hugging_face_token"] = token
    path.write_text(HEADER + yaml.safe_dump(document, sort_keys=False))


def test_the_program_up_on_a_real_cluster_updates_in_place_keeps_and_takes_back_the_claim(cluster, namespace, tmp_path):
    engine = require_engine()
    project = copy_program(tmp_path / "project")
    kubeconfig = cluster.plane.kubeconfig
    write_stack(project, kubeconfig, namespace, [entry(), cpu_entry()])
    stack = engine_stack(engine, project, tmp_path / "engine", STACK, passphrase="model-fleet cluster tests")
    stack.cli("config", "set", "--secret", "--path", "model-fleet:models[0].deployment_config.hugging_face_token", TOKEN)
    written = yaml.safe_load((project / f"Pulumi.{STACK}.yaml").read_text())["config"]["model-fleet:models"][0]
    token = written["deployment_config"]["hugging_face_token"]
    assert set(token) == {"secure"}
    debug = {"deployment_config.extra_env": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}]}

    stack.run("up")
    gpu_pods = fleet.available(cluster.api, namespace, GPU_MODEL, 1)
    fleet.available(cluster.api, namespace, CPU_MODEL, 2)
    assert {p.spec.node_name for p in gpu_pods} <= fleet.GPU_NODES
    claim = fleet.bound(cluster.api, namespace, f"{GPU_MODEL}-hf-cache")

    # What is in the cluster is what the builders specify.
    spec = config.load_stack_file(project, STACK).spec
    by_kind = {}
    for model, routing in objects.versions(spec):
        for manifest in fleet.model_manifests(spec, model, routing):
            by_kind.setdefault(manifest["kind"], []).append(manifest)
    assert sorted(by_kind) == ["Deployment", "PersistentVolumeClaim", "PodAutoscaler", "Secret", "Service", "ServiceMonitor"]
    for manifest in [m for ms in by_kind.values() for m in ms]:
        resource = cluster.dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        live = resource.get(name=manifest["metadata"]["name"], namespace=namespace).to_dict()
        assert {k: live["metadata"]["labels"].get(k) for k in manifest["metadata"]["labels"]} == manifest["metadata"]["labels"]
        if "spec" in manifest and manifest["kind"] in ("Service", "PodAutoscaler", "ServiceMonitor"):
            assert all(live["spec"][k] == v for k, v in manifest["spec"].items() if k not in ("clusterIP",)), manifest["kind"]
    deployment = cluster.apps.read_namespaced_deployment(GPU_MODEL, namespace)
    container = deployment.spec.template.spec.containers[0]
    assert container.image == by_kind["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    [secret] = cluster.core.list_namespaced_secret(namespace, label_selector=f"{MODEL_NAME_LABEL}={GPU_MODEL}").items
    assert {base64.b64decode(v).decode() for v in secret.data.values()} == {TOKEN}
    env = {e.name: e.value_from.secret_key_ref.name for e in container.env if e.value_from and e.value_from.secret_key_ref}
    assert env.get("HF_TOKEN") == secret.metadata.name
    # The token is encrypted in the state and nowhere in clear.
    assert TOKEN not in stack.cli("stack", "export").stdout

    # The status output is the Deployment as the engine last read it, and says so: the real
    # engine read it as pending, creating or running, depending on how far the rollout was.
    outputs = json.loads(stack.cli("stack", "output", "models", "--json").stdout)
    assert {o["status"] for o in outputs.values()} <= {"pending", "creating", "running"}
    assert {o["status_as_of"] for o in outputs.values()} == {
        "the Deployment as the engine last read it (at its last update); `python -m components models --all` reads the cluster"
    }
    live = json.loads(cluster.command("models", "--all", "--json", project_dir=project).stdout)
    assert {m["name"]: m["status"] for m in live["models"] if m["name"] in outputs} == {GPU_MODEL: "running", CPU_MODEL: "running"}

    stack.run("preview", "--expect-no-changes")

    # More replicas and an env value: one in-place update of the Deployment, same object.
    before = cluster.apps.read_namespaced_deployment(CPU_MODEL, namespace)
    write_stack(project, kubeconfig, namespace, [entry(), cpu_entry(3, **debug)], token)
    steps = stack.steps()
    assert [(s.op, s.type, s.name) for s in steps] == [("update", "kubernetes:apps/v1:Deployment", f"{CPU_MODEL}-deployment")]
    stack.run("up")
    after = fleet.available(cluster.api, namespace, CPU_MODEL, 3)
    updated = cluster.apps.read_namespaced_deployment(CPU_MODEL, namespace)
    assert updated.metadata.uid == before.metadata.uid and updated.metadata.generation > before.metadata.generation
    assert {e.name: e.value for e in updated.spec.template.spec.containers[0].env}["VLLM_LOGGING_LEVEL"] == "DEBUG"
    assert len(after) == 3

    # Removing the GPU model: its objects go, its claim stays.
    write_stack(project, kubeconfig, namespace, [cpu_entry(3, **debug)])
    stack.run("up")
    selector = f"{MODEL_NAME_LABEL}={GPU_MODEL}"
    assert cluster.apps.list_namespaced_deployment(namespace, label_selector=selector).items == []
    assert cluster.core.list_namespaced_service(namespace, label_selector=selector).items == []
    assert cluster.core.list_namespaced_secret(namespace, label_selector=selector).items == []
    kept = cluster.core.read_namespaced_persistent_volume_claim(f"{GPU_MODEL}-hf-cache", namespace)
    assert kept.metadata.uid == claim.metadata.uid

    # Adding it back takes the same claim back: same object, still Bound, the model running on it.
    write_stack(project, kubeconfig, namespace, [entry(), cpu_entry(3, **debug)], token)
    stack.run("up")
    fleet.available(cluster.api, namespace, GPU_MODEL, 1)
    again = fleet.bound(cluster.api, namespace, f"{GPU_MODEL}-hf-cache")
    assert again.metadata.uid == claim.metadata.uid and again.spec.volume_name == claim.spec.volume_name
    stack.run("preview", "--expect-no-changes")

    # Destroying the stack leaves only what it keeps: the namespace and the claim.
    stack.run("destroy")
    assert cluster.core.read_namespace(namespace).status.phase == "Active"
    assert cluster.apps.list_namespaced_deployment(namespace).items == []
    assert [c.metadata.uid for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items] == [claim.metadata.uid]
