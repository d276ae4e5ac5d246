"""A pull-request comment: verdict, blocking findings, warnings, waivers, model-card scores."""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding


def cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _table(findings: list[Finding], *, waived: bool = False) -> list[str]:
    head = "| environment | model | rule | message | location |"
    rows = [head, "|---|---|---|---|---|"]
    if waived:
        rows = ["| environment | model | rule | reason | approver | expires |", "|---|---|---|---|---|---|"]
    for f in findings:
        if waived and f.waiver is not None:
            w = f.waiver
            who = cell(w.approver)
            rows.append(f"| {f.env} | {f.model} | `{f.rule_id}` | {cell(w.reason)} | {who} | {w.expires} |")
        else:
            where = f"`{f.file}:{f.line}`"
            rows.append(f"| {f.env} | {f.model} | `{f.rule_id}` | {cell(f.message)} | {where} |")
    return rows


def render(report: CheckReport) -> str:
    verdict = "✅ Modelplane policy check passed" if report.passed else "❌ Modelplane policy check failed"
    lines = [f"## {verdict}", "", report.summary(), ""]
    if report.errors:
        lines += ["### Blocking", "", *_table(sorted(report.errors, key=Finding.sort_key)), ""]
    if report.warnings:
        lines += ["### Warnings", "", *_table(sorted(report.warnings, key=Finding.sort_key)), ""]
    if report.waived:
        lines += ["### Waived", "", *_table(sorted(report.waived, key=Finding.sort_key), waived=True), ""]
    if report.cards:
        lines += ["### Model cards", "", "| environment | model | score | missing |", "|---|---|---|---|"]
        for c in sorted(report.cards, key=lambda c: (c.env, c.model)):
            missing = ", ".join(c.missing) or "—"
            lines.append(f"| {c.env} | {c.model} | {c.score}% | {cell(missing)} |")
        lines.append("")
    failing = {(f.env, f.model) for f in report.errors}
    passing = [p for p in sorted(report.pairs) if p not in failing]
    if passing:
        lines += ["<details><summary>Passing pairs</summary>", ""]
        lines += [f"- {env}/{model}" for env, model in passing]
        lines += ["", "</details>", ""]
    return "\n".join(lines)
