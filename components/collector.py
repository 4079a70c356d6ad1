"""The cyclic garbage collector while the program builds a fleet's resource graph.

Every resource, its Outputs and their futures live until the program ends, and their number
grows with the fleet. At Python's default thresholds (700, 10, 10) the collector walks that
growing graph again and again while it is built: at 1000 models, more than half of the program's
time under the mocks (BENCHMARKS.md). A young generation of 50,000 allocations still collects
the cyclic garbage, in a small fraction of the walks.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 20)


def tune() -> None:
    """Set the collector's thresholds for building the resource graph."""
    gc.set_threshold(*THRESHOLDS)
