"""The benchmark suite (python -m bench) at N=10 with one run: every step runs and does its job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parent.parent


def test_bench_measures_every_step_beside_its_floor(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "10", "--runs", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    rows = {row["step"]: row for row in report["comparisons"]}
    assert list(rows) == ["check", "docs_cold", "docs_unchanged", "docs_check", "program", "check_process", "docs_unchanged_process"]
    assert all(row["models"] == 10 and 0 < row["min"] <= row["median"] <= row["max"] for row in rows.values())
    assert all(row["floor_median"] > 0 and row["peak_rss_mb"] > 0 for row in rows.values())
    # 10 models: 4 snippets each, the 2 quickstart pages, the models page and the record (no
    # limit tiers, so no limits include).
    assert rows["docs_cold"]["facts"] == {"written": 44, "deleted": 0, "unchanged": 0}
    assert rows["docs_unchanged"]["facts"] == {"written": 0, "deleted": 0, "unchanged": 44}
    # As processes: the same no-change run, and each beside a floor process that started Python too.
    assert rows["docs_unchanged_process"]["facts"] == {"written": 0, "deleted": 0, "unchanged": 44}
    assert rows["docs_unchanged_process"]["floor"] == "parse_stat_floor_process"
    assert rows["check_process"]["floor"] == "parse_floor_process"
    assert rows["docs_cold"]["floor_facts"]["write_floor"] == {"files": 44}
    # One provider, the namespace, and per model a Deployment, Service and ServiceMonitor; 3 of 10
    # autoscale and 4 of 10 keep a cache claim. The floor registers the same, without components.
    assert rows["program"]["facts"] == {"kubernetes": 39, "components": 10}
    assert rows["program"]["floor_facts"]["program_floor"] == {"kubernetes": 39, "components": 0}
    assert report["growth"] == []
    assert report["machine"]["nproc"] >= 1 and report["machine"]["python"]
    assert "10  program under mocks" in done.stdout


def test_a_no_change_run_that_writes_fails_the_benchmark():
    from bench import steps

    with pytest.raises(steps.WrongOutcome, match=r"docsgen with nothing changed wrote or deleted files: \{'written': 3"):
        steps.facts("docs_unchanged", 0, "docs in /d: 3 written, 0 deleted, 40 unchanged\n", "")
    with pytest.raises(steps.WrongOutcome, match="check exited 1"):
        steps.facts("check", 1, "", "Pulumi.dev.yaml: 1 problem\n")


@pytest.mark.engine
def test_the_engine_benchmark_runs_the_program_and_its_floor_under_the_real_engine(tmp_path):
    from tests.engine_runs import require_engine

    require_engine()
    out = tmp_path / "engine.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.engine", "--sizes", "2", "--runs", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())["results"]["2"]
    for who in ("program", "floor"):
        assert all(results[who][op] > 0 for op in ("preview", "up", "preview_no_change"))
    # Two models (one autoscaling with a claim, one plain): the namespace, 2 Deployments, Services
    # and ServiceMonitors, 1 claim, 1 PodAutoscaler; the same for the floor.
    assert results["program"]["kubernetes_resources"] == results["floor"]["kubernetes_resources"] == 9
    assert "preview_no_change" in done.stdout
