"""Helpers of the docs tests: a fleet of test models, generating its docs, building and reading the site."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from docsgen.__main__ import main as docsgen
from harness.factories import DELETE, entry, stack, write_stack

REPO = Path(__file__).resolve().parents[2]
MKDOCS_YML = REPO / "mkdocs.yml"
PLATFORM = "Fleet Test"
PAGES = ("real-time", "batch")
TIERS = [{"name": "Free", "default": {"requests_per_minute": 30}}, {"name": "Pro", "default": {"requests_per_minute": 600}}]
LANGUAGES = {"Python": "python", "CLI": "bash"}
# Where each entry's snippet lives under the snippets folder: the include path of the docs' format.
SNIPPETS = {
    ("real-time", "Python"): "code/get-started/start-building/real-time/real-time-{name}.py",
    ("real-time", "CLI"): "code/get-started/start-building/real-time/real-time-{name}.md",
    ("batch", "Python"): "code/get-started/start-building/batch/batch-jsonl-{name}.py",
    ("batch", "CLI"): "code/get-started/start-building/batch/batch-jsonl-{name}.md",
}


@dataclass(frozen=True)
class Model:
    name: str
    display_name: str
    model_type: str
    model_id: str  # what a client must send: the served model name, or the Hugging Face ID
    best_for: str = ""

    def entry(self) -> dict:
        # The docs don't depend on GPUs; without them any number of models fits the inventory.
        overrides = {"requirements.gpu": DELETE, "deployment_config.gpu_count": DELETE}
        if self.best_for:
            overrides["docs.best_for"] = self.best_for
        if self.model_id != self.name:
            # Served under its Hugging Face ID: no --served-model-name, which autoscaling would need.
            overrides |= {
                "huggingface_id": self.model_id,
                "deployment_config.command": ["vllm", "serve", self.model_id],
                "deployment_config.args": [],
                "deployment_config.enable_autoscaling": False,
            }
        return entry(self.name, display_name=self.display_name, model_type=self.model_type, **overrides)

    def snippet(self, docs_root: Path, page: str, section: str) -> Path:
        return docs_root / ".snippets" / SNIPPETS[page, section].format(name=self.name)


# Several models of each type, in no particular order, some named in lower case.
FLEET = (
    Model("zephyr-chat", "Zephyr Chat", "chat", "zephyr-chat"),
    Model("qwen3-coder-30b", "Qwen3 Coder 30B", "completion", "qwen3-coder-30b"),
    Model("e5-large", "e5 Large", "embedding", "intfloat/e5-large-v2"),
    Model("mistral-nemo", "Mistral Nemo Instruct", "chat", "mistralai/Mistral-Nemo-Instruct-2407"),
    Model("bge-m3", "BGE M3", "embedding", "bge-m3"),
    Model("code-llama", "code Llama 7B", "completion", "codellama/CodeLlama-7b-hf"),
    Model("aurora-chat", "Aurora Chat", "chat", "aurora-chat"),
)
# What a reader sees: alphabetical whatever the case, not the stack's order nor byte order.
ALPHABETICAL = [
    "Aurora Chat",
    "BGE M3",
    "code Llama 7B",
    "e5 Large",
    "Mistral Nemo Instruct",
    "Qwen3 Coder 30B",
    "Zephyr Chat",
]


def require_tools(*tools: str) -> None:
    """Fail, never skip: CI runs `make test`, which installs them first."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found on PATH: run `make test-tools` (Debian packages)", pytrace=False)


def generate_docs(project_dir: Path, models, api_base_url: str = "https://api.fleet.test/v1") -> Path:
    """Write the stack file and run the docs generator as a user would; returns the docs root."""
    docs = {"root": "docs", "api_base_url": api_base_url, "platform_name": PLATFORM, "limit_tiers": TIERS}
    raw = stack(*(m.entry() for m in models), docs=docs)
    project_dir.mkdir(parents=True, exist_ok=True)
    write_stack(project_dir, raw, "docs")
    assert docsgen(["--stack", "docs", "--project-dir", str(project_dir)]) == 0
    return project_dir / "docs"


def mkdocs_build(config: Path, *options: str) -> subprocess.CompletedProcess:
    # NO_MKDOCS_2_WARNING quiets the end-of-life banner Material prints on every build.
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), *options],
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        # mkdocs.yml names docsgen's llms.txt preprocess by module, found from the repository.
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def build_site(docs_root: Path, site_dir: Path) -> subprocess.CompletedProcess:
    """Build a docs tree with the repository's mkdocs.yml; only the folders differ."""
    config = docs_root.parent / "mkdocs.yml"
    config.write_text(yaml.safe_dump({"INHERIT": str(MKDOCS_YML), "docs_dir": str(docs_root), "site_dir": str(site_dir)}))
    return mkdocs_build(config)


def built_fleet_site(project_dir: Path) -> tuple[Path, Path]:
    """Generate FLEET's docs in project_dir and build them strictly; (docs root, site dir)."""
    docs_root = generate_docs(project_dir, FLEET)
    result = build_site(docs_root, project_dir / "site")
    assert result.returncode == 0, result.stderr
    return docs_root, project_dir / "site"


def page_html(site_dir: Path, page: str) -> Path:
    return site_dir / "get-started" / "start-building" / page / "index.html"


def models_html(site_dir: Path) -> Path:
    return site_dir / "get-started" / "models" / "index.html"


class TableParser(HTMLParser):
    """Every table of a built page: its rows, each a list of cell texts, the header row included."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: Path) -> list[list[list[str]]]:
    parser = TableParser()
    parser.feed(html.read_text(encoding="utf-8"))
    parser.close()
    return parser.tables


@dataclass
class CodeBlock:
    language: str | None
    text: str = ""


@dataclass
class PageEntry:
    section: str | None
    title: str = ""
    blocks: list[CodeBlock] = field(default_factory=list)


class QuickstartParser(HTMLParser):
    """The collapsible entries under `## Quickstart snippets` of a built page, with their code blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.entries: list[PageEntry] = []
        self._heading: tuple[str, list[str]] | None = None
        self._in_quickstart = False
        self._section: str | None = None
        self._entry: PageEntry | None = None
        self._capture: str | None = None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("h2", "h3"):
            self._heading = (tag, [])
        elif tag == "details" and self._in_quickstart:
            self._entry = PageEntry(self._section)
        elif self._entry is None:
            return
        elif tag == "summary":
            self._capture = "summary"
        elif tag == "div" and "highlight" in classes:
            language = next((c.removeprefix("language-") for c in classes if c.startswith("language-")), None)
            self._entry.blocks.append(CodeBlock(language))
        elif tag == "code" and self._entry.blocks:
            self._capture = "code"

    def handle_endtag(self, tag):
        if self._heading and tag == self._heading[0]:
            text = "".join(self._heading[1]).strip()
            if tag == "h2":
                self._in_quickstart, self._section = text == "Quickstart snippets", None
            else:
                self._section = text
            self._heading = None
        elif tag in ("summary", "code"):
            self._capture = None
        elif tag == "details" and self._entry is not None:
            self.entries.append(self._entry)
            self._entry = None

    def handle_data(self, data):
        if self._heading:
            self._heading[1].append(data)
        elif self._capture == "summary":
            self._entry.title += data
        elif self._capture == "code":
            self._entry.blocks[-1].text += data


def quickstart_entries(html: Path) -> list[PageEntry]:
    parser = QuickstartParser()
    parser.feed(html.read_text(encoding="utf-8"))
    parser.close()
    return parser.entries
