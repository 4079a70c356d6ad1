"""The generated docs as a MkDocs site: a strict build, and each model's code on the built pages."""

from __future__ import annotations

import pytest

from tests.docsgen.site import (
    ALPHABETICAL,
    FLEET,
    LANGUAGES,
    MKDOCS_YML,
    PAGES,
    SNIPPETS,
    TIERS,
    build_site,
    built_fleet_site,
    generate_docs,
    mkdocs_build,
    models_html,
    page_html,
    quickstart_entries,
    tables_of,
)

pytestmark = pytest.mark.docs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_fleet_site(tmp_path_factory.mktemp("site"))


@pytest.mark.parametrize("page", PAGES)
def test_each_entry_holds_its_snippet_code_in_its_language_alphabetically(built, page):
    docs_root, site_dir = built
    by_title = {m.display_name: m for m in FLEET}
    entries = quickstart_entries(page_html(site_dir, page))

    assert [e.section for e in entries] == ["Python"] * len(FLEET) + ["CLI"] * len(FLEET)
    for section, language in LANGUAGES.items():
        in_section = [e for e in entries if e.section == section]
        assert [e.title for e in in_section] == ALPHABETICAL
        for found in in_section:
            model = by_title[found.title]
            [block] = found.blocks
            assert block.language == language, f"{page} {section} {found.title}"
            assert "--8<--" not in block.text
            snippet = model.snippet(docs_root, page, section).read_text(encoding="utf-8")
            assert block.text.rstrip("\n") == snippet.rstrip("\n"), f"{page} {section} {found.title}"
            assert f'"{model.model_id}"' in block.text


def test_models_page_names_each_model_once_in_each_table_alphabetically(built):
    _, site_dir = built
    names, comparison, *limits = tables_of(models_html(site_dir))

    assert names[0] == ["Model", "Model ID", "Type"]
    assert names[1:] == [
        [m.display_name, m.model_id, m.model_type.capitalize()] for m in sorted(FLEET, key=lambda m: ALPHABETICAL.index(m.display_name))
    ]
    assert comparison[0][:4] == ["Model", "Context length", "Max output", "Tool calling"]
    assert [row[0] for row in comparison[1:]] == ALPHABETICAL
    # The seed's command enables tool calling; the models served under their Hugging Face ID run plain `vllm serve`.
    assert {row[0]: row[3] for row in comparison[1:]} == {m.display_name: "Yes" if m.model_id == m.name else "No" for m in FLEET}
    # The limits include, expanded: one table per tier, one row per model.
    assert len(limits) == len(TIERS)
    for table, tier in zip(limits, TIERS, strict=True):
        assert [row[0] for row in table[1:]] == ALPHABETICAL
        assert {row[3] for row in table[1:]} == {str(tier["default"]["requests_per_minute"])}


def test_llms_txt_lists_every_page_and_llms_full_holds_every_snippet_whole(built):
    docs_root, site_dir = built
    index = (site_dir / "llms.txt").read_text(encoding="utf-8")
    full = (site_dir / "llms-full.txt").read_text(encoding="utf-8")

    for url in ("get-started/models/index.md", *(f"get-started/start-building/{page}/index.md" for page in PAGES)):
        assert f"(https://docs.example.com/{url})" in index
    assert "Supported models" in full and "Rate limits" in full
    for model in FLEET:
        for page, section in SNIPPETS:
            lines = model.snippet(docs_root, page, section).read_text(encoding="utf-8").rstrip("\n").split("\n")
            # The hand-run generator this replaces cut the first line of every snippet.
            assert f"\n{lines[0]}\n" in full and f"\n{lines[-1]}\n" in full, f"{model.name} {page} {section}"
            assert "\n".join(lines) in full, f"{model.name} {page} {section}"


def test_the_repository_docs_build_strictly_with_mkdocs_yml(tmp_path):
    result = mkdocs_build(MKDOCS_YML, "--site-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert all(page_html(tmp_path, page).exists() for page in PAGES)
    assert models_html(tmp_path).exists()
    assert "(https://docs.example.com/get-started/models/index.md)" in (tmp_path / "llms.txt").read_text(encoding="utf-8")


def test_a_missing_snippet_fails_the_strict_build(tmp_path):
    docs_root = generate_docs(tmp_path, FLEET[:3])
    missing = FLEET[2].snippet(docs_root, "batch", "CLI")
    missing.unlink()

    result = build_site(docs_root, tmp_path / "site")

    assert result.returncode != 0
    include = missing.relative_to(docs_root / ".snippets").as_posix()
    assert f"Snippet at path '{include}' could not be found" in result.stderr
