"""Validate manifests against real schemas: Kubernetes' OpenAPI (kubernetes-validate) and the shared CRDs."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CRDS_DIR = ROOT.parent / "shared" / "crds"
CRD_FILES = {
    ("autoscaling.aibrix.ai/v1alpha1", "PodAutoscaler"): "podautoscalers.autoscaling.aibrix.ai.yaml",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitors.monitoring.coreos.com.yaml",
}
KUBERNETES_VERSION = "1.33.0"


def _no_unknown_fields(schema: dict) -> dict:
    """The API server prunes fields a structural schema does not declare; for us that is a typo."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def crd_schema(api_version: str, kind: str) -> dict:
    path = CRDS_DIR / CRD_FILES[(api_version, kind)]
    assert path.is_file(), f"{path} missing: CI runs with ../shared beside the repository"
    crd = yaml.safe_load(path.read_text())
    version = api_version.split("/")[1]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = _no_unknown_fields(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def validate(manifest: dict) -> None:
    """Raise when the manifest does not fit its kind's schema."""
    key = (manifest["apiVersion"], manifest["kind"])
    if key in CRD_FILES:
        jsonschema.validate(manifest, crd_schema(*key))
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
