"""The one way this program reads YAML: stack files, `Pulumi.yaml`, the catalog, kubeconfigs.

What it gives is plain JSON data (dicts with text keys, lists, text, bool, int, float, None), or
a StrictYAMLError naming the file, line and column. It refuses what YAML allows and a config
must not hold:

- a key written twice in one mapping (YAML requires unique keys; PyYAML keeps the last);
- nesting deeper than MAX_DEPTH, and aliases that would expand past MAX_EXPANDED_NODES (a
  kilobyte "billion laughs" file), both found while streaming, before any of it is built;
- values JSON cannot hold: dates and times, binary, sets, other tags, integers outside 64 bits,
  infinities and NaN, and keys that are not text (`on:` is a boolean to YAML 1.1).

Documents are built straight from libyaml's events, without PyYAML's composer (recursive, so
deep nesting overflows its stack) or its constructor. Plain and quoted scalars are resolved by
PyYAML's YAML 1.1 resolver, so every value reads as it did before.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from yaml import events

# libyaml when PyYAML was built with it: the same events, many times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A stack file nests about eight levels deep; a kubeconfig fewer.
MAX_DEPTH = 64
# Nodes a document may expand to through its aliases (a 1000-model stack has about 60,000).
MAX_EXPANDED_NODES = 2_000_000
_INT64 = 2**63

_STR = "tag:yaml.org,2002:str"
_JSON_SCALARS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Tags as the user wrote them.
_WHAT = {f"tag:yaml.org,2002:{name}": f"!!{name}" for name in ("binary", "set", "omap", "pairs", "timestamp")}


class StrictYAMLError(ValueError):
    """A document this program does not read, with where in it (line and column from 1)."""

    def __init__(self, source: str, line: int | None, column: int | None, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.source, self.line, self.column, self.message = source, line, column, message
        # The keys and indexes down to the node at fault (`("config", "model-fleet:models", 0, ...)`).
        self.path = path

    @property
    def place(self) -> str:
        """`FILE:LINE:COL`, or as much of it as is known."""
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}" + (f":{self.column}" if self.column is not None else "")

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


def read_yaml(path: Path, *, dates_as_text: bool = False) -> Any:
    """The document in `path` (None when it is empty). OSError propagates: a file that cannot be
    read is the caller's to report; one that is not UTF-8 or not a valid document raises
    StrictYAMLError."""
    return parse_yaml(decode(path.read_bytes(), path.name), path.name, dates_as_text=dates_as_text)


def decode(data: bytes, source: str) -> str:
    """`data` as UTF-8 text, or a StrictYAMLError naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise StrictYAMLError(source, line, None, f"not UTF-8 text: byte {data[err.start]:#04x}") from None


def parse_yaml(text: str, source: str, *, dates_as_text: bool = False) -> Any:
    """The one document in `text` as JSON data; `source` names it in errors. `dates_as_text`
    reads an unquoted date or time as its text, as Go's YAML does: for files other tools write,
    such as a kubeconfig's `expiry:`."""
    loader = _LOADER(text)
    try:
        return _Builder(loader, source, dates_as_text).document()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = " ".join(str(p) for p in (err.context, err.problem) if p)
        raise StrictYAMLError(
            source, mark.line + 1 if mark else None, mark.column + 1 if mark else None, f"not valid YAML: {what}"
        ) from None
    except yaml.YAMLError as err:
        raise StrictYAMLError(source, None, None, f"not valid YAML: {err}") from None
    finally:
        loader.dispose()


class _Frame:
    """A mapping or sequence being built: its value, its anchor, and how many nodes it expands to."""

    __slots__ = ("value", "anchor", "size", "key", "key_mark", "merges", "explicit")

    def __init__(self, value: dict | list, anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.size = 1
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.merges: list[tuple[Any, Any]] = []
        self.explicit: set[str] = set()


_NO_KEY = object()
_MERGE_KEY = object()


class _Builder:
    def __init__(self, loader: Any, source: str, dates_as_text: bool = False) -> None:
        self.loader = loader
        self.source = source
        self.dates_as_text = dates_as_text
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0
        self.stack: list[_Frame] = []

    def fail(self, mark: Any, message: str, *more: str | int) -> StrictYAMLError:
        """The error at `mark`, at the path of the node being read (and `more` below it)."""
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return StrictYAMLError(self.source, line, column, message, self.path() + more)

    def path(self) -> tuple[str | int, ...]:
        """Where the node being read sits: each open mapping's key, each open sequence's index."""
        path: list[str | int] = []
        for frame in self.stack:
            if isinstance(frame.value, list):
                path.append(len(frame.value))
            elif frame.key is not _NO_KEY and frame.key is not _MERGE_KEY:
                path.append(frame.key)
            else:
                break
        return tuple(path)

    def document(self) -> Any:
        get = self.loader.get_event
        get()  # StreamStart
        if isinstance(self.loader.peek_event(), events.StreamEndEvent):
            return None
        get()  # DocumentStart
        value = self.node()
        get()  # DocumentEnd
        event = get()
        if not isinstance(event, events.StreamEndEvent):
            raise self.fail(event.start_mark, "more than one YAML document (`---`); a config file holds one")
        return value

    def node(self) -> Any:
        """The node starting at the next event, built without recursion."""
        get = self.loader.get_event
        stack = self.stack
        while True:
            event = get()
            if isinstance(event, events.ScalarEvent):
                value, size = self.scalar(event), 1
            elif isinstance(event, events.AliasEvent):
                if event.anchor not in self.anchors:
                    raise self.fail(event.start_mark, f"alias *{event.anchor} names no anchor before it")
                value, size = self.anchors[event.anchor]
            elif isinstance(event, events.MappingStartEvent | events.SequenceStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
                mapping = isinstance(event, events.MappingStartEvent)
                if event.tag not in (None, "!", _MAP if mapping else _SEQ):
                    raise self.fail(event.start_mark, f"tag {event.tag} is not JSON data; remove it")
                stack.append(_Frame({} if mapping else [], event.anchor))
                continue
            elif isinstance(event, events.MappingEndEvent | events.SequenceEndEvent):
                frame = stack.pop()
                if isinstance(frame.value, dict):
                    self.merge(frame)
                value, size = frame.value, frame.size
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (value, size)
            else:
                raise self.fail(event.start_mark, f"unexpected {type(event).__name__}")
            if isinstance(event, events.ScalarEvent) and event.anchor is not None:
                self.anchors[event.anchor] = (value, size)
            self.expanded += size
            if self.expanded > MAX_EXPANDED_NODES:
                raise self.fail(event.start_mark, f"its aliases expand to more than {MAX_EXPANDED_NODES:,} nodes")
            if not stack:
                return value
            self.add(stack[-1], value, size, event)

    def add(self, frame: _Frame, value: Any, size: int, event: Any) -> None:
        frame.size += size
        if value is _MERGE_KEY and (isinstance(frame.value, list) or frame.key is not _NO_KEY):
            raise self.fail(event.start_mark, "`<<` is YAML's merge key and stands only as a key; quote it if it is text")
        if isinstance(frame.value, list):
            frame.value.append(value)
        elif frame.key is _NO_KEY:
            frame.key, frame.key_mark = self.key(event, value), event.start_mark
        else:
            key, frame.key = frame.key, _NO_KEY
            if key is _MERGE_KEY:
                frame.merges.append((value, frame.key_mark))
            elif key in frame.explicit:
                raise self.fail(frame.key_mark, "the key is written twice in its mapping; keep one", key)
            else:
                frame.explicit.add(key)
                frame.value[key] = value

    def key(self, event: Any, value: Any) -> Any:
        if value is _MERGE_KEY or isinstance(value, str):
            return value
        if isinstance(event, events.ScalarEvent):
            raise self.fail(event.start_mark, f"key {event.value!r} is not text to YAML ({type(value).__name__}); quote it")
        raise self.fail(event.start_mark, f"a {type(value).__name__} as a key is not JSON data; keys are text")

    def merge(self, frame: _Frame) -> None:
        """`<<: *base` (or a list of them) gives the keys the mapping lacks, as YAML 1.1 does."""
        if not frame.merges:
            return
        assert isinstance(frame.value, dict)
        combined: dict[str, Any] = {}
        for merged, mark in frame.merges:
            sources = merged if isinstance(merged, list) else [merged]
            if not all(isinstance(source, dict) for source in sources):
                raise self.fail(mark, "`<<` merges mappings only")
            # As PyYAML: the last of a list first, so that an earlier one's keys win.
            for source in reversed(sources):
                combined.update(source)
        # The merged keys first, then the mapping's own, which win: the order PyYAML gives.
        combined.update(frame.value)
        frame.value.clear()
        frame.value.update(combined)

    def scalar(self, event: events.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value  # quoted: text
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag == _MERGE:
            return _MERGE_KEY
        if tag == _TIMESTAMP and self.dates_as_text:
            return event.value
        if tag == _TIMESTAMP:
            raise self.fail(event.start_mark, f"{event.value!r} is a date or time to YAML, not text; quote it")
        if tag not in _JSON_SCALARS:
            # The value is not shown: behind a tag may be anything, a token among them.
            raise self.fail(event.start_mark, f"a value tagged {_WHAT.get(tag, tag)} is not JSON data; remove the tag")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        value = self.loader.yaml_constructors[tag](self.loader, node)
        if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
            raise self.fail(event.start_mark, f"integer {event.value} is outside 64 bits; quote it if it is text")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(event.start_mark, f"{event.value!r} is not a finite number; quote it if it is text")
        return value
