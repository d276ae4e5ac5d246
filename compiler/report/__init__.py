"""Report formats for `modelplane check`: one module each, `render(report) -> str`.

Adding a format is one new module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from modelplane.gate.results import CheckReport
from modelplane.report import github, json_format, junit, markdown, sarif, text

FORMATS: dict[str, Callable[[CheckReport], str]] = {
    "text": text.render,
    "json": json_format.render,
    "github": github.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "markdown": markdown.render,
}
