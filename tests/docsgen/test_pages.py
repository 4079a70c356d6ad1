"""Merging generated entries into a docs page without touching anything else on it."""

from __future__ import annotations

import pytest

from docsgen import pages

pytestmark = pytest.mark.unit

HAND_PAGE = """\
---
title: Perform real-time inference jobs
---

# Perform real-time inference jobs

Some prose with a code block that looks like headings:

```bash
# Quickstart snippets
## Quickstart snippets
```

## Quickstart snippets

Pick a model.

### Python

??? example "Alpha Hand"

    ```python
    --8<-- 'code/get-started/start-building/real-time/real-time-alpha.py'
    ```

??? example "Omega Hand"

    ```python
    --8<-- 'code/get-started/start-building/real-time/real-time-omega.py'
    ```

A closing remark in the Python section.
### CLI

??? example "Alpha Hand"

    ```bash
    --8<-- 'code/get-started/start-building/real-time/real-time-alpha.md'
    ```
## Real-time inference flow

Hand-written text after the section.
"""


def generated(title: str, slug: str) -> dict[str, list[pages.GeneratedEntry]]:
    def one(language: str, ext: str) -> pages.GeneratedEntry:
        text = (
            f'??? example "{title}"\n\n'
            f"    ```{language}\n"
            f"    --8<-- 'code/get-started/start-building/real-time/real-time-{slug}.{ext}'\n"
            "    ```\n"
        )
        return pages.GeneratedEntry((title.casefold(),), text)

    return {"Python": [one("python", "py")], "CLI": [one("bash", "md")]}


def combine(*parts: dict) -> dict[str, list[pages.GeneratedEntry]]:
    out: dict[str, list] = {"Python": [], "CLI": []}
    for part in parts:
        for section, entries in part.items():
            out[section] += entries
    return out


def includes(*slugs: str) -> set[str]:
    return {f"code/get-started/start-building/real-time/real-time-{s}.{e}" for s in slugs for e in ("py", "md")}


def key(title: str) -> tuple[str]:
    return (title.casefold(),)


def titles(text: str, section: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    quick = pages._section(lines, 2, pages.QUICKSTART)
    assert quick is not None, f"no {pages.QUICKSTART} section"
    found = pages._section(lines, 3, section, quick[0] + 1, quick[1])
    assert found is not None, f"no {section} section"
    start, end = found
    return [e.title for e in pages._entries(lines, start, end)]


def test_generated_entries_go_in_alphabetical_order_among_hand_written_ones():
    entries = combine(generated("Zulu Gen", "zulu"), generated("Beta Gen", "beta"), generated("Mike Gen", "mike"))
    merged = pages.merge(HAND_PAGE, entries, includes("zulu", "beta", "mike"), key)
    assert titles(merged, "Python") == ["Alpha Hand", "Beta Gen", "Mike Gen", "Omega Hand", "Zulu Gen"]
    assert titles(merged, "CLI") == ["Alpha Hand", "Beta Gen", "Mike Gen", "Zulu Gen"]
    assert "A closing remark in the Python section.\n### CLI" in merged


def test_removing_every_model_gives_back_the_page_byte_for_byte():
    entries = combine(generated("Zulu Gen", "zulu"), generated("Beta Gen", "beta"), generated("Aaa Gen", "aaa"))
    owned = includes("zulu", "beta", "aaa")
    merged = pages.merge(HAND_PAGE, entries, owned, key)
    assert merged != HAND_PAGE
    assert pages.merge(merged, {}, owned, key) == HAND_PAGE


def test_merging_again_changes_nothing():
    entries = combine(generated("Zulu Gen", "zulu"), generated("Beta Gen", "beta"))
    owned = includes("zulu", "beta")
    once = pages.merge(HAND_PAGE, entries, owned, key)
    assert pages.merge(once, entries, owned, key) == once


def test_one_model_removed_takes_only_its_entries():
    both = combine(generated("Zulu Gen", "zulu"), generated("Beta Gen", "beta"))
    merged = pages.merge(HAND_PAGE, both, includes("zulu", "beta"), key)
    after = pages.merge(merged, generated("Zulu Gen", "zulu"), includes("zulu", "beta"), key)
    assert after == pages.merge(HAND_PAGE, generated("Zulu Gen", "zulu"), includes("zulu"), key)
    assert "real-time-beta" not in after


def test_sections_in_either_order_are_merged_each_in_place():
    """CLI above Python: removing the owned entries of the upper section moves the lower one up."""
    page = "# Page\n\n## Quickstart snippets\n\n### CLI\n\n### Python\n\nPython prose.\n"
    both = combine(generated("Zulu Gen", "zulu"), generated("Beta Gen", "beta"))
    merged = pages.merge(page, both, includes("zulu", "beta"), key)
    assert merged.index("### CLI") < merged.index("real-time-beta.md") < merged.index("### Python")
    assert titles(merged, "CLI") == titles(merged, "Python") == ["Beta Gen", "Zulu Gen"]
    one = pages.merge(merged, generated("Zulu Gen", "zulu"), includes("zulu", "beta"), key)
    assert one == pages.merge(page, generated("Zulu Gen", "zulu"), includes("zulu"), key)
    assert titles(one, "Python") == ["Zulu Gen"] and one.index("Python prose.") < one.index("real-time-zulu.py")
    assert pages.merge(one, {}, includes("zulu"), key) == page


def test_hand_written_entries_are_kept_even_with_a_generated_title():
    merged = pages.merge(HAND_PAGE, generated("Alpha Hand", "alpha-gen"), includes("alpha-gen"), key)
    assert titles(merged, "Python") == ["Alpha Hand", "Alpha Hand", "Omega Hand"]
    assert "real-time-alpha.py" in merged and "real-time-alpha-gen.py" in merged


def test_empty_sections_get_entries_and_lose_them_cleanly():
    page = "# Page\n\n## Quickstart snippets\n\n### Python\n\n### CLI\n"
    merged = pages.merge(page, generated("Beta Gen", "beta"), includes("beta"), key)
    assert merged == (
        "# Page\n\n## Quickstart snippets\n\n### Python\n\n"
        '??? example "Beta Gen"\n\n    ```python\n'
        "    --8<-- 'code/get-started/start-building/real-time/real-time-beta.py'\n    ```\n\n"
        "### CLI\n\n"
        '??? example "Beta Gen"\n\n    ```bash\n'
        "    --8<-- 'code/get-started/start-building/real-time/real-time-beta.md'\n    ```\n"
    )
    assert pages.merge(merged, {}, includes("beta"), key) == page


def test_missing_sections_are_added_at_the_end():
    merged = pages.merge("# Page\n\nProse.", generated("Beta Gen", "beta"), includes("beta"), key)
    assert merged.startswith('# Page\n\nProse.\n\n## Quickstart snippets\n\n### Python\n\n??? example "Beta Gen"')
    assert titles(merged, "CLI") == ["Beta Gen"]
    only_python = pages.merge("## Quickstart snippets\n\n### Python\n\n## Next\n", {}, set(), key)
    assert only_python == "## Quickstart snippets\n\n### Python\n\n### CLI\n\n## Next\n"


@pytest.mark.parametrize("separator", ["\u2028", "\x0b", "\x0c", "\x85", "\x1c"])
def test_characters_python_splits_lines_on_do_not_split_the_page(separator):
    # In hand-written prose and in an entry's title (which the renderer escapes; this is the
    # merge's own defence).
    page = HAND_PAGE.replace("Pick a model.", f"Pick a{separator}model.")
    entries = combine(generated(f"Beta{separator}Gen", "beta"), generated("Zulu Gen", "zulu"))
    owned = includes("beta", "zulu")
    once = pages.merge(page, entries, owned, key)
    assert pages.merge(once, entries, owned, key) == once
    assert pages.merge(once, {}, owned, key) == page


def test_a_block_replaces_only_the_lines_between_its_markers():
    page = "Intro\n<!-- model-fleet:names start -->\nold\nlines\n<!-- model-fleet:names end -->\nOutro, no newline"

    merged = pages.replace_block(page, "names", "| new |\n")

    assert merged == "Intro\n<!-- model-fleet:names start -->\n| new |\n<!-- model-fleet:names end -->\nOutro, no newline"
    assert pages.replace_block(merged, "names", "old\nlines\n") == page


def test_a_missing_block_is_appended_after_a_blank_line():
    assert pages.replace_block("# Models\n", "names", "x\n") == (
        "# Models\n\n<!-- model-fleet:names start -->\nx\n<!-- model-fleet:names end -->\n"
    )
    assert pages.replace_block("", "names", "") == "<!-- model-fleet:names start -->\n<!-- model-fleet:names end -->\n"


def test_markers_inside_a_fenced_code_block_are_the_authors_text():
    shown = "```\n<!-- model-fleet:names start -->\n<!-- model-fleet:names end -->\n```\n"

    merged = pages.replace_block(shown, "names", "x\n")

    assert merged.startswith(shown) and merged.endswith("<!-- model-fleet:names start -->\nx\n<!-- model-fleet:names end -->\n")


# --- Markdown's rules: code is code, whatever it looks like -------------------------------------

BLOCKS = {"names": "| generated |\n", "comparison": "| compared |\n"}
NAMES = "<!-- model-fleet:names start -->\nold\n<!-- model-fleet:names end -->\n"


def generated_lines(page: str) -> list[int]:
    """The line numbers holding generated content after replace_blocks."""
    return [i for i, line in enumerate(page.splitlines()) if line in ("| generated |", "| compared |")]


@pytest.mark.parametrize(
    "code",
    [
        "````\n{markers}```\nstill code\n````\n",  # a longer fence: a shorter one inside does not close it
        "~~~\n{markers}```\n~~~\n",  # tildes are closed by tildes only
        "```````\n{markers}```````\n",
        "!!! note\n    ```\n{indented}    ```\n",  # a fence inside an admonition
        '??? example "Shown"\n\n    ~~~~markdown\n{indented}    ~~~~\n',
        "- an item\n\n  ```\n{listed}  ```\n",  # a fence inside a list item
        "> ```\n{quoted}> ```\n",  # ... inside a quote
        "Prose.\n\n    {markers_as_code}\n",  # an indented code block
        "---\ntitle: x\n{markers}---\n",  # front matter
    ],
)
def test_markers_in_code_of_any_kind_are_the_authors_text(code):
    def each(prefix: str) -> str:
        return "".join(prefix + line + "\n" for line in NAMES.splitlines())

    shown = code.format(
        markers=NAMES,
        indented=each("    "),
        listed=each("  "),
        quoted=each("> "),
        markers_as_code="\n    ".join(NAMES.splitlines()),
    )
    page = shown + "\n" + NAMES

    merged = pages.replace_blocks(page, BLOCKS)

    assert merged.startswith(shown + "\n<!-- model-fleet:names start -->\n| generated |\n<!-- model-fleet:names end -->\n")
    assert pages.replace_blocks(merged, BLOCKS) == merged


def test_a_marker_outside_the_fence_inside_an_admonition_is_a_marker():
    page = "!!! note\n    Prose.\n\n    <!-- model-fleet:names start -->\n    <!-- model-fleet:names end -->\n"
    merged = pages.replace_blocks(page, {"names": "    x\n"})
    assert merged == "!!! note\n    Prose.\n\n    <!-- model-fleet:names start -->\n    x\n    <!-- model-fleet:names end -->\n"


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (
            "<!-- model-fleet:names start -->\n<!-- model-fleet:comparison start -->\n"
            "<!-- model-fleet:comparison end -->\n<!-- model-fleet:names end -->\n",
            "block 'comparison' (lines 2-3) starts inside block 'names' (lines 1-4); close each generated block before the next one starts",
        ),
        (
            "<!-- model-fleet:names start -->\n<!-- model-fleet:comparison start -->\n"
            "<!-- model-fleet:names end -->\n<!-- model-fleet:comparison end -->\n",
            "block 'comparison' (lines 2-4) starts inside block 'names' (lines 1-3); close each generated block before the next one starts",
        ),
        (
            "<!-- model-fleet:name start -->\n<!-- model-fleet:name end -->\n",
            "line 1: '<!-- model-fleet:name start -->' names no generated block (blocks: names, comparison)",
        ),
        (
            "<!-- model-fleet:names end -->\n<!-- model-fleet:names start -->\n",
            "needs one line '<!-- model-fleet:names start -->' and, after it, one line '<!-- model-fleet:names end -->' around the generated block",
        ),
        (
            "Intro.\n\n```python\nprint('never closed')\n",
            "line 3 opens a code block that is never closed, so the generated block 'names' added at the end would be inside it; close it",
        ),
    ],
    ids=["nested", "overlapping", "unknown-name", "out-of-order", "open-fence-at-the-end"],
)
def test_markers_that_cannot_delimit_blocks_are_refused(page, message):
    with pytest.raises(pages.PageError) as refused:
        pages.replace_blocks(page, BLOCKS)
    assert message in refused.value.messages


def test_every_marker_problem_of_a_page_is_reported_at_once():
    page = "<!-- model-fleet:names start -->\n<!-- model-fleet:other start -->\n<!-- model-fleet:comparison end -->\n"
    with pytest.raises(pages.PageError) as refused:
        pages.replace_blocks(page, BLOCKS)
    assert len(refused.value.messages) == 3


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_lines_end_where_commonmark_ends_them(ending):
    # A lone CR ends a line in CommonMark (and in MkDocs): a marker after one is in the fence.
    page = f"```{ending}<!-- model-fleet:names start -->{ending}```{ending}"
    assert pages.lines_of(page) == [f"```{ending}", f"<!-- model-fleet:names start -->{ending}", f"```{ending}"]
    assert pages.replace_blocks(page, {"names": "x\n"}).startswith(page)


def test_a_crlf_page_keeps_crlf_and_converges_in_one_run():
    page = ("# Models\n\n" + NAMES + "\n## Quickstart snippets\n\n### Python\n\n### CLI\n").replace("\n", "\r\n")

    blocks = pages.replace_blocks(page, BLOCKS)
    merged = pages.merge(blocks, generated("Beta Gen", "beta"), includes("beta"), key)

    assert "\n" not in merged.replace("\r\n", "")
    assert pages.replace_blocks(merged, BLOCKS) == merged
    assert pages.merge(merged, generated("Beta Gen", "beta"), includes("beta"), key) == merged
    assert pages.merge(merged, {}, includes("beta"), key) == blocks


def test_a_quickstart_heading_or_entry_in_code_is_the_authors_text():
    page = HAND_PAGE.replace("Pick a model.", 'Pick a model.\n\n~~~~\n### Python\n??? example "Beta Gen"\n~~~~')
    merged = pages.merge(page, generated("Beta Gen", "beta"), includes("beta"), key)
    assert titles(merged, "Python") == ["Alpha Hand", "Beta Gen", "Omega Hand"]
    assert pages.merge(merged, {}, includes("beta"), key) == page


def test_a_quickstart_page_ending_in_an_open_fence_is_refused():
    with pytest.raises(pages.PageError) as refused:
        pages.merge("# Page\n\n```\nnever closed\n", generated("Beta Gen", "beta"), includes("beta"), key)
    assert refused.value.messages == [
        "line 3 opens a code block that is never closed, so the heading '## Quickstart snippets' added at the end would be inside it; close it"
    ]
    section_open = "# Page\n\n## Quickstart snippets\n\n### Python\n\n```\nnever closed\n"
    with pytest.raises(pages.PageError, match="line 7 opens a code block"):
        pages.merge(section_open, generated("Beta Gen", "beta"), includes("beta"), key)
