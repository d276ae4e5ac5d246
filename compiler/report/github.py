"""GitHub Actions workflow commands: annotations on the YAML lines in the pull request.

Escaped per GitHub's rules: in data `%`, CR and LF; in properties also `:` and `,`. So a message
or a key that contains a newline and `::error ...` or `::stop-commands::` stays inside its own
annotation and cannot forge another one or switch later ones off.
"""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding
from modelplane.problems import Problem
from modelplane.report.escape import one_line


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: str | int) -> str:
    """`::name k=v,...::message`, every property and the message escaped."""
    shown = ",".join(f"{key}={escape_property(str(value))}" for key, value in props.items())
    return f"::{name}{' ' if shown else ''}{shown}::{escape_data(message)}"


def annotation(f: Finding) -> str:
    name = "notice" if f.waiver else ("error" if f.level == "deny" else "warning")
    title = f"{f.rule_id} {f.title}".strip()
    message = f"{f.message} ({f.env}/{f.model})"
    if f.waiver:
        message += f" — waived until {f.waiver.expires} by {f.waiver.approver}: {f.waiver.reason}"
    elif f.remediation:
        message += f"\nRemediation: {f.remediation}"
    return command(name, message, file=f.file, line=f.line, col=f.col, title=title)


def problem_annotation(p: Problem) -> str:
    """A spec problem (validate, or check stopped early) as an annotation at its line."""
    name = "error" if p.severity == "error" else "warning"
    text = f"{p.path}: {p.message}" if p.path else p.message
    text += f" ({p.hint})" if p.hint else ""
    return command(name, text, file=p.file, line=p.line, col=p.col)


def render(report: CheckReport) -> str:
    lines = [problem_annotation(p) for p in report.problems]
    lines += [annotation(f) for f in sorted(report.findings, key=Finding.sort_key)]
    if report.error:
        lines.append(command("error", report.error, title="modelplane check could not run"))
    lines.append(one_line(report.summary()))  # plain log text: one line, so it cannot start a command
    return "\n".join(lines) + "\n"
