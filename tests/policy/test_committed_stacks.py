"""Every committed stack, as the program declares it (under mocks), passes the pack with its
environment's settings; and what the pack reads of a resource agrees with what the program does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.program import ROOT
from policy import rules
from tests.test_stack_conversion import STACKS, run_committed_stack

pytestmark = pytest.mark.mocks


def declared(stack: str, tmp_path: Path, monkeypatch) -> tuple[list[rules.Resource], list]:
    monitor, _ = run_committed_stack(stack, tmp_path, monkeypatch)
    return [rules.Resource(r.type, r.name, r.inputs, r.urn, r.parent) for r in monitor.registered], monitor.registered


@pytest.mark.parametrize("stack", STACKS)
def test_every_committed_stack_passes_its_environments_rules(stack, tmp_path, monkeypatch):
    resources, _ = declared(stack, tmp_path, monkeypatch)
    assert any(r.type == rules.DEPLOYMENT for r in resources)
    settings = json.loads((ROOT / "policy" / "config" / f"{stack}.json").read_text())
    turned_on = [name for name, value in settings.items() if value["enforcementLevel"] != "disabled"]
    assert "image-source" in turned_on and (stack != "prod" or "cache-claims-retained" in turned_on)
    for name in turned_on:
        config = {k: v for k, v in settings[name].items() if k != "enforcementLevel"}
        assert rules.BY_NAME[name].run(resources, config) == [], name


@pytest.mark.parametrize("stack", STACKS)
def test_a_claims_annotation_says_what_its_retain_on_delete_option_does(stack, tmp_path, monkeypatch):
    _, registered = declared(stack, tmp_path, monkeypatch)
    claims = [r for r in registered if r.type == rules.CLAIM]
    assert claims
    for claim in claims:
        annotation = claim.inputs["metadata"]["annotations"]["jan-server.menlo.ai/retain-on-delete"]
        assert annotation == str(claim.retain_on_delete).lower(), claim.name
