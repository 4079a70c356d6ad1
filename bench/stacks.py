"""N-model stacks for the benchmarks: valid entries of every model type, as a user writes them.

Entries rotate through chat, completion and embedding; a quarter autoscale and a third keep a
cache claim (enable_pvc), the rest run a fixed single replica. The inventory has enough GPU
nodes for the whole fleet at its minimum scale, so `components check` passes.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.factories import INVENTORY, entry, stack, write_project, write_stack

MODEL_TYPES = ("chat", "completion", "embedding")
GPUS_PER_NODE = 8


def model_entry(i: int) -> dict:
    name = f"model-{i:05d}"
    autoscaling = i % 4 == 0
    return entry(
        name,
        **{
            "display_name": f"Model {i:05d}",
            "model_type": MODEL_TYPES[i % len(MODEL_TYPES)],
            "deployment_config.enable_autoscaling": autoscaling,
            "deployment_config.enable_pvc": i % 3 == 0,
            # A cache claim one pod mounts: several autoscaled replicas need ReadWriteMany.
            "deployment_config.pvc_access_mode": "ReadWriteMany",
        },
    )


def inventory(models: int) -> dict:
    nodes = max(1, math.ceil(models / GPUS_PER_NODE))
    gpu_nodes = [
        {"node_name": f"gpu-node-{n}", "gpu_count": GPUS_PER_NODE, "gpu_type": "nvidia-a100", "total_vram": "640Gi"} for n in range(nodes)
    ]
    return {**INVENTORY, "total_nodes": nodes, "gpu_nodes": gpu_nodes}


def write(project_dir: Path, models: int, name: str = "bench") -> Path:
    """Pulumi.<name>.yaml with `models` entries (full entries, no catalog) beside the project's
    Pulumi.yaml; docs go to `docs/` under the project."""
    write_project(project_dir, catalog={})
    raw = stack(*(model_entry(i) for i in range(models)), cluster=inventory(models))
    return write_stack(project_dir, raw, name=name)
