"""The engine's binaries at the pinned versions: the `pulumi` CLI and the kubernetes resource plugin.

    python -m components.engine build      (what `make engine` runs)

Both come from the official Pulumi install where it has them at the pinned versions (`pulumi` on
PATH; the plugin under ~/.pulumi/plugins), and nothing is built. Otherwise both are built with Go
from the Go module proxy into a cache outside the clone (`$MODEL_FLEET_ENGINE_CACHE`, by default
~/.cache/model-fleet/engine), one folder per program and version, so a fresh clone on a machine
that built them once builds nothing. Either way the project then holds:

    .engine/bin/pulumi                                               a link to the CLI
    .engine/home/plugins/resource-kubernetes-vX.Y.Z/pulumi-resource-kubernetes   the plugin, installed
                                                                     with `pulumi plugin install --file`

so every run of the engine (the runner, the tests, `make up`) uses a project-local PULUMI_HOME and
never reads or writes ~/.pulumi.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

from components.engine import discover
from components.engine.gobuild import BuildError, cache_root, check_go, download, go_binary, locked, run, step, wrapper_module

CACHE_ENV = "MODEL_FLEET_ENGINE_CACHE"

CLI_MODULE = "github.com/pulumi/pulumi/pkg/v3"
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
# pkg/go.mod of the pinned CLI says `go 1.25.11`.
CLI_GO_MIN = (1, 25)

PROVIDER_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
PROVIDER_SDK_MODULE = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
PROVIDER_COMMAND = "cmd/pulumi-resource-kubernetes"
PROVIDER_GO_MIN = (1, 24)
# The provider module has no tags of its own (its releases are tagged at the repository root), so
# the module proxy serves it by commit only, as a pseudo-version: the release commit of each version.
PROVIDER_COMMITS = {
    "4.25.0": "v4.0.0-20260115033456-f47bc2d6f199",
}


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return cache_root() / "engine"


def cached_cli(version: str) -> Path:
    return cache_dir() / f"pulumi-v{version}" / "pulumi"


def cached_plugin(version: str) -> Path:
    return cache_dir() / f"kubernetes-v{version}" / "pulumi-resource-kubernetes"


# --- building --------------------------------------------------------------------------------


def build_cli(go: str, version: str, work: Path, target: Path) -> None:
    download(go, CLI_MODULE, f"v{version}")
    # The CLI's own go.mod replaces clipboard (a Windows DLL fix); replaces only apply in the main module.
    wrapper_module(
        work,
        "\n".join(
            [
                "module model-fleet.invalid/engine/pulumi",
                "",
                "go 1.25.11",
                "",
                "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
                "",
            ]
        ),
    )
    log = work / "build.log"
    with step(f"downloading the modules of pulumi v{version}"):
        run(
            [go, "get", f"{CLI_MODULE}/cmd/pulumi@v{version}", f"{SDK_MODULE}@v{version}"],
            cwd=work,
            log=log,
            what=f"downloading the modules of the pulumi CLI v{version}",
        )
    ldflags = f"-s -w -X {SDK_MODULE}/go/common/version.Version=v{version}"
    with step(f"compiling pulumi v{version}"):
        run(
            [
                go,
                "build",
                "-tags",
                "osusergo,grpcnotrace",
                "-ldflags",
                ldflags,
                "-o",
                str(work / "bin" / "pulumi"),
                f"{CLI_MODULE}/cmd/pulumi",
            ],
            cwd=work,
            log=log,
            what=f"building the pulumi CLI v{version}",
        )
    said = discover.cli_version(work / "bin" / "pulumi")
    if said != f"v{version}":
        raise BuildError(f"the built pulumi CLI says {said!r}, not v{version} (log: {log})")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(work / "bin" / "pulumi", target)


def provider_go_mod(version: str, provider_go_mod_text: str) -> str:
    """A main module requiring the provider at its release commit and the kubernetes Go SDK at the release.

    The provider's go.mod replaces sdk/v4 with a folder of its repository (`../sdk`), which a
    dependency's replace cannot do; its yaml/v2 and helm/v4 packages import that SDK, so the
    published sdk/v4 of the same release stands in for the folder.
    """
    go_line = next((line for line in provider_go_mod_text.splitlines() if line.startswith("go ")), "go 1.24.7")
    return "\n".join(
        [
            f"module model-fleet.invalid/engine/kubernetes-v{version}",
            "",
            go_line,
            "",
            "require (",
            f"\t{PROVIDER_MODULE} {PROVIDER_COMMITS[version]}",
            f"\t{PROVIDER_SDK_MODULE} v{version}",
            ")",
            "",
        ]
    )


def build_plugin(go: str, version: str, work: Path, target: Path) -> None:
    info = download(go, PROVIDER_MODULE, PROVIDER_COMMITS[version])
    wrapper_module(work, provider_go_mod(version, Path(info["GoMod"]).read_text()))
    log = work / "build.log"
    # main.go embeds schema-embed.json and terraform-mapping-embed.json, which the module does not
    # ship: its generate.go writes them from schema.json, stamped with the version. The module
    # cache is read-only, so the command's folder is copied into the build module and generated there.
    command = work / PROVIDER_COMMAND
    shutil.rmtree(command, ignore_errors=True)
    shutil.copytree(Path(info["Dir"]) / PROVIDER_COMMAND, command)
    for path in [command, *command.iterdir()]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    with step(f"downloading the modules of the kubernetes provider v{version}"):
        run([go, "mod", "tidy"], cwd=work, log=log, what=f"resolving the modules of the kubernetes provider v{version}")
    with step(f"generating the provider's embedded schema (VERSION={version})"):
        run(
            [go, "generate", "./" + PROVIDER_COMMAND],
            cwd=work,
            log=log,
            env={"VERSION": version},
            what=f"generating the schema of the kubernetes provider v{version}",
        )
    ldflags = f"-s -w -X {PROVIDER_MODULE}/pkg/version.Version={version}"
    with step(f"compiling pulumi-resource-kubernetes v{version} (the longest step: about 19 minutes cold on 2 cores)"):
        run(
            [go, "build", "-ldflags", ldflags, "-o", str(work / "bin" / "pulumi-resource-kubernetes"), "./" + PROVIDER_COMMAND],
            cwd=work,
            log=log,
            what=f"building the kubernetes provider v{version}",
        )
    said = discover.plugin_version(work / "bin" / "pulumi-resource-kubernetes")
    if said != version:
        raise BuildError(f"the built kubernetes provider says it is version {said!r}, not {version} (log: {log})")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(work / "bin" / "pulumi-resource-kubernetes", target)


# --- putting them in place -------------------------------------------------------------------


def _official_cli(version: str) -> Path | None:
    on_path = shutil.which(
        "pulumi",
        path=os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p).resolve() != discover.ENGINE_BIN.resolve()),
    )
    if on_path and discover.cli_version(Path(on_path)) == f"v{version}":
        return Path(on_path).resolve()
    return None


def _official_plugin(version: str) -> Path | None:
    plugin = discover.plugin_path(Path.home() / ".pulumi", version)
    return plugin if discover.installed(plugin) else None


def ensure_cli(version: str, go: str | None, official: Path | None) -> Path:
    if official is not None:
        print(f"==> pulumi v{version} from the official install: {official}; nothing to build", flush=True)
        return official
    target = cached_cli(version)
    if target.is_file():
        print(f"==> pulumi v{version} cached in {target}; nothing to build", flush=True)
        return target
    with step(f"building pulumi v{version} from the Go module proxy into {target}"):
        build_cli(go or go_binary(f"the pulumi CLI v{version}", CLI_GO_MIN), version, cache_dir() / "build" / f"pulumi-v{version}", target)
    return target


def ensure_plugin(version: str, go: str | None, official: Path | None) -> Path:
    if official is not None:
        print(f"==> kubernetes plugin v{version} from the official install: {official}; nothing to build", flush=True)
        return official
    if version not in PROVIDER_COMMITS:
        raise BuildError(
            f"pulumi-kubernetes {version} is pinned, but the build knows the provider's release commit only for "
            f"{', '.join(PROVIDER_COMMITS)}; install the plugin with the official Pulumi install, or pin one of those"
        )
    target = cached_plugin(version)
    if target.is_file():
        print(f"==> kubernetes plugin v{version} cached in {target}; nothing to build", flush=True)
        return target
    with step(f"building the kubernetes plugin v{version} from the Go module proxy into {target}"):
        build_plugin(
            go or go_binary(f"the kubernetes plugin v{version}", PROVIDER_GO_MIN),
            version,
            cache_dir() / "build" / f"kubernetes-v{version}",
            target,
        )
    return target


def link_cli(cli: Path) -> None:
    discover.ENGINE_BIN.mkdir(parents=True, exist_ok=True)
    link = discover.ENGINE_BIN / "pulumi"
    if link.is_symlink() and link.resolve() == cli.resolve():
        return
    temporary = link.with_name("pulumi.new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(cli)
    os.replace(temporary, link)
    print(f"    {link} -> {cli}", flush=True)


def install_plugin(cli: Path, plugin: Path, version: str) -> None:
    """The plugin in the project's PULUMI_HOME, as `pulumi plugin install --file` lays it out."""
    installed = discover.plugin_path(discover.ENGINE_HOME, version)
    if discover.installed(installed) and installed.stat().st_size == plugin.stat().st_size:
        print(f"==> kubernetes plugin v{version} already installed in {discover.ENGINE_HOME}", flush=True)
        return
    with step(f"installing the kubernetes plugin v{version} into {discover.ENGINE_HOME}"):
        result = subprocess.run(
            [str(cli), "plugin", "install", "resource", "kubernetes", version, "--file", str(plugin)],
            capture_output=True,
            text=True,
            timeout=300,
            env=discover.quiet_env(discover.ENGINE_HOME),
        )
        if result.returncode != 0:
            raise BuildError(f"`pulumi plugin install resource kubernetes {version} --file {plugin}` failed:\n{result.stderr.strip()}")


def ensure() -> discover.Engine:
    """CLI and plugin at the pinned versions in .engine, built first where nothing provides them."""
    cli_version, plugin_version = discover.pulumi_version(), discover.kubernetes_version()
    start = time.monotonic()
    go = None
    # Looked up once: finding the official CLI runs it.
    official_cli, official_plugin = _official_cli(cli_version), _official_plugin(plugin_version)
    with locked(cache_dir()):
        if not ((official_cli or cached_cli(cli_version).is_file()) and (official_plugin or cached_plugin(plugin_version).is_file())):
            minimum = max(CLI_GO_MIN, PROVIDER_GO_MIN)
            go = go_binary(f"the pulumi CLI v{cli_version} and the kubernetes plugin v{plugin_version}", minimum)
            with step("checking Go"):
                check_go(go, minimum, f"the pulumi CLI v{cli_version}")
        cli = ensure_cli(cli_version, go, official_cli)
        plugin = ensure_plugin(plugin_version, go, official_plugin)
    link_cli(cli)
    install_plugin(cli, plugin, plugin_version)
    found = discover.detect()
    if not found.inline:
        raise BuildError("the engine is still incomplete: missing " + "; ".join(found.missing))
    print(f"==> engine ready in {time.monotonic() - start:.0f}s: pulumi v{cli_version}, kubernetes plugin v{plugin_version}", flush=True)
    return found
