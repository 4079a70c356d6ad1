"""The program under the real engine beside its floor under the same engine: preview, up, and the no-change preview.

    python -m bench.engine [--sizes 10,100,500] [--runs 1] [--json PATH]

Needs the engine (`make engine`). For each size N, a render-mode stack of N models (bench/stacks.py)
and, beside it, the floor: a program registering the same raw Kubernetes resources with the
builders' output as literals (no validation, no components, no docs, no manifest files). Each is
run by the runner (`python -m components.engine`, the Automation API) as whole processes, as a
user waits for them, on a file:// backend of its own:

    preview            on an empty stack (what a pull request of a new stack runs)
    up                 on an empty stack
    preview, no change after that up (what a pull request on an existing stack runs)

The table shows each one's median wall time beside the floor's, their ratio (goal: within 1.2x at
N=100), the growth from one size to the next, and the state's size (`pulumi stack export`) for
each. The exit status is 1 when a run fails or the program and its floor register different
numbers of resources.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import arguments, stacks
from components.engine import discover

ROOT = Path(__file__).resolve().parent.parent
STACK = "dev"
PASSPHRASE = "model-fleet bench"
OPERATIONS = ("preview", "up", "preview_no_change")
GOAL, GOAL_AT = 1.2, 100
LINEAR_SLACK = 1.1

FLOOR_PROGRAM = '''"""The floor: the same raw resources as the program, the builders' output read as literals."""
import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

listing = json.loads((Path(__file__).parent / "objects.json").read_text())
provider = k8s.Provider("kubernetes", **listing["provider"])
opts = pulumi.ResourceOptions(provider=provider)
for name, manifest in listing["objects"]:
    kind, metadata, spec = manifest["kind"], manifest["metadata"], manifest.get("spec")
    if kind == "Namespace":
        k8s.core.v1.Namespace(name, metadata=metadata, opts=pulumi.ResourceOptions(provider=provider, retain_on_delete=True))
    elif kind == "PersistentVolumeClaim":
        k8s.core.v1.PersistentVolumeClaim(name, metadata=metadata, spec=spec, opts=pulumi.ResourceOptions(provider=provider, retain_on_delete=True))
    elif kind == "Deployment":
        k8s.apps.v1.Deployment(name, metadata=metadata, spec=spec, opts=opts)
    elif kind == "Service":
        k8s.core.v1.Service(name, metadata=metadata, spec=spec, opts=opts)
    elif kind == "Secret":
        k8s.core.v1.Secret(name, metadata=metadata, type=manifest["type"], opts=opts)
    else:
        k8s.apiextensions.CustomResource(name, api_version=manifest["apiVersion"], kind=kind, metadata=metadata, spec=spec, opts=opts)
'''


class RunFailed(Exception):
    pass


def program_project(directory: Path, models: int) -> Path:
    """The program's project: __main__.py, its packages and an N-model render-mode stack."""
    directory.mkdir(parents=True)
    for name in ("__main__.py", "components", "docsgen"):
        source = ROOT / name
        (
            shutil.copytree(source, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
            if source.is_dir()
            else shutil.copy2(source, directory / name)
        )
    stacks.write(directory, models, name=STACK)
    path = directory / f"Pulumi.{STACK}.yaml"
    document = json.loads(json.dumps(__import__("yaml").safe_load(path.read_text())))
    document["config"]["model-fleet:kubernetes"] = {"render_yaml_to_directory": "rendered"}
    document["config"]["model-fleet:docs"] = {"root": "docs", "api_base_url": "https://api.example.com/v1"}
    path.write_text(__import__("yaml").safe_dump(document, sort_keys=False))
    return directory


def floor_project(directory: Path, program: Path) -> Path:
    """The floor's project: the same objects and provider settings, precomputed, and the floor program."""
    from components.contract import config
    from components.contract.spec import SERVICE_MONITOR_CRD
    from components.manifests import namespace, objects

    loaded = config.load_stack_file(program, STACK)
    spec = loaded.spec
    listing = [("namespace", namespace.build(spec.namespace))] if spec.kubernetes.create_namespace else []
    context = objects.Context.of(spec, service_monitor_enabled=loaded.facts.has_crd(SERVICE_MONITOR_CRD))
    for entry, routing in objects.versions(spec):
        listing += objects.model_objects(entry, context, routing=routing)
    provider = {
        "namespace": spec.namespace,
        "enable_server_side_apply": True,
        "kubeconfig": "",
        "render_yaml_to_directory": str(directory / ".pulumi-state" / "provider-render"),
    }
    directory.mkdir(parents=True)
    (directory / "objects.json").write_text(json.dumps({"provider": provider, "objects": listing}))
    (directory / "__main__.py").write_text(FLOOR_PROGRAM)
    (directory / "Pulumi.yaml").write_text("name: model-fleet\nruntime: python\n")
    (directory / f"Pulumi.{STACK}.yaml").write_text("config: {}\n")
    return directory


def _env(state: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(discover.QUIET, PULUMI_HOME=str(home), PULUMI_BACKEND_URL=f"file://{state}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise RunFailed(f"{' '.join(args[:4])} in {cwd} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds, result


def cycle(project: Path, engine: discover.Engine, work: Path) -> dict:
    """One fresh stack: preview, up, no-change preview; their wall times, the resources and the state's size."""
    state = work / "state"
    state.mkdir(parents=True)
    home = engine.linked_home(work / "home")
    env = _env(state, home)
    assert engine.cli is not None
    _run([str(engine.cli), "stack", "init", STACK, "--secrets-provider", "passphrase", "--non-interactive"], project, env)
    runner = [sys.executable, "-m", "components.engine"]
    where = ["--stack", STACK, "--project-dir", str(project)]
    times = {}
    times["preview"], _ = _run([*runner, "preview", *where], ROOT, env)
    times["up"], _ = _run([*runner, "up", *where, "--yes"], ROOT, env)
    times["preview_no_change"], _ = _run([*runner, "preview", *where, "--expect-no-changes"], ROOT, env)
    _, exported = _run([str(engine.cli), "stack", "export", "--stack", STACK], project, env)
    resources = json.loads(exported.stdout)["deployment"].get("resources") or []
    kubernetes = sum(r["type"].startswith("kubernetes:") for r in resources)
    return {**times, "state_bytes": len(exported.stdout.encode()), "kubernetes_resources": kubernetes, "resources": len(resources)}


def measure(models: int, runs: int, engine: discover.Engine) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-engine-{models}-") as tmp:
        base = Path(tmp)
        program = program_project(base / "program", models)
        floor = floor_project(base / "floor", program)
        results = {}
        for label, project in (("program", program), ("floor", floor)):
            cycles = [cycle(project, engine, base / f"{label}-run-{i}") for i in range(runs)]
            results[label] = {
                **{op: statistics.median(c[op] for c in cycles) for op in OPERATIONS},
                **{k: cycles[0][k] for k in ("state_bytes", "kubernetes_resources", "resources")},
            }
        if results["program"]["kubernetes_resources"] != results["floor"]["kubernetes_resources"]:
            raise RunFailed(
                f"at N={models} the program has {results['program']['kubernetes_resources']} Kubernetes "
                f"resources, its floor {results['floor']['kubernetes_resources']}"
            )
        return results


def table(report: dict) -> str:
    lines = [
        f"engine: pulumi v{report['pulumi']}, kubernetes plugin v{report['plugin']}; runs per step: {report['runs']} "
        "(median wall seconds of whole processes)",
        "",
        f"{'N':>5}  {'step':<18} {'program':>8} {'floor':>8} {'ratio':>6}  goal",
    ]
    for models, results in report["results"].items():
        for op in OPERATIONS:
            ratio = results["program"][op] / results["floor"][op]
            goal = "" if int(models) != GOAL_AT else f"<= {GOAL}x {'met' if ratio <= GOAL else 'MISSED'}"
            lines.append(f"{models:>5}  {op:<18} {results['program'][op]:8.2f} {results['floor'][op]:8.2f} {ratio:5.2f}x  {goal}".rstrip())
        p, f = results["program"], results["floor"]
        lines.append(
            f"{models:>5}  {'state (MB)':<18} {p['state_bytes'] / 1e6:8.2f} {f['state_bytes'] / 1e6:8.2f} "
            f"{p['state_bytes'] / f['state_bytes']:5.2f}x  ({p['resources']} resources vs {f['resources']})"
        )
    sizes = sorted(int(s) for s in report["results"])
    if len(sizes) > 1:
        lines += ["", f"{'growth':<12} {'step':<18} {'program':>8} {'floor':>8}  linear bound"]
        for small, large in itertools.pairwise(sizes):
            bound = LINEAR_SLACK * large / small
            for op in OPERATIONS:
                grown = [report["results"][str(large)][who][op] / report["results"][str(small)][who][op] for who in ("program", "floor")]
                verdict = "met" if grown[0] <= bound else "MISSED"
                lines.append(f"{f'{small}->{large}':<12} {op:<18} {grown[0]:7.2f}x {grown[1]:7.2f}x  <= {bound:.1f}x {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, sizes = arguments.parse(
        argv, prog="python -m bench.engine", doc=__doc__, sizes="10,100,500", runs=1, runs_help="fresh stacks per size and program"
    )
    engine = discover.detect()
    if not engine.inline:
        print("bench.engine: the engine is incomplete (`make engine`): missing " + "; ".join(engine.missing), file=sys.stderr)
        return 1
    report = {"pulumi": discover.pulumi_version(), "plugin": discover.kubernetes_version(), "runs": args.runs, "results": {}}
    try:
        for models in sizes:
            print(f"measuring the engine at N={models} ...", file=sys.stderr, flush=True)
            report["results"][str(models)] = measure(models, args.runs, engine)
    except RunFailed as err:
        print(f"bench.engine: {err}", file=sys.stderr)
        return 1
    return arguments.emit(table(report), report, args.json)


if __name__ == "__main__":
    sys.exit(main())
