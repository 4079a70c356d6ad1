"""Fuzz campaign: the fuzz tier's generated stacks and properties, many more of them.

    .venv/bin/python tests/fuzz/campaign.py [--examples 10000] [--seed 0] [--show 2]

Draws valid, broken, slipped and tampered stacks with the strategies of
tests/fuzz/strategies.py, and promote round trips with those of tests/fuzz/promotion.py,
checks every property there on each, and ends with one line of counts:

    cases=10000 valid=... rejected=... crashes=0 unsafe=0 misreported=0 accepted-broken=0 refused-valid=0

valid and rejected count the cases that loaded and those refused with a ProblemsFound; each kind of
finding counts the cases with at least one. Before that line, every distinct finding is listed
with how often it occurred, and the first cases that made it (--show of them) are printed in full
to reproduce it. The exit status is 1 when anything was found.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from harness.factories import write_kubeconfig  # noqa: E402
from tests.fuzz import promotion  # noqa: E402
from tests.fuzz import strategies as fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=2, help="cases printed in full for each distinct finding")
    args = parser.parse_args()
    # The strategies draw stacks without an inventory too: they deploy with the ambient kubeconfig (harness write_kubeconfig).
    kube = tempfile.TemporaryDirectory(prefix="fuzz-kube-")  # removed when the campaign ends
    os.environ["KUBECONFIG"] = str(write_kubeconfig(Path(kube.name)))

    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    findings: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = {}
    start = time.perf_counter()

    # Generation only: a campaign counts what it finds instead of stopping to shrink the first one.
    @settings(
        max_examples=args.examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(args.seed)
    @given(case=st.one_of(fuzz.cases(), promotion.promote_cases()))
    def campaign(case: fuzz.Case | promotion.PromoteCase) -> None:
        try:
            result = promotion.check(case) if isinstance(case, promotion.PromoteCase) else fuzz.check(case)
        except Exception:
            result = fuzz.Result(case, "crash")
            result.add("crash", "the fuzz harness raised", traceback.format_exc(limit=-4))
        outcomes[result.outcome] += 1
        for kind in {f.kind for f in result.findings}:
            kinds[kind] += 1
        for finding in result.findings:
            # Quoted values and model names vary from case to case; the property does not.
            key = (finding.kind, re.sub(r"'[^']*'|\"[^\"]*\"|(real-time|batch-jsonl)-[a-z0-9-]+", "…", finding.what))
            findings[key] += 1
            shown = examples.setdefault(key, [])
            if len(shown) < args.show:
                shown.append(result.report())
        done = sum(outcomes.values())
        if done % 500 == 0:
            print(f"{done} cases, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    campaign()

    for (kind, what), count in findings.most_common():
        print(f"{count:6d}  {kind}: {what}")
    for key, reports in examples.items():
        for report in reports:
            print(f"\n=== {key[0]}: {key[1]}\n{report}")
    cases = sum(outcomes.values())
    elapsed = time.perf_counter() - start
    print(f"\n{cases} cases in {elapsed:.0f} s ({elapsed / max(cases, 1) * 1000:.0f} ms each)")
    counts = {"crashes": kinds["crash"], **{kind: kinds[kind] for kind in fuzz.KINDS if kind != "crash"}}
    print(
        f"cases={cases} valid={outcomes['valid']} rejected={outcomes['rejected']} "
        + " ".join(f"{kind}={count}" for kind, count in counts.items())
    )
    return 1 if any(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
