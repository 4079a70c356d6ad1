"""Docs pages: swap what this generator owns, keep every other byte.

Two kinds of owned text: the entries of a quickstart section, and generated blocks between markers.

A page is read as lines. Under `## Quickstart snippets`, the `### Python` and `### CLI`
sections hold entries (a `??? example "Title"` line and its indented block). An entry is
owned when its `--8<--` include is a snippet this generator wrote; every other byte of the
page, hand-written entries included, stays where it is. Owned entries are taken out (each
with one neighbouring blank line), then the current ones are merged in alphabetical order
among the hand-written ones (each with one blank line), so removing every model gives back
the page as it was before.

A generated block is the lines between `<!-- model-fleet:NAME start -->` and
`<!-- model-fleet:NAME end -->`; the text around the markers is the page author's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

QUICKSTART = "Quickstart snippets"
SECTIONS = ("Python", "CLI")
ENTRY_HEADER = re.compile(r'^\?\?\?\+? example "(?P<title>[^"]*)"\s*$')
INCLUDE = re.compile(r"""--8<--\s+['"](?P<path>[^'"]+)['"]""")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
FENCES = ("```", "~~~")  # a line starting with one opens or closes a fenced block


@dataclass(frozen=True)
class GeneratedEntry:
    sort_key: tuple[str, ...]
    text: str  # lines ending in "\n"


@dataclass(frozen=True)
class _Entry:
    start: int
    end: int  # exclusive; trailing blank lines are not part of the entry
    title: str
    include: str | None


def lines_of(text: str) -> list[str]:
    """The page's lines, each with its newline; unlike str.splitlines, no other character (a form
    feed, U+2028, ...) ends a line, so the merge sees the lines Markdown sees."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _blank(line: str) -> bool:
    return not line.strip()


class PageError(ValueError):
    """A page whose generated blocks cannot be told apart from the author's text."""


def _outside_fences(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, line) of every line outside fenced code blocks, fences excluded."""
    in_fence = False
    for i, line in enumerate(lines):
        if line.startswith(FENCES):
            in_fence = not in_fence
        elif not in_fence:
            yield i, line


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, text) of every heading outside fenced code blocks."""
    return [
        (i, len(match["level"]), match["text"])
        for i, line in _outside_fences(lines)
        # Most lines of a long page are entries: the cheap test spares them the heading pattern.
        if line.startswith("#") and (match := HEADING.match(line.rstrip("\n")))
    ]


def block_markers(name: str) -> tuple[str, str]:
    return f"<!-- model-fleet:{name} start -->", f"<!-- model-fleet:{name} end -->"


def replace_block(text: str, name: str, content: str) -> str:
    """The page with the lines between the markers of block `name` replaced by `content`.

    A page without the block gets it appended; markers that are missing, repeated or out of
    order leave no way to tell generated text from the author's, so the page is refused.
    """
    start_marker, end_marker = block_markers(name)
    lines = lines_of(text)
    starts = [i for i, line in _outside_fences(lines) if line.strip() == start_marker]
    ends = [i for i, line in _outside_fences(lines) if line.strip() == end_marker]
    if not starts and not ends:
        separator = "" if not text else "\n" if text.endswith("\n") else "\n\n"
        return text + separator + f"{start_marker}\n{content}{end_marker}\n"
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise PageError(f"needs one line '{start_marker}' and, after it, one line '{end_marker}' around the generated block")
    lines[starts[0] + 1 : ends[0]] = lines_of(content)
    return "".join(lines)


def _section(lines: list[str], level: int, title: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """(heading line, end line) of the first `level` heading named `title` within [start, end)."""
    end = len(lines) if end is None else end
    headings = [h for h in _headings(lines) if start <= h[0] < end]
    for n, (line, lvl, text) in enumerate(headings):
        if lvl == level and text == title:
            stop = next((h[0] for h in headings[n + 1 :] if h[1] <= level), end)
            return line, stop
    return None


def _entries(lines: list[str], start: int, end: int) -> list[_Entry]:
    entries, i = [], start
    while i < end:
        match = ENTRY_HEADER.match(lines[i].rstrip("\n"))
        if not match:
            i += 1
            continue
        j = i + 1
        while j < end and (_blank(lines[j]) or lines[j].startswith(("    ", "\t"))):
            j += 1
        while j > i + 1 and _blank(lines[j - 1]):
            j -= 1
        include = next((m["path"] for line in lines[i:j] if (m := INCLUDE.search(line))), None)
        entries.append(_Entry(i, j, match["title"], include))
        i = j
    return entries


def ensure_sections(text: str) -> str:
    """Add the quickstart section or its Python/CLI subsections at the end when missing."""
    if text and not text.endswith("\n"):
        text += "\n"
    lines = lines_of(text)
    quick = _section(lines, 2, QUICKSTART)
    if quick is None:
        separator = "\n" if lines and not _blank(lines[-1]) else ""
        return text + separator + f"## {QUICKSTART}\n" + "".join(f"\n### {name}\n" for name in SECTIONS)
    for name in SECTIONS:
        lines = lines_of(text)
        quick = _section(lines, 2, QUICKSTART)
        assert quick is not None
        if _section(lines, 3, name, quick[0] + 1, quick[1]) is None:
            at = quick[1]
            while at > quick[0] + 1 and _blank(lines[at - 1]):
                at -= 1
            lines[at:at] = [f"\n### {name}\n"]
            text = "".join(lines)
    return text


def _remove_owned(lines: list[str], start: int, end: int, owned: set[str]) -> int:
    """Drop owned entries between start and end, each with one neighbouring blank line; returns the new end."""
    removed = 0
    for entry in _entries(lines, start, end):
        if entry.include not in owned:
            continue
        a, b = entry.start - removed, entry.end - removed
        if b < end - removed and _blank(lines[b]):
            b += 1
        elif a > start and _blank(lines[a - 1]):
            a -= 1
        del lines[a:b]
        removed += b - a
    return end - removed


def _insert(lines: list[str], start: int, end: int, generated: list[GeneratedEntry], key_of) -> None:
    hand = _entries(lines, start, end)
    before: dict[int, list[GeneratedEntry]] = {}
    tail: list[GeneratedEntry] = []
    h = 0
    for entry in sorted(generated, key=lambda g: g.sort_key):
        while h < len(hand) and key_of(hand[h].title) <= entry.sort_key:
            h += 1
        (before.setdefault(h, []) if h < len(hand) else tail).append(entry)

    if tail:
        if hand:
            at = hand[-1].end
        else:
            at = end
            while at > start and _blank(lines[at - 1]):
                at -= 1
        block: list[str] = []
        for entry in tail:
            block += ["\n", *lines_of(entry.text)]
        lines[at:at] = block
    for index in sorted(before, reverse=True):
        block = []
        for entry in before[index]:
            block += [*lines_of(entry.text), "\n"]
        lines[hand[index].start : hand[index].start] = block


def merge(text: str, entries: dict[str, list[GeneratedEntry]], owned: set[str], key_of) -> str:
    """The page with owned entries replaced by `entries` (by section name); everything else kept.

    `key_of(title)` gives the sort key of a hand-written entry, comparable with GeneratedEntry.sort_key.
    """
    text = ensure_sections(text)
    lines = lines_of(text)
    for name in SECTIONS:
        quick = _section(lines, 2, QUICKSTART)
        assert quick is not None
        section = _section(lines, 3, name, quick[0] + 1, quick[1])
        assert section is not None
        start, end = section[0] + 1, section[1]
        end = _remove_owned(lines, start, end, owned)
        _insert(lines, start, end, entries.get(name, []), key_of)
    return "".join(lines)
