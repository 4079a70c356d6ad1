"""The control plane's binaries, built once per version from the Go module proxy.

No registry reachable here ships kube-apiserver, and Debian's etcd (3.4.23) is older than
kube-apiserver 1.34 supports (its watches fail against it), so everything is built with Go:

    etcd                                            go.etcd.io/etcd/server/v3 (its own main package)
    kube-apiserver, -controller-manager, -scheduler k8s.io/kubernetes/cmd/..., staging modules pinned
    kwok, and the Stage files that drive it         sigs.k8s.io/kwok

The binaries live in a cache outside the clone (`$MODEL_FLEET_CLUSTER_CACHE`, by default
`~/.cache/model-fleet/cluster`), one folder per component and version: a fresh clone on a machine
that built them once starts in seconds, as Go's own module and build caches do.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
# A silent proxy is reported after this long; a build that takes longer than BUILD_TIMEOUT
# (cold, on 2 busy cores, kube-apiserver and friends take about 20 minutes) is given up.
PROXY_TIMEOUT = int(os.environ.get("MODEL_FLEET_PROXY_TIMEOUT", "120"))
BUILD_TIMEOUT = int(os.environ.get("MODEL_FLEET_BUILD_TIMEOUT", "3600"))


class BuildError(Exception):
    """The binaries cannot be had: a message for the user, no traceback."""


class GoMissing(BuildError):
    """No Go toolchain: the only reason the cluster tests skip instead of fail."""


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
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "model-fleet" / "cluster"


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


@contextmanager
def step(what: str):
    """Print a step and, when it ends, how long it took."""
    print(f"==> {what}", flush=True)
    start = time.monotonic()
    yield
    print(f"    {what}: {time.monotonic() - start:.1f}s", flush=True)


def go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoMissing(
            "Go is not installed: the test control plane (etcd, kube-apiserver, kube-controller-manager, "
            f"kube-scheduler, kwok) is built from the Go module proxy with Go >= {'.'.join(map(str, GO_MIN))}"
        )
    return go


def _go_env() -> dict[str, str]:
    return {
        **os.environ,
        # An old Go fails with its own message instead of downloading a toolchain.
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod -trimpath",
        "CGO_ENABLED": "0",
        # A go.work of an enclosing checkout would change what is built.
        "GOWORK": "off",
    }


def _run(args: list[str], *, cwd: Path, log: Path, timeout: int, what: str, env: dict[str, str] | None = None) -> None:
    """Run a go command with its output in `log`; a failure or a timeout is a BuildError naming both."""
    # A cold build keeps both cores busy for many minutes; a lower priority keeps the machine usable.
    command = ["nice", "-n", "10", *args]
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=cwd, env={**_go_env(), **(env or {})}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = process.wait(timeout=timeout)
        except BaseException as err:
            # Its own process group, so a timeout or a Ctrl-C stops the compilers it started too.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if isinstance(err, subprocess.TimeoutExpired):
                raise BuildError(f"{what} took over {timeout}s and was stopped (log: {log})") from None
            raise
    if code != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise BuildError(f"{what} failed (log: {log}):\n{tail}")


def _goproxy(go: str) -> str:
    return subprocess.run([go, "env", "GOPROXY"], capture_output=True, text=True, timeout=60).stdout.strip()


def check_go(go: str) -> None:
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, env=_go_env()).stdout.strip()
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if found < GO_MIN:
        raise BuildError(f"Go {version} is too old: kwok {KWOK_VERSION} needs Go >= {'.'.join(map(str, GO_MIN))}")
    print(f"    {version}, GOPROXY={_goproxy(go)}", flush=True)


def download(go: str, module: str, version: str) -> dict:
    """The module's metadata (and its files in the module cache): from the cache, else the proxy."""
    proxy = _goproxy(go)
    try:
        result = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True, text=True, timeout=PROXY_TIMEOUT, env=_go_env(), cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"the Go module proxy (GOPROXY={proxy}) did not answer for {module}@{version} within {PROXY_TIMEOUT}s") from None
    # Errors come back in the JSON ("Error"), with nothing on stderr.
    info = json.loads(result.stdout) if result.stdout.strip() else {}
    if result.returncode != 0 or "Error" in info:
        reason = info.get("Error") or result.stderr.strip()
        raise BuildError(f"the Go module proxy (GOPROXY={proxy}) did not serve {module}@{version}: {reason}")
    return info


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


def _wrapper_module(work: Path, go_mod: str) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(go_mod)
    (work / "go.sum").unlink(missing_ok=True)


def build_kubernetes(go: str, work: Path, target: Path) -> None:
    info = download(go, KUBERNETES_MODULE, KUBERNETES_VERSION)
    _wrapper_module(work, kubernetes_go_mod(Path(info["GoMod"]).read_text()))
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
    packages = [f"{KUBERNETES_MODULE}/cmd/{command}" for command in KUBERNETES_COMMANDS]
    _run([go, "build", "-ldflags", ldflags, "-o", f"{work / 'bin'}/", *packages], cwd=work, log=work / "build.log",
         timeout=BUILD_TIMEOUT, what=f"building {', '.join(KUBERNETES_COMMANDS)} {KUBERNETES_VERSION}")
    target.mkdir(parents=True, exist_ok=True)
    for command in KUBERNETES_COMMANDS:
        os.replace(work / "bin" / command, target / command)


def build_etcd(go: str, work: Path, target: Path) -> None:
    download(go, ETCD_MODULE, ETCD_VERSION)
    # The server module has a main package of its own; its replace directives point into etcd's
    # repository, which only a main module of ours can ignore.
    _wrapper_module(work, f"module model-fleet.invalid/cluster/etcd\n\ngo 1.24\n\nrequire {ETCD_MODULE} {ETCD_VERSION}\n")
    _run([go, "build", "-ldflags", "-s -w", "-o", str(work / "bin" / "etcd"), ETCD_MODULE], cwd=work, log=work / "build.log",
         timeout=BUILD_TIMEOUT, what=f"building etcd {ETCD_VERSION}")
    target.mkdir(parents=True, exist_ok=True)
    os.replace(work / "bin" / "etcd", target / "etcd")


def build_kwok(go: str, work: Path, target: Path) -> None:
    info = download(go, KWOK_MODULE, KWOK_VERSION)
    work.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    stages = [(Path(info["Dir"]) / stage).read_text().strip() for stage in KWOK_STAGES]
    (target / "stages.yaml").write_text("\n---\n".join(stages) + "\n")
    # kwok's go.mod has no replace directives, so `go install module@version` builds it as released.
    _run([go, "install", "-ldflags", "-s -w", f"{KWOK_MODULE}/cmd/kwok@{KWOK_VERSION}"], cwd=work, log=work / "build.log",
         timeout=BUILD_TIMEOUT, what=f"building kwok {KWOK_VERSION}", env={"GOBIN": str(work / "bin")})
    os.replace(work / "bin" / "kwok", target / "kwok")


@contextmanager
def _locked(cache: Path):
    """One build at a time per cache: two clones testing at once wait for each other."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"==> waiting for another build in {cache}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure() -> Binaries:
    """The binaries for the pinned versions, built first when the cache lacks them."""
    cache = cache_dir()
    binaries = cached()
    if all_present(binaries):
        return binaries
    go = go_binary()
    with _locked(cache):
        builders = {
            "etcd": (build_etcd, [binaries.etcd]),
            "kubernetes": (build_kubernetes, [binaries.kube_apiserver, binaries.kube_controller_manager, binaries.kube_scheduler]),
            "kwok": (build_kwok, [binaries.kwok, binaries.kwok_stages]),
        }
        # Another build may have finished while this one waited for the lock.
        missing = [name for name, (_, paths) in builders.items() if not all(p.is_file() for p in paths)]
        if not missing:
            return binaries
        start = time.monotonic()
        with step("checking Go"):
            check_go(go)
        folders = _folders(cache)
        for name in missing:
            with step(f"building {name} {VERSIONS[name]} into {folders[name]}"):
                builders[name][0](go, cache / "build" / f"{name}-{VERSIONS[name]}", folders[name])
        print(f"==> control plane binaries built in {time.monotonic() - start:.0f}s", flush=True)
    return binaries
