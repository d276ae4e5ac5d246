"""GitHub Actions workflow commands: annotations on the YAML lines in the pull request."""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    command = "notice" if f.waiver else ("error" if f.level == "deny" else "warning")
    title = f"{f.rule_id} {f.title}".strip()
    props = f"file={escape_property(f.file)},line={f.line},col={f.col},title={escape_property(title)}"
    message = f"{f.message} ({f.env}/{f.model})"
    if f.waiver:
        message += f" — waived until {f.waiver.expires} by {f.waiver.approver}: {f.waiver.reason}"
    elif f.remediation:
        message += f"\nRemediation: {f.remediation}"
    return f"::{command} {props}::{escape_data(message)}"


def render(report: CheckReport) -> str:
    lines = [annotation(f) for f in sorted(report.findings, key=Finding.sort_key)]
    lines.append(report.summary())
    return "\n".join(lines) + "\n"
