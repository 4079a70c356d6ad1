"""The program (__main__.py) run under Pulumi's mocks, as the tests and the benchmarks both run it."""

from __future__ import annotations

import gc
import json
import runpy
import shutil
from pathlib import Path

import pulumi
import yaml

from harness import pulumi_mocks

ROOT = Path(__file__).resolve().parent.parent


def copy_project(target: Path, stack: str = "dev", *, program: bool = True) -> Path:
    """The committed Pulumi.yaml and Pulumi.<stack>.yaml (and the program's __main__.py) in `target`,
    which is made when missing: the project as a test changes or runs it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (("__main__.py",) if program else ()) + ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        shutil.copy(ROOT / name, target / name)
    return target


def engine_config(project: Path, stack: str = "dev") -> dict[str, str]:
    """Config as the engine hands it to a program: the project's `value:`s from Pulumi.yaml, each
    replaced by the stack file's key of the same name; every value a string, objects as JSON."""
    project_config = yaml.safe_load((project / "Pulumi.yaml").read_text()).get("config") or {}
    config = {k: v["value"] for k, v in project_config.items()}
    config.update(yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text())["config"])
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_program(project: Path, preview: bool = True, monitors: list | None = None, values: dict | None = None, stack: str = "dev"):
    """Run the program with the project's and stack file's config (or `values`); returns (monitor, logs, exports).

    `monitors` receives the monitor even when the program fails.
    """
    monitor, logs = pulumi_mocks.install(preview=preview, stack=stack)
    if monitors is not None:
        monitors.append(monitor)
    pulumi.runtime.set_all_config(values if values is not None else engine_config(project, stack))
    exports: dict = {}
    original_export = pulumi.export
    pulumi.export = lambda name, value: exports.__setitem__(name, value)

    @pulumi.runtime.test
    def run():
        runpy.run_path(str(project / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(**exports).apply(lambda resolved: exports.update(resolved))

    # The program tunes the garbage collector of its process (components/collector.py); the
    # test process gets its own thresholds back.
    thresholds = gc.get_threshold()
    try:
        run()
    finally:
        pulumi.export = original_export
        pulumi.runtime.set_all_config({})
        gc.set_threshold(*thresholds)
    return monitor, logs, exports
