"""Building Go programs from the Go module proxy: the steps shared by the engine and the test cluster.

Every step prints what it does and, when done, how long it took; every go command runs at a
lower priority in its own process group with its output in a log, under a timeout. Failures are
`BuildError`s with a message for the user (and the log's last lines), never a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A silent proxy is reported after this long; a build that takes longer is given up.
PROXY_TIMEOUT = int(os.environ.get("MODEL_FLEET_PROXY_TIMEOUT", "120"))
BUILD_TIMEOUT = int(os.environ.get("MODEL_FLEET_BUILD_TIMEOUT", "3600"))


class BuildError(Exception):
    """A binary cannot be had: a message for the user, no traceback."""


class GoMissing(BuildError):
    """No Go toolchain."""


def cache_root() -> Path:
    """Where built binaries are kept, outside any clone: `$XDG_CACHE_HOME/model-fleet` or ~/.cache/model-fleet."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "model-fleet"


@contextmanager
def step(what: str) -> Iterator[None]:
    """Print a step and, when it ends, how long it took."""
    print(f"==> {what}", flush=True)
    start = time.monotonic()
    yield
    print(f"    {what}: {time.monotonic() - start:.1f}s", flush=True)


def go_binary(needed_for: str, minimum: tuple[int, int]) -> str:
    go = shutil.which("go")
    if go is None:
        raise GoMissing(f"Go is not installed: {needed_for} is built from the Go module proxy with Go >= {'.'.join(map(str, minimum))}")
    return go


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        # An old Go fails with its own message instead of downloading a toolchain.
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod -trimpath",
        "CGO_ENABLED": "0",
        # A go.work of an enclosing checkout would change what is built.
        "GOWORK": "off",
    }


def run(args: list[str], *, cwd: Path, log: Path, what: str, timeout: int = BUILD_TIMEOUT, env: dict[str, str] | None = None) -> None:
    """Run a go command with its output in `log`; a failure or a timeout is a BuildError naming both."""
    # A cold build keeps both cores busy for many minutes; a lower priority keeps the machine usable.
    command = ["nice", "-n", "10", *args]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=cwd, env={**go_env(), **(env or {})}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
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


def goproxy(go: str) -> str:
    return subprocess.run([go, "env", "GOPROXY"], capture_output=True, text=True, timeout=60).stdout.strip()


def check_go(go: str, minimum: tuple[int, int], needed_by: str) -> None:
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, env=go_env()).stdout.strip()
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if found < minimum:
        raise BuildError(f"Go {version} is too old: {needed_by} needs Go >= {'.'.join(map(str, minimum))}")
    print(f"    {version}, GOPROXY={goproxy(go)}", flush=True)


def download(go: str, module: str, version: str) -> dict:
    """The module's metadata (and its files in the module cache): from the cache, else the proxy."""
    proxy = goproxy(go)
    try:
        result = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            timeout=PROXY_TIMEOUT,
            env=go_env(),
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"the Go module proxy (GOPROXY={proxy}) did not answer for {module}@{version} within {PROXY_TIMEOUT}s") from None
    # Errors come back in the JSON ("Error"), with nothing on stderr.
    info = json.loads(result.stdout) if result.stdout.strip() else {}
    if result.returncode != 0 or "Error" in info:
        reason = info.get("Error") or result.stderr.strip()
        raise BuildError(f"the Go module proxy (GOPROXY={proxy}) did not serve {module}@{version}: {reason}")
    return info


def wrapper_module(work: Path, go_mod: str) -> None:
    """A fresh main module of ours in `work`: replaces and requires only apply in the main module."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(go_mod)
    (work / "go.sum").unlink(missing_ok=True)


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One build at a time per cache: two clones testing at once wait for each other."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"==> waiting for another build in {cache}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
