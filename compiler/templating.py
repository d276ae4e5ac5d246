"""Jinja2 environments whose every printed value is escaped for where it lands.

Markdown has no autoescape of its own, so the Markdown environment escapes in `finalize`: every
`{{ value }}` is printed as inline text that cannot open emphasis, a link, a code span, HTML, an
entity or a table cell, and cannot start a new line. Filters return `Md` (already safe) for the
places that need more: `prose` (paragraphs that cannot start a heading, list or quote), `code`
(an inline code span when that is safe) and `g` (a number). Template text itself is trusted.

The HTML environment uses Jinja2's own autoescape.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined

from modelplane.problems import ModelplaneError
from modelplane.report.escape import one_line

MISSING = "_Not provided._"
# Inline Markdown that a value could open: emphasis, strikethrough, code, links, HTML, entities,
# table cells, escapes. `_` inside a word cannot open emphasis, so `precision_at_10pct` stays.
_INLINE = re.compile(r"[\\`*\[\]<>|~&]|(?<![^\W_])_|_(?![^\W_])")
# What could make a paragraph's start a block: a heading, a list item or rule, "1." or "1)".
_BLOCK_CHARS = "#-+="
_ORDINAL = re.compile(r"^(\d{1,9})[.)]")


class Md(str):
    """Markdown that is already safe to print as is."""


class TemplateProblem(ModelplaneError):
    """A template that does not parse or render (exit 1, like a spec problem)."""

    exit_code = 1


def md_inline(value: object) -> Md:
    """One line of text that prints as itself in Markdown, whatever it holds."""
    if isinstance(value, Md):
        return value
    text = one_line("" if value is None else str(value)).strip()
    return Md(_INLINE.sub(lambda m: "\\" + m.group(0), text))


def _block_safe(paragraph: str) -> str:
    """Escape what would make the start of a paragraph a heading, list, quote or rule."""
    ordinal = _ORDINAL.match(paragraph)
    if ordinal:
        return ordinal.group(1) + "\\" + paragraph[len(ordinal.group(1)) :]
    return "\\" + paragraph if paragraph and paragraph[0] in _BLOCK_CHARS else paragraph


def md_prose(value: object) -> Md:
    """Paragraphs (blank-line separated) of escaped text, or the missing marker when blank."""
    text = "" if value is None else str(value).replace("\r", "\n")
    paragraphs = [_block_safe(md_inline(" ".join(p.split()))) for p in re.split(r"\n\s*\n", text)]
    kept = [p for p in paragraphs if p]
    return Md("\n\n".join(kept)) if kept else Md(MISSING)


def md_code(value: object) -> Md:
    """An inline code span when the text allows one, else escaped text."""
    text = "" if value is None else str(value)
    if text and "`" not in text and one_line(text) == text and text == text.strip():
        return Md(f"`{text}`")
    return md_inline(text)


def number(value: object) -> Md:
    return Md(f"{value:g}") if isinstance(value, int | float) else md_inline(value)


def _finalize_md(value: Any) -> str:
    return md_inline(value)


def _loaders(override: Path | None, builtin: Path) -> BaseLoader:
    own = FileSystemLoader(str(builtin))
    # An override may `{% extends "modelplane/<name>" %}` the built-in template it replaces.
    loaders: list[BaseLoader] = [PrefixLoader({"modelplane": own})]
    if override is not None and override.is_dir():
        loaders.insert(0, FileSystemLoader(str(override)))
    return ChoiceLoader([*loaders, own])


@functools.lru_cache(maxsize=8)
def markdown_environment(override: Path | None, builtin: Path) -> Environment:
    env = Environment(
        loader=_loaders(override, builtin),
        autoescape=False,  # Markdown: escaped by finalize and the filters instead
        finalize=_finalize_md,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({"prose": md_prose, "code": md_code, "g": number, "inline": md_inline})
    return env


@functools.lru_cache(maxsize=4)
def html_environment(builtin: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(builtin)),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["g"] = lambda v: f"{v:g}" if isinstance(v, int | float) else str(v)
    return env


def render(environment: Environment, name: str, where: str, /, **context: Any) -> str:
    """Render template `name`; a template that fails is one line naming it (TemplateProblem)."""
    from jinja2 import TemplateError, TemplateSyntaxError

    try:
        return environment.get_template(name).render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{where}:{exc.lineno}: template syntax error: {one_line(exc.message or '')}") from exc
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: template error: {one_line(str(exc))}") from exc
