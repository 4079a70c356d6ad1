"""A stack's config as the Pulumi CLI prints it, in the shape the program's loader takes.

`pulumi config --json --show-secrets` prints each key as `{"value": ..., "objectValue": ...,
"secret": ...}`; `raw_from_cli_json` turns that into the `model-fleet` mapping that
`raw_from_pulumi` builds from the config the engine hands a running program.
"""

from __future__ import annotations

import json
from typing import Any

from components.contract.spec import NAMESPACE


def raw_from_cli_json(document: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    prefix = NAMESPACE + ":"
    for key, item in document.items():
        if not key.startswith(prefix):
            continue
        if "objectValue" in item:
            raw[key[len(prefix) :]] = item["objectValue"]
        elif "value" in item:
            try:
                raw[key[len(prefix) :]] = json.loads(item["value"])
            except json.JSONDecodeError:
                raw[key[len(prefix) :]] = item["value"]
        else:
            raise ValueError(f"{key} is a secret without its value: run `pulumi config --json --show-secrets`")
    return raw


def raw_from_pulumi() -> dict[str, Any]:
    """The `model-fleet:*` config the engine gave this program, secrets already decrypted."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw: dict[str, Any] = {}
    for key, value in merged.items():
        if not key.startswith(NAMESPACE + ":"):
            continue
        try:
            raw[key[len(NAMESPACE) + 1 :]] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[key[len(NAMESPACE) + 1 :]] = value
    return raw
