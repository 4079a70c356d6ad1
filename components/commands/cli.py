"""The commands that run without the Pulumi engine.

python -m components check  --stack STACK
python -m components status --stack STACK [--json]
python -m components models --stack STACK [--all] [--json] [--explain NAME]
python -m components diff --from STACK --to STACK [--json]
python -m components promote --from STACK --to STACK [--model NAME ...] [--write]
python -m components pr-preview --stack STACK [--summary PATH]
python -m components render --stack STACK [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components import manifest_files
from components.commands import model_listing, promote, stack_diff
from components.contract import catalog, config, field_problems, preflight, stack_files
from components.contract.field_problems import shown
from components.contract.problems import ProblemsFound, did_you_mean


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def check(loaded: config.LoadedStack, args: argparse.Namespace) -> int:
    _print_warnings(loaded.warnings)
    count = len(loaded.spec.models)
    print(f"Pulumi.{args.stack}.yaml: {count} model{'s' if count != 1 else ''} valid, cluster facts from {loaded.facts.source}")
    return 0


def status(facts: preflight.ClusterFacts, args: argparse.Namespace) -> int:
    _print_warnings(list(facts.notes))
    report = {"stack": args.stack, "cluster_status": facts.status()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    s = report["cluster_status"]
    print(f"cluster ({s['source']}): {s['total_nodes']} nodes, {s['total_gpus']} GPUs")
    for node in s["gpu_nodes"]:
        print(f"  {shown(node['node_name'])}: {node['gpu_count']} x {shown(node['gpu_type']) or 'unknown GPU'}, {node['total_vram']} VRAM")
    for key in (
        "gpu_operator_ok",
        "aibrix_ok",
        "kuberay_ok",
        "envoy_gateway_ok",
        "prometheus_operator_ok",
        "inference_pool_ok",
        "http_route_ok",
    ):
        print(f"  {key}: {'yes' if s[key] else 'no'}")
    return 0


def models(loaded: config.LoadedStack, args: argparse.Namespace) -> int:
    spec = loaded.spec
    if args.all and not spec.kubernetes.live:
        print("--all lists models found in a live cluster: set model-fleet:kubernetes.kubeconfig or .context", file=sys.stderr)
        return 2
    listed = model_listing.managed(spec)
    if args.all:
        live = model_listing.read_live_models(spec)
        _print_warnings(live.skipped)
        listed = model_listing.merge_live(listed, live.items, spec.namespace)
    if args.json:
        print(json.dumps({"models": listed, "total": len(listed)}, indent=2))
        return 0
    width = max([len(shown(m["name"])) for m in listed] + [4])
    for item in listed:
        managed = "managed" if item["is_managed"] else "unmanaged"
        row = f"{shown(item['name']):<{width}}  {shown(item['namespace']):<12} {managed:<9}  {item['status']:<12}"
        print(f"{row} {shown(item.get('model_id', ''))}")
    print(f"{len(listed)} model{'s' if len(listed) != 1 else ''}")
    return 0


def explain(args: argparse.Namespace) -> int:
    """One served model's merged entry, each value with the file (and catalog entry) it came from."""
    files, resolution = stack_files.resolve_stack(args.project_dir, args.stack)
    items = resolution.served()
    item = items.get(args.explain)
    if item is None:
        print(f"{files.source} serves no model named {args.explain!r}{did_you_mean(args.explain, list(items))}", file=sys.stderr)
        return 1
    rows = [(path, stack_diff.shown(value), source) for path, value, source in catalog.explained(item, resolution.catalog_file)]
    label = field_problems.entry_label(item.index, item.entry, item.catalog)
    if args.json:
        document = {"name": args.explain, "stack_file": files.source, "item": label, "catalog": item.catalog}
        document |= {"values": [{"key": p, "value": v, "from": s} for p, v, s in rows], "removed": item.removed}
        print(json.dumps(document, indent=2))
        return 0
    print(f"{args.explain}: {files.source} {label}")
    # The source first: a value (a vLLM command line) can be as wide as the terminal.
    width = max(len(source) for _, _, source in rows)
    for path, value, source in rows:
        print(f"  {source:<{width}}  {path}: {json.dumps(value)}")
    for path in item.removed:
        print(f"  {path}: removed by {files.source}")
    return 0


def render(loaded: config.LoadedStack, args: argparse.Namespace) -> int:
    directory = args.out.resolve() if args.out else manifest_files.render_dir(loaded.spec, args.project_dir)
    if directory is None:
        print(
            f"stack {args.stack} applies to a cluster (no model-fleet:kubernetes.render_yaml_to_directory): "
            "nothing rendered; pass --out DIR to render its manifests"
        )
        return 0
    try:
        done = manifest_files.write(manifest_files.plan(directory, manifest_files.render(loaded.spec, loaded.facts)))
    except manifest_files.WriteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name in done.written:
        print(f"wrote {name}")
    for name in done.deleted:
        print(f"deleted {name}")
    print(f"manifests in {directory}: {len(done.written)} written, {len(done.deleted)} deleted, {done.unchanged} unchanged")
    return 0


COMMANDS = {"check": check, "models": models, "render": render}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components", description="Validate a stack and inspect its cluster.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("check", "validate the stack config and run the preflight; exit 1 listing every problem"),
        ("status", "cluster status: GPU nodes and installed CRDs"),
        ("models", "models of the stack; with --all also unmanaged ones found in the live cluster"),
        ("pr-preview", "validation, docs drift and (with the full engine) the resource plan, as a Markdown summary"),
        ("render", "write the stack's manifests, one YAML file per object (Secrets without values)"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
        command.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where the stack files are")
        if name == "pr-preview":
            command.add_argument(
                "--summary",
                type=Path,
                help="also write the comment (cut to GitHub's limit) to this file, and the whole report beside it (NAME-full.md)",
            )
        elif name == "render":
            command.add_argument("--out", type=Path, help="directory (default: model-fleet:kubernetes.render_yaml_to_directory)")
        elif name != "check":
            command.add_argument("--json", action="store_true", help="print JSON")
        if name == "models":
            command.add_argument("--all", action="store_true", help="include unmanaged models of the live cluster")
            command.add_argument("--explain", metavar="NAME", help="one model's merged entry: where each value comes from")
    stack_diff.add_arguments(sub.add_parser("diff", help="what differs between the models two stacks serve; exit 1 when they differ"))
    sub.choices["diff"].add_argument("--json", action="store_true", help="print JSON")
    promote.add_arguments(sub.add_parser("promote", help="the change to Pulumi.<to>.yaml that serves what --from serves"))
    args = parser.parse_args(argv)
    if args.command == "pr-preview":
        # Only pr-preview needs the docs generator and the engine runner: the other commands
        # start without importing them.
        from components.commands import pr_preview

        return pr_preview.command(args)
    try:
        if args.command in ("diff", "promote"):
            return (stack_diff if args.command == "diff" else promote).command(args)
        if args.command == "models" and args.explain:
            return explain(args)
        if args.command == "status":
            return status(config.load_cluster_facts(args.project_dir, args.stack), args)
        loaded = config.load_stack_file(args.project_dir, args.stack)
        return COMMANDS[args.command](loaded, args)
    except (ProblemsFound, preflight.PreflightError) as err:
        print(err.report() if isinstance(err, ProblemsFound) else f"error: {err}", file=sys.stderr)
        # diff's exit 1 means "the stacks differ"; a stack it cannot read is another outcome.
        return 2 if args.command == "diff" else 1


if __name__ == "__main__":
    sys.exit(main())
