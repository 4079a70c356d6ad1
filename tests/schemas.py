"""Validate manifests against real schemas: Kubernetes' OpenAPI (kubernetes-validate), the shared CRDs and the Gateway API's."""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests import gateway_api

ROOT = Path(__file__).resolve().parent.parent
# The PodAutoscaler, ServiceMonitor and InferencePool CRDs come from outside the repository: the
# folder named by MODEL_FLEET_CRDS, by default ../shared/crds beside the clone (where CI has them);
# the HTTPRoute's from the Gateway API's Go module (`make gateway-api-crds`, tests/gateway_api.py).
# Without them the tests that need them skip, saying how to provide them; MODEL_FLEET_REQUIRE_CRDS=1
# (set by .ci/run) turns that skip into a failure.
CRDS_ENV = "MODEL_FLEET_CRDS"
REQUIRE_CRDS_ENV = "MODEL_FLEET_REQUIRE_CRDS"
DEFAULT_CRDS_DIR = ROOT.parent / "shared" / "crds"
CRD_FILES = {
    ("autoscaling.aibrix.ai/v1alpha1", "PodAutoscaler"): "podautoscalers.autoscaling.aibrix.ai.yaml",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitors.monitoring.coreos.com.yaml",
    ("inference.networking.k8s.io/v1", "InferencePool"): "inferencepools.inference.networking.k8s.io.yaml",
}
GATEWAY_API_CRD_FILES = {("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_httproutes.yaml"}
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


def crds_dir() -> Path:
    """The folder holding the CRD files; skips (or fails where they are required) when absent."""
    path = Path(os.environ.get(CRDS_ENV) or DEFAULT_CRDS_DIR)
    missing = sorted(name for name in CRD_FILES.values() if not (path / name).is_file())
    if missing:
        reason = (
            f"CRD files {', '.join(missing)} not found in {path}: set {CRDS_ENV} to a folder holding them "
            "(CI has them in ../shared/crds beside the clone)"
        )
        _missing(reason)
    return path


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRE_CRDS_ENV) == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def gateway_api_crds_dir() -> Path:
    """The folder holding the Gateway API's CRD files; skips (or fails where they are required) when absent."""
    path = gateway_api.crds_dir()
    missing = gateway_api.missing(path)
    if missing:
        _missing(
            f"Gateway API {gateway_api.VERSION} CRD files {', '.join(missing)} not found in {path}: run `make gateway-api-crds` "
            f"(Go and the module proxy) or set {gateway_api.CRDS_ENV} to a folder holding them"
        )
    return path


def crd_files() -> list[Path]:
    """Every CRD file the test cluster installs: the shared ones, then the Gateway API's."""
    shared, gateway = crds_dir(), gateway_api_crds_dir()
    return [shared / name for name in CRD_FILES.values()] + [gateway / name for name in gateway_api.FILES]


def crd_file(api_version: str, kind: str) -> Path:
    key = (api_version, kind)
    return gateway_api_crds_dir() / GATEWAY_API_CRD_FILES[key] if key in GATEWAY_API_CRD_FILES else crds_dir() / CRD_FILES[key]


@cache
def crd_schema(api_version: str, kind: str) -> dict:
    crd = yaml.safe_load(crd_file(api_version, kind).read_text())
    version = api_version.split("/")[1]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = _no_unknown_fields(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def validate(manifest: dict) -> None:
    """Raise when the manifest does not fit its kind's schema."""
    key = (manifest["apiVersion"], manifest["kind"])
    if key in CRD_FILES or key in GATEWAY_API_CRD_FILES:
        jsonschema.validate(manifest, crd_schema(*key))
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
