"""What a template may write: each value through the filter of the language of the spot it goes
into (Python, bash, JSON, Markdown), marked `Escaped`; the Environment refuses anything else."""

from __future__ import annotations

import html
import json
import shlex

from components.contract.spec import MODEL_ID


class Escaped(str):
    """Text already escaped for the language of the spot it is written into."""


def require_escaped(value: object) -> object:
    # Every value a template writes goes through the filter of its target language; a value
    # that skipped one could change the program users copy, so rendering stops instead.
    if isinstance(value, Escaped):
        return value
    raise TypeError(
        f"template value {value!r} is not escaped: pass it through py, sh, json_sq, pyliteral, json, comment, md, cell, code, tokens, count or yesno"
    )


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def py_str(value: str) -> Escaped:
    """A Python string literal in double quotes; anything not printable is written as an escape."""
    value = str(value)
    if value.isprintable() and '"' not in value and "\\" not in value:
        return Escaped(f'"{value}"')  # most values: nothing to escape, no walk over the characters
    body = "".join("\\" + ch if ch in '"\\' else ch if ch.isprintable() else _escape_char(ch) for ch in value)
    return Escaped(f'"{body}"')


def sh_word(value: str) -> Escaped:
    """One bash word: unchanged when it holds only safe characters, else single-quoted."""
    return Escaped(shlex.quote(str(value)))


def json_in_single_quotes(value: object) -> Escaped:
    """A JSON value written inside a bash single-quoted string (the `curl -d '...'` body)."""
    return Escaped(json.dumps(value, ensure_ascii=True).replace("'", "'\\''"))


def json_line(value: object) -> Escaped:
    """One line of JSON: ASCII-only, so no character of a value can end the line."""
    return Escaped(json.dumps(value, ensure_ascii=True))


def py_literal(value: dict, indent: int) -> Escaped:
    """A dict of strings and numbers as Python source, indented to sit inside a list literal.

    ASCII-only JSON is Python source with the same meaning for these types.
    """
    return Escaped(json.dumps(value, indent=4, ensure_ascii=True).replace("\n", "\n" + " " * indent))


def comment(value: str) -> Escaped:
    """Text for a `#` comment: one line, whatever the value holds."""
    value = str(value)
    return Escaped(value if value.isprintable() else "".join(ch if ch.isprintable() else _escape_char(ch) for ch in value))


# What makes inline Markdown of plain text mid-line: code, emphasis, links and images, attributes.
_MARKDOWN_SPECIAL = "\\`*_[]{}"


def markdown_text(value: str) -> Escaped:
    """Plain text in a Markdown page: no HTML, links or emphasis, on one line."""
    text = html.escape(str(comment(value)), quote=True)
    if not any(ch in text for ch in _MARKDOWN_SPECIAL):
        return Escaped(text)
    return Escaped("".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text))


def table_cell(value: str) -> Escaped:
    """Plain text in a Markdown table cell: no `|` may end the cell."""
    return Escaped(markdown_text(value).replace("|", "\\|"))


def inline_code(value: str) -> Escaped:
    """A model ID as inline code in a table cell: spec.MODEL_ID leaves it no backtick or `|`.
    A value that got past validation is written as escaped text instead, still inert."""
    return Escaped(f"`{value}`") if MODEL_ID.fullmatch(value) else table_cell(value)


NOT_GIVEN = Escaped("—")
# A count in vLLM's own notation (decimal k and m, binary K and M), so a reader can pass the
# number shown back to --max-model-len and mean the same tokens.
TOKEN_UNITS = ((2**20, "M"), (10**6, "m"), (2**10, "K"), (10**3, "k"))


def tokens(value: int | None) -> Escaped:
    if value is None:
        return NOT_GIVEN
    unit, suffix = next(((u, s) for u, s in TOKEN_UNITS if value % u == 0), (1, ""))
    return Escaped(f"{value // unit}{suffix}")


def count(value: int | None) -> Escaped:
    return NOT_GIVEN if value is None else Escaped(str(int(value)))


def yes_no(value: bool) -> Escaped:
    return Escaped("Yes" if value else "No")


# Each filter under the name the templates call it by.
FILTERS = dict(
    py=py_str,
    sh=sh_word,
    json_sq=json_in_single_quotes,
    json=json_line,
    pyliteral=py_literal,
    comment=comment,
    md=markdown_text,
    cell=table_cell,
    code=inline_code,
    tokens=tokens,
    count=count,
    yesno=yes_no,
)
