"""JUnit XML: a suite per environment, a test case per (model, environment); CI dashboards read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from modelplane.gate.results import CheckReport, Finding


def _case(suite: ET.Element, env: str, model: str, findings: list[Finding]) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", {"classname": f"{env}.{model}", "name": "policies"})
    blocking = [f for f in findings if f.blocking]
    waived = [f for f in findings if f.waiver is not None]
    warnings = [f for f in findings if f.level == "warn" and f.waiver is None]
    for f in blocking:
        failure = ET.SubElement(case, "failure", {"message": f"[{f.rule_id}] {f.message}", "type": f.rule_id})
        remedy = f"\nremediation: {f.remediation}" if f.remediation else ""
        failure.text = f"{f.file}:{f.line}:{f.col}: {f.path}{remedy}"
    if warnings:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(f"warning: {f.file}:{f.line}: [{f.rule_id}] {f.message}" for f in warnings)
    skipped = 0
    if waived and not blocking:
        reasons = "; ".join(f"{f.rule_id}: {f.waiver.reason}" for f in waived if f.waiver)
        ET.SubElement(case, "skipped", {"message": f"waived: {reasons}"})
        skipped = 1
    return (1 if blocking else 0), skipped


def render(report: CheckReport) -> str:
    root = ET.Element("testsuites", {"name": "modelplane check"})
    by_env: dict[str, list[str]] = {}
    for env, model in sorted(report.pairs):
        by_env.setdefault(env, []).append(model)
    totals = [0, 0, 0]
    for env, models in sorted(by_env.items()):
        suite = ET.SubElement(root, "testsuite", {"name": env})
        failures = skipped = 0
        for model in models:
            found = sorted((f for f in report.findings if (f.env, f.model) == (env, model)), key=Finding.sort_key)
            failed, skip = _case(suite, env, model, found)
            failures += failed
            skipped += skip
        suite.set("tests", str(len(models)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        totals = [totals[0] + len(models), totals[1] + failures, totals[2] + skipped]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    root.set("skipped", str(totals[2]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
