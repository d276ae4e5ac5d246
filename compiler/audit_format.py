"""`modelplane audit` output: text, JSON, CSV and Markdown, from one data shape.

Commit messages, author names and spec values are untrusted: text output escapes control
characters, Markdown cells go through `md_cell`, and CSV cells that a spreadsheet would run as
a formula (`=`, `+`, `-`, `@`, tab, carriage return first) are prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from modelplane.audit import Audit, Entry, Timeline, iso_time
from modelplane.plan_format import show
from modelplane.report.escape import md_cell, one_line

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def version_text(entry: Entry) -> str:
    def v(n: int | None) -> str:
        return f"v{n}" if n is not None else "—"

    if entry.version_before == entry.version_after:
        return v(entry.version_after)
    return f"{v(entry.version_before)} → {v(entry.version_after)}"


def _landed(entry: Entry) -> str:
    if entry.pr is not None:
        return f"PR #{entry.pr}"
    return "direct push" if entry.landed == "direct" else "merge"


def decision_text(entry: Entry) -> str:
    d = entry.decision
    if d is None:
        return "none recorded"
    card = f", card {d['card']} %" if d.get("card") is not None else ""
    state = "" if d["current"] else " (for other rendered output)"
    return f"{d['outcome']}{card}{state}"


def _waivers(entry: Entry) -> str:
    return "; ".join(f"{w.get('rule')} by {w.get('approver')} until {w.get('expires')}" for w in entry.waivers)


def entry_data(entry: Entry) -> dict[str, Any]:
    return {
        "commit": entry.commit,
        "author": entry.author,
        "email": entry.email,
        "date": iso_time(entry.date),
        "subject": entry.subject,
        "pullRequest": entry.pr,
        "landed": entry.landed,
        "version": {"before": entry.version_before, "after": entry.version_after},
        "changes": [c.as_dict() for c in entry.changes],
        "runsChanged": entry.runs_changed,
        "decision": entry.decision,
        "waivers": entry.waivers,
        "flags": entry.flags,
        "unreadable": entry.unreadable,
    }


def audit_data(audit: Audit) -> dict[str, Any]:
    return {
        "commits": audit.commits,
        "flagged": len(audit.flagged),
        "timelines": [
            {"environment": t.env, "model": t.model, "entries": [entry_data(e) for e in t.entries]}
            for t in audit.timelines
        ],
    }


def summary(audit: Audit) -> str:
    entries = sum(len(t.entries) for t in audit.timelines)
    return (
        f"audit: {audit.commits} commit(s) walked, {len(audit.timelines)} (environment, model) timeline(s), "
        f"{entries} change(s), {len(audit.flagged)} flagged"
    )


def what_changed(entry: Entry) -> str:
    seen: list[str] = []
    for change in entry.changes:
        label = change.category + (" (breaking)" if change.breaking else "")
        if label not in seen:
            seen.append(label)
    if entry.runs_changed and not seen:
        seen.append("rendered output")
    return ", ".join(seen) or "—"


def render_text(audit: Audit) -> str:
    lines = []
    for timeline in audit.timelines:
        lines.append(f"{timeline.env}/{timeline.model}")
        for e in timeline.entries:
            who = one_line(f"{e.author} <{e.email}>")
            lines.append(
                f"  {iso_time(e.date)} {e.commit[:12]} {who} {_landed(e)}  {version_text(e)}  {what_changed(e)}"
            )
            lines.append(f"      {one_line(e.subject)}")
            for change in e.changes:
                where = f"{change.path}: " if change.path else ""
                why = f" — BREAKING: {change.breaking}" if change.breaking else ""
                lines.append(
                    f"      {change.category}: {one_line(where)}{show(change.before)} → {show(change.after)}{why}"
                )
            lines.append(
                f"      decision: {decision_text(e)}" + (f"; waivers: {one_line(_waivers(e))}" if e.waivers else "")
            )
            lines += [f"      unreadable: {one_line(u)}" for u in e.unreadable]
            lines += [f"      FLAG: {one_line(f)}" for f in e.flags]
    lines.append(summary(audit))
    return "\n".join(lines) + "\n"


def render_json(audit: Audit) -> str:
    return json.dumps(audit_data(audit), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def render_csv(audit: Audit) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["environment", "model", "date", "commit", "author", "email", "subject", "pull_request", "landed"]
    header += ["version_before", "version_after", "changes", "breaking", "decision", "waivers", "flags", "unreadable"]
    writer.writerow(header)
    for t in audit.timelines:
        for e in t.entries:
            row: list[object] = [t.env, t.model, iso_time(e.date), e.commit, e.author, e.email, e.subject]
            row += [e.pr or "", e.landed]
            row += [
                e.version_before,
                e.version_after,
                what_changed(e),
                "; ".join(c.breaking for c in e.changes if c.breaking),
            ]
            row += [decision_text(e), _waivers(e), "; ".join(e.flags), "; ".join(e.unreadable)]
            writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def _markdown_timeline(timeline: Timeline) -> list[str]:
    lines = [
        f"### {md_cell(timeline.env)}/{md_cell(timeline.model)}",
        "",
        "| date | commit | author | landed | version | what changed | decision | waivers | flags |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in timeline.entries:
        flags = "⚠️ " + md_cell("; ".join(e.flags + e.unreadable)) if e.flags or e.unreadable else ""
        lines.append(
            f"| {iso_time(e.date)[:10]} | `{e.commit[:12]}` | {md_cell(e.author)} | {md_cell(_landed(e))} "
            f"| {md_cell(version_text(e))} | {md_cell(what_changed(e))} | {md_cell(decision_text(e))} "
            f"| {md_cell(_waivers(e))} | {flags} |"
        )
    return [*lines, ""]


def render_markdown(audit: Audit) -> str:
    lines = ["## Modelplane audit", "", md_cell(summary(audit)), ""]
    for timeline in audit.timelines:
        lines += _markdown_timeline(timeline)
    return "\n".join(lines) + "\n"


FORMATS = {"text": render_text, "json": render_json, "csv": render_csv, "markdown": render_markdown}
