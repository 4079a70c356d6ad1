"""llms.txt and llms-full.txt keep the escaping of the pages: data shown as text on a page is text there too."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from tests.docsgen.site import Model, build_site, generate_docs

pytestmark = pytest.mark.docs

LINK = "[x](http://evil.test/)"
HTML = "<img src=x onerror=alert(1)>"
PIPE = "a | b"
HOSTILE = (
    Model("link-name", LINK, "chat", "link-name", best_for=f"see {HTML} now"),
    Model("html-name", HTML, "chat", "html-name", best_for=f"{PIPE} and after"),
    Model("pipe-name", PIPE, "chat", "pipe-name", best_for="[y](javascript:alert(1)) and _em_ and **strong**"),
)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> str:
    project = tmp_path_factory.mktemp("hostile")
    docs_root = generate_docs(project, HOSTILE)
    result = build_site(docs_root, project / "site")
    assert result.returncode == 0, result.stderr
    return (project / "site/llms-full.txt").read_text(encoding="utf-8")


def tokens(markdown: str) -> list:
    """Every token, inline children included, as a CommonMark reader with GFM tables sees them."""
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        found += [token, *(token.children or [])]
    return found


def tables(markdown: str) -> list[list[list[str]]]:
    """Each table of the document: its rows, header first, as the text of their cells (emphasis dropped)."""
    found: list[list[list[str]]] = []
    in_cell = False
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append([])
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            found[-1][-1].append("".join(c.content for c in token.children or [] if c.type in ("text", "code_inline")))
    return found


def test_no_display_name_or_best_for_becomes_a_link_or_html_in_llms_full(full):
    found = tokens(full)
    assert [t.content for t in found if t.type in ("html_inline", "html_block")] == []
    hrefs = [str(t.attrs.get("href")) for t in found if t.type == "link_open"]
    assert [h for h in hrefs if "evil" in h or "javascript" in h] == []


def test_every_table_cell_keeps_its_whole_text_in_llms_full(full):
    found = tables(full)
    by_header = {tuple(table[0]): table[1:] for table in found}
    names = by_header[("Model", "Model ID", "Type")]
    assert sorted(row[0] for row in names) == sorted([LINK, HTML, PIPE])
    comparison = next(rows for header, rows in by_header.items() if header[-1] == "Best for")
    assert {row[0]: row[-1] for row in comparison} == {
        LINK: f"see {HTML} now",
        HTML: f"{PIPE} and after",
        PIPE: "[y](javascript:alert(1)) and _em_ and **strong**",
    }
    # One rate-limit table per tier.
    limits = [table[1:] for table in found if table[0][-1] == "Batch queue"]
    assert len(limits) == 2 and all(sorted(row[0] for row in rows) == sorted([LINK, HTML, PIPE]) for rows in limits)
