"""The Markdown body of a promotion pull request: what changes where, and the evidence for it.

Pure: every fact comes in as data. Values from the registry (tags, sources, approvers) are
escaped like every other Markdown this project writes, so none can add a row or inject markup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from modelplane.history import Run
from modelplane.report.escape import md_cell, md_code


@dataclass(frozen=True)
class Promotion:
    model: str
    model_uri: str  # models:/<registered model>/<version>
    target: str
    upstream: str
    old: int
    new: int
    rollback: bool  # the version ran in the target before and not upstream now
    upstream_run: Run | None  # when the version first ran upstream
    now: int  # seconds since the epoch, for the soak time


def _when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _registry(facts: dict[str, Any], model_uri: str) -> list[str]:
    if not facts.get("found"):
        return [f"- {md_code(model_uri)}: **not in the registry** (modelplane.lock)"]
    if facts.get("approved"):
        who = md_cell(str(facts.get("approvedBy") or "")) or "an unrecorded approver (no `approved_by` tag)"
        at = md_cell(str(facts.get("approvedAt") or "")) or "an unrecorded time (no `approved_at` tag)"
        approval = f"yes, by {who} at {at}"
    else:
        approval = "**no** (tag `approval` is not `approved`)"
    return [
        f"- version: {md_code(model_uri)}, status {md_code(str(facts.get('status') or '-'))}",
        f"- approved: {approval}",
        f"- source: {md_code(str(facts.get('source') or '-'))}",
    ]


def _upstream(p: Promotion) -> str:
    if p.upstream_run is None:
        return f"- v{p.new} never ran in `{p.upstream}`; `{p.target}` ran it before (rollback)"
    hours = (p.now - p.upstream_run.since) / 3600
    commit = p.upstream_run.commit[:12]
    return f"- `{p.upstream}` has run v{p.new} since {_when(p.upstream_run.since)} ({hours:.1f} h, commit `{commit}`)"


def pr_title(p: Promotion) -> str:
    verb = "Roll back" if p.rollback else "Promote"
    return f"{verb} {p.model} to v{p.new} in {p.target}" if p.rollback else f"{verb} {p.model} v{p.new} to {p.target}"


def pr_body(
    p: Promotion, pins: list[tuple[str, int]], facts: dict[str, Any], gate_status: str, gate_report: str
) -> str:
    """`pins` is every environment's version after the change, in promotion order."""
    change = (
        f"`{p.target}` rolls back from v{p.old} to v{p.new}, a version it ran before."
        if p.rollback
        else f"`{p.target}` gets the version `{p.upstream}` runs: v{p.old} → v{p.new}."
    )
    rows = [f"| {env} | {f'v{p.old} → **v{v}**' if env == p.target else f'v{v}'} |" for env, v in pins]
    lines = [
        f"## {pr_title(p)}",
        "",
        change,
        "",
        "| environment | version |",
        "|---|---|",
        *rows,
        "",
        "### Registry (modelplane.lock; CI proves it against MLflow with `modelplane lock --check`)",
        "",
        *_registry(facts, p.model_uri),
        "",
        "### Upstream (git history of rendered/)",
        "",
        _upstream(p),
        "",
        f"### Gate for {p.target}/{p.model}: {gate_status}",
        "",
        gate_report.strip(),
        "",
    ]
    return "\n".join(lines)
