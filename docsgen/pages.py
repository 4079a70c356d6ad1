"""Docs pages: swap what this generator owns, keep every other byte.

Two kinds of owned text: the entries of a quickstart section, and generated blocks between markers.

A page is read as lines, each with its own ending (`\n`, `\r\n` or a lone `\r`, as CommonMark
ends lines). Which lines are code is what markdown-it-py says, reading the page as CommonMark with
MkDocs' admonitions and front matter: a fence of any length of backticks or tildes, at any
indentation inside an admonition, a list or a quote, runs to its matching fence or to the end of
its container; an indented code block is code too. A heading, an entry or a marker on a code line
is the author's text.

Under `## Quickstart snippets`, the `### Python` and `### CLI` sections hold entries (a
`??? example "Title"` line and its indented block). An entry is owned when its `--8<--` include
is a snippet this generator wrote; every other byte of the page, hand-written entries included,
stays where it is. Owned entries are taken out (each with one neighbouring blank line), then the
current ones are merged in alphabetical order among the hand-written ones (each with one blank
line), so removing every model gives back the page as it was before.

A generated block is the lines between `<!-- model-fleet:NAME start -->` and
`<!-- model-fleet:NAME end -->`; the text around the markers is the page author's. All the
markers of a page are read at once: one pair per block, none inside another, each name one the
generator writes, or the page is refused.

A page whose line endings are all `\r\n` gets `\r\n` on the lines the generator writes too, so it
stays one style and a second run changes nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

QUICKSTART = "Quickstart snippets"
SECTIONS = ("Python", "CLI")
ENTRY_HEADER = re.compile(r'^\?\?\?\+? example "(?P<title>[^"]*)"\s*$')
INCLUDE = re.compile(r"""--8<--\s+['"](?P<path>[^'"]+)['"]""")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
# Any line that reads as a marker of ours, spacing aside: a near miss is refused, not taken for prose.
MARKER = re.compile(r"<!--\s*model-fleet:(?P<name>\S*?)\s+(?P<edge>start|end)\s*-->")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# What markdown-it-py makes of code: its lines are text whatever they look like.
CODE_TOKENS = ("fence", "code_block", "front_matter")


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
    """The page's lines, each with its ending; the endings are CommonMark's (`\n`, `\r\n`, `\r`) and no
    other character (a form feed, U+2028, ...) ends a line, so the merge sees the lines Markdown sees."""
    return LINE.findall(text)


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _blank(line: str) -> bool:
    return not line.strip()


class PageError(ValueError):
    """A page whose generated blocks cannot be told apart from the author's text; one message per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Only the blocks matter (where code is); the inline rules would parse every line's text.
    return MarkdownIt("commonmark").use(front_matter_plugin).use(admon_plugin).disable("inline")


@dataclass(frozen=True)
class _Code:
    """The code spans of a page: [start, end) line ranges, in order."""

    starts: list[int]
    ends: list[int]

    def span(self, line: int) -> tuple[int, int] | None:
        """The code span holding `line`, if any."""
        i = bisect.bisect_right(self.starts, line) - 1
        return (self.starts[i], self.ends[i]) if i >= 0 and line < self.ends[i] else None

    def __contains__(self, line: int) -> bool:
        return self.span(line) is not None


def _code(lines: list[str]) -> _Code:
    """Which lines are code, as a CommonMark reader with MkDocs' admonitions sees them."""
    return _code_of("".join(lines))


@lru_cache(maxsize=8)
def _code_of(text: str) -> _Code:
    # Lines without a fence, an indent or front matter hold no code: most pages skip the parse.
    if not any(marker in text for marker in ("```", "~~~", "    ", "\t", "---")):
        return _Code([], [])
    spans = sorted({tuple(token.map) for token in _parser().parse(text) if token.type in CODE_TOKENS and token.map})
    # Tokens of nested containers are flat and in order; a span inside another one adds nothing.
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:
        if ends and start < ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return _Code(starts, ends)


def _prose(lines: list[str], candidate: Callable[[str], bool]) -> list[tuple[int, str]]:
    """(index, line) of every line `candidate` accepts that is not code. The cheap test comes
    first: most lines of a long page are entries, and most are spared the look-up."""
    code = _code(lines)
    return [(i, line) for i, line in enumerate(lines) if candidate(line) and i not in code]


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line, level, text) of every heading outside code."""
    return [
        (i, len(match["level"]), match["text"])
        for i, line in _prose(lines, lambda line: line.startswith("#"))
        if (match := HEADING.match(_bare(line)))
    ]


def _newline(text: str) -> str:
    """The line ending of a page written with `\r\n` only, else `\n`."""
    return "\r\n" if "\r\n" in text and "\n" not in text.replace("\r\n", "") else "\n"


def _in_lf(edit):
    """Run an edit of a page on its `\n` form and give the result the page's own line endings."""

    def edited(text: str, *args, **kwargs) -> str:
        if _newline(text) == "\n":
            return edit(text, *args, **kwargs)
        return edit(text.replace("\r\n", "\n"), *args, **kwargs).replace("\n", "\r\n")

    edited.__doc__ = edit.__doc__
    return edited


def _refuse_code(lines: list[str], added: list[int], what: str) -> None:
    """Text the generator adds must not land in code (a fence left open runs to the end of its
    container): it would not be found again, and the next run would add it once more."""
    code = _code(lines)
    span = next((span for i in added if (span := code.span(i)) is not None), None)
    if span is not None:
        raise PageError([f"line {span[0] + 1} opens a code block that is never closed, so {what} would be inside it; close it"])


def block_markers(name: str) -> tuple[str, str]:
    return f"<!-- model-fleet:{name} start -->", f"<!-- model-fleet:{name} end -->"


def _blocks(lines: list[str], names: list[str]) -> dict[str, tuple[int, int]]:
    """(start marker line, end marker line) of each block found; every marker problem at once."""
    markers = [(i, m) for i, line in _prose(lines, lambda line: "<!--" in line) if (m := MARKER.fullmatch(line.strip()))]
    problems: list[str] = []
    by_name: dict[str, list[tuple[int, str]]] = {}
    for i, marker in markers:
        if marker["name"] not in names:
            problems.append(f"line {i + 1}: {marker[0]!r} names no generated block (blocks: {', '.join(names)})")
        else:
            by_name.setdefault(marker["name"], []).append((i, marker["edge"]))
    found: dict[str, tuple[int, int]] = {}
    for name in names:
        edges = by_name.get(name, [])
        if [edge for _, edge in edges] == ["start", "end"]:
            found[name] = (edges[0][0], edges[1][0])
        elif edges:
            start_marker, end_marker = block_markers(name)
            problems.append(f"needs one line '{start_marker}' and, after it, one line '{end_marker}' around the generated block")
    ordered = sorted(found.items(), key=lambda item: item[1])
    for (outer, (a, b)), (inner, (c, d)) in zip(ordered, ordered[1:], strict=False):
        if c < b:
            problems.append(
                f"block '{inner}' (lines {c + 1}-{d + 1}) starts inside block '{outer}' (lines {a + 1}-{b + 1}); "
                "close each generated block before the next one starts"
            )
    if problems:
        raise PageError(problems)
    return found


@_in_lf
def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """The page with the lines between the markers of each block replaced by its content.

    A block the page lacks is appended; markers that are missing their pair, repeated, out of
    order, nested, or of a block the generator does not write leave no way to tell generated text
    from the author's, so the page is refused (PageError) and nothing changes.
    """
    lines = lines_of(text)
    names = list(blocks)
    found = _blocks(lines, names)
    for name, (start, end) in sorted(found.items(), key=lambda item: item[1], reverse=True):
        lines[start + 1 : end] = lines_of(blocks[name])
    missing = [name for name in names if name not in found]
    if missing:
        text = "".join(lines)
        separator = "" if not text else "\n" if text.endswith("\n") else "\n\n"
        appended = "".join(f"{block_markers(name)[0]}\n{blocks[name]}{block_markers(name)[1]}\n" for name in missing)
        at = len(lines_of(text + separator))
        lines = lines_of(text + separator + appended)
        _refuse_code(lines, [at], f"the generated block '{missing[0]}' added at the end")
    # What was written must read back as the same blocks, or the next run would not find them.
    again = _blocks(lines, names)
    if any("".join(lines[a + 1 : b]) != blocks[name] for name, (a, b) in again.items()) or set(again) != set(names):
        raise PageError(["the generated blocks would not read back from the page as written; check the markers and fences around them"])
    return "".join(lines)


def replace_block(text: str, name: str, content: str) -> str:
    """The page with block `name` replaced by `content` (see replace_blocks)."""
    return replace_blocks(text, {name: content})


def _section(lines: list[str], level: int, title: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """(heading line, end line) of the first `level` heading named `title` within [start, end)."""
    end = len(lines) if end is None else end
    headings = [h for h in _headings(lines) if start <= h[0] < end]
    for n, (line, lvl, text) in enumerate(headings):
        if lvl == level and text == title:
            stop = next((h[0] for h in headings[n + 1 :] if h[1] <= level), end)
            return line, stop
    return None


def _entries(lines: list[str], start: int, end: int, code: _Code | None = None) -> list[_Entry]:
    """The entries between start and end; `code` is the page's code lines (read from `lines` when not given)."""
    entries, i = [], start
    code = _code(lines) if code is None else code
    while i < end:
        match = ENTRY_HEADER.match(_bare(lines[i]))
        if not match or i in code:
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
    if text and not text.endswith(("\n", "\r")):
        text += "\n"
    lines = lines_of(text)
    if _section(lines, 2, QUICKSTART) is None:
        separator = "\n" if lines and not _blank(lines[-1]) else ""
        at = len(lines_of(text + separator))
        text = text + separator + f"## {QUICKSTART}\n"
        _refuse_code(lines_of(text), [at], f"the heading '## {QUICKSTART}' added at the end")
    for name in SECTIONS:
        lines = lines_of(text)
        quick = _quickstart(lines)
        if _section(lines, 3, name, quick[0] + 1, quick[1]) is None:
            at = quick[1]
            while at > quick[0] + 1 and _blank(lines[at - 1]):
                at -= 1
            lines[at:at] = ["\n", f"### {name}\n"]
            _refuse_code(lines, [at + 1], f"the heading '### {name}' added to '## {QUICKSTART}'")
            text = "".join(lines)
    return text


def _quickstart(lines: list[str]) -> tuple[int, int]:
    quick = _section(lines, 2, QUICKSTART)
    if quick is None:
        raise PageError([f"no heading '## {QUICKSTART}' outside code"])
    return quick


def _subsection(lines: list[str], name: str) -> tuple[int, int]:
    """(first line, end line) of the entries of `### name` under the quickstart heading."""
    quick = _quickstart(lines)
    section = _section(lines, 3, name, quick[0] + 1, quick[1])
    if section is None:
        raise PageError([f"no heading '### {name}' under '## {QUICKSTART}' outside code"])
    return section[0] + 1, section[1]


def _sections_bottom_up(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first line, end line, name) of the entries of each quickstart subsection, the lowest first."""
    return sorted(((*_subsection(lines, name), name) for name in SECTIONS), reverse=True)


def _remove_owned(lines: list[str], start: int, end: int, owned: set[str], code: _Code) -> None:
    """Drop owned entries between start and end, each with one neighbouring blank line."""
    removed = 0
    for entry in _entries(lines, start, end, code):
        if entry.include not in owned:
            continue
        a, b = entry.start - removed, entry.end - removed
        if b < end - removed and _blank(lines[b]):
            b += 1
        elif a > start and _blank(lines[a - 1]):
            a -= 1
        del lines[a:b]
        removed += b - a


def _insert(lines: list[str], start: int, end: int, generated: list[GeneratedEntry], key_of, code: _Code) -> None:
    hand = _entries(lines, start, end, code)
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


@_in_lf
def merge(text: str, entries: dict[str, list[GeneratedEntry]], owned: set[str], key_of) -> str:
    """The page with owned entries replaced by `entries` (by section name); everything else kept.

    `key_of(title)` gives the sort key of a hand-written entry, comparable with GeneratedEntry.sort_key.
    """
    text = ensure_sections(text)
    lines = lines_of(text)
    # The sections are edited from the bottom of the page up, so an edit leaves the lines above it
    # where they were; and whether a line is code depends only on the lines before it. So the page
    # is read twice, not once per edit: as it was for the removals, without its owned entries for
    # the insertions (the sections are found again in that reading, which _code keeps).
    code = _code(lines)
    for start, end, _ in _sections_bottom_up(lines):
        _remove_owned(lines, start, end, owned, code)
    code = _code(lines)
    for start, end, name in _sections_bottom_up(lines):
        _insert(lines, start, end, entries.get(name, []), key_of, code)
    # What was merged must read back as the same entries, or the next run would add them again.
    for name in SECTIONS:
        start, end = _subsection(lines, name)
        expected = sorted(entry.text for entry in entries.get(name, []))
        found = sorted("".join(lines[e.start : e.end]) for e in _entries(lines, start, end) if e.include in owned)
        if found != expected:
            raise PageError([f"the generated entries of '### {name}' would not read back from the page as written; check the fences in it"])
    return "".join(lines)
