"""The repository's stacks declare what they declared before they used the catalog.

tests/data/stack_conversion.json holds, per stack, the sha256 of every resource the program
declares under mocks (type, name, parent, inputs, options; secrets masked) and, for the stacks
that generate docs, the sha256 of every file of the docs tree it writes. They were recorded from
the stack files as they were before the conversion; `pytest --update-golden` records them anew,
on purpose only (a new docs page, a new resource).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from components.contract import preflight
from components.contract.spec import GPUNode
from harness import pulumi_mocks
from harness.program import copy_project, run_program

pytestmark = pytest.mark.mocks
EXPECTED = Path(__file__).parent / "data" / "stack_conversion.json"
STACKS = ("dev", "staging", "prod")
# Staging and prod read their cluster live; here they see a fixed one, big enough for both.
LIVE_CLUSTER = preflight.ClusterFacts(
    "live",
    4,
    tuple(GPUNode(node_name=f"gpu-{i}", gpu_count=2, gpu_type="nvidia-a100", total_vram="160Gi") for i in range(4)),
    frozenset(
        {"podautoscalers.autoscaling.aibrix.ai", "servicemonitors.monitoring.coreos.com", "gatewayclasses.gateway.networking.k8s.io"}
    ),
)


def _masked(value, project: Path):
    if isinstance(value, dict):
        if value.get(pulumi_mocks.SIG_KEY) == pulumi_mocks.SECRET_SIG:
            return "[secret]"
        return {k: _masked(v, project) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, project) for v in value]
    if isinstance(value, str):
        return value.replace(str(project), "<project>")
    return value


def _declared(monitor, project: Path) -> str:
    resources = [
        {
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "inputs": r.wire,
            "retain_on_delete": r.retain_on_delete,
            "custom_timeouts": r.custom_timeouts,
            "provider": r.provider,
            "dependencies": sorted(r.dependencies),
        }
        # Registration order follows the event loop, not the program.
        for r in sorted(monitor.registered, key=lambda r: r.urn)
    ]
    canonical = json.dumps(_masked(resources, project), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _docs_tree(project: Path) -> dict[str, str]:
    docs = project / "docs"
    return {str(p.relative_to(docs)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(docs.rglob("*")) if p.is_file()}


def run_committed_stack(stack: str, tmp_path: Path, monkeypatch) -> tuple[pulumi_mocks.RecordingMonitor, Path]:
    """The program on a copy of the committed stack under mocks (a live stack sees LIVE_CLUSTER): what it declared, and the copy."""
    project = copy_project(tmp_path / stack, stack)
    gather = preflight.gather
    monkeypatch.setattr(preflight, "gather", lambda spec: LIVE_CLUSTER if spec.kubernetes.live else gather(spec))
    monitor, _, _ = run_program(project, stack=stack)
    return monitor, project


def _observed(stack: str, tmp_path: Path, monkeypatch) -> dict:
    monitor, project = run_committed_stack(stack, tmp_path, monkeypatch)
    observed: dict = {"resources": _declared(monitor, project)}
    if (project / "docs").exists():
        observed["docs"] = _docs_tree(project)
    return observed


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_declares_and_writes_what_it_did_before_the_catalog(stack, tmp_path, monkeypatch, update_golden):
    observed = _observed(stack, tmp_path, monkeypatch)
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if update_golden:
        expected[stack] = observed
        EXPECTED.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    assert observed == expected[stack]
