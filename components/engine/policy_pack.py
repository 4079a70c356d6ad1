"""The policy pack a run of a stack passes to the engine, and the violations the engine reports.

The pack is the project's `policy/` folder, passed as its executable `policy/analyzer`, which the
CLI starts itself (no language host); its settings for the stack's environment are
`policy/config/<stack>.json`. A stack without a config file of its own runs with the pack's
defaults, and the runner says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ANALYZER = Path("policy") / "analyzer"
CONFIG_DIR = Path("policy") / "config"


@dataclass(frozen=True)
class Pack:
    analyzer: Path
    config: Path | None

    def describe(self) -> str:
        settings = f"settings {self.config}" if self.config else "the pack's default settings (no policy/config/<stack>.json)"
        return f"policy pack {self.analyzer.parent} with {settings}"


def pack_for(project_dir: Path, stack: str) -> Pack | None:
    analyzer = project_dir / ANALYZER
    if not analyzer.is_file():
        return None
    config = project_dir / CONFIG_DIR / f"{stack}.json"
    return Pack(analyzer, config if config.is_file() else None)


@dataclass(frozen=True)
class Violation:
    """One violation as the engine reported it."""

    policy: str
    level: str  # "mandatory", "advisory" ("warning" in the engine's events is advisory)
    message: str
    urn: str = ""

    @classmethod
    def from_event(cls, event: Any) -> Violation:
        level = "advisory" if event.enforcement_level in ("warning", "advisory") else str(event.enforcement_level)
        return cls(event.policy_name, level, _message_of(event.message), event.resource_urn or "")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Violation:
        return cls(str(data["policy"]), str(data["level"]), str(data["message"]), str(data.get("urn") or ""))


def _message_of(text: str) -> str:
    """The rule's own message from the engine's event text, which adds the pack, the policy and its description."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text.strip()


def write(violations: list[Violation], path: Path) -> None:
    path.write_text(json.dumps([asdict(v) for v in violations], indent=2) + "\n", encoding="utf-8")


def read(path: Path) -> list[Violation]:
    return [Violation.from_json(item) for item in json.loads(path.read_text(encoding="utf-8"))]
