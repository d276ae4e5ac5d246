"""The one error type users see: a problem at a place in a source file.

Every stage reports what is wrong as `Problem`s instead of raising, so a run can show all
mistakes at once. `ModelplaneError` is for failures that stop a command (exit 2), such as an
unreachable OPA server; it carries one readable line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

# C0 and C1 control characters and the Unicode line and paragraph separators: any of them
# would let a value split a report line, so they are shown escaped.
_CONTROL = {c: f"\\u{c:04x}" for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


def one_line(text: str) -> str:
    """`text` with every control character escaped, so it cannot break a one-line report."""
    return text.translate(_CONTROL)


Severity = Literal["error", "warning"]
KeyPath = tuple[str | int, ...]


def format_path(path: KeyPath) -> str:
    """`("serving", "rollout", "steps", 1, "weight")` -> `serving.rollout.steps[1].weight`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    code: str = field(default="", compare=False)

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        key = f" {self.path}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        level = "" if self.severity == "error" else f" {self.severity}:"
        return one_line(f"{where}:{level}{key} {self.message}{hint}")

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
            "code": self.code,
        }


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.col, p.path, p.message))


class ModelplaneError(Exception):
    """A failure a user can act on; shown as one line, exit code 2."""

    exit_code = 2


class ProblemsFound(Exception):
    """Raised by a stage that cannot go on because its inputs have problems (exit code 1)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
