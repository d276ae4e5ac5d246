"""What a policy check found: findings at YAML lines, model-card scores, and the run's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from modelplane.problems import Problem

Level = Literal["deny", "warn"]


@dataclass(frozen=True)
class Waiver:
    rule: str
    model: str
    environment: str
    reason: str
    approver: str
    expires: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Finding:
    """One deny or warn result of one rule for one (environment, model), placed in the YAML."""

    rule_id: str
    level: Level
    message: str
    env: str
    model: str
    file: str
    line: int
    col: int
    path: str  # the key path in the YAML file, e.g. environments.prod.serving.image
    title: str = ""
    description: str = ""
    remediation: str = ""
    severity: str = ""  # from the rule or its METADATA: high / medium / low
    waiver: Waiver | None = None

    @property
    def blocking(self) -> bool:
        return self.level == "deny" and self.waiver is None

    def sort_key(self) -> tuple[str, str, str, int, int, str, str]:
        return (self.env, self.model, self.file, self.line, self.col, self.rule_id, self.message)


@dataclass(frozen=True)
class CardScore:
    env: str
    model: str
    score: int  # percent of the fields this environment's profile requires
    required: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    cards: list[CardScore] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (env, model) evaluated
    packages: list[str] = field(default_factory=list)  # policy packages that define deny/warn
    problems: list[Problem] = field(default_factory=list)  # spec or waiver problems that stopped the check
    stopped: str = ""  # why the check stopped before a verdict (problems: exit 1; error: exit 2)
    error: str = ""  # the gate could not run: OPA, Rego, sandbox, no policies/rules/inputs

    @classmethod
    def halted(cls, reason: str, problems: list[Problem] | None = None, error: str = "") -> CheckReport:
        return cls(problems=list(problems or []), stopped=reason, error=error)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warn" and f.waiver is None]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.waiver is not None]

    @property
    def passed(self) -> bool:
        return not self.errors and not self.stopped

    def summary(self) -> str:
        if self.stopped:
            return self.stopped
        verdict = "passed" if self.passed else "failed"
        return (
            f"policy check {verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{len(self.waived)} waived, {len(self.pairs)} (environment, model) pair(s), "
            f"{len(self.packages)} policy package(s)"
        )
