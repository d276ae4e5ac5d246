"""JUnit XML: a suite per environment, a test case per (model, environment); CI dashboards read it.

Every text and attribute goes through `xml_safe`, so the document is well-formed whatever a spec
or a policy wrote. Problems that stopped the check are a `specs` suite of failures; a gate that
could not run is a `modelplane` suite with one error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from modelplane.gate.results import CheckReport, Finding
from modelplane.problems import Problem
from modelplane.report.escape import xml_safe


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: xml_safe(value) for key, value in attrs.items()})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _case(suite: ET.Element, env: str, model: str, findings: list[Finding]) -> tuple[int, int]:
    case = _el(suite, "testcase", classname=f"{env}.{model}", name="policies")
    blocking = [f for f in findings if f.blocking]
    waived = [f for f in findings if f.waiver is not None]
    warnings = [f for f in findings if f.level == "warn" and f.waiver is None]
    for f in blocking:
        remedy = f"\nremediation: {f.remediation}" if f.remediation else ""
        text = f"{f.file}:{f.line}:{f.col}: {f.path}{remedy}"
        _el(case, "failure", text, message=f"[{f.rule_id}] {f.message}", type=f.rule_id)
    if warnings:
        _el(case, "system-out", "\n".join(f"warning: {f.file}:{f.line}: [{f.rule_id}] {f.message}" for f in warnings))
    skipped = 0
    if waived and not blocking:
        reasons = "; ".join(f"{f.rule_id}: {f.waiver.reason}" for f in waived if f.waiver)
        _el(case, "skipped", message=f"waived: {reasons}")
        skipped = 1
    return (1 if blocking else 0), skipped


def _counts(suite: ET.Element, tests: int, failures: int, errors: int, skipped: int) -> None:
    for key, value in (("tests", tests), ("failures", failures), ("errors", errors), ("skipped", skipped)):
        suite.set(key, str(value))


def _problems_suite(root: ET.Element, problems: list[Problem]) -> int:
    suite = _el(root, "testsuite", name="specs")
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    for file, found in sorted(by_file.items()):
        case = _el(suite, "testcase", classname="specs", name=file)
        for p in found:
            _el(case, "failure", p.render(), message=f"{p.path}: {p.message}", type=p.code or "spec")
    _counts(suite, len(by_file), len(by_file), 0, 0)
    return len(by_file)


def render(report: CheckReport) -> str:
    root = _el(ET.Element("root"), "testsuites", name="modelplane check")
    totals = [0, 0, 0, 0]  # tests, failures, errors, skipped
    if report.problems:
        failed = _problems_suite(root, report.problems)
        totals = [failed, failed, 0, 0]
    if report.error:
        suite = _el(root, "testsuite", name="modelplane")
        case = _el(suite, "testcase", classname="modelplane", name="policy gate")
        _el(case, "error", report.error, message="the policy gate could not run", type="gate")
        _counts(suite, 1, 0, 1, 0)
        totals = [totals[0] + 1, totals[1], 1, 0]
    by_env: dict[str, list[str]] = {}
    for env, model in sorted(report.pairs):
        by_env.setdefault(env, []).append(model)
    for env, models in sorted(by_env.items()):
        suite = _el(root, "testsuite", name=env)
        failures = skipped = 0
        for model in models:
            found = sorted((f for f in report.findings if (f.env, f.model) == (env, model)), key=Finding.sort_key)
            failed, skip = _case(suite, env, model, found)
            failures += failed
            skipped += skip
        _counts(suite, len(models), failures, 0, skipped)
        totals = [totals[0] + len(models), totals[1] + failures, totals[2], totals[3] + skipped]
    _counts(root, *totals)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
