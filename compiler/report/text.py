"""Compiler-style lines a person reads in a terminal or a CI log (no colour codes)."""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding
from modelplane.report.escape import one_line


def finding_line(f: Finding) -> str:
    level = "error" if f.level == "deny" else "warning"
    where = f" — {one_line(f.path)}" if f.path else ""
    message = " ".join(one_line(f.message).split())  # one finding, one line, whatever the rule wrote
    head = f"{one_line(f.file)}:{f.line}:{f.col}: {level}: [{one_line(f.rule_id)}]"
    return f"{head} {message} ({f.env}/{f.model}){where}"


def render(report: CheckReport) -> str:
    lines = [one_line(p.render()) for p in report.problems]
    for f in sorted(report.errors + report.warnings, key=Finding.sort_key):
        lines.append(finding_line(f))
        if f.remediation:
            lines.append(f"  remediation: {one_line(f.remediation)}")
    if report.waived:
        lines.append("waived:")
        for f in report.waived:
            assert f.waiver is not None
            w = f.waiver
            lines.append(f"  {finding_line(f)}")
            lines.append(f"    waived until {w.expires} by {one_line(w.approver)}: {one_line(w.reason)}")
    incomplete = [c for c in report.cards if c.score < 100]
    if incomplete:
        lines.append("model cards below 100 %:")
        for c in sorted(incomplete, key=lambda c: (c.env, c.model)):
            lines.append(f"  {c.env}/{c.model}: {c.score}% (missing: {', '.join(c.missing)})")
    if not report.error:  # the gate's own error goes to stderr as one line; nothing to add here
        lines.append(one_line(report.summary()))
    return "".join(f"{line}\n" for line in lines)
