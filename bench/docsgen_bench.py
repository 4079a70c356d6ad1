"""Benchmark: validate a large fleet and plan, write and re-check its docs.

    .venv/bin/python bench/docsgen_bench.py [--models 200]

Prints wall time and peak Python memory of each step. Targets (on the 2-core CI machine):
a 200-model stack validates and writes its docs in well under 10 s, and a no-change rerun
writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components import config  # noqa: E402
from docsgen import writer  # noqa: E402
from tests.factories import entry, stack  # noqa: E402


def timed(label: str, fn):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<28} {elapsed * 1000:8.1f} ms   peak {peak / 2**20:6.1f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args()
    entries = [
        entry(f"model-{i:04d}", **{"display_name": f"Model {i:04d}", "deployment_config.enable_autoscaling": False})
        for i in range(args.models)
    ]
    raw = stack(*entries, cluster=None)
    spec = timed(f"validate {args.models} models", lambda: config.load(raw, source="bench").spec)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plan = timed("plan docs", lambda: writer.plan(spec, root))
        changed, _ = timed("write docs", lambda: writer.apply(plan))
        again = timed("plan + write again", lambda: writer.apply(writer.plan(spec, root)))
        print(f"files written: {len(changed)}, rewritten on the second run: {len(again[0])}")


if __name__ == "__main__":
    main()
