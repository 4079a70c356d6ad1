"""Which config values are secrets: `{secure: ...}` in a stack file, and what the engine decrypted."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr


def reveal_secure(value: Any) -> Any:
    """Replace `{secure: ...}` by its ciphertext as a SecretStr: commands without the engine only
    need to know a secret is set, and a SecretStr never prints its value."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SecretStr(str(value["secure"]))
        return {k: reveal_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal_secure(v) for v in value]
    return value


def mark_secrets(raw: dict[str, Any], file_section: dict[str, Any]) -> dict[str, Any]:
    """The engine's decrypted config, with every value the stack file holds encrypted made a SecretStr.

    The engine marks a whole top-level key secret when any value under it is (`--secret --path`);
    the stack file says which value it was, so only that one becomes a Kubernetes Secret.
    """

    def walk(value: Any, written: Any) -> Any:
        if isinstance(written, SecretStr) and isinstance(value, str):
            return SecretStr(value)
        if isinstance(value, dict) and isinstance(written, dict):
            return {k: walk(v, written.get(k)) for k, v in value.items()}
        if isinstance(value, list) and isinstance(written, list):
            return [walk(v, written[i] if i < len(written) else None) for i, v in enumerate(value)]
        return value

    return walk(raw, file_section)
