"""The test cluster from the command line (`make cluster-up` / `make cluster-down` run these).

python -m tests.cluster build                  build the binaries into the cache when absent
python -m tests.cluster up     [--name NAME]   build when needed, start, write Pulumi.cluster.yaml
python -m tests.cluster down   [--name NAME]   stop every process of that cluster
python -m tests.cluster status [--name NAME]   processes, their memory, readiness
"""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from tests import schemas
from tests.cluster import build, lifecycle
from tests.cluster.build import BuildError
from tests.cluster.controlplane import ROOT, ClusterError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster", description="A Kubernetes control plane with fake GPU nodes on 127.0.0.1."
    )
    parser.add_argument("command", choices=["build", "up", "down", "status"])
    parser.add_argument("--name", default="local", help="run folder .cluster/NAME (default: local; the tests use pytest)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build.ensure()
            print(f"==> control plane binaries in {build.cache_dir()}")
        elif args.command == "up":
            try:
                crds = schemas.crd_files()
            except (pytest.skip.Exception, pytest.fail.Exception) as missing:
                raise ClusterError(missing.msg) from None
            lifecycle.up(args.name, crd_files=crds, stack_dir=ROOT)
        elif args.command == "down":
            lifecycle.down(args.name)
        else:
            report = lifecycle.plane(args.name).status()
            print(json.dumps(report, indent=2))
            return 0 if report["ready"] else 1
    except (BuildError, ClusterError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
