"""YAML -> plain data plus a source map from every key path to file, line and column.

libyaml (through PyYAML's C composer, about 20x faster than a pure-Python parser) builds the
node tree with positions; we build the data ourselves, which is where the rules live: plain
scalars follow the YAML 1.2 core schema (so `yes`, `no` and `on` stay strings), and duplicate
keys, alias bombs, deep nesting, oversized, binary or non-UTF-8 files, control characters
and custom tags all become `Problem`s.

Limits apply before any recursive code sees the text: nesting depth is measured on libyaml's
event stream (a flat loop) before the composer, which recurses in C, builds a tree; aliases
are limited by the bytes they expand to, not only by how many nodes they revisit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from modelplane.problems import KeyPath, Problem, format_path

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Re-visits of nodes reached through aliases; a "billion laughs" file blows far past this.
MAX_ALIAS_EXPANSION = 10_000
# Scalar characters a document may expand to through aliases (a file alone is at most 1 MiB).
MAX_EXPANDED_CHARS = 2 * MAX_FILE_BYTES
# Control characters no spec value needs (tab and newline are fine in values, never in keys).
_VALUE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_KEY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")



class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's composer without PyYAML's implicit resolvers: every plain scalar comes out
    tagged as a string and `resolve_plain` gives it its YAML 1.2 value (PyYAML's YAML 1.1
    guesses were thrown away anyway, and cost a Python call per scalar)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

# YAML 1.2 core schema, for plain (unquoted) scalars.
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


class Position(NamedTuple):  # a tuple: the loader makes one for every key and value
    file: str
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class SourceMap:
    """Where each key path of a document was written. Paths use str keys and int indexes."""

    root: Position
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    values: dict[KeyPath, Position] = field(default_factory=dict)
    # Merged documents: where a subtree was written in its own file (path there), by merged path.
    origins: dict[KeyPath, KeyPath] = field(default_factory=dict)

    def locate(self, path: KeyPath, *, at_key: bool = False) -> Position:
        """The best position for `path`: its value (or key), else the nearest ancestor's key."""
        first = self.keys if at_key else self.values
        if path in first:
            return first[path]
        probe = path
        while probe:
            if probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.root

    def display_path(self, path: KeyPath) -> KeyPath:
        """The key path as the user wrote it in the file that `path` came from."""
        for cut in range(len(path), -1, -1):
            head = path[:cut]
            if head in self.origins:
                return self.origins[head] + path[cut:]
            if head in self.values:  # written here, in the file this map belongs to
                return path
        return path

    def subtree(self, prefix: KeyPath) -> SourceMap:
        """The map of the document under `prefix`, with paths made relative to it."""
        n = len(prefix)
        out = SourceMap(root=self.locate(prefix))
        out.keys = {p[n:]: pos for p, pos in self.keys.items() if p[:n] == prefix and len(p) > n}
        out.values = {p[n:]: pos for p, pos in self.values.items() if p[:n] == prefix}
        out.origins = {p: self.display_path(prefix + p) for p in out.values if p}
        return out

    def graft(self, prefix: KeyPath, other: SourceMap) -> None:
        """Record `other`'s positions under `prefix`, overriding what was there."""
        for p, pos in other.keys.items():
            self.keys[prefix + p] = pos
        for p, pos in other.values.items():
            if p:
                self.values[prefix + p] = pos
        for p, origin in other.origins.items():
            if p:
                self.origins[prefix + p] = origin


@dataclass
class Document:
    file: str
    data: Any
    source: SourceMap


class _Stop(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _pos(file: str, node: Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into plain Python data and a source map."""

    def __init__(self, file: str):
        self.file = file
        self.seen: set[int] = set()
        self.repeats = 0
        self.chars = 0
        self.problems: list[Problem] = []
        self.source = SourceMap(root=Position(file, 1, 1))

    def _fail(self, node: Node, path: KeyPath, message: str, hint: str = "") -> _Stop:
        p = _pos(self.file, node)
        return _Stop(Problem(self.file, p.line, p.col, format_path(path), message, hint, code="yaml"))

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail(node, path, f"nesting is deeper than {MAX_DEPTH} levels")
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > MAX_ALIAS_EXPANSION:
                raise self._fail(
                    node,
                    path,
                    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} nodes",
                    "an alias bomb? write the values out instead of nesting aliases",
                )
        else:
            self.seen.add(id(node))
        self.source.values[path] = _pos(self.file, node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key_node, ScalarNode) and key_node.value == "<<" and not key_node.style
            ):
                raise self._fail(key_node, path, "YAML merge keys (<<) are not supported", "write the keys out")
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (
                "tag:yaml.org,2002:str",
                "tag:yaml.org,2002:int",
                "tag:yaml.org,2002:bool",
            ):
                raise self._fail(key_node, path, "a mapping key must be a plain string")
            key = str(key_node.value)
            child = path + (key,)
            self.chars += len(key)
            bad = _KEY_CONTROL.search(key)
            if bad:
                raise self._fail(
                    key_node, path, f"control character U+{ord(bad.group()):04X} in a key", "keys are plain names"
                )
            if key in out:
                self.problems.append(
                    Problem(
                        self.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        format_path(child),
                        f"duplicate key '{key}' (first defined on line {first_line[key]})",
                        "remove one of them; YAML would silently keep the last",
                        code="yaml",
                    )
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.source.keys[child] = _pos(self.file, key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag not in _PLAIN_TAGS:
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise self._fail(node, path, f"unsupported YAML tag '{tag}'", "remove the tag")
        text = str(node.value)
        self.chars += len(text)
        if self.chars > MAX_EXPANDED_CHARS:
            raise self._fail(
                node,
                path,
                f"YAML aliases expand to more than {MAX_EXPANDED_CHARS // MAX_FILE_BYTES} MiB of text",
                "an alias bomb? write the values out instead of repeating large aliases",
            )
        bad = _VALUE_CONTROL.search(text)
        if bad:
            raise self._fail(
                node, path, f"control character U+{ord(bad.group()):04X} in a value", "remove it; only tab and newline"
            )
        if getattr(node, "style", None):  # quoted or block scalars are always strings
            return text
        return resolve_plain(text)


def resolve_plain(text: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema; dates and the rest stay text."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _check_bytes(raw: bytes, file: str) -> tuple[str | None, Problem | None]:
    if len(raw) > MAX_FILE_BYTES:
        size = len(raw) / (1024 * 1024)
        return None, Problem(file, 1, 1, "", f"file is {size:.1f} MiB; the limit is 1 MiB", code="yaml")
    if b"\x00" in raw:
        return None, Problem(file, 1, 1, "", "binary file, not YAML text", code="yaml")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, Problem(
            file,
            line,
            col,
            "",
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            "save the file as UTF-8",
            code="yaml",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return None, Problem(file, 1, 1, "", "file is empty", code="yaml")
    return text, None


# The indicators a line may start with before its content: a block collection nested in another
# starts further right than its parent, or after one more of these, or inside a flow bracket.
_LEADING = re.compile(r"^[ ?:-]*", re.MULTILINE)


def nesting_bound(text: str) -> int:
    """An upper bound on how deep `text` nests collections, from a scan of the text: at most the
    longest run of indentation and indicators a line starts with, plus every flow bracket."""
    widest = max((len(m) for m in _LEADING.findall(text)), default=0)
    return widest + text.count("[") + text.count("{") + 2


def _too_deep(text: str, file: str) -> Problem | None:
    """The first place nesting goes deeper than MAX_DEPTH, read from the flat event stream
    (which only a text that may nest that deep is parsed for: most specs are far from it)."""
    if nesting_bound(text) <= MAX_DEPTH:
        return None
    depth = -1  # the top collection is level 0, as in `_Builder.build`
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                return Problem(file, line, col, "", f"nesting is deeper than {MAX_DEPTH} levels", code="yaml")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def parse_text(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML document held in `text`; `file` is the name used in problems."""
    try:
        deep = _too_deep(text, file)
        if deep is not None:
            return None, [deep]
        docs = yaml.compose_all(text, Loader=_Loader)
        first = next(docs, None)
        second = next(docs, None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = (exc.problem or exc.context or "invalid YAML").strip()
        return None, [Problem(file, line, col, "", f"YAML syntax error: {what}", code="yaml")]
    except RecursionError:
        return None, [Problem(file, 1, 1, "", f"nesting is deeper than {MAX_DEPTH} levels", code="yaml")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, 1, "", f"YAML error: {exc}", code="yaml")]
    if first is None:
        return None, [Problem(file, 1, 1, "", "file is empty", code="yaml")]
    if second is not None:
        p = _pos(file, second)
        return None, [
            Problem(
                file,
                p.line,
                p.col,
                "",
                "expected one YAML document, found more than one",
                "split it into one file per document",
                code="yaml",
            )
        ]
    builder = _Builder(file)
    try:
        data = builder.build(first, (), 0)
    except _Stop as stop:
        return None, [stop.problem]
    builder.source.root = _pos(file, first)
    return Document(file, data, builder.source), builder.problems


def load_yaml(path: Path, display: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Read and parse one YAML file; never raises for bad content."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, 1, 1, "", f"cannot read file: {exc.strerror}", code="io")]
    text, problem = _check_bytes(raw, file)
    if problem is not None or text is None:
        return None, [problem] if problem else []
    return parse_text(text, file)
