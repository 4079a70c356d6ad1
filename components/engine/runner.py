"""Run the program with the Pulumi engine through the Automation API: the CLI and the kubernetes plugin suffice.

    python -m components.engine preview --stack STACK [--json] [--diff] [--expect-no-changes] [--policy-events FILE]
    python -m components.engine up      --stack STACK [--yes]
    python -m components.engine destroy --stack STACK [--yes]
    python -m components.engine refresh --stack STACK [--yes]
    (each also takes --project-dir DIR, the project to run; default: this one)

The program is the project's `__main__.py`, run in this process as an inline program: the
Automation API serves the program's language runtime to the CLI itself, so the Python language
host that `pulumi preview` typed by hand needs is not used. Everything else is what the CLI does
for the project: the stack's Pulumi.yaml and Pulumi.<stack>.yaml (project config merged by the
engine), the backend from PULUMI_BACKEND_URL or the CLI's login, secrets from the stack's
secrets provider. Runs use the project-local PULUMI_HOME that `make engine` fills (or the caller's
PULUMI_HOME), no update check and no plugin download.

`preview` and `up` run the project's policy pack (`policy/`, with `policy/config/<stack>.json`;
components.engine.policy_pack): the engine reports every violation, and a mandatory one fails the
run. `--policy-events FILE` writes the violations the engine reported as JSON.

`up`, `destroy` and `refresh` show the preview first and ask before changing anything, unless
`--yes` is given; without a terminal to ask on they refuse. Exit status: 0 done, 1 the engine or
the program failed (its message printed), 2 usage, 3 the engine is incomplete, 4 a mandatory
policy was violated, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path

from components.engine import discover, policy_pack

PROJECT_NAME = "model-fleet"
OPERATIONS = ("preview", "up", "destroy", "refresh")
EXIT_FAILED, EXIT_USAGE, EXIT_NO_ENGINE, EXIT_POLICY = 1, 2, 3, 4


def _project_modules(project_dir: Path) -> set[str]:
    """The top-level modules and packages the project's program imports from its own folder."""
    names = {p.stem for p in project_dir.glob("*.py") if p.stem != "__main__"}
    names |= {p.parent.name for p in project_dir.glob("*/__init__.py")}
    return names


def program_of(project_dir: Path) -> Callable[[], None]:
    """The project's `__main__.py` as an inline program, importing the project's modules from `project_dir`."""

    def program() -> None:
        # This process may have imported modules of the same names from another checkout (a
        # copy of the project is run by this one's runner): the program imports its own.
        own = _project_modules(project_dir)
        for name in [m for m in sys.modules if m.split(".")[0] in own]:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if not Path(module_file).resolve().is_relative_to(project_dir):
                del sys.modules[name]
        if sys.path[:1] != [str(project_dir)]:
            sys.path.insert(0, str(project_dir))
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    return program


def _print_line(line: str) -> None:
    print(line, flush=True)


def stack_for(engine: discover.Engine, stack_name: str, project_dir: Path, env: dict[str, str]):
    from pulumi import automation as auto

    cli = engine.cli
    assert cli is not None
    # The Automation API runs ROOT/bin/pulumi; every install this project finds has the CLI in a bin folder.
    command = auto.PulumiCommand(root=str(cli.parent.parent) if cli.parent.name == "bin" else None, skip_version_check=True)
    options = auto.LocalWorkspaceOptions(work_dir=str(project_dir), pulumi_home=str(engine.home), env_vars=env, pulumi_command=command)
    return auto.create_or_select_stack(stack_name=stack_name, project_name=PROJECT_NAME, program=program_of(project_dir), opts=options)


def _confirm(operation: str, stack: str) -> bool:
    answer = input(f"Do you want to perform this {operation} of stack {stack}? [yes/no] ")
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    from pulumi import automation as auto

    project_dir = args.project_dir.resolve()
    if not (project_dir / "__main__.py").is_file() or not (project_dir / "Pulumi.yaml").is_file():
        print(f"error: {project_dir} is not a Pulumi project of this program (no __main__.py and Pulumi.yaml)", file=sys.stderr)
        return EXIT_USAGE
    engine = discover.detect()
    if not engine.inline:
        for what in engine.missing:
            print(f"missing {what}", file=sys.stderr)
        print("the Pulumi engine is incomplete; nothing was run (`make engine` builds it)", file=sys.stderr)
        return EXIT_NO_ENGINE
    operation = args.operation
    if operation != "preview" and not args.yes and not sys.stdin.isatty():
        print(f"error: `{operation}` changes the stack and there is no terminal to confirm on: pass --yes", file=sys.stderr)
        return EXIT_USAGE

    # The pack's analyzer serves the rules with this interpreter, which has pulumi-policy.
    env = {**discover.QUIET, "PULUMI_HOME": str(engine.home), "MODEL_FLEET_POLICY_PYTHON": sys.executable}
    # The Automation API looks the CLI up on this process's PATH when it is not in a bin folder.
    assert engine.cli is not None  # an inline engine has its CLI
    os.environ["PATH"] = f"{engine.cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.update(env)
    # With --json the CLI prints one document, kept for stdout (also when the preview fails:
    # its diagnostics and steps say why).
    printed: list[str] = []
    out = printed.append if args.json else _print_line
    start = time.monotonic()
    print(
        f"==> {operation} of stack {args.stack} with pulumi v{discover.pulumi_version()} and the kubernetes plugin "
        f"v{discover.kubernetes_version()} (inline program {project_dir / '__main__.py'})",
        file=sys.stderr,
        flush=True,
    )
    # The engine runs the policy pack where it plans changes: previews and updates.
    policies: dict = {}
    if operation in ("preview", "up"):
        pack = policy_pack.pack_for(project_dir, args.stack)
        said = pack.describe() if pack else f"no policy pack ({policy_pack.ANALYZER}) in {project_dir}; no policy is checked"
        print(f"    {said}", file=sys.stderr)
        if pack is not None:
            policies = {"policy_packs": [str(pack.analyzer)], "policy_pack_configs": [str(pack.config)] if pack.config else None}
    violations: list[policy_pack.Violation] = []

    def on_event(event) -> None:
        if event.policy_event is not None:
            violations.append(policy_pack.Violation.from_event(event.policy_event))

    try:
        stack = stack_for(engine, args.stack, project_dir, env)
        if operation == "preview":
            try:
                result = stack.preview(
                    diff=args.diff or None,
                    expect_no_changes=args.expect_no_changes or None,
                    json=args.json or None,
                    on_output=out,
                    on_event=on_event,
                    color="never",
                    **policies,
                )
            finally:
                _report_policy(violations, args.policy_events)
            if args.json:
                sys.stdout.write(result.stdout)
        else:
            if not args.yes:
                if operation == "up":
                    stack.preview(on_output=_print_line, on_event=on_event, color="never", **policies)
                    _report_policy(violations, None)
                else:
                    (stack.preview_destroy if operation == "destroy" else stack.preview_refresh)(on_output=_print_line, color="never")
                if not _confirm(operation, args.stack):
                    print(f"{operation} cancelled; nothing was changed", file=sys.stderr)
                    return EXIT_FAILED
                violations.clear()
            if operation == "up":
                try:
                    stack.up(on_output=_print_line, on_event=on_event, color="never", **policies)
                finally:
                    _report_policy(violations, None)
            else:
                {"destroy": stack.destroy, "refresh": stack.refresh}[operation](on_output=_print_line, color="never")
    except KeyboardInterrupt:
        print(
            f"\n{operation} of stack {args.stack} interrupted: the engine stops what it was doing; "
            "`pulumi cancel` or a `refresh` puts the state right if it left it pending",
            file=sys.stderr,
        )
        return 130
    except auto.CommandError as err:
        if args.json:
            # The digest still names the program's errors (`diagnostics`); the caller reads it.
            sys.stdout.write("\n".join(printed) + "\n" if printed else "")
        detail = (getattr(err, "stderr", "") or "").strip() or str(err)
        print(f"error: {operation} of stack {args.stack} failed:\n{detail}", file=sys.stderr)
        return EXIT_POLICY if any(v.level == "mandatory" for v in violations) else EXIT_FAILED
    print(f"    {operation}: {time.monotonic() - start:.1f}s", file=sys.stderr, flush=True)
    return 0


def _report_policy(violations: list[policy_pack.Violation], events_file: Path | None) -> None:
    """One line of what the policy pack found (the engine prints each violation), and the file asked for."""
    if events_file is not None:
        policy_pack.write(violations, events_file)
    if violations:
        mandatory = sum(1 for v in violations if v.level == "mandatory")
        plural = "s" if len(violations) != 1 else ""
        print(
            f"    policy: {mandatory} mandatory and {len(violations) - mandatory} advisory violation{plural}", file=sys.stderr, flush=True
        )


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m components.engine", description="Run the program with the Pulumi engine (no language host needed)."
    )
    parse.add_argument("operation", choices=OPERATIONS)
    parse.add_argument("--stack", required=True, help="the stack to run, e.g. dev")
    parse.add_argument("--project-dir", type=Path, default=discover.PROJECT_DIR, help="the project to run (default: this one)")
    parse.add_argument("--yes", action="store_true", help="up/destroy/refresh: change the stack without showing a preview and asking")
    parse.add_argument("--non-interactive", action="store_true", help="accepted for the CLI's sake; never ask (refuses without --yes)")
    parse.add_argument("--json", action="store_true", help="preview: print the CLI's JSON preview document only")
    parse.add_argument("--diff", action="store_true", help="preview: show each change's detailed diff")
    parse.add_argument("--expect-no-changes", action="store_true", help="preview: fail when anything would change")
    parse.add_argument("--policy-events", type=Path, help="preview: write the policy violations the engine reported to FILE as JSON")
    return parse


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.non_interactive and not args.yes and args.operation != "preview":
        print(f"error: `{args.operation} --non-interactive` needs --yes", file=sys.stderr)
        return EXIT_USAGE
    return run(args)
