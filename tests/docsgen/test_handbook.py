"""The maintainers' handbook (handbook/) builds strictly, and the README stays a short front page that links into it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.commands.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@pytest.mark.docs
def test_the_handbook_builds_with_strict(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "handbook/mkdocs.yml"),
            "--site-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    pages = yaml.safe_load((ROOT / "handbook/mkdocs.yml").read_text())["nav"]
    for page in pages:
        [source] = page.values()
        built = tmp_path / ("index.html" if source == "index.md" else source.removesuffix(".md") + "/index.html")
        assert built.is_file(), source
    # Every page in the folder is in the navigation.
    assert sorted(p.name for p in (ROOT / "handbook/pages").glob("*.md")) == sorted(next(iter(p.values())) for p in pages)


@pytest.mark.unit
def test_the_readme_is_short_and_every_link_in_it_resolves():
    text = README.read_text()
    assert len(text.encode()) < 8_704, "the README is the front page (about 8 KB): move detail into the handbook"
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links and all((ROOT / link).exists() for link in links), [link for link in links if not (ROOT / link).exists()]


@pytest.mark.unit
def test_the_readmes_model_example_is_a_valid_stack(tmp_path, capsys):
    text = README.read_text()
    block = re.search(r"```yaml\n(config:\n  model-fleet:models:\n.*?)```", text, re.S)
    assert block, "the README lost its model example"
    document = yaml.safe_load(block[1])
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    document["config"]["model-fleet:cluster"] = dev["model-fleet:cluster"]
    document["config"]["model-fleet:docs"] = {"enabled": False}
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    assert cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)]) == 0
    assert "2 models valid" in capsys.readouterr().out
