"""The Gateway API's CRDs (HTTPRoute and the objects it attaches to), from the Go module that releases them.

    python -m tests.gateway_api      # `make gateway-api-crds`: into the cache, unless there

The schema tests validate our HTTPRoute against them and the test cluster installs them. They are
kept outside the clone, in `$MODEL_FLEET_GATEWAY_API_CRDS` (by default
~/.cache/model-fleet/gateway-api-v1.6.3), copied from the module's `config/crd/standard/`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from components.engine.gobuild import BuildError, cache_root, download, go_binary, step

MODULE = "sigs.k8s.io/gateway-api"
VERSION = "v1.6.3"
CRDS_ENV = "MODEL_FLEET_GATEWAY_API_CRDS"
STANDARD = Path("config/crd/standard")
# HTTPRoute, and what a route names: its Gateway and the Gateway's class.
FILES = (
    "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_gatewayclasses.yaml",
)


def crds_dir() -> Path:
    return Path(os.environ.get(CRDS_ENV) or cache_root() / f"gateway-api-{VERSION}")


def missing(folder: Path | None = None) -> list[str]:
    folder = folder or crds_dir()
    return [name for name in FILES if not (folder / name).is_file()]


def fetch() -> Path:
    """The CRD files in the cache, downloaded through the Go module proxy when absent."""
    target = crds_dir()
    if not missing(target):
        print(f"==> Gateway API {VERSION} CRDs present in {target}", flush=True)
        return target
    go = go_binary(f"the Gateway API CRDs ({MODULE}@{VERSION})", (1, 21))
    with step(f"fetching the Gateway API {VERSION} CRDs from the Go module proxy into {target}"):
        source = Path(download(go, MODULE, VERSION)["Dir"]) / STANDARD
        staged = target.with_name(target.name + ".partial")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        for name in FILES:
            shutil.copyfile(source / name, staged / name)
        # Whole or not at all: a folder is only ever there with every file in it.
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
    return target


def main() -> int:
    try:
        fetch()
    except BuildError as err:
        print(f"==> {err}: the tests that need the Gateway API CRDs will skip, saying so", file=sys.stderr)
        return 0
    except OSError as err:
        print(f"error: cannot write the Gateway API CRDs into {crds_dir()}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
