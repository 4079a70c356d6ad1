"""The handbook's policy page is generated from the pack, so it cannot drift from the rules."""

from __future__ import annotations

import pytest

from policy import reference, rules

pytestmark = pytest.mark.unit


def test_the_policy_page_is_what_the_pack_generates():
    assert reference.PAGE.read_text() == reference.page(), "run: .venv/bin/python -m policy.reference"
    assert reference.main(["--check"]) == 0


def test_the_page_lists_every_rule_with_its_levels_and_its_example_message():
    text = reference.page()
    for rule in rules.RULES:
        resources, settings = rule.example()
        (violation,) = rule.run(resources, settings)
        assert f"### `{rule.name}`" in text
        assert f"```text\n{violation.message}\n```" in text
    # The prod column turns the prod rules on.
    assert "| [`cache-claims-retained`](#cache-claims-retained) | each object | disabled | disabled | disabled | mandatory |" in text


def test_a_stale_page_is_reported(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "policy.md"
    stale.write_text("# Policy\n")
    monkeypatch.setattr(reference, "PAGE", stale)
    assert reference.main(["--check"]) == 1
    assert "is stale: run `python -m policy.reference`" in capsys.readouterr().err
