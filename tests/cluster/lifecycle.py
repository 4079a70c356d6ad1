"""Bring a named test cluster up or down: what `make cluster-up` and the test fixture both run."""

from __future__ import annotations

from pathlib import Path

from tests.cluster import build, contents, stack
from tests.cluster.controlplane import RUNS, ClusterError, ControlPlane
from tests.cluster.kube import api_client


def plane(name: str, *, attached: bool = False) -> ControlPlane:
    return ControlPlane(RUNS / name, build.resolve(), attached=attached)


def up(name: str, *, crd_files: list[Path], stack_dir: Path, attached: bool = False, reuse: bool = True) -> ControlPlane:
    """Build the binaries when absent, start the control plane, add nodes, CRDs and storage, and
    write the `cluster` stack file into `stack_dir`. With `reuse`, a cluster of that name that
    is already running is kept as it is."""
    cluster = plane(name, attached=attached)
    if reuse and cluster.status()["ready"]:
        print(f"==> cluster {name!r} is already running (`make cluster-down` stops it)")
    else:
        build.ensure()
        with build.step("control plane"):
            cluster.up()
        with build.step("fake GPU nodes, CRDs and the default StorageClass"):
            try:
                contents.populate(api_client(cluster.kubeconfig), crd_files)
            except BaseException as err:
                cluster.down()
                if isinstance(err, TimeoutError):
                    raise ClusterError(f"{err} (logs: {cluster.run_dir / 'logs'})") from None
                raise
    path = stack.write(stack_dir, cluster.kubeconfig)
    print(f"==> stack {stack.STACK!r}: {path}")
    print(f"==> kubeconfig: {cluster.kubeconfig}")
    return cluster


def down(name: str) -> None:
    cluster = plane(name)
    cluster.down()
    print(f"==> cluster {name!r} stopped")
