"""Record `preview --json` of this program from the real engine, for the PR-summary tests.

    .venv/bin/python tests/cli/record_preview.py [OUT_DIR]   (after `make engine`; default tests/cli/recorded/)

On a copy of the project and its dev stack (render mode, no cluster), with a file:// backend in
a temp dir, through the runner (the Automation API, no language host):
- dev-create.json: the first preview of the dev stack;
- dev-change.json: after `up`, a new image and a new cache storage class for qwen3-coder-30b
  (the Deployment updated, the claim replaced), mistral-nemo-instruct-2407 removed (its claim
  kept: retainOnDelete) and bge-small added.
Paths of the temp copy are replaced by `/PROJECT` and timestamps kept as printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from components.engine import discover  # noqa: E402
from tests.cli.conftest import PASSPHRASE, cli_environment, copy_program  # noqa: E402

OUT = Path(__file__).parent / "recorded"


def change(models: list) -> None:
    models[0]["deployment_config"]["image"] = "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.3"
    models[0]["deployment_config"]["storage_class"] = "standard"
    del models[1]
    models.append(
        {
            "catalog": "bge-m3",
            "name": "bge-small",
            "display_name": "bge-small",
            "deployment_config": {"args": ["--served-model-name", "bge-small", "--task", "embed"]},
        }
    )


def main(out: Path) -> int:
    engine = discover.detect()
    if not engine.inline:
        print("the engine is incomplete (`make engine`): missing " + "; ".join(engine.missing), file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = copy_program(work / "project")
        (work / "state").mkdir()
        env = cli_environment(engine.home, f"file://{work / 'state'}")
        env.update(PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
        assert engine.cli is not None
        subprocess.run(
            [str(engine.cli), "stack", "init", "dev", "--non-interactive"], cwd=project, env=env, check=True, capture_output=True, text=True
        )

        def runner(*args: str) -> str:
            command = [sys.executable, "-m", "components.engine", *args, "--stack", "dev", "--project-dir", str(project)]
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
            return result.stdout

        def record(name: str) -> None:
            document = json.loads(runner("preview", "--json"))
            text = json.dumps(document, indent=4) + "\n"
            (out / name).write_text(text.replace(str(project), "/PROJECT").replace(str(ROOT), "/ROOT"))
            print(f"recorded {out / name}")

        record("dev-create.json")
        runner("up", "--yes")
        path = project / "Pulumi.dev.yaml"
        document = yaml.safe_load(path.read_text())
        change(document["config"]["model-fleet:models"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        record("dev-change.json")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
