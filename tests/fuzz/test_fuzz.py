"""Fuzzing: generated stack configs, valid and broken, through validation and docs generation.

The strategies and every property live in tests/fuzz/strategies.py, shared with the long
campaign of tests/fuzz/campaign.py; here each runs a modest, reproducible number of examples
(derandomized, no example database).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from harness.factories import entry, stack
from tests.fuzz import promotion
from tests.fuzz import strategies as fuzz

pytestmark = pytest.mark.fuzz
ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    # No explain phase: it reruns the failing example under tracing, which costs minutes here.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COUNTS_LINE = re.compile(
    r"cases=(?P<cases>\d+) valid=(?P<valid>\d+) rejected=(?P<rejected>\d+) crashes=(?P<crashes>\d+) unsafe=(?P<unsafe>\d+)"
    r" misreported=(?P<misreported>\d+) accepted-broken=(?P<accepted_broken>\d+) refused-valid=(?P<refused_valid>\d+)"
)


@settings(FUZZ, max_examples=40)
@given(case=fuzz.valid_cases())
# Host names are case-insensitive; a modest random run does not always draw a capital.
@example(case=fuzz.Case(stack(entry("a"), docs={"api_base_url": "https://API.example.com/v1"}), {"a": "a"}))
def test_valid_stacks_load_and_their_docs_are_inert_confined_and_converge(case):
    fuzz.assert_holds(case)


@pytest.mark.parametrize("mutation", fuzz.MUTATIONS, ids=[re.sub(r"\W+", "-", m.kind).strip("-") for m in fuzz.MUTATIONS])
@settings(FUZZ, max_examples=12)
@given(data=st.data())
def test_broken_stacks_are_refused_with_problems_naming_the_entry_and_field(mutation, data):
    fuzz.assert_holds(data.draw(fuzz.broken_cases(mutation), label="case"))


@settings(FUZZ, max_examples=30)
@given(case=fuzz.slipped_cases())
def test_hostile_values_that_slip_past_validation_stay_inert_in_every_snippet(case):
    fuzz.assert_holds(case)


@settings(FUZZ, max_examples=20)
@given(case=fuzz.tampered_cases())
def test_a_tampered_docs_tree_changes_nothing_but_generated_snippets(case):
    fuzz.assert_holds(case)


@settings(FUZZ, max_examples=25)
@given(case=promotion.promote_cases())
def test_promote_round_trips_leave_nothing_to_diff_and_a_stack_check_accepts(case):
    result = promotion.check(case)
    assert not result.findings, result.report()


def test_the_campaign_benchmark_reports_its_counts():
    run = subprocess.run(
        [sys.executable, "tests/fuzz/campaign.py", "--examples", "20"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )

    lines = [m for line in run.stdout.splitlines() if (m := COUNTS_LINE.fullmatch(line))]
    assert len(lines) == 1, run.stdout + run.stderr
    counts = {key: int(value) for key, value in lines[0].groupdict().items()}
    assert counts == {
        **counts,
        "cases": 20,
        "crashes": 0,
        "unsafe": 0,
        "misreported": 0,
        "accepted_broken": 0,
        "refused_valid": 0,
    }, run.stdout
    assert counts["valid"] + counts["rejected"] == 20
    assert run.returncode == 0, run.stdout + run.stderr
