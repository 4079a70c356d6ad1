"""One timed sample of a step, in a child process of its own.

Each sample starts a fresh interpreter, so caches, imports and memory of one step never help or
burden another; the child imports what the step needs, prepares its input, then times the step
alone and reports its wall time and its peak RSS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class StepFailed(Exception):
    pass


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    facts: dict


@dataclass
class Summary:
    median: float
    min: float
    max: float
    peak_rss_mb: float
    facts: dict = field(default_factory=dict)


def sample(step: str, project: Path) -> Sample:
    from bench import steps

    if step in steps.PROCESS_STEPS:
        return process_sample(step, project)
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", step, str(project)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise StepFailed(f"{step} on {project} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    report = json.loads(done.stdout.splitlines()[-1])
    return Sample(report["seconds"], report["peak_rss_mb"], report["facts"])


def process_sample(step: str, project: Path) -> Sample:
    """The step's command as a user runs it: wall time from outside, peak RSS from the kernel."""
    from bench import steps

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(steps.PROCESS_STEPS[step](project), cwd=ROOT, stdout=out, stderr=err)
        # wait4 reaps this child alone and gives its own peak RSS.
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, errors = out.read(), err.read()
    peak_kib = usage.ru_maxrss
    try:
        facts = steps.facts(step, child.returncode, printed, errors)
    except steps.WrongOutcome as wrong:
        raise StepFailed(f"{step} on {project}: {wrong}") from None
    return Sample(seconds, peak_kib / 1024, facts)


def summaries(steps: list[str], project: Path, runs: int) -> dict[str, Summary]:
    """`runs` samples of each step, taken in rounds of one sample of every step: a slow spell of
    the machine falls on a step and its floor alike instead of on whichever step ran in it."""
    samples: dict[str, list[Sample]] = {step: [] for step in steps}
    for _ in range(runs):
        for step in steps:
            samples[step].append(sample(step, project))
    return {step: _summary(taken) for step, taken in samples.items()}


def _summary(samples: list[Sample]) -> Summary:
    times = [s.seconds for s in samples]
    return Summary(statistics.median(times), min(times), max(times), max(s.peak_rss_mb for s in samples), samples[-1].facts)


def _child(step: str, project: Path) -> None:
    from bench import steps

    run = steps.STEPS[step](project)
    # What the commands print would mix with the report.
    with contextlib.redirect_stdout(io.StringIO()) as printed, contextlib.redirect_stderr(io.StringIO()) as errors:
        start = time.perf_counter()
        outcome = run()
        seconds = time.perf_counter() - start
    facts = steps.facts(step, outcome, printed.getvalue(), errors.getvalue())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024, "facts": facts}))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _child(sys.argv[1], Path(sys.argv[2]))
