"""Fuzzing the page merge: Markdown pages built from fences, containers, markers and prose.

Whatever the page, replace_blocks either refuses it (PageError) or keeps every byte outside the
blocks it found, finds the blocks again in what it wrote, and changes nothing on a second run,
with LF, CRLF or lone-CR line endings.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsgen import pages

pytestmark = pytest.mark.fuzz
BLOCKS = {"names": "| generated | names |\n", "comparison": "| generated | comparison |\n"}

marker = st.sampled_from(
    [f"<!-- model-fleet:{name} {edge} -->" for name in ("names", "comparison", "other") for edge in ("start", "end")]
    + ["<!--model-fleet:names start-->", "<!-- model-fleet:names  end -->"]
)
fence = st.builds(lambda ch, n, info: ch * n + info, st.sampled_from("`~"), st.integers(3, 6), st.sampled_from(["", "python", " text"]))
prose = st.sampled_from(["Prose.", "# Heading", "", "    indented", "- item", "> quote", "!!! note", '??? example "x"', "---", "| a | b |"])
indent = st.sampled_from(["", "  ", "    ", "> ", "- "])
line = st.one_of(marker, fence, prose)
page_lines = st.lists(st.tuples(indent, line), max_size=24)


@settings(deadline=None, derandomize=True, database=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(lines=page_lines, ending=st.sampled_from(["\n", "\r\n", "\r"]), final=st.booleans())
def test_a_page_is_refused_or_merged_keeping_the_authors_text_and_converging(lines, ending, final):
    page = ending.join(prefix + text for prefix, text in lines) + (ending if final and lines else "")
    try:
        merged = pages.replace_blocks(page, BLOCKS)
    except pages.PageError as err:
        assert err.messages and all(isinstance(m, str) and m for m in err.messages)
        return
    assert pages.replace_blocks(merged, BLOCKS) == merged
    # The author's lines are all there, in order: the merge only replaced or appended lines.
    kept = iter(pages.lines_of(merged))
    found = pages._blocks(pages.lines_of(page), list(BLOCKS))
    inside = {i for start, end in found.values() for i in range(start + 1, end)}
    for i, original in enumerate(pages.lines_of(page)):
        if i in inside:
            continue
        bare = original.rstrip("\r\n")
        assert any(candidate.rstrip("\r\n") == bare for candidate in kept), f"line {i + 1} {original!r} lost"
