"""The generated docs as a MkDocs site: a strict build, and each model's code on the built pages."""

from __future__ import annotations

import pytest

from tests.docsgen.site import (
    ALPHABETICAL,
    FLEET,
    LANGUAGES,
    MKDOCS_YML,
    PAGES,
    build_site,
    built_fleet_site,
    generate_docs,
    mkdocs_build,
    page_html,
    quickstart_entries,
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


def test_the_repository_docs_build_strictly_with_mkdocs_yml(tmp_path):
    result = mkdocs_build(MKDOCS_YML, "--site-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert all(page_html(tmp_path, page).exists() for page in PAGES)


def test_a_missing_snippet_fails_the_strict_build(tmp_path):
    docs_root = generate_docs(tmp_path, FLEET[:3])
    missing = FLEET[2].snippet(docs_root, "batch", "CLI")
    missing.unlink()

    result = build_site(docs_root, tmp_path / "site")

    assert result.returncode != 0
    include = missing.relative_to(docs_root / ".snippets").as_posix()
    assert f"Snippet at path '{include}' could not be found" in result.stderr
