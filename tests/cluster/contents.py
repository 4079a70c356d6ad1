"""What the test cluster holds once its control plane is up: fake GPU nodes run by kwok, the CRDs
whose presence the preflight reports, and a default StorageClass whose claims bind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from components.contract.preflight import GFD_MEMORY_LABEL, GFD_PRODUCT_LABEL, GPU_RESOURCE
from components.contract.spec import ENVOY_GATEWAY_CRD, GPU_OPERATOR_CRD, KUBERAY_CRD
from tests.cluster.controlplane import KWOK_NODE_ANNOTATION
from tests.cluster.kube import wait_until

GFD_COUNT_LABEL = "nvidia.com/gpu.count"
# GPU node pools are commonly tainted so only GPU workloads land there; the Deployment builder
# tolerates this taint whenever a model requests GPUs.
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
# kwok's volume stages provision and bind claims of this class (the name is in their selectors).
STORAGE_CLASS = "kwok-volume"


@dataclass(frozen=True)
class FakeNode:
    name: str
    cpu: str
    memory: str
    gpus: int = 0
    product: str = ""
    memory_mib: int = 0  # per GPU, as GPU feature discovery labels it

    def manifest(self) -> dict:
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}
        capacity = {"cpu": self.cpu, "memory": self.memory, "pods": "110"}
        spec: dict = {}
        if self.gpus:
            labels.update({GFD_PRODUCT_LABEL: self.product, GFD_MEMORY_LABEL: str(self.memory_mib), GFD_COUNT_LABEL: str(self.gpus)})
            capacity[GPU_RESOURCE] = str(self.gpus)
            spec["taints"] = [GPU_TAINT]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": labels, "annotations": {KWOK_NODE_ANNOTATION: "fake"}},
            "spec": spec,
            # kwok's node-initialize stage keeps capacity and allocatable as created and adds the rest.
            "status": {"capacity": capacity, "allocatable": capacity},
        }


NODES = (
    FakeNode("gpu-a100-0", cpu="64", memory="512Gi", gpus=4, product="NVIDIA-A100-SXM4-80GB", memory_mib=81920),
    FakeNode("gpu-l4-0", cpu="32", memory="128Gi", gpus=2, product="NVIDIA-L4", memory_mib=23034),
    FakeNode("cpu-0", cpu="16", memory="64Gi"),
)


def _stand_in_crd(name: str, kind: str, scope: str, annotations: dict | None = None) -> dict:
    """A CRD with the real name and an open schema: enough for the preflight to see the operator."""
    plural, group = name.split(".", 1)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "scope": scope,
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


STAND_IN_CRDS = (
    _stand_in_crd(GPU_OPERATOR_CRD, "ClusterPolicy", "Cluster"),
    _stand_in_crd(KUBERAY_CRD, "RayCluster", "Namespaced"),
    # Groups under k8s.io need the API review annotation, as the real Gateway API CRDs carry.
    _stand_in_crd(
        ENVOY_GATEWAY_CRD,
        "GatewayClass",
        "Cluster",
        {"api-approved.kubernetes.io": "unapproved, a stand-in for the Gateway API CRD in model-fleet's test cluster"},
    ),
)


def crd_manifests(crd_files: list[Path]) -> list[dict]:
    """The CRDs from their files (tests/schemas.py: crd_files), then the stand-ins of the others."""
    real = [yaml.safe_load(path.read_text()) for path in crd_files]
    names = {crd["metadata"]["name"] for crd in real}
    return real + [crd for crd in STAND_IN_CRDS if crd["metadata"]["name"] not in names]


def storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kwok.x-k8s.io/volume",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def _create(create, body: dict) -> None:
    """Create unless it exists: restoring the CRDs after a test deleted one leaves the others as they are."""
    try:
        create(body)
    except ApiException as err:
        if err.status != 409:
            raise


def install_crds(api: ApiClient, crd_files: list[Path], timeout: float = 60) -> None:
    extensions = client.ApiextensionsV1Api(api)
    manifests = crd_manifests(crd_files)
    for manifest in manifests:
        _create(extensions.create_custom_resource_definition, manifest)

    def established() -> bool:
        for manifest in manifests:
            status = extensions.read_custom_resource_definition(manifest["metadata"]["name"]).status
            conditions = (status.conditions if status else None) or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True

    wait_until("CRDs established", established, timeout)


def node_ready(node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def populate(api: ApiClient, crd_files: list[Path], timeout: float = 120) -> None:
    """Storage, nodes and CRDs, then wait until the nodes are Ready and pods can be created."""
    core = client.CoreV1Api(api)
    _create(client.StorageV1Api(api).create_storage_class, storage_class())
    for node in NODES:
        # Created, not applied: a Node's status is kept only on create (later writes go to /status).
        _create(core.create_node, node.manifest())
    install_crds(api, crd_files, timeout)
    wait_until(
        "kwok nodes Ready",
        lambda: (
            sorted(n.metadata.name for n in core.list_node().items if n.metadata and n.metadata.name and node_ready(n))
            == sorted(n.name for n in NODES)
        ),
        timeout,
    )

    def default_service_account() -> bool:
        # Pods need their namespace's default ServiceAccount, which kube-controller-manager creates.
        try:
            return core.read_namespaced_service_account("default", "default") is not None
        except ApiException as err:
            if err.status == 404:
                return False
            raise

    wait_until("the default ServiceAccount", default_service_account, timeout)
