"""Compiler-style lines a person reads in a terminal or a CI log (no colour codes)."""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding


def finding_line(f: Finding) -> str:
    level = "error" if f.level == "deny" else "warning"
    where = f" — {f.path}" if f.path else ""
    message = " ".join(f.message.split())  # one finding, one line, whatever the rule wrote
    return f"{f.file}:{f.line}:{f.col}: {level}: [{f.rule_id}] {message} ({f.env}/{f.model}){where}"


def render(report: CheckReport) -> str:
    lines: list[str] = []
    for f in sorted(report.errors + report.warnings, key=Finding.sort_key):
        lines.append(finding_line(f))
        if f.remediation:
            lines.append(f"  remediation: {f.remediation}")
    if report.waived:
        lines.append("waived:")
        for f in report.waived:
            assert f.waiver is not None
            w = f.waiver
            lines.append(f"  {finding_line(f)}")
            lines.append(f"    waived until {w.expires} by {w.approver}: {w.reason}")
    incomplete = [c for c in report.cards if c.score < 100]
    if incomplete:
        lines.append("model cards below 100 %:")
        for c in sorted(incomplete, key=lambda c: (c.env, c.model)):
            lines.append(f"  {c.env}/{c.model}: {c.score}% (missing: {', '.join(c.missing)})")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"
