"""Edits of a YAML file's text that leave every character outside the edited values as it was.

`promote` changes a few values in a stack file that people write by hand. Rewriting the whole
document through a YAML library loses what that library does not model (comments where the user
put them, the BOM, CRLF line endings, each block's indentation, quoting) and, where the library
reads YAML 1.2 while the project's reader reads 1.1, the type of values such as `on` or `1:20`.
So the edit works on the text: PyYAML, the project's own reader, gives each value's place, and
only the values that must change are written there, each so that PyYAML reads it back as the
value meant. A comment stays with the key it describes: the comment lines right above a removed
key go with it, and a new key goes after the last one of its map, before any comment that
describes what follows the map.

Anchors, aliases and merge keys are refused where an edit would go through them: a value an
alias shares would change in every place that uses it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from components.commands.kept import same
from components.contract import catalog

MERGE_TAG = "tag:yaml.org,2002:merge"
# Lists and maps are written on one line up to this width; a longer one (a vLLM command line) gets a line per item.
FLOW_WIDTH = 100
# What a double-quoted scalar must escape besides JSON's escapes: what PyYAML refuses to read raw, or reads as a line break.
_ESCAPED = re.compile("[^\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029\ufeff]")
ANCHORS = "written with YAML anchors, aliases or merge keys (&, *, <<): promote does not edit through them; write it out in full"


class Refused(Exception):
    """The edit cannot be made without changing what it does not mean to; `where` names the place."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class _Composer(yaml.SafeLoader):
    """PyYAML's safe loader, remembering the nodes an anchor names (an alias is that same node)
    and the maps holding a merge key, before constructing values rewrites those maps."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.shared: set[int] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None) is not None:
            self.shared.add(id(node))
        if isinstance(node, MappingNode) and any(key.tag == MERGE_TAG for key, _ in node.value):
            self.shared.add(id(node))
        return node


@dataclass
class _Edit:
    start: int
    end: int
    text: str


@dataclass
class _Slot:
    """Where a value sits: after `key:` in a block map, after `-` in a block list, or as the document."""

    node: Node | None
    key: Node | None = None
    dash: int | None = None  # the index of the item's `-`
    column: int = 0  # the column of the map's keys, or of the list's dashes


def _reads_back(text: str, value: Any, context: str) -> bool:
    try:
        read = yaml.load(context.format(text), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    expected = {"k": value} if context.startswith("k:") else [value] if context.startswith("[") else {value: 1}
    return same(read, expected)


# Plain scalars that YAML 1.2's core schema (the Pulumi engine's Go reader) takes for a null,
# boolean or number: a string written so is quoted even where PyYAML (YAML 1.1) reads it as a string.
_CORE_NON_STRING = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _quoted(text: str) -> str:
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + _ESCAPED.sub(lambda m: f"\\u{ord(m[0]):04x}" if ord(m[0]) <= 0xFFFF else f"\\U{ord(m[0]):08x}", body) + '"'


def scalar(value: Any, *, context: str = "k: {}\n", style: str | None = None) -> str:
    """`value` as one YAML scalar that PyYAML reads back as `value`: a string stays a string
    (`on`, `0x10`, `1:20` are quoted), a quote the old value had is kept where it can be."""
    if isinstance(value, str):
        if style == "'" and value.isprintable():
            return "'" + value.replace("'", "''") + "'"
        if style is None and not _CORE_NON_STRING.fullmatch(value) and _reads_back(value, value, context):
            return value
        return _quoted(value)
    text = "null" if value is None else yaml.safe_dump([value], default_flow_style=True, width=2**31 - 1).strip()[1:-1]
    if not _reads_back(text, value, context):
        raise Refused("", f"the value {value!r} cannot be written as YAML")
    return text


def key(name: Any) -> str:
    return scalar(name, context="{}: 1\n")


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value or catalog.is_secure(value)


def flow(value: Any) -> str:
    """`value` on one line: `{key: dedicated, operator: Equal}`, `[sh, -c]`, `"on"`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, context='{{{}: 1}}')}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value, context="[{}]")


def _on_one_line(value: Any) -> bool:
    """Written on its key's line: a scalar, an empty or encrypted value, a short list of scalars."""
    if _is_leaf(value):
        return True
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value) and len(flow(value)) <= FLOW_WIDTH


class Document:
    """A YAML document's text and the edits made to it; `text()` is the edited document."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.original = text
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        body = text[len(self.bom) :]
        crlf = body.count("\r\n")
        if crlf and (crlf != body.count("\n") or crlf != body.count("\r")):
            raise Refused("", "mixed line endings (CRLF and LF): make them one kind, then promote")
        if not crlf and "\r" in body:
            raise Refused("", "line endings of a lone CR: use LF or CRLF, then promote")
        self.newline = "\r\n" if crlf else "\n"
        self.body = body.replace("\r\n", "\n")
        self.loader = _Composer(self.body)
        try:
            self.root: Node | None = self.loader.get_single_node()
        except yaml.YAMLError as err:
            raise Refused("", f"not valid YAML: {err}") from None
        except RecursionError:
            raise Refused("", "nested too deeply for promote to edit") from None
        self.edits: list[_Edit] = []
        self.map_step, self.seq_offset = self._indentation()

    # --- reading ------------------------------------------------------------------------

    def value(self, node: Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def _line_start(self, index: int) -> int:
        return self.body.rfind("\n", 0, index) + 1

    def _line_end(self, index: int) -> int:
        end = self.body.find("\n", index)
        return len(self.body) if end < 0 else end

    def _next_line(self, index: int) -> int:
        return min(self._line_end(index) + 1, len(self.body))

    def _column(self, index: int) -> int:
        return index - self._line_start(index)

    def _end(self, node: Node) -> int:
        """Where the node's own text ends (a block collection's end mark is the next token's start)."""
        if isinstance(node, ScalarNode):
            end = node.end_mark.index
            if node.style in ("|", ">"):
                while end > node.start_mark.index and self.body[end - 1] in " \t\n":
                    end -= 1
            return end
        if node.flow_style or not node.value:
            return node.end_mark.index
        last = node.value[-1]
        return self._end(last[1] if isinstance(node, MappingNode) else last)

    def _dash(self, item: Node) -> int:
        """The index of the `-` before a block list's item: on the item's line, or on a line above
        it that holds only the dash and a comment (`- # the coder`)."""
        index = item.start_mark.index
        start = self._line_start(index)
        before = self.body[start:index].rstrip(" \t")
        if not before.strip():
            while start > 0:
                start = self._line_start(start - 1)
                line = self.body[start : self._line_end(start)]
                content = line.lstrip(" ")
                if content and not content.startswith("#"):
                    before = line if content == "-" or content.startswith(("- #", "-\t#")) else ""
                    before = before[: len(line) - len(content) + 1]
                    break
        if not before.endswith("-"):
            raise Refused("", f"line {item.start_mark.line + 1}: a list item written in a way promote cannot edit")
        return start + len(before) - 1

    def _colon(self, key_node: Node) -> int:
        index = key_node.end_mark.index
        while index < len(self.body) and self.body[index] in " \t":
            index += 1
        if index >= len(self.body) or self.body[index] != ":":
            raise Refused("", f"line {key_node.start_mark.line + 1}: a key written in a way promote cannot edit (`? key`)")
        return index

    def _comment_after(self, index: int) -> str:
        rest = self.body[index : self._line_end(index)].strip()
        return rest if rest.startswith("#") else ""

    def _region_start(self, first: int, column: int) -> int:
        """The start of `first`'s line, or of the comment lines right above it at `column`: they
        describe what is on that line and go with it."""
        start = self._line_start(first)
        while start > 0:
            above = self._line_start(start - 1)
            line = self.body[above : start - 1]
            if not (line.lstrip(" ").startswith("#") and len(line) - len(line.lstrip(" ")) == column):
                break
            start = above
        return start

    def _indentation(self) -> tuple[int, int]:
        """The file's own steps: a nested map's keys past its key, a list's dashes past its key."""
        step = offset = None
        stack = [self.root] if self.root is not None else []
        seen: set[int] = set()  # an alias is the node it names: each is looked at once
        while stack and (step is None or offset is None):
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode) and not node.flow_style:
                for key_node, value in node.value:
                    if isinstance(value, MappingNode) and not value.flow_style and value.value and step is None:
                        step = value.value[0][0].start_mark.column - key_node.start_mark.column
                    if isinstance(value, SequenceNode) and not value.flow_style and value.value and offset is None:
                        offset = self._column(self._dash(value.value[0])) - key_node.start_mark.column
                    stack.append(value)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)
        return (step if step is not None and step > 0 else 2), (offset if offset is not None and offset >= 0 else 2)

    def _uses_anchors(self, node: Node) -> bool:
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in self.loader.shared:
                return True
            if isinstance(current, MappingNode):
                stack.extend(n for pair in current.value for n in pair)
            elif isinstance(current, SequenceNode):
                stack.extend(current.value)
        return False

    def _pairs(self, node: MappingNode, where: str) -> dict[Any, tuple[Node, Node]]:
        pairs: dict[Any, tuple[Node, Node]] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode):
                raise Refused(where, f"line {key_node.start_mark.line + 1}: a key that is a list or a map")
            name = self.value(key_node)
            if name in pairs:
                raise Refused(f"{where}.{name}" if where else str(name), f"the key is written twice (line {key_node.start_mark.line + 1})")
            pairs[name] = (key_node, value)
        return pairs

    # --- writing ------------------------------------------------------------------------

    def _edit(self, start: int, end: int, text: str) -> None:
        self.edits.append(_Edit(start, end, text))

    def _insert_lines(self, after: int, lines: list[str]) -> None:
        """New lines after the line holding `after`."""
        at = self._next_line(after)
        before = "\n" if at == len(self.body) and not self.body.endswith("\n") else ""
        self._edit(at, at, before + "\n".join(lines) + "\n")

    def text(self) -> str:
        """The edited document with the file's BOM and line endings; the file's very text when unedited."""
        if not self.edits:
            return self.original
        out, position = [], 0
        # An insertion at a point comes before a removal starting there; insertions keep their order.
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end)):
            if edit.start < position:
                raise Refused("", "promote's edits of this file overlap; make the change by hand")
            out += [self.body[position : edit.start], edit.text]
            position = edit.end
        out.append(self.body[position:])
        return self.bom + "".join(out).replace("\n", self.newline)

    def _block(self, value: Any, column: int, entries: bool = False) -> list[str]:
        """`value` (a non-empty map or list) as block lines indented to `column`. A list's maps
        go on one line each when short (`- {name: A, value: "1"}`), unless the first list met is
        of `entries`: model entries, which always get a line per key."""
        pad = " " * column
        lines: list[str] = []
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and not _is_leaf(item) and (entries or len(flow(item)) > FLOW_WIDTH):
                    first, *rest = self._block(item, column + 2)
                    lines += [f"{pad}- {first.lstrip()}", *rest]
                else:
                    lines.append(f"{pad}- {flow(item)}")
            return lines
        for name, child in value.items():
            if _on_one_line(child):
                lines.append(f"{pad}{key(name)}: {scalar(child) if not isinstance(child, (dict, list)) else flow(child)}")
            else:
                step = self.map_step if isinstance(child, dict) else self.seq_offset
                lines += [f"{pad}{key(name)}:", *self._block(child, column + step, entries)]
        return lines

    def _replace(self, slot: _Slot, target: Any, entries: bool = False) -> None:
        """The slot's value written anew as `target`, keeping the comment on its key's line."""
        node = slot.node
        if slot.key is None and slot.dash is None:
            self._replace_document(target, entries)
            return
        assert node is not None
        block = isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style
        was_flow = isinstance(node, (MappingNode, SequenceNode)) and bool(node.flow_style) and bool(node.value)
        style = node.style if isinstance(node, ScalarNode) and node.style in ("'", '"') else None
        one_line = _on_one_line(target) or was_flow
        written = flow(target) if isinstance(target, (dict, list)) else scalar(target, style=style)
        start, end = node.start_mark.index, self._end(node)
        if slot.key is not None:
            colon = self._colon(slot.key)
            if one_line:
                if block:
                    comment = self._comment_after(colon + 1)
                    self._edit(colon + 1, end, f" {written}" + (f"  {comment}" if comment else ""))
                elif start == end:  # `key:` with nothing after it
                    space = colon + 1
                    while space < len(self.body) and self.body[space] in " \t":
                        space += 1
                    self._edit(colon + 1, space, f" {written}" + ("  " if self._comment_after(space) else ""))
                else:
                    self._edit(start, end, written)
                return
            same_kind = isinstance(node, MappingNode) == isinstance(target, dict)
            if block and same_kind:
                column = node.value[0][0].start_mark.column if isinstance(node, MappingNode) else self._column(self._dash(node.value[0]))
            else:
                column = slot.column + (self.map_step if isinstance(target, dict) else self.seq_offset)
            lines = self._block(target, column, entries)
            if block:
                self._edit(self._line_end(colon) + 1, self._line_end(end), "\n".join(lines))
            else:
                comment = self._comment_after(end)
                self._edit(colon + 1, self._line_end(end), (f" {comment}" if comment else "") + "\n" + "\n".join(lines))
            return
        # A list item: its value starts after `- `.
        assert slot.dash is not None
        lead = " " if start == slot.dash + 1 else ""
        if one_line or not isinstance(target, dict):
            self._edit(start, end, lead + written)
            return
        column = node.start_mark.column if isinstance(node, MappingNode) and block else slot.column + 2
        first, *rest = self._block(target, column)
        comment = "" if block else self._comment_after(end)
        self._edit(
            start, self._line_end(end), lead + first.lstrip() + (f"  {comment}" if comment else "") + "".join("\n" + r for r in rest)
        )

    def _replace_document(self, target: Any, entries: bool = False) -> None:
        lines = self._block(target, 0, entries) if isinstance(target, dict) and target else [flow(target)]
        root = self.root
        if root is None or (isinstance(root, ScalarNode) and root.start_mark.index == root.end_mark.index):
            # An empty document, comments alone, or `---` with nothing after it.
            at = len(self.body) if root is None else root.start_mark.index
            if at != self._line_start(at):
                self._insert_lines(at, lines)
            else:
                self._edit(
                    at, at, ("\n" if at == len(self.body) and self.body and not self.body.endswith("\n") else "") + "\n".join(lines) + "\n"
                )
            return
        start = root.start_mark.index
        self._edit(start, self._line_end(self._end(root)), ("\n" if start != self._line_start(start) else "") + "\n".join(lines))

    def sync(self, slot: _Slot, target: Any, where: str) -> None:
        """Make the slot's value `target`, writing only what differs."""
        node = slot.node
        if node is not None and self._uses_anchors(node):
            raise Refused(where, ANCHORS)
        if node is not None and same(self.value(node), target):
            return
        if isinstance(node, MappingNode) and not node.flow_style and isinstance(target, dict) and not _is_leaf(target):
            if self._sync_map(node, target, where):
                return
        elif isinstance(node, SequenceNode) and not node.flow_style and isinstance(target, list) and target:
            self._sync_list(node, target, where)
            return
        self._replace(slot, target)

    def _sync_map(self, node: MappingNode, target: dict[Any, Any], where: str) -> bool:
        """False when the map is better written anew: every key goes, or the first one, which
        shares its line with the `-` of a list item."""
        pairs = self._pairs(node, where)
        first = node.value[0][0]
        on_dash_line = self.body[self._line_start(first.start_mark.index) : first.start_mark.index].strip() != ""
        gone = [name for name in pairs if name not in target]
        if len(gone) == len(pairs) or (on_dash_line and self.value(first) in gone):
            return False
        column = first.start_mark.column
        for name, (key_node, value) in pairs.items():
            if name in target:
                self.sync(_Slot(value, key=key_node, column=column), target[name], f"{where}.{name}" if where else str(name))
            else:
                self._edit(self._region_start(key_node.start_mark.index, column), self._next_line(self._end(value)), "")
        added = {name: value for name, value in target.items() if name not in pairs}
        if added:
            self._insert_lines(self._end(node.value[-1][1]), self._block(added, column))
        return True

    def _sync_list(self, node: SequenceNode, target: list[Any], where: str) -> None:
        """Items matched by value, so a new or removed item leaves the others and their comments."""
        items = node.value
        dashes = [self._dash(item) for item in items]
        column = self._column(dashes[0])
        have = [json.dumps(self.value(item), sort_keys=True, default=repr) for item in items]
        want = [json.dumps(value, sort_keys=True, default=repr) for value in target]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, have, want, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            paired = min(i2 - i1, j2 - j1)
            for offset in range(paired):
                i = i1 + offset
                self.sync(_Slot(items[i], dash=dashes[i], column=column), target[j1 + offset], f"{where}[{i}]")
            for i in range(i1 + paired, i2):
                self._edit(self._region_start(dashes[i], column), self._next_line(self._end(items[i])), "")
            if j1 + paired < j2:
                lines = self._block(target[j1 + paired : j2], column)
                if i2 < len(items):
                    at = self._region_start(dashes[i2], column)
                    self._edit(at, at, "\n".join(lines) + "\n")
                else:
                    self._insert_lines(self._end(items[-1]), lines)

    # --- what promote asks for ----------------------------------------------------------

    def _chain(self, path: list[str]) -> list[_Slot]:
        """The slots from the document down `path` (of map keys), as far as they exist."""
        slots = [_Slot(self.root)]
        for step in path:
            node = slots[-1].node
            if not isinstance(node, MappingNode):
                break
            match = self._pairs(node, "").get(step)
            if match is None:
                break
            slots.append(_Slot(match[1], key=match[0], column=match[0].start_mark.column))
        return slots

    def edit_list(self, path: list[str], items: dict[int, tuple[Any, bool]], appended: list[Any], label: Callable[[int], str]) -> None:
        """The list at `path` (created, with the maps above it, when missing): item i synced to
        items[i][0], or written anew when items[i][1] is False; then `appended` added at its end."""
        slots = self._chain(path)
        where = ".".join(path)
        for slot in slots:
            if slot.node is not None and id(slot.node) in self.loader.shared:
                raise Refused(where, ANCHORS)
        node = slots[-1].node
        if len(slots) == len(path) + 1 and isinstance(node, SequenceNode) and node.value:
            if node.flow_style:
                # Written anew as a whole: an alias anywhere in it would be written out.
                if self._uses_anchors(node):
                    raise Refused(where, ANCHORS)
                current = [self.value(item) for item in node.value]
                for index, (item, _) in items.items():
                    current[index] = item
                self._replace(slots[-1], current + appended)
                return
            dashes = [self._dash(item) for item in node.value]
            column = self._column(dashes[0])
            for index, (item, merge) in sorted(items.items()):
                slot = _Slot(node.value[index], dash=dashes[index], column=column)
                try:
                    if merge:
                        self.sync(slot, item, "")
                    elif self._uses_anchors(node.value[index]):
                        raise Refused("", ANCHORS)
                    else:
                        self._replace(slot, item)
                except Refused as err:
                    raise Refused(f"{label(index)} {err.where}".strip(), err.message) from None
            if appended:
                self._insert_lines(self._end(node.value[-1]), self._block(appended, column, entries=True))
            return
        if items:
            raise Refused(where, f"{self.source} has no such list to edit")
        if not appended:
            return
        # Created: under the deepest map found (a key of its own), or in place of the null, empty or flow value there.
        depth = len(slots) - 1
        value: Any = appended
        for step in reversed(path[depth:]):
            value = {step: value}
        deepest = slots[-1]
        if depth < len(path) and isinstance(deepest.node, MappingNode) and not deepest.node.flow_style and deepest.node.value:
            self._insert_lines(
                self._end(deepest.node.value[-1][1]), self._block(value, deepest.node.value[0][0].start_mark.column, entries=True)
            )
        elif depth < len(path) and isinstance(deepest.node, MappingNode):
            self._replace(deepest, {**self.value(deepest.node), **value}, entries=True)
        elif depth < len(path) and not (deepest.node is None or isinstance(deepest.node, ScalarNode) and self.value(deepest.node) is None):
            raise Refused(".".join(path[:depth]), "is not a map: promote cannot add the list under it")
        else:
            self._replace(deepest, value, entries=True)
