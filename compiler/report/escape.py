"""Escaping shared by the report formats: whatever a spec or a policy wrote, one line stays one line.

Text from YAML (team names, keys) and from policies (messages, ids) is untrusted: it must not add
lines to a terminal or CI log, forge a workflow command, break a Markdown table or make XML invalid.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# XML 1.0 forbids these characters outright, even as character references.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|#!~&])")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group(0)):02x}" if ord(match.group(0)) < 0x100 else f"\\u{ord(match.group(0)):04x}"


def one_line(text: str) -> str:
    """Line breaks and tabs become spaces; other control characters are shown as `\\xNN`."""
    spaced = " ".join(text.replace("\t", " ").replace("\r", "\n").split("\n"))
    return _CONTROL.sub(_visible, spaced)


def xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold are shown as `\\xNN`; the XML writer escapes the rest."""
    return _NOT_XML.sub(_visible, text)


def md_cell(text: str) -> str:
    """A Markdown table cell: one line, every character that could end the cell or start markup escaped."""
    return _MARKDOWN.sub(r"\\\1", one_line(text)).strip()


def md_code(text: str) -> str:
    """Inline code when that is safe, else an escaped plain cell."""
    flat = one_line(text)
    if not flat or "`" in flat or flat != text:
        return md_cell(text)
    return "`" + flat.replace("|", "\\|") + "`"
