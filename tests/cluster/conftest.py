"""The session's test cluster (the same code as `make cluster-up`) and a namespace per test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.dynamic import DynamicClient

from tests import schemas
from tests.cluster import build, kube, lifecycle
from tests.cluster.controlplane import ROOT, ControlPlane
from tests.cluster.stack import STACK
from tests.engine_runs import REQUIRE_ENV

# The session's cluster runs in .cluster/pytest, beside a developer's .cluster/local.
NAME = "pytest"


@dataclass
class Cluster:
    plane: ControlPlane
    project_dir: Path  # holds Pulumi.cluster.yaml
    api: ApiClient
    dynamic: DynamicClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    def command(self, *args: str, project_dir: Path | None = None) -> subprocess.CompletedProcess:
        """`python -m components ARGS --stack cluster`, as a user runs it."""
        where = str(project_dir or self.project_dir)
        return subprocess.run(
            [sys.executable, "-m", "components", *args, "--stack", STACK, "--project-dir", where],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def command_json(self, *args: str) -> dict:
        result = self.command(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def cluster(request, tmp_path_factory) -> Iterator[Cluster]:
    if not build.all_present(build.resolve()):
        try:
            build.go_binary()
        except build.GoMissing as missing:
            # CI builds the control plane (`make test` runs `make cluster-build`): there a skip is a failure.
            if os.environ.get(REQUIRE_ENV):
                pytest.fail(f"{missing} ({REQUIRE_ENV} is set)")
            pytest.skip(str(missing))
    crds = schemas.crd_files()
    project_dir = tmp_path_factory.mktemp("cluster-stack")
    # A cold build takes minutes: show its steps as they happen rather than after the session.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print()
        plane = lifecycle.up(NAME, crd_files=crds, stack_dir=project_dir, attached=True, reuse=False)
    try:
        api = kube.api_client(plane.kubeconfig)
        yield Cluster(plane, project_dir, api, kube.dynamic(api, plane.run_dir / "cache" / "discovery.json"))
    finally:
        plane.down()


@pytest.fixture
def namespace(cluster: Cluster, request) -> Iterator[str]:
    """A namespace of the test's own, deleted afterwards so its pods free their GPUs for the next test."""
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].rstrip("-")
    cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    # A terminating namespace takes no new pods; deleting its pods at once, rather than waiting for
    # the namespace controller to come to them, frees their GPUs for the next test sooner.
    cluster.core.delete_namespace(name)
    cluster.core.delete_collection_namespaced_pod(name)
    kube.wait_until(f"pods of {name} deleted", lambda: not cluster.core.list_namespaced_pod(name).items, timeout=120)
