"""`python -m docsgen --stack STACK [--docs-root DIR] [--check]`: regenerate or check the docs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.contract import config
from components.contract.problems import ProblemsFound
from docsgen import writer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docsgen", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--docs-root", type=Path, help="docs tree (default: model-fleet:docs.root)")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where the stack files are")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when the docs are stale")
    args = parser.parse_args(argv)

    try:
        loaded = config.load_stack_file(args.project_dir, args.stack)
    except ProblemsFound as err:
        print(err.report(), file=sys.stderr)
        return 1
    if not loaded.spec.docs.enabled and args.docs_root is None:
        print(f"docs generation is disabled for stack {args.stack} (model-fleet:docs.enabled)")
        return 0
    root = writer.docs_root(loaded.spec, args.project_dir, override=args.docs_root)

    try:
        if args.check:
            return _check(writer.plan(loaded.spec, root), root, args.stack, len(loaded.spec.models))
        plan = writer.plan_for_writing(loaded.spec, root)
        changed, deleted = writer.apply(plan)
    except (ProblemsFound, writer.WriteError) as err:
        print(err, file=sys.stderr)
        return 1
    for path in changed:
        print(f"wrote {path}")
    for path in deleted:
        print(f"deleted {path}")
    print(f"docs in {root}: {len(changed)} written, {len(deleted)} deleted, {len(plan.writes) - len(changed)} unchanged")
    return 0


def _check(plan: writer.Plan, root: Path, stack: str, models: int) -> int:
    patch = writer.diff(plan)
    if patch:
        sys.stdout.write(patch)
        print(f"docs in {root} are out of date: run python -m docsgen --stack {stack}", file=sys.stderr)
        return 1
    print(f"docs in {root} are up to date ({models} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
