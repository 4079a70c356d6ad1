"""Find the Pulumi engine at the versions this project pins, without downloading anything.

    python -m components.engine                what is installed and what is missing; exit 1 unless all is there
    python -m components.engine PULUMI_ARGS...  then run `pulumi PULUMI_ARGS...` with it (`make up`, `make destroy`)

The engine is three pieces: the `pulumi` CLI (`make engine` puts it in .engine/bin, or one on PATH),
the Python language host `pulumi-language-python` (on PATH or next to the CLI, as the official
install lays it out) and the `kubernetes` resource plugin at the pulumi-kubernetes package's
version, installed under a Pulumi home (`$PULUMI_HOME`, `~/.pulumi` or .engine/home). Every run
sets PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, so a missing plugin is an error, never a download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
ENGINE_DIR = PROJECT_DIR / ".engine"
LANGUAGE_HOST = "pulumi-language-python"
# No update check, no plugin download, no version nag from the Automation API.
QUIET = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
}


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
    """The pinned CLI: the one `make engine` put in .engine/bin, else a matching one on PATH."""
    wanted = "v" + pulumi_version()
    candidates = [ENGINE_DIR / "bin" / "pulumi"]
    on_path = shutil.which("pulumi")
    if on_path:
        candidates.append(Path(on_path))
    for cli in candidates:
        if cli.is_file() and os.access(cli, os.X_OK) and cli_version(cli) == wanted:
            return cli
    return None


def pulumi_homes() -> list[Path]:
    homes = [Path(os.environ["PULUMI_HOME"])] if os.environ.get("PULUMI_HOME") else []
    return homes + [Path.home() / ".pulumi", ENGINE_DIR / "home"]


def plugin_path(home: Path) -> Path:
    version = kubernetes_version()
    return home / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"


@dataclass
class Engine:
    cli: Path | None
    language_host: Path | None
    kubernetes_plugin: Path | None
    home: Path
    missing: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return not self.missing

    def env(self, **extra: str) -> dict[str, str]:
        """The environment to run the CLI in: its home, its directory first on PATH, nothing downloaded."""
        env = {**os.environ, **QUIET, "PULUMI_HOME": str(self.home), **extra}
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
    if host is None:
        missing.append(f"the Python language host {LANGUAGE_HOST} (on PATH or next to the pulumi CLI)")
    homes = pulumi_homes()
    plugin = next((plugin_path(h) for h in homes if os.access(plugin_path(h), os.X_OK)), None)
    if plugin is None:
        where = ", ".join(str(h / "plugins") for h in homes)
        missing.append(f"the kubernetes resource plugin v{kubernetes_version()} (not in {where})")
    # Run where the plugin is; without one, in the user's own home.
    home = plugin.parents[2] if plugin is not None else homes[0]
    return Engine(cli, Path(host) if host else None, plugin, home, missing)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    engine = detect()
    found = [
        (f"pulumi CLI v{pulumi_version()}", engine.cli),
        (f"Python language host {LANGUAGE_HOST}", engine.language_host),
        (f"kubernetes plugin v{kubernetes_version()}", engine.kubernetes_plugin),
    ]
    for what, path in found:
        if path is not None:
            print(f"found {what}: {path}")
    for what in engine.missing:
        print(f"missing {what}", file=sys.stderr)
    if engine.missing:
        print("the full Pulumi engine is not installed; nothing was run", file=sys.stderr)
        return 1
    if args:
        return subprocess.run([str(engine.cli), *args], cwd=PROJECT_DIR, env=engine.env()).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
