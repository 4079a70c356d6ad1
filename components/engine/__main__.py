"""The engine's commands.

python -m components.engine                      the versions in use, what is found and what is missing; exit 1 if incomplete
python -m components.engine build                the CLI and the kubernetes plugin in .engine (`make engine`)
python -m components.engine preview|up|destroy|refresh --stack STACK ...
                                                 the program run by the engine (components.engine.runner)
"""

from __future__ import annotations

import sys

from components.engine import build, discover, runner
from components.engine.gobuild import BuildError


def status() -> int:
    found = discover.detect()
    rows = [
        (f"pulumi CLI v{discover.pulumi_version()}", found.cli),
        (f"kubernetes plugin v{discover.kubernetes_version()}", found.kubernetes_plugin),
        (f"Python language host {discover.LANGUAGE_HOST}", found.language_host),
    ]
    for what, path in rows:
        if path is not None:
            print(f"found {what}: {path}")
    for what in found.missing:
        print(f"missing {what}", file=sys.stderr)
    if not found.inline:
        print("the Pulumi engine is incomplete: `make engine` builds what is missing", file=sys.stderr)
        return 1
    if found.language_host is None:
        print(
            f"no {discover.LANGUAGE_HOST}: the runner (`make up`, `make pr-preview`) is a full engine; "
            "`pulumi preview` typed by hand needs the official Pulumi install"
        )
    else:
        print("full engine: `pulumi preview`/`pulumi up` and the runner both work")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args == ["status"]:
        return status()
    if args == ["build"]:
        try:
            build.ensure()
        except BuildError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    if args[0] in runner.OPERATIONS:
        return runner.main(args)
    print(
        f"usage: python -m components.engine [status | build | {' | '.join(runner.OPERATIONS)} --stack STACK]; got {' '.join(args)}",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
