"""YAML text for rendered objects: the bytes PyYAML writes (libyaml's emitter), written faster.

PyYAML spends most of its time in its pure-Python representer and resolver, visiting every node
of every object; a full compile writes millions of nodes. `write_document` writes the same
bytes directly for the shapes compile produces — block mappings with string keys, block
sequences, strings, numbers, booleans and nulls — and raises `Unusual` for anything else (a
non-string key, a very long key or string, a multi-line string that cannot be a literal block,
an unknown type), which `dump_document` then hands to PyYAML. A string takes the fast path only
when it is certainly a plain scalar for libyaml; every other string is written by PyYAML itself
(and remembered). `tests/test_yaml_writer.py` compares both writers on every rendered file and on
generated documents.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import yaml

LINE_LIMIT = 1 << 16  # PyYAML's `width`: long strings are never folded
_FAST_LIMIT = 2048  # longer strings go through PyYAML, so nothing near the width is guessed
_KEY_LIMIT = 100  # libyaml writes keys over 128 characters as complex keys (`? key`)
_ONE_LETTER_BOOLEANS = frozenset({"y", "Y", "n", "N"})
# Plain scalars that YAML 1.1 resolves to something other than a string (booleans, nulls), and
# the one-letter booleans `_represent_str` quotes.
_WORDS = "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL"
_RESERVED = frozenset(_WORDS.split(" ")) | _ONE_LETTER_BOOLEANS
# Certainly plain for libyaml: a first character no resolver and no indicator starts with, then
# printable ASCII; `_plain` also rules out `: `, ` #` and a trailing `:` or space.
_PLAIN = re.compile(r"[A-Za-z_/(][\x20-\x7e]*").fullmatch
# A multi-line string libyaml writes as a literal block (`|` or `|-`): printable ASCII and `\n`,
# not starting with a space or a break (that needs an indentation hint).
_LITERAL = re.compile(r"[\x21-\x7e][\x20-\x7e\n]*").fullmatch
# Line breaks other than \n: PyYAML writes them raw, so where they land depends on indentation.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]").search


class Unusual(Exception):
    """A document the fast writer leaves to PyYAML."""


def _represent_str(dumper: Any, data: str) -> Any:
    """Multi-line strings as literal blocks; `y`, `Y`, `n`, `N` quoted (YAML 1.1 booleans).

    hera registers the same rules on PyYAML's SafeRepresenter when it is imported; stating them
    here keeps the output independent of what was imported first.
    """
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if data in _ONE_LETTER_BOOLEANS:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter with the safe representers and `_represent_str`."""


_Dumper.add_representer(str, _represent_str)


def sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): sort_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def pyyaml_document(data: Any) -> str:
    """The reference: PyYAML's block-style YAML of `data` with sorted keys."""
    return str(
        yaml.dump(
            sort_keys(data), Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=LINE_LIMIT,
            allow_unicode=True,
        )
    )


def dump_document(data: Any) -> str:
    """Block-style YAML with sorted keys. Strings that YAML 1.1 readers (Kubernetes' go-yaml) would
    take for booleans, such as `on`, come out quoted; long strings are never folded."""
    try:
        return write_document(data)
    except Unusual:
        return pyyaml_document(data)


@functools.lru_cache(maxsize=1 << 16)
def _by_pyyaml(text: str) -> str:
    """A one-line string as PyYAML writes it after `key: ` (quoted, or plain)."""
    if len(text) > 4 * _FAST_LIMIT or _OTHER_BREAKS(text):
        raise Unusual(text[:40])
    written = pyyaml_document({"k": text})
    if not written.startswith("k: ") or written.count("\n") != 1:
        raise Unusual(text[:40])  # a string PyYAML spreads over lines (a lone \r, say)
    return written[3:-1]


@functools.lru_cache(maxsize=1 << 14)
def _key_by_pyyaml(key: str) -> str:
    """A mapping key as PyYAML writes it before `: `; a key it writes as a complex key is unusual."""
    if _OTHER_BREAKS(key):
        raise Unusual(key[:40])
    written = pyyaml_document({key: 0})
    if not written.endswith(": 0\n") or written.count("\n") != 1 or written.startswith("? "):
        raise Unusual(key[:40])
    return written[: -len(": 0\n")]


def _plain(text: str) -> bool:
    return bool(
        _PLAIN(text)
        and len(text) <= _FAST_LIMIT
        and text not in _RESERVED
        and ": " not in text
        and " #" not in text
        and text[-1] not in ": "
    )


# What each string and key was written as, so the next occurrence is one lookup; bounded, as
# a compile writes millions of strings, most of them repeated within a pair.
_STRINGS: dict[str, str] = {}
_KEYS: dict[str, str] = {}
_REMEMBERED = 1 << 17


def _string(text: str) -> str:
    written = text if _plain(text) else _by_pyyaml(text)
    if len(_STRINGS) >= _REMEMBERED:
        _STRINGS.clear()
    _STRINGS[text] = written
    return written


def _key(key: Any) -> str:
    if type(key) is not str or len(key) > _KEY_LIMIT:
        raise Unusual(repr(key)[:40])
    written = key if _plain(key) else _key_by_pyyaml(key)
    if len(_KEYS) >= _REMEMBERED:
        _KEYS.clear()
    _KEYS[key] = written
    return written


def _literal(text: str, indent: int) -> tuple[str, list[str]]:
    """The `|`/`|-` indicator and the lines of a literal block indented by `indent`."""
    if not _LITERAL(text) or " \n" in text or text.endswith((" ", "\n\n")) or len(text) > LINE_LIMIT // 2:
        raise Unusual(text[:40])
    if text.endswith("\n"):
        indicator, text = "|", text[:-1]
    else:
        indicator = "|-"
    pad = " " * indent
    return indicator, [pad + line if line else "" for line in text.split("\n")]


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _float(value)
    if value is None:
        return "null"
    raise Unusual(kind.__name__)


def _node(value: Any, indent: int, head: str, lines: list[str], in_sequence: bool) -> None:
    """`value` after `head` (`key:` or `-`), where `head`'s key or dash starts at column `indent`."""
    kind = type(value)
    if kind is str:
        if "\n" in value:
            indicator, body = _literal(value, indent + 2)
            lines.append(f"{head} {indicator}")
            lines.extend(body)
        else:
            lines.append(f"{head} {_STRINGS.get(value) or _string(value)}")
    elif kind is dict:
        if not value:
            lines.append(f"{head} {{}}")
        elif in_sequence:
            _mapping(value, indent + 2, head + " ", lines)
        else:
            lines.append(head)
            _mapping(value, indent + 2, "", lines)
    elif kind is list:
        if not value:
            lines.append(f"{head} []")
        elif in_sequence:
            _sequence(value, indent + 2, head + " ", lines)
        else:
            lines.append(head)
            _sequence(value, indent, "", lines)  # a sequence in a mapping is not indented
    else:
        lines.append(f"{head} {_scalar(value)}")


def _mapping(mapping: dict[Any, Any], indent: int, first: str, lines: list[str]) -> None:
    pad = " " * indent
    prefix = first or pad
    try:
        keys = sorted(mapping)
    except TypeError as exc:  # keys of several types
        raise Unusual("mixed keys") from exc
    append = lines.append
    for key in keys:
        head = f"{prefix}{_KEYS.get(key) or _key(key)}:"
        prefix = pad
        value = mapping[key]
        if type(value) is str and "\n" not in value:  # most values: inline the scalar case
            append(f"{head} {_STRINGS.get(value) or _string(value)}")
        else:
            _node(value, indent, head, lines, False)


def _sequence(items: list[Any], indent: int, first: str, lines: list[str]) -> None:
    pad = " " * indent
    prefix = first or pad
    for item in items:
        _node(item, indent, prefix + "-", lines, True)
        prefix = pad


def nest(key: str, text: str) -> str:
    """`key:` holding `text` (a mapping this writer wrote) as the writer writes it nested: every
    line two spaces in, empty lines (in literal blocks) left empty. Appended to a document whose
    other keys sort before `key`, it gives the bytes of writing the whole document at once."""
    return f"{_key(key)}:\n" + "\n".join("  " + line if line else "" for line in text.split("\n"))


def write_document(data: Any) -> str:
    """`data` (a non-empty mapping) as PyYAML writes it; raises `Unusual` for other shapes."""
    if type(data) is not dict or not data:
        raise Unusual(type(data).__name__)
    lines: list[str] = []
    _mapping(data, 0, "", lines)
    return "\n".join(lines) + "\n"
