"""The program itself, run by the full Pulumi engine against the test cluster."""

from __future__ import annotations

import subprocess

import pytest

from components import engine
from components.manifests.labels import MODEL_NAME_LABEL
from tests.cluster import fleet
from tests.cli.conftest import copy_program
from tests.cluster.stack import STACK, write

pytestmark = [pytest.mark.cluster, pytest.mark.engine]


def test_pulumi_up_creates_the_stack_changes_nothing_on_rerun_and_keeps_the_claim(cluster, namespace, tmp_path):
    found = engine.detect()
    if not found.full:
        pytest.skip("the full Pulumi engine is not installed: missing " + "; ".join(found.missing))
    project = copy_program(tmp_path / "project")
    write(project, cluster.plane.kubeconfig, namespace=namespace)
    (tmp_path / "state").mkdir()
    env = found.env(PULUMI_BACKEND_URL=f"file://{tmp_path / 'state'}", PULUMI_CONFIG_PASSPHRASE="model-fleet cluster tests")

    def pulumi(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(found.cli), *args, "--stack", STACK], cwd=project, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"pulumi {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    pulumi("stack", "init")
    pulumi("up", "--yes", "--skip-preview")
    fleet.available(cluster.api, namespace, "qwen3-coder-30b", 1)
    claim = fleet.bound(cluster.api, namespace, "qwen3-coder-30b-hf-cache")
    pulumi("preview", "--expect-no-changes")

    # Removing the entry: everything of the model goes but its retained cache claim.
    pulumi("config", "rm", "model-fleet:models")
    pulumi("up", "--yes", "--skip-preview")
    selector = f"{MODEL_NAME_LABEL}=qwen3-coder-30b"
    assert cluster.apps.list_namespaced_deployment(namespace, label_selector=selector).items == []
    assert cluster.core.list_namespaced_service(namespace, label_selector=selector).items == []
    kept = cluster.core.read_namespaced_persistent_volume_claim("qwen3-coder-30b-hf-cache", namespace)
    assert kept.metadata.uid == claim.metadata.uid

    # Destroying the stack leaves only what it retains: the namespace and the claim.
    pulumi("destroy", "--yes", "--skip-preview")
    assert cluster.core.read_namespace(namespace).status.phase == "Active"
    assert [c.metadata.uid for c in cluster.core.list_namespaced_persistent_volume_claim(namespace).items] == [claim.metadata.uid]
