"""The text of the built pages stays text in llms.txt and llms-full.txt (mkdocs-llmstxt's `preprocess`).

The plugin turns each built page's HTML into Markdown with markdownify, which copies a text node
as it is: a display name or `best_for` that the page shows as text (`[x](http://evil)`,
`<img src=x onerror=...>`, `a | b` in a table cell) would become a live link, raw HTML or a cell
cut in two there. Before the conversion every ASCII punctuation character of a text node outside
code gets CommonMark's backslash escape, but `*`, which the plugin escapes itself; the plugin then
formats the Markdown with mdformat, which keeps only the escapes the text needs. mkdocs.yml names
this file by `PATH`, so a config that INHERITs it finds it wherever that config lives.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString

PATH = str(Path(__file__).resolve())
# markdownify's own code elements: their text is written verbatim, never escaped.
_VERBATIM = {"pre", "code", "kbd", "samp", "script", "style"}
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation.replace("*", "")) + "])")


def preprocess(soup: BeautifulSoup, output: str) -> None:
    """Escape, in place, each text node of `soup` that markdownify would copy as Markdown."""
    for node in soup.find_all(string=True):
        # Comments, CDATA and doctypes are subclasses: markdownify drops them.
        if type(node) is not NavigableString or any(parent.name in _VERBATIM for parent in node.parents):
            continue
        escaped = _PUNCTUATION.sub(r"\\\1", str(node))
        if escaped != node:
            node.replace_with(NavigableString(escaped))
