"""What the builders produce, applied to a real API server: accepted, scheduled, served, bound."""

from __future__ import annotations

import copy
import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from components.manifests import pod_autoscaler
from components.manifests.labels import MODEL_NAME_LABEL, pvc_name
from tests.cluster import fleet
from tests.cluster.kube import FIELD_MANAGER, apply, wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def spec(cluster, namespace):
    return fleet.load(fleet.representative_entries(), namespace, cluster.plane.kubeconfig)


def test_every_object_of_a_representative_fleet_is_accepted_and_runs_where_it_should(cluster, spec):
    manifests = fleet.all_manifests(spec)
    kinds = sorted({m["kind"] for m in manifests})
    assert kinds == ["Deployment", "Namespace", "PersistentVolumeClaim", "PodAutoscaler", "Secret", "Service", "ServiceMonitor"]

    for manifest in manifests:
        applied = apply(cluster.dynamic, manifest)
        assert applied.metadata.name == manifest["metadata"]["name"]
        assert FIELD_MANAGER in [f.manager for f in applied.metadata.managedFields]

    ns = spec.namespace
    by_name = {m.name: m for m in spec.models}
    pods = {name: fleet.available(cluster.api, ns, name, 2 if name == "completion-l4" else 1) for name in by_name}

    placed = {name: {p.spec.node_name for p in found} for name, found in pods.items()}
    # The node selector pins chat-a100 to the A100 node; GPU requests land on GPU nodes only,
    # and the CPU model is kept off them by their taint.
    assert placed["chat-a100"] == {fleet.A100.name}
    assert placed["completion-l4"] <= fleet.GPU_NODES
    assert placed["embedding-cpu"] == {"cpu-0"}
    (chat_pod,) = pods["chat-a100"]
    assert chat_pod.spec.containers[0].resources.limits["nvidia.com/gpu"] == "2"

    discovery = client.DiscoveryV1Api(cluster.api)
    for name, found in pods.items():
        # Each Service routes to exactly its model's pods, once the endpoint slice controller has caught up.
        def routes_to_its_pods(name=name, found=found) -> bool:
            slices = discovery.list_namespaced_endpoint_slice(ns, label_selector=f"kubernetes.io/service-name={name}").items
            ready = sorted(e.addresses[0] for s in slices for e in s.endpoints or [] if e.conditions.ready)
            return ready == sorted(p.status.pod_ip for p in found)

        wait_until(f"ready endpoints of Service {name}", routes_to_its_pods, fleet.SETTLE_TIMEOUT)

    for name in ("chat-a100", "embedding-cpu"):
        claim = fleet.bound(cluster.api, ns, pvc_name(by_name[name]))
        assert claim.spec.storage_class_name == "kwok-volume"
    assert cluster.core.read_namespaced_persistent_volume_claim("embedding-cpu-hf-cache", ns).status.access_modes == ["ReadWriteMany"]

    # Secret values reach the pod only by reference.
    env = {e.name: e for e in chat_pod.spec.containers[0].env}
    assert env["HF_TOKEN"].value_from.secret_key_ref.name == "chat-a100-hf-token"
    assert env["WANDB_API_KEY"].value_from.secret_key_ref.name == "chat-a100-env"
    assert env["VLLM_LOGGING_LEVEL"].value == "INFO"


def test_the_podautoscaler_schema_is_enforced(cluster, spec):
    good = pod_autoscaler.build(spec.models[0], spec.namespace)

    unknown_strategy = copy.deepcopy(good)
    unknown_strategy["spec"]["scalingStrategy"] = "LINEAR"
    no_target = copy.deepcopy(good)
    del no_target["spec"]["scaleTargetRef"]
    for broken, cause in (
        (unknown_strategy, 'spec.scalingStrategy: Unsupported value: "LINEAR"'),
        (no_target, "spec.scaleTargetRef: Required value"),
    ):
        with pytest.raises(ApiException) as invalid:
            apply(cluster.dynamic, broken)
        assert invalid.value.status == 422 and cause in json.loads(invalid.value.body)["message"]

    # A field the schema does not declare would be pruned silently without strict validation;
    # server-side apply refuses to build the object at all.
    typo = copy.deepcopy(good)
    typo["spec"]["metricsSources"][0]["targetMetrics"] = "num_requests_running"
    with pytest.raises(ApiException) as undeclared:
        apply(cluster.dynamic, typo)
    assert ".spec.metricsSources[0].targetMetrics: field not declared in schema" in json.loads(undeclared.value.body)["message"]

    assert apply(cluster.dynamic, good).spec.maxReplicas == 2
    assert (
        client.CustomObjectsApi(cluster.api).list_namespaced_custom_object(
            "autoscaling.aibrix.ai", "v1alpha1", spec.namespace, "podautoscalers"
        )["items"][0]["spec"]["scalingStrategy"]
        == "KPA"
    )


def test_models_all_lists_an_unmanaged_deployment_from_the_cluster(cluster, namespace):
    labels = {MODEL_NAME_LABEL: "external-model"}
    cluster.apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "external-model", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "server", "image": "vllm/vllm-openai:v0.10.2"}]},
                },
            },
        },
    )
    fleet.available(cluster.api, namespace, "external-model", 1)
    created = cluster.apps.read_namespaced_deployment("external-model", namespace).metadata.creation_timestamp

    listed = cluster.command_json("models", "--all")

    by_key = {(m["namespace"], m["name"]): m for m in listed["models"]}
    assert by_key[(namespace, "external-model")] == {
        "name": "external-model",
        "namespace": namespace,
        "status": "running",
        "replicas": 1,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "is_managed": False,
    }
    managed = by_key[("jan-models", "qwen3-coder-30b")]
    assert (managed["is_managed"], managed["status"], managed["replicas"]) == (True, "not deployed", 0)
