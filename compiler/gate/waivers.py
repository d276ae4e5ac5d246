"""`policies/waivers.yaml`: approved, time-limited exceptions to a rule for one model in one environment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, ValidationError

from modelplane.gate.results import Waiver
from modelplane.loader import Document, load_yaml
from modelplane.problems import Problem
from modelplane.spec.errors import did_you_mean, validation_problems
from modelplane.spec.types import Name, SpecModel

WAIVERS_FILE = "waivers.yaml"


class WaiverSpec(SpecModel):
    rule: str = Field(min_length=1)
    model: Name
    environment: Name
    reason: str = Field(min_length=10, description="why the exception is acceptable")
    approver: str = Field(min_length=1)
    expires: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD; the waiver stops applying after it")


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
    envs: set[str],
) -> tuple[list[Waiver], list[Problem]]:
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
