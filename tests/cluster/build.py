"""The control plane's binaries, built once per version from the Go module proxy.

Neither PyPI nor Debian ships kube-apiserver, and Debian's etcd (3.4.23) is older than
kube-apiserver 1.34 supports (its watches fail against it), so everything is built with Go:

    etcd                                            go.etcd.io/etcd/server/v3 (its own main package)
    kube-apiserver, -controller-manager, -scheduler k8s.io/kubernetes/cmd/..., staging modules pinned
    kwok, and the Stage files that drive it         sigs.k8s.io/kwok

The binaries live in a cache outside the clone (`$MODEL_FLEET_CLUSTER_CACHE`, by default
`~/.cache/model-fleet/cluster`), one folder per component and version: a fresh clone on a machine
that built them once starts in seconds, as Go's own module and build caches do.

Where a user already has the binaries controller-runtime's envtest uses (`KUBEBUILDER_ASSETS`, a
folder holding kube-apiserver and etcd), those are used when their versions are ones this
control plane supports (kube-apiserver v1.34, etcd 3.5 or 3.6), and only the rest is built.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from components.engine.gobuild import (
    BuildError,
    GoMissing,
    cache_root,
    check_go,
    download,
    locked,
    run,
    step,
    wrapper_module,
)
from components.engine.gobuild import (
    go_binary as _go_binary,
)

__all__ = ["BuildError", "GoMissing", "Binaries", "cached", "resolve", "all_present", "ensure", "step"]

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.5"
KWOK_VERSION = "v0.8.0"
VERSIONS = {"etcd": ETCD_VERSION, "kubernetes": KUBERNETES_VERSION, "kwok": KWOK_VERSION}
# kwok v0.8.0's go.mod says `go 1.26.0`; the others need less.
GO_MIN = (1, 26)

KUBERNETES_MODULE = "k8s.io/kubernetes"
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
ETCD_MODULE = "go.etcd.io/etcd/server/v3"
KWOK_MODULE = "sigs.k8s.io/kwok"
# kwok run on its own (not through kwokctl) has no stages; these are kwokctl's "fast" defaults
# plus its volume stages, which provision and bind claims of the `kwok-volume` class.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
    "kustomize/stage/volume/fast/pvc-provision.yaml",
    "kustomize/stage/volume/fast/pv-bind.yaml",
    "kustomize/stage/volume/fast/pvc-delete.yaml",
    "kustomize/stage/volume/fast/pv-delete.yaml",
)

CACHE_ENV = "MODEL_FLEET_CLUSTER_CACHE"
ASSETS_ENV = "KUBEBUILDER_ASSETS"
# What envtest's binaries may be to serve here: the API server of the release the rest is built
# at (its controllers and kwok speak to it), and an etcd with the watch progress requests it uses.
SUPPORTED_APISERVER = re.compile(r"^Kubernetes v1\.34\.\d+")
SUPPORTED_ETCD = re.compile(r"^etcd Version: 3\.[56]\.\d+", re.MULTILINE)


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: Path


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return cache_root() / "cluster"


def _folders(cache: Path) -> dict[str, Path]:
    """One folder per component and version, so a new version of one rebuilds only that one."""
    return {name: cache / f"{name}-{version}" for name, version in VERSIONS.items()}


def cached() -> Binaries:
    """Where the binaries are (or will be) for the pinned versions."""
    folders = _folders(cache_dir())
    return Binaries(
        etcd=folders["etcd"] / "etcd",
        kube_apiserver=folders["kubernetes"] / "kube-apiserver",
        kube_controller_manager=folders["kubernetes"] / "kube-controller-manager",
        kube_scheduler=folders["kubernetes"] / "kube-scheduler",
        kwok=folders["kwok"] / "kwok",
        kwok_stages=folders["kwok"] / "stages.yaml",
    )


def all_present(binaries: Binaries) -> bool:
    return all(path.is_file() for path in vars(binaries).values())


def go_binary() -> str:
    return _go_binary("the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)", GO_MIN)


def kubernetes_go_mod(kubernetes_go_mod_text: str) -> str:
    """A main module requiring k8s.io/kubernetes with each staging module pinned to its release.

    k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and
    replaces them with folders of its own repository; replaces only apply in the main module, so
    this one maps each of them to the published v0.<minor>.<patch>. The list is read from the
    pinned go.mod itself, since staging modules come and go between releases.
    """
    staging_version = "v0" + KUBERNETES_VERSION[2:]
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/src/", kubernetes_go_mod_text, re.MULTILINE)
    if not staging:
        raise BuildError(f"{KUBERNETES_MODULE}@{KUBERNETES_VERSION}'s go.mod has no staging replaces; the build recipe needs updating")
    go_line = re.search(r"^go \S+$", kubernetes_go_mod_text, re.MULTILINE)
    # A dependency's godebug settings are ignored; the binaries must run with the ones upstream builds with.
    godebug = re.search(r"^godebug .+$", kubernetes_go_mod_text, re.MULTILINE)
    lines = [
        "module model-fleet.invalid/cluster/kubernetes",
        "",
        go_line.group(0) if go_line else "go 1.24.0",
    ]
    if godebug:
        lines.append(godebug.group(0))
    lines += ["", f"require {KUBERNETES_MODULE} {KUBERNETES_VERSION}", "", "replace ("]
    lines += [f"\t{module} => {module} {staging_version}" for module in staging]
    lines += [")", ""]
    return "\n".join(lines)


def build_kubernetes(go: str, work: Path, target: Path, commands: tuple[str, ...] = KUBERNETES_COMMANDS) -> None:
    info = download(go, KUBERNETES_MODULE, KUBERNETES_VERSION)
    wrapper_module(work, kubernetes_go_mod(Path(info["GoMod"]).read_text()))
    major, minor = KUBERNETES_VERSION[1:].split(".")[:2]
    # /version must say the real version: clients (pulumi-kubernetes among them) gate features on it.
    ldflags = " ".join(
        [
            "-s -w",
            f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
            f"-X k8s.io/component-base/version.gitMajor={major}",
            f"-X k8s.io/component-base/version.gitMinor={minor}",
            "-X k8s.io/component-base/version.gitTreeState=clean",
        ]
    )
    packages = [f"{KUBERNETES_MODULE}/cmd/{command}" for command in commands]
    run(
        [go, "build", "-ldflags", ldflags, "-o", f"{work / 'bin'}/", *packages],
        cwd=work,
        log=work / "build.log",
        what=f"building {', '.join(commands)} {KUBERNETES_VERSION}",
    )
    target.mkdir(parents=True, exist_ok=True)
    for command in commands:
        os.replace(work / "bin" / command, target / command)


def build_etcd(go: str, work: Path, target: Path) -> None:
    download(go, ETCD_MODULE, ETCD_VERSION)
    # The server module has a main package of its own; its replace directives point into etcd's
    # repository, which only a main module of ours can ignore.
    wrapper_module(work, f"module model-fleet.invalid/cluster/etcd\n\ngo 1.24\n\nrequire {ETCD_MODULE} {ETCD_VERSION}\n")
    run(
        [go, "build", "-ldflags", "-s -w", "-o", str(work / "bin" / "etcd"), ETCD_MODULE],
        cwd=work,
        log=work / "build.log",
        what=f"building etcd {ETCD_VERSION}",
    )
    target.mkdir(parents=True, exist_ok=True)
    os.replace(work / "bin" / "etcd", target / "etcd")


def build_kwok(go: str, work: Path, target: Path) -> None:
    info = download(go, KWOK_MODULE, KWOK_VERSION)
    work.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    stages = [(Path(info["Dir"]) / stage).read_text().strip() for stage in KWOK_STAGES]
    (target / "stages.yaml").write_text("\n---\n".join(stages) + "\n")
    # kwok's go.mod has no replace directives, so `go install module@version` builds it as released.
    run(
        [go, "install", "-ldflags", "-s -w", f"{KWOK_MODULE}/cmd/kwok@{KWOK_VERSION}"],
        cwd=work,
        log=work / "build.log",
        what=f"building kwok {KWOK_VERSION}",
        env={"GOBIN": str(work / "bin")},
    )
    os.replace(work / "bin" / "kwok", target / "kwok")


def _version_of(binary: Path) -> str:
    try:
        result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout + result.stderr).strip()


def from_assets(binaries: Binaries) -> Binaries:
    """`binaries` with envtest's kube-apiserver and etcd from KUBEBUILDER_ASSETS where they are supported ones."""
    assets = os.environ.get(ASSETS_ENV)
    if not assets:
        return binaries
    found = {}
    for field, name, supported, wanted in (
        ("kube_apiserver", "kube-apiserver", SUPPORTED_APISERVER, "v1.34"),
        ("etcd", "etcd", SUPPORTED_ETCD, "3.5 or 3.6"),
    ):
        binary = Path(assets) / name
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            print(f"==> {ASSETS_ENV}={assets} has no {name}: using the one built here", flush=True)
            continue
        version = _version_of(binary)
        if not supported.search(version):
            said = version.splitlines()[0] if version else "no version"
            print(f"==> {binary} is not a supported {name} ({said}; wanted {wanted}): using the one built here", flush=True)
            continue
        print(f"==> using {binary} ({version.splitlines()[0]}) from {ASSETS_ENV}", flush=True)
        found[field] = binary
    return replace(binaries, **found)


def resolve() -> Binaries:
    """Where each binary comes from: envtest's assets where supported, else the cache (built or not yet)."""
    return from_assets(cached())


def ensure() -> Binaries:
    """The binaries for the pinned versions: envtest's where usable, the rest built first when the cache lacks them."""
    cache = cache_dir()
    binaries = resolve()
    if all_present(binaries):
        return binaries
    go = go_binary()
    with locked(cache):
        kubernetes = tuple(c for c in KUBERNETES_COMMANDS if not getattr(binaries, c.replace("-", "_")).is_file())
        builders = {
            "etcd": (build_etcd, [binaries.etcd]),
            "kubernetes": (
                lambda go, work, target: build_kubernetes(go, work, target, kubernetes),
                [getattr(binaries, c.replace("-", "_")) for c in KUBERNETES_COMMANDS],
            ),
            "kwok": (build_kwok, [binaries.kwok, binaries.kwok_stages]),
        }
        # Another build may have finished while this one waited for the lock.
        missing = [name for name, (_, paths) in builders.items() if not all(p.is_file() for p in paths)]
        if not missing:
            return binaries
        start = time.monotonic()
        with step("checking Go"):
            check_go(go, GO_MIN, f"kwok {KWOK_VERSION}")
        folders = _folders(cache)
        for name in missing:
            what = f"{', '.join(kubernetes)} {KUBERNETES_VERSION}" if name == "kubernetes" else f"{name} {VERSIONS[name]}"
            with step(f"building {what} into {folders[name]}"):
                builders[name][0](go, cache / "build" / f"{name}-{VERSIONS[name]}", folders[name])
        print(f"==> control plane binaries built in {time.monotonic() - start:.0f}s", flush=True)
    return binaries
