"""Which policy packages the gate evaluates, read from the policy files themselves.

The contract: rules named `deny` or `warn` live in `package modelplane` or any package below it
(`modelplane.team.freeze`). The engine is told every such package, so none is skipped; a module
that defines `deny`/`warn` in any other package would never be evaluated, so it is an error
naming its file and line rather than a rule that silently never fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from modelplane.problems import ModelplaneError

ROOT_PACKAGE = "modelplane"
ENGINE_PACKAGE = "modelplane_engine"
ENGINE_REGO = Path(__file__).with_name("engine.rego")  # the driver module, uploaded beside the policies
MAX_DEPTH = 5  # engine.rego has one direct reference per depth, up to this one
LEVELS = ("deny", "warn")
_PACKAGE = re.compile(r"^package[ \t]+(\S+)[ \t]*(?:#.*)?$", re.MULTILINE)
_SEGMENT = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\["([^"\\]*)"\]')
_RULE = re.compile(r"^(?:default[ \t]+)?(deny|warn)\b", re.MULTILINE)


@dataclass
class PolicyPackage:
    path: tuple[str, ...]  # below data.modelplane; () is the root package
    files: list[Path] = field(default_factory=list)
    rules: dict[str, tuple[Path, int]] = field(default_factory=dict)  # deny/warn -> where it is first defined

    @property
    def name(self) -> str:
        return ".".join((ROOT_PACKAGE, *self.path))


def parse_package(text: str, file: Path) -> tuple[str, ...]:
    """`package modelplane.team["x"]` -> ("modelplane", "team", "x")."""
    found = _PACKAGE.search(text)
    if found is None:
        raise ModelplaneError(f"{file}: no package declaration")
    ref = found.group(1)
    parts = [name or quoted for name, quoted in _SEGMENT.findall(ref)]
    if "".join(m.group(0) for m in _SEGMENT.finditer(ref)) != ref or not parts:
        raise ModelplaneError(f"{file}:{_line(text, found.start())}: package '{ref}' is not a reference the gate reads")
    return tuple(parts)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def rule_lines(text: str) -> dict[str, int]:
    """The first line that defines each of deny/warn at the top level of a module."""
    lines: dict[str, int] = {}
    for match in _RULE.finditer(text):
        lines.setdefault(match.group(1), _line(text, match.start()))
    return lines


def policy_packages(modules: list[Path]) -> list[PolicyPackage]:
    """The packages under `modelplane` (any depth), sorted; deny/warn elsewhere is an error."""
    found: dict[tuple[str, ...], PolicyPackage] = {}
    for file in sorted(modules):
        text = file.read_text(encoding="utf-8")
        parts = parse_package(text, file)
        rules = rule_lines(text)
        if parts[0] == ENGINE_PACKAGE:
            name = ".".join(parts)
            raise ModelplaneError(f"{file}: package {name} is the gate's own driver; policies may not extend it")
        if parts[0] != ROOT_PACKAGE:
            for level, line in sorted(rules.items(), key=lambda kv: kv[1])[:1]:
                raise ModelplaneError(
                    f"{file}:{line}: '{level}' in package {'.'.join(parts)} would never be evaluated; "
                    f"policy rules must live in package {ROOT_PACKAGE} or below it ({ROOT_PACKAGE}.<name>)"
                )
            continue
        if len(parts) - 1 > MAX_DEPTH:
            raise ModelplaneError(
                f"{file}: package {'.'.join(parts)} is nested deeper than {MAX_DEPTH} levels below {ROOT_PACKAGE}"
            )
        package = found.setdefault(parts[1:], PolicyPackage(parts[1:]))
        package.files.append(file)
        for level, line in rules.items():
            package.rules.setdefault(level, (file, line))
    return [found[k] for k in sorted(found)]
