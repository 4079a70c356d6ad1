"""Text from a file or a server as one line of a terminal shows it."""

from __future__ import annotations


def shown(text: str) -> str:
    """`text` as is when every character prints, else escaped as a Python literal: a name or label
    from a live cluster cannot move the cursor, recolour the terminal or forge a line of the report."""
    return text if text.isprintable() else repr(text)
