"""Find the Pulumi engine at the versions this project pins, without downloading anything.

The engine this program needs is two binaries: the `pulumi` CLI at the `pulumi` package's version
and the kubernetes resource plugin at the `pulumi-kubernetes` package's version (the SDK asks the
engine for exactly that version). With both, the runner (`components.engine.runner`) runs the
program through the Automation API, which serves the program's language runtime itself: that is a
full engine. `pulumi preview` and `pulumi up` typed by hand also need the Python language host
`pulumi-language-python`, which the official install puts next to the CLI.

Where they are looked for: the CLI in .engine/bin (`make engine`), else on PATH; the plugin under
`$PULUMI_HOME`, .engine/home (`make engine` installs it there) or ~/.pulumi. Every run sets
PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, so a missing plugin is an error, never a download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
ENGINE_DIR = PROJECT_DIR / ".engine"
ENGINE_BIN = ENGINE_DIR / "bin"
ENGINE_HOME = ENGINE_DIR / "home"
LANGUAGE_HOST = "pulumi-language-python"
# No update check, no plugin download, no version nag from the Automation API.
QUIET = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
}


def quiet_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **QUIET, "PULUMI_HOME": str(home), **extra}


def pulumi_version() -> str:
    """The version of the `pulumi` package the program runs with; the CLI must match it."""
    return metadata.version("pulumi")


def kubernetes_version() -> str:
    """The version of the `pulumi-kubernetes` package; its plugin must be installed at exactly this version."""
    return metadata.version("pulumi-kubernetes")


def cli_version(cli: Path) -> str | None:
    try:
        result = subprocess.run([str(cli), "version"], capture_output=True, text=True, timeout=60, env={**os.environ, **QUIET})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_cli() -> Path | None:
    """The pinned CLI: the one `make engine` linked in .engine/bin, else a matching one on PATH."""
    wanted = "v" + pulumi_version()
    candidates = [ENGINE_BIN / "pulumi"]
    on_path = shutil.which("pulumi")
    if on_path:
        candidates.append(Path(on_path))
    for cli in candidates:
        if cli.is_file() and os.access(cli, os.X_OK) and cli_version(cli) == wanted:
            return cli
    return None


def pulumi_homes() -> list[Path]:
    """Where the plugin is looked for: a PULUMI_HOME set by the caller first, then the project's, then the user's."""
    homes = [Path(os.environ["PULUMI_HOME"])] if os.environ.get("PULUMI_HOME") else []
    return homes + [ENGINE_HOME, Path.home() / ".pulumi"]


def plugin_path(home: Path, version: str | None = None) -> Path:
    version = version or kubernetes_version()
    return home / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"


def installed(plugin: Path) -> bool:
    """Installed as the engine sees it: the binary there and no `.partial` marker of an install in progress."""
    folder = plugin.parent
    return os.access(plugin, os.X_OK) and not folder.with_name(folder.name + ".partial").exists()


def plugin_version(plugin: Path, timeout: float = 30) -> str | None:
    """The version a resource plugin says it is (it has no --version): its answer to GetPluginInfo.

    The plugin is started as the engine starts it, with an engine address (nothing listens
    there; it is only dialled for logs), prints its port and is asked over gRPC on 127.0.0.1.
    """
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc

    try:
        process = subprocess.Popen([str(plugin), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        if not port.isdigit():
            return None
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            return provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=timeout).version
    except grpc.RpcError:
        return None
    finally:
        process.kill()
        process.wait()


@dataclass
class Engine:
    cli: Path | None
    language_host: Path | None
    kubernetes_plugin: Path | None
    home: Path
    missing: list[str] = field(default_factory=list)

    @property
    def inline(self) -> bool:
        """CLI and plugin: the runner can run the program (the Automation API needs no language host)."""
        return not self.missing

    @property
    def full(self) -> bool:
        """`pulumi preview`/`pulumi up` typed by hand work too: the language host is there as well."""
        return self.inline and self.language_host is not None

    def linked_home(self, home: Path) -> Path:
        """A new Pulumi home of its own (stacks, workspaces) whose plugins are this engine's, linked, not copied."""
        home.mkdir(parents=True)
        (home / "plugins").symlink_to(self.home / "plugins", target_is_directory=True)
        return home

    def env(self, **extra: str) -> dict[str, str]:
        """The environment to run the CLI in: its home, its directory first on PATH, nothing downloaded."""
        env = quiet_env(self.home, **extra)
        if self.cli is not None:
            env["PATH"] = f"{self.cli.parent}{os.pathsep}{env.get('PATH', '')}"
        return env


def detect() -> Engine:
    cli = find_cli()
    missing = []
    if cli is None:
        missing.append(f"the pulumi CLI v{pulumi_version()} (run `make engine`, or install it on PATH)")
    host = shutil.which(LANGUAGE_HOST)
    if host is None and cli is not None:
        beside = cli.resolve().parent / LANGUAGE_HOST
        host = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None
    homes = pulumi_homes()
    plugin = next((plugin_path(h) for h in homes if installed(plugin_path(h))), None)
    if plugin is None:
        where = ", ".join(str(h / "plugins") for h in homes)
        missing.append(f"the kubernetes resource plugin v{kubernetes_version()} (run `make engine`; not in {where})")
    # Run where the plugin is; without one, in the project's own home.
    home = plugin.parents[2] if plugin is not None else ENGINE_HOME
    return Engine(cli, Path(host) if host else None, plugin, home, missing)
