"""A model's traffic shares read from its route, and a change of them as one line; diff and promote on a weight change."""

from __future__ import annotations

import json

import pytest
import yaml

from components.commands import traffic
from components.commands.cli import main as cli
from components.contract import config
from components.contract.spec import GatewayRef
from components.manifests import http_route
from harness.factories import INVENTORY, POOL_ROUTING, ROUTING_CRDS, catalog_entry, entry, pooled_stack, write_project

pytestmark = pytest.mark.unit


def route(*backends: tuple[str, int]) -> dict:
    model = config.load(pooled_stack(entry()), source="t").spec.models[0]
    return http_route.build(model, "jan-models", GatewayRef(name="gw"), "qwen3-coder-30b", list(backends))


def test_the_shares_are_each_canarys_weight():
    assert traffic.canary_shares(route(("qwen3-coder-30b", 90), ("qwen3-coder-30b-v2", 10))) == ("qwen3-coder-30b", {"v2": 10})
    assert traffic.canary_shares(route(("qwen3-coder-30b", 100))) == ("qwen3-coder-30b", {})


@pytest.mark.parametrize(
    "other",
    [
        None,
        "[secret]",
        {"metadata": {"name": "m"}, "spec": {"rules": [{"backendRefs": [{"kind": "Service", "name": "m-v2", "weight": 1}]}]}},
        {"metadata": {"name": "m"}, "spec": {"rules": [{"backendRefs": [{"kind": "InferencePool", "name": "other", "weight": 1}]}]}},
        {"metadata": {"name": "m"}, "spec": {"rules": [{}, {}]}},
    ],
)
def test_a_route_not_shaped_as_ours_has_no_shares(other):
    assert traffic.canary_shares(other) is None
    assert traffic.route_change_lines(other, other) == []


def test_a_change_is_one_line_per_canary_whose_share_moves():
    assert traffic.change_lines("m", {"v2": 10}, {"v2": 50}) == ["m: v2 10% -> 50%"]
    assert traffic.change_lines("m", {"v2": 10}, {"v2": 10}) == []
    assert traffic.change_lines("m", {"v2": 100}, {"v3": 5}) == ["m: v2 100% -> 0%", "m: v3 0% -> 5%"]


def _stack_file(models: list) -> str:
    inventory = {**INVENTORY, "crds": INVENTORY["crds"] + ROUTING_CRDS}
    settings = {"model-fleet:routing": POOL_ROUTING, "model-fleet:cluster": inventory, "model-fleet:docs": {"enabled": False}}
    return yaml.safe_dump({"config": {**settings, "model-fleet:models": models}}, sort_keys=False)


def test_diff_and_promote_show_a_weight_change_as_one_line(tmp_path, capsys):
    write_project(tmp_path, {"qwen3-coder-30b": catalog_entry()})
    canary = {"version": "v2", "image": "vllm/vllm-openai:v0.11.0"}
    (tmp_path / "Pulumi.staging.yaml").write_text(_stack_file([{"catalog": "qwen3-coder-30b", "canary": {**canary, "weight": 50}}]))
    (tmp_path / "Pulumi.prod.yaml").write_text(_stack_file([{"catalog": "qwen3-coder-30b", "canary": {**canary, "weight": 10}}]))
    stacks = ["--from", "staging", "--to", "prod", "--project-dir", str(tmp_path)]

    assert cli(["diff", *stacks]) == 1
    assert capsys.readouterr().out == "qwen3-coder-30b:\n  canary.weight: 50 -> 10\n1 model differs from staging to prod\n"
    assert cli(["promote", *stacks, "--write"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["qwen3-coder-30b: Pulumi.prod.yaml models[0] (catalog qwen3-coder-30b)", "  canary.weight: 10 -> 50"]
    assert [line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-      weight: 10",
        "+      weight: 50",
    ]
    assert cli(["diff", *stacks, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True


def test_a_models_routing_is_the_targets_own_and_a_canary_it_cannot_route_is_refused(tmp_path, capsys):
    write_project(tmp_path, {"qwen3-coder-30b": catalog_entry()})
    canary = {"version": "v2", "image": "vllm/vllm-openai:v0.11.0", "weight": 10}
    item = {"catalog": "qwen3-coder-30b", "routing": "inference-pool"}
    (tmp_path / "Pulumi.staging.yaml").write_text(_stack_file([{**item, "canary": canary}]))
    prod = _stack_file([{**item, "routing": "aibrix"}])
    (tmp_path / "Pulumi.prod.yaml").write_text(prod)
    stacks = ["--from", "staging", "--to", "prod", "--project-dir", str(tmp_path)]

    assert cli(["promote", *stacks, "--write"]) == 1
    err = capsys.readouterr().err
    assert "canary: a canary needs routing inference-pool" in err and "(check would refuse Pulumi.prod.yaml after this promotion)" in err
    assert (tmp_path / "Pulumi.prod.yaml").read_text() == prod


def test_finishing_a_rollout_is_one_line_in_diff_and_promote(tmp_path, capsys):
    """Staging made its canary the model (its image, no canary); prod still runs the canary at 100%:
    diff and promote say so in one line, and promote writes the model's image and drops the canary."""
    write_project(tmp_path, {"qwen3-coder-30b": catalog_entry()})
    new_image = "vllm/vllm-openai:v0.11.0"
    (tmp_path / "Pulumi.staging.yaml").write_text(_stack_file([{"catalog": "qwen3-coder-30b", "deployment_config": {"image": new_image}}]))
    prod = [{"catalog": "qwen3-coder-30b", "canary": {"version": "v2", "image": new_image, "weight": 100}}]
    (tmp_path / "Pulumi.prod.yaml").write_text(_stack_file(prod))
    stacks = ["--from", "staging", "--to", "prod", "--project-dir", str(tmp_path)]

    assert cli(["diff", *stacks]) == 1
    assert capsys.readouterr().out == (
        "qwen3-coder-30b:\n  canary v2 -> the model: v2 serves all of it, the old version is removed\n1 model differs from staging to prod\n"
    )
    assert cli(["diff", *stacks, "--json"]) == 1
    finished = json.loads(capsys.readouterr().out)["models"]["qwen3-coder-30b"]
    assert finished == {
        "changed": {},
        "kept": {},
        "canary_finished": "canary v2 -> the model: v2 serves all of it, the old version is removed",
    }

    assert cli(["promote", *stacks, "--write"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "qwen3-coder-30b: Pulumi.prod.yaml models[0] (catalog qwen3-coder-30b)",
        "  canary v2 -> the model: v2 serves all of it, the old version is removed",
    ]
    written = yaml.safe_load((tmp_path / "Pulumi.prod.yaml").read_text())["config"]["model-fleet:models"][0]
    assert written == {"catalog": "qwen3-coder-30b", "deployment_config": {"image": new_image}}
    assert cli(["diff", *stacks]) == 0
    capsys.readouterr()


def test_a_canary_that_is_not_what_the_source_serves_is_listed_value_by_value(tmp_path, capsys):
    write_project(tmp_path, {"qwen3-coder-30b": catalog_entry()})
    (tmp_path / "Pulumi.staging.yaml").write_text(
        _stack_file([{"catalog": "qwen3-coder-30b", "deployment_config": {"image": "vllm/vllm-openai:v0.12.0"}}])
    )
    prod = [{"catalog": "qwen3-coder-30b", "canary": {"version": "v2", "image": "vllm/vllm-openai:v0.11.0", "weight": 100}}]
    (tmp_path / "Pulumi.prod.yaml").write_text(_stack_file(prod))
    assert cli(["diff", "--from", "staging", "--to", "prod", "--project-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "canary v2 -> the model" not in out
    assert '  canary.image: (unset) -> "vllm/vllm-openai:v0.11.0"' in out
