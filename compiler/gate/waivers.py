"""`policies/waivers.yaml`: approved, time-limited exceptions to a rule for one model in one environment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from modelplane.gate.results import Waiver
from modelplane.loader import Document, load_yaml
from modelplane.problems import Problem
from modelplane.spec.errors import did_you_mean, validation_problems
from modelplane.spec.types import Name, SpecModel

WAIVERS_FILE = "waivers.yaml"
DEFAULT_MAX_DAYS = 365  # when the environment sets no limits.maxWaiverDays
MIN_REASON = 10


class WaiverSpec(SpecModel):
    rule: str = Field(min_length=1)
    model: Name
    environment: Name
    reason: str = Field(min_length=MIN_REASON, description="why the exception is acceptable")
    approver: str = Field(min_length=1, description="who approved it: a GitHub handle (@org/team) or an e-mail")
    expires: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD; the waiver stops applying after it")

    @field_validator("reason")
    @classmethod
    def _reason_says_something(cls, value: str) -> str:
        if len(value.strip()) < MIN_REASON:
            raise ValueError(f"the reason must say why, in at least {MIN_REASON} characters (not counting spaces)")
        return value

    @field_validator("approver")
    @classmethod
    def _approver_is_someone(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the approver must name someone (a GitHub handle or an e-mail address)")
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"'{value}' is not one handle or address: no spaces")
        return value


class WaiverFile(SpecModel):
    waivers: list[WaiverSpec] = Field(default_factory=list)


def _problem(doc: Document, index: int, key: str, message: str, hint: str = "") -> Problem:
    pos = doc.source.locate(("waivers", index, key))
    return Problem(doc.file, pos.line, pos.col, f"waivers[{index}].{key}", message, hint, code="waiver")


def load_waivers(
    policy_dir: Path,
    display: str,
    today: dt.date,
    known_rules: set[str],
    models: set[str],
    envs: dict[str, int | None],
) -> tuple[list[Waiver], list[Problem]]:
    """`envs`: environment name -> its limits.maxWaiverDays (None: the default)."""
    path = policy_dir / WAIVERS_FILE
    if not path.exists():
        return [], []
    doc, problems = load_yaml(path, display)
    if doc is None or problems:
        return [], problems
    try:
        parsed = WaiverFile.model_validate(doc.data)
    except ValidationError as exc:
        return [], validation_problems(exc, WaiverFile, doc.source)
    waivers, problems = [], []
    for i, w in enumerate(parsed.waivers):
        try:
            expires = dt.date.fromisoformat(w.expires)
        except ValueError:
            problems.append(_problem(doc, i, "expires", f"'{w.expires}' is not a calendar date"))
            continue
        if expires < today:
            problems.append(
                _problem(
                    doc,
                    i,
                    "expires",
                    f"waiver for {w.rule} on {w.environment}/{w.model} expired on {w.expires}",
                    "renew it with a new approval or remove it",
                )
            )
        longest = envs.get(w.environment) or DEFAULT_MAX_DAYS
        if w.environment in envs and (expires - today).days > longest:
            problems.append(
                _problem(
                    doc,
                    i,
                    "expires",
                    f"waiver for {w.rule} on {w.environment}/{w.model} runs until {w.expires}, "
                    f"more than {longest} days from {today.isoformat()}",
                    f"{w.environment} allows waivers of at most {longest} days (limits.maxWaiverDays)",
                )
            )
        if w.rule not in known_rules:
            problems.append(
                _problem(doc, i, "rule", f"unknown rule '{w.rule}'", did_you_mean(w.rule, sorted(known_rules)))
            )
        if w.model not in models:
            problems.append(
                _problem(doc, i, "model", f"unknown model '{w.model}'", did_you_mean(w.model, sorted(models)))
            )
        if w.environment not in envs:
            problems.append(
                _problem(
                    doc,
                    i,
                    "environment",
                    f"unknown environment '{w.environment}'",
                    did_you_mean(w.environment, sorted(envs)),
                )
            )
        waivers.append(Waiver(w.rule, w.model, w.environment, w.reason, w.approver, w.expires))
    return waivers, problems
