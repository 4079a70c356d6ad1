"""The layout is the architecture: each folder of the program is a layer that imports only the
layers below it, and the layout the README and the handbook give is the one on disk."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each layer may import of the project, besides itself. The top-level program (__main__.py),
# the harness, the benchmarks and the tests sit above all of them.
COMPONENT = "components (the component)"
MAY_IMPORT = {
    "components.contract": set(),
    "components.files": {"components.contract"},
    "components.manifests": {"components.contract"},
    COMPONENT: {"components.contract", "components.files", "components.manifests"},
    # The docs come from the spec alone: never from the builders or the component.
    "docsgen": {"components.contract", "components.files"},
    "policy": {"components.contract"},
    "components.engine": set(),
    "components.commands": {
        "components.contract",
        "components.manifests",
        COMPONENT,
        "components.files",
        "components.engine",
        "docsgen",
    },
}


def _layer(module: str) -> str | None:
    """The layer of a dotted module name of the project, None for anything else."""
    parts = module.split(".")
    if parts[0] in ("docsgen", "policy"):
        return parts[0]
    if parts[0] != "components":
        return None
    if len(parts) > 1 and f"components.{parts[1]}" in MAY_IMPORT:
        return f"components.{parts[1]}"
    return COMPONENT


def _imported(path: Path) -> list[str]:
    """Every module of the project `path` imports, at the top or inside a function."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def crossings(root: Path) -> list[str]:
    """Each import under `root` of a layer its module's layer may not import."""
    sources = [p for p in (root / "components").rglob("*.py") if p != root / "components" / "__main__.py"]
    sources += list((root / "docsgen").rglob("*.py")) + list((root / "policy").rglob("*.py"))
    found = []
    for path in sorted(sources):
        own = _layer(".".join(path.relative_to(root).with_suffix("").parts))
        assert own is not None, path
        for name in _imported(path):
            layer = _layer(name)
            if layer is not None and layer != own and layer not in MAY_IMPORT[own]:
                found.append(f"{path.relative_to(root)} imports {name} ({layer})")
    return found


@pytest.mark.unit
def test_each_layer_imports_only_the_layers_below_it():
    assert crossings(ROOT) == []


@pytest.mark.unit
def test_an_upward_import_even_inside_a_function_is_a_crossing(tmp_path):
    (tmp_path / "components" / "manifests").mkdir(parents=True)
    (tmp_path / "components" / "manifests" / "upward.py").write_text("def f():\n    from components.commands import promote\n")
    (tmp_path / "components" / "contract").mkdir()
    (tmp_path / "components" / "contract" / "spec.py").write_text("from components.manifests import labels\nimport pydantic\n")
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "rules.py").write_text("from components.contract import spec\n")
    assert crossings(tmp_path) == [
        "components/contract/spec.py imports components.manifests.labels (components.manifests)",
        "components/manifests/upward.py imports components.commands.promote (components.commands)",
    ]


def _named_paths(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/.-])((?:components|docsgen|policy|harness|bench|tests|handbook|docs)/[\w./-]*)", text))


def _layout_block(text: str) -> str:
    section = text[text.index("## Layout") :]
    return section[: section.index("\n## ")] if "\n## " in section else section


@pytest.mark.unit
def test_every_path_the_readme_and_the_handbook_index_name_is_on_disk():
    for page in ("README.md", "handbook/pages/index.md"):
        named = _named_paths((ROOT / page).read_text())
        assert named, page
        assert sorted(p for p in named if not (ROOT / p.rstrip(".")).exists()) == [], page


@pytest.mark.unit
def test_the_handbooks_layout_table_names_every_module_in_its_folder():
    """Each row's modules are files of the folder the row (or the row above) names, and every
    module of the program's packages has a row."""
    folder, listed = "", set()
    for row in _layout_block((ROOT / "handbook/pages/index.md").read_text()).splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("folder", "---"):
            continue
        if cells[0]:
            named = re.match(r"`([\w/]+/)`", cells[0])
            folder = named[1] if named else ""
        for module in re.findall(r"`([\w.]+\.py)`", cells[1]):
            path = ROOT / folder / module
            assert path.is_file(), f"{folder}{module}"
            listed.add(path)
    packages = [ROOT / "components" / name for name in ("contract", "files", "commands", "engine")]
    modules = {p for package in packages for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    modules |= {p for p in (ROOT / "components").glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert sorted(str(p.relative_to(ROOT)) for p in modules - listed) == []
