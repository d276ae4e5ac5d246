"""A pull-request comment: verdict, blocking findings, warnings, waivers, model-card scores.

Every cell goes through `md_cell`/`md_code`: no value can add a row, close the table or inject
HTML into the comment.
"""

from __future__ import annotations

from modelplane.gate.results import CheckReport, Finding
from modelplane.report.escape import md_cell, md_code


def cell(value: str) -> str:
    return md_cell(value)


def _table(findings: list[Finding], *, waived: bool = False) -> list[str]:
    head = "| environment | model | rule | message | location |"
    rows = [head, "|---|---|---|---|---|"]
    if waived:
        rows = ["| environment | model | rule | reason | approver | expires |", "|---|---|---|---|---|---|"]
    for f in findings:
        who = f"| {cell(f.env)} | {cell(f.model)} | {md_code(f.rule_id)} |"
        if waived and f.waiver is not None:
            w = f.waiver
            rows.append(f"{who} {cell(w.reason)} | {cell(w.approver)} | {cell(w.expires)} |")
        else:
            rows.append(f"{who} {cell(f.message)} | {md_code(f'{f.file}:{f.line}')} |")
    return rows


def _halted(report: CheckReport) -> list[str]:
    title = "⚠️ Modelplane policy check could not run" if report.error else "❌ Modelplane policy check stopped"
    lines = [f"## {title}", "", cell(report.summary()), ""]
    if report.problems:
        lines += ["| file | line | key | problem |", "|---|---|---|---|"]
        for p in report.problems:
            text = p.message + (f" ({p.hint})" if p.hint else "")
            lines.append(f"| {md_code(p.file)} | {p.line} | {md_code(p.path)} | {cell(text)} |")
        lines.append("")
    return lines


def render(report: CheckReport) -> str:
    if report.stopped:
        return "\n".join(_halted(report))
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
            lines.append(f"| {cell(c.env)} | {cell(c.model)} | {c.score}% | {cell(missing)} |")
        lines.append("")
    failing = {(f.env, f.model) for f in report.errors}
    passing = [p for p in sorted(report.pairs) if p not in failing]
    if passing:
        lines += ["<details><summary>Passing pairs</summary>", ""]
        lines += [f"- {cell(env)}/{cell(model)}" for env, model in passing]
        lines += ["", "</details>", ""]
    return "\n".join(lines)
