"""Benchmarks at fleet scale: each command beside its floor, on generated N-model stacks.

    python -m bench [--sizes 10,100,1000] [--runs 5] [--json PATH]

For each size, a stack of N valid models (bench/stacks.py) is written into a temporary
project whose docs are generated once; then every step and floor runs --runs times, in rounds
of one run of each (so a slow spell of the machine falls on steps and floors alike), each run in
a fresh child process (bench/measure.py), and the table shows the median, min and max wall
time, the peak RSS, and the ratio of each command to its floor:

    components check      vs  parse floor (the stack file read and parsed by libyaml)
    docsgen (cold)        vs  parse floor + write floor (the same bytes, plain I/O, empty dir)
    docsgen (no change)   vs  parse floor + stat floor (a stat of every generated file)
    docsgen --check       vs  parse floor + stat floor
    program under mocks   vs  the same raw resources with precomputed arguments, same mocks

and the growth of each from one size to the next (linear growth is at most 1.1x the size ratio).
Wall times exclude interpreter start-up and imports, the same for every step, except in the rows
marked "process": there the command runs as a user runs it (`python -m ...`), timed from outside
beside a floor process that starts Python, parses the stack with libyaml (and stats each
generated file).
The exit status is 1 when a step fails or does not do its job (e.g. the no-change run writes).
"""

from __future__ import annotations

import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench import arguments, measure, stacks, steps

# (label, step, floors whose medians add up to its floor, goal for the ratio, the smallest size the
# goal holds from: None for the largest size measured only)
COMPARISONS = (
    ("components check", "check", ("parse_floor",), 2.0, None),
    ("docsgen cold", "docs_cold", ("parse_floor", "write_floor"), 3.0, None),
    ("docsgen no change", "docs_unchanged", ("parse_floor", "stat_floor"), 3.0, None),
    ("docsgen --check", "docs_check", ("parse_floor", "stat_floor"), None, None),
    ("program under mocks", "program", ("program_floor",), 1.5, 100),
    # What a user waits for: the command as a process of its own, interpreter start and imports included.
    ("check, process", "check_process", ("parse_floor_process",), None, None),
    ("no change, process", "docs_unchanged_process", ("parse_stat_floor_process",), 3.0, 1000),
)
# Peak RSS goals at the largest size, in MB.
RSS_GOALS = {"check": 300, "docs_cold": 300, "docs_unchanged": 300, "docs_check": 300}
LINEAR_SLACK = 1.1


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "system": platform.platform()}


def prepare(project: Path, models: int) -> None:
    stacks.write(project, models, name=steps.STACK)
    shutil.copy(measure.ROOT / "__main__.py", project / "__main__.py")
    # The docs tree the no-change runs, --check and the program find up to date.
    subprocess.run(
        [sys.executable, "-m", "docsgen", "--stack", steps.STACK, "--project-dir", str(project)],
        cwd=measure.ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def measure_size(models: int, runs: int, only: list[str]) -> dict[str, measure.Summary]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{models}-") as tmp:
        project = Path(tmp)
        prepare(project, models)
        return measure.summaries(only, project, runs)


def comparisons(results: dict[int, dict[str, measure.Summary]]) -> list[dict]:
    rows = []
    largest = max(results)
    for models, by_step in results.items():
        for label, step, floors, goal, goal_from in COMPARISONS:
            held = models == largest if goal_from is None else models >= goal_from
            floor = sum(by_step[f].median for f in floors)
            ratio = by_step[step].median / floor
            rows.append(
                {
                    "models": models,
                    "measurement": label,
                    "step": step,
                    **asdict(by_step[step]),
                    "floor": " + ".join(floors),
                    "floor_median": floor,
                    "floor_facts": {f: by_step[f].facts for f in floors if by_step[f].facts},
                    "ratio": ratio,
                    "goal": goal if held else None,
                    "rss_goal_mb": RSS_GOALS.get(step) if models == largest else None,
                }
            )
    return rows


def growth(results: dict[int, dict[str, measure.Summary]]) -> list[dict]:
    sizes = sorted(results)
    rows = []
    for small, large in itertools.pairwise(sizes):
        for step in steps.ALL:
            ratio = results[large][step].median / results[small][step].median
            rows.append({"from": small, "to": large, "step": step, "ratio": ratio, "linear_bound": LINEAR_SLACK * large / small})
    return rows


def _met(value: float, goal: float | None) -> str:
    return "" if goal is None else ("met" if value <= goal else "MISSED")


def table(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['system']}",
        f"runs per step: {report['runs']} (median, min and max wall seconds; peak RSS of the run's process)",
        "",
        f"{'N':>5}  {'measurement':<20} {'median':>8} {'min':>8} {'max':>8} {'RSS MB':>7}  {'floor':<26} {'floor':>8} {'ratio':>6}  goal",
    ]
    for row in report["comparisons"]:
        goal = f"<= {row['goal']}x {_met(row['ratio'], row['goal'])}" if row["goal"] else ""
        if row["rss_goal_mb"]:
            goal += f"{'; ' if goal else ''}RSS < {row['rss_goal_mb']} {_met(row['peak_rss_mb'], row['rss_goal_mb'])}"
        lines.append(
            f"{row['models']:>5}  {row['measurement']:<20} {row['median']:8.3f} {row['min']:8.3f} {row['max']:8.3f} "
            f"{row['peak_rss_mb']:7.0f}  {row['floor']:<26} {row['floor_median']:8.3f} {row['ratio']:5.2f}x  {goal}".rstrip()
        )
    lines.append("")
    for row in report["comparisons"]:
        facts = {**row["facts"], **{f"{k}.{n}": v for k, fs in row["floor_facts"].items() for n, v in fs.items()}}
        if facts:
            lines.append(f"{row['models']:>5}  {row['measurement']:<20} " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    if report["growth"]:
        lines += ["", f"{'growth':<14} {'step':<16} {'ratio':>7}  linear bound"]
        for row in report["growth"]:
            span = f"{row['from']}->{row['to']}"
            lines.append(
                f"{span:<14} {row['step']:<16} {row['ratio']:6.2f}x  <= {row['linear_bound']:.1f}x {_met(row['ratio'], row['linear_bound'])}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, sizes = arguments.parse(
        argv, prog="python -m bench", doc=__doc__, sizes="10,100,1000", runs=5, runs_help="runs of each step per size"
    )

    results: dict[int, dict[str, measure.Summary]] = {}
    try:
        for models in sizes:
            print(f"measuring N={models} ...", file=sys.stderr, flush=True)
            results[models] = measure_size(models, args.runs, list(steps.ALL))
    except measure.StepFailed as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    for models, by_step in results.items():
        counts = {step: by_step[step].facts.get("kubernetes") for step in ("program", "program_floor")}
        if counts["program"] != counts["program_floor"]:
            print(
                f"bench: at N={models} the program registers {counts['program']} resources, its floor {counts['program_floor']}",
                file=sys.stderr,
            )
            return 1

    report = {"machine": machine(), "sizes": sizes, "runs": args.runs, "comparisons": comparisons(results), "growth": growth(results)}
    return arguments.emit(table(report), report, args.json)


if __name__ == "__main__":
    sys.exit(main())
