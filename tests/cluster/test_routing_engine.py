"""Routing by inference-pool through `pulumi up` (the real engine, the runner) on the test cluster:
the pools and the route applied as the builders make them, a weight change one in-place update of
the route (and one line of the PR summary), removing the canary its objects gone."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

from harness.factories import POOL_ROUTING
from tests.cli.conftest import copy_program
from tests.cluster import fleet
from tests.cluster.stack import HEADER, STACK
from tests.cluster.test_routing import CANARY_IMAGE, CODER, EMBED, entries
from tests.engine_runs import engine_stack, require_engine

pytestmark = [pytest.mark.cluster, pytest.mark.engine]
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
POOL = "kubernetes:inference.networking.k8s.io/v1:InferencePool"


def write_stack(project, kubeconfig, namespace: str, models: list[dict]) -> None:
    settings = {
        "model-fleet:namespace": namespace,
        "model-fleet:kubernetes": {"kubeconfig": str(kubeconfig.resolve())},
        "model-fleet:docs": {"enabled": False},
        "model-fleet:routing": POOL_ROUTING,
        "model-fleet:models": models,
    }
    (project / f"Pulumi.{STACK}.yaml").write_text(HEADER + yaml.safe_dump({"config": settings}, sort_keys=False))


def route(cluster, namespace: str) -> dict:
    found = client.CustomObjectsApi(cluster.api).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", CODER
    )
    assert isinstance(found, dict)
    return found


def weights(found: dict) -> list[tuple[str, int]]:
    return [(b["name"], b["weight"]) for b in found["spec"]["rules"][0]["backendRefs"]]


def test_pulumi_up_routes_a_canary_by_weight_and_a_weight_change_updates_only_the_route(cluster, namespace, tmp_path):
    engine = require_engine()
    project = copy_program(tmp_path / "project")
    kubeconfig = cluster.plane.kubeconfig
    write_stack(project, kubeconfig, namespace, entries(10))
    stack = engine_stack(engine, project, tmp_path / "engine", STACK, passphrase="model-fleet cluster tests")

    stack.run("up")
    for name, replicas in ((CODER, 2), (f"{CODER}-v2", 2), (EMBED, 1)):
        fleet.available(cluster.api, namespace, name, replicas)
    pools = client.CustomObjectsApi(cluster.api).list_namespaced_custom_object(
        "inference.networking.k8s.io", "v1", namespace, "inferencepools"
    )
    assert sorted(p["metadata"]["name"] for p in pools["items"]) == [CODER, f"{CODER}-v2", EMBED]
    first = route(cluster, namespace)
    assert weights(first) == [(CODER, 90), (f"{CODER}-v2", 10)]
    canary = cluster.apps.read_namespaced_deployment(f"{CODER}-v2", namespace)
    assert canary.spec.template.spec.containers[0].image == CANARY_IMAGE
    stack.run("preview", "--expect-no-changes")

    # 10% -> 50%: the plan is one update of the route, which the PR summary writes as one line.
    write_stack(project, kubeconfig, namespace, entries(50))
    steps = stack.steps()
    assert [(s.op, s.type, s.name) for s in steps] == [("update", ROUTE, f"{CODER}-httproute")]
    assert steps[0].traffic == (f"{CODER}: v2 10% -> 50%",)
    stack.run("up")
    second = route(cluster, namespace)
    assert weights(second) == [(CODER, 50), (f"{CODER}-v2", 50)]
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["generation"] == first["metadata"]["generation"] + 1
    assert cluster.apps.read_namespaced_deployment(f"{CODER}-v2", namespace).metadata.uid == canary.metadata.uid

    # The canary removed: its version's objects go, the route sends everything to the model's pool.
    without = entries(50)
    del without[0]["canary"]
    write_stack(project, kubeconfig, namespace, without)
    steps = stack.steps()
    assert ("update", ROUTE, f"{CODER}-httproute") in [(s.op, s.type, s.name) for s in steps]
    assert {(s.op, s.type) for s in steps if s.model == f"{CODER}-v2"} >= {("delete", POOL), ("delete", "kubernetes:apps/v1:Deployment")}
    assert [s.traffic for s in steps if s.type == ROUTE] == [(f"{CODER}: v2 50% -> 0%",)]
    stack.run("up")
    assert weights(route(cluster, namespace)) == [(CODER, 100)]
    assert [d.metadata.name for d in cluster.apps.list_namespaced_deployment(namespace).items if d.metadata.name.startswith(CODER)] == [
        CODER
    ]
    stack.run("destroy")
