"""Removing and re-adding a model as the program does, and an API server that goes away mid-apply."""

from __future__ import annotations

import pytest
from kubernetes import client
from urllib3.exceptions import HTTPError

from components.manifests.labels import MODEL_NAME_LABEL, pvc_name
from harness.factories import gpu_entry
from tests.cluster import fleet
from tests.cluster.kube import apply, wait_until

pytestmark = pytest.mark.cluster


@pytest.fixture
def spec(cluster, namespace):
    return fleet.load([gpu_entry("qwen3-coder-30b", 1, "24Gi")], namespace, cluster.plane.kubeconfig)


def _label(spec) -> str:
    return f"{MODEL_NAME_LABEL}={spec.models[0].name}"


def test_removing_a_model_keeps_its_cache_claim_and_adding_it_again_reuses_it(cluster, spec):
    (model,) = spec.models
    ns, claim_name = spec.namespace, pvc_name(model)
    assert model.deployment_config.retain_cache_on_delete
    manifests = fleet.all_manifests(spec)
    for manifest in manifests:
        apply(cluster.dynamic, manifest)
    fleet.available(cluster.api, ns, model.name, 1)
    claim = fleet.bound(cluster.api, ns, claim_name)

    # What `pulumi up` deletes when the entry goes: everything but the retained claim (and the namespace).
    for manifest in fleet.model_manifests(spec, model):
        if manifest["kind"] != "PersistentVolumeClaim":
            resource = cluster.dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
            cluster.dynamic.delete(resource, name=manifest["metadata"]["name"], namespace=ns)
    wait_until(
        "the model's pods gone", lambda: not cluster.core.list_namespaced_pod(ns, label_selector=_label(spec)).items, fleet.SETTLE_TIMEOUT
    )
    kept = cluster.core.read_namespaced_persistent_volume_claim(claim_name, ns)
    assert (kept.metadata.uid, kept.status.phase, kept.spec.volume_name) == (claim.metadata.uid, "Bound", claim.spec.volume_name)
    assert cluster.apps.list_namespaced_deployment(ns).items == []

    for manifest in manifests:
        apply(cluster.dynamic, manifest)
    (pod,) = fleet.available(cluster.api, ns, model.name, 1)
    again = cluster.core.read_namespaced_persistent_volume_claim(claim_name, ns)
    assert (again.metadata.uid, again.spec.volume_name) == (claim.metadata.uid, claim.spec.volume_name)
    assert [v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim] == [claim_name]
    assert len(cluster.core.list_namespaced_persistent_volume_claim(ns).items) == 1


def test_an_apply_cut_off_by_the_api_server_crashing_converges_when_applied_again(cluster, spec):
    (model,) = spec.models
    ns = spec.namespace
    manifests = fleet.all_manifests(spec)
    kinds = [m["kind"] for m in manifests]
    cut = kinds.index("Deployment")
    plane = cluster.plane

    for manifest in manifests[:cut]:
        apply(cluster.dynamic, manifest)
    plane.stop("kube-apiserver", crash=True)
    try:
        with pytest.raises(HTTPError):
            apply(cluster.dynamic, manifests[cut])
        # The preflight against a cluster it cannot reach: one problem, naming where it looked.
        unreachable = cluster.command("check")
    finally:
        plane.start_apiserver()

    assert unreachable.returncode == 1
    lines = unreachable.stderr.splitlines()
    assert lines[0] == "Pulumi.cluster.yaml: 1 problem found; nothing was changed"
    assert lines[1].startswith(f"  - kubernetes: cannot read the cluster at {plane.server}: ")
    assert "Connection refused" in lines[1] and len(lines) == 2

    for manifest in manifests:
        apply(cluster.dynamic, manifest)
    fleet.available(cluster.api, ns, model.name, 1)

    selector = _label(spec)
    counts = {
        "Deployment": len(cluster.apps.list_namespaced_deployment(ns, label_selector=selector).items),
        "ReplicaSet": len(cluster.apps.list_namespaced_replica_set(ns, label_selector=selector).items),
        "Pod": len(cluster.core.list_namespaced_pod(ns, label_selector=selector).items),
        "Service": len(cluster.core.list_namespaced_service(ns, label_selector=selector).items),
        "PersistentVolumeClaim": len(cluster.core.list_namespaced_persistent_volume_claim(ns, label_selector=selector).items),
        "PersistentVolume": len(
            [v for v in cluster.core.list_persistent_volume().items if v.spec.claim_ref and v.spec.claim_ref.namespace == ns]
        ),
    }
    assert counts == dict.fromkeys(counts, 1)
    objects = client.CustomObjectsApi(cluster.api)
    assert len(objects.list_namespaced_custom_object("autoscaling.aibrix.ai", "v1alpha1", ns, "podautoscalers")["items"]) == 1
