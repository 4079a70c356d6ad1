"""The command line both benchmarks take: --sizes, --runs and --json."""

from __future__ import annotations

import argparse
from pathlib import Path


def parse(
    argv: list[str] | None, *, prog: str, doc: str | None, sizes: str, runs: int, runs_help: str
) -> tuple[argparse.Namespace, list[int]]:
    """The parsed arguments and the sizes, sorted; a bad value is argparse's usage error."""
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=sizes, help=f"models per stack, comma-separated (default: {sizes})")
    parser.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default: {runs})")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    try:
        chosen = sorted({int(s) for s in args.sizes.split(",")})
    except ValueError:
        parser.error(f"--sizes must be whole numbers separated by commas, not {args.sizes!r}")
    if not chosen or min(chosen) < 1 or args.runs < 1:
        parser.error("--sizes and --runs must be at least 1")
    return args, chosen


def emit(text: str, report: dict, json_path: Path | None) -> int:
    """Print the table; write the report as JSON where --json asks. The exit status of a run that succeeded."""
    import json

    print(text)
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    return 0
