"""SARIF 2.1.0 for code-scanning dashboards; waived findings carry an external suppression."""

from __future__ import annotations

import json
from typing import Any

from modelplane import __version__
from modelplane.gate.results import CheckReport, Finding
from modelplane.problems import Problem

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _level(f: Finding) -> str:
    return "error" if f.level == "deny" else "warning"


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    first: dict[str, Finding] = {}
    for f in findings:
        first.setdefault(f.rule_id, f)
    rules = []
    for rule_id in sorted(first):
        f = first[rule_id]
        rules.append(
            {
                "id": rule_id,
                "name": rule_id,
                "shortDescription": {"text": f.title or rule_id},
                "fullDescription": {"text": f.description or f.title or rule_id},
                "help": {"text": f.remediation or "See the policy's description."},
                "defaultConfiguration": {"level": _level(f)},
            }
        )
    return rules


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": _level(f),
        "message": {"text": f"{f.message} ({f.env}/{f.model})"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.file},
                    "region": {"startLine": max(f.line, 1), "startColumn": max(f.col, 1)},
                }
            }
        ],
        "properties": {"environment": f.env, "model": f.model, "keyPath": f.path},
    }
    if f.waiver is not None:
        result["suppressions"] = [{"kind": "external", "justification": f.waiver.reason}]
    return result


def _problem_rule_id(p: Problem) -> str:
    return f"modelplane/{p.code or 'spec'}"


def _problem_rules(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": f"Modelplane {rule_id.split('/')[1]} problem"},
            "help": {"text": "Fix the file at the line shown; `modelplane validate` lists every problem."},
            "defaultConfiguration": {"level": "error"},
        }
        for rule_id in sorted({_problem_rule_id(p) for p in problems})
    ]


def _problem_result(p: Problem, index: dict[str, int]) -> dict[str, Any]:
    rule_id = _problem_rule_id(p)
    text = f"{p.path}: {p.message}" if p.path else p.message
    return {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "level": "error" if p.severity == "error" else "warning",
        "message": {"text": text + (f" ({p.hint})" if p.hint else "")},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": p.file},
                    "region": {"startLine": max(p.line, 1), "startColumn": max(p.col, 1)},
                }
            }
        ],
    }


def _invocation(report: CheckReport) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": not report.error}
    if report.error:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": report.error}}]
    return invocation


def render(report: CheckReport) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    rules = _rules(findings) + _problem_rules(report.problems)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    data = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelplane",
                        "version": __version__,
                        "informationUri": "https://modelplane.dev",
                        "rules": rules,
                    }
                },
                "invocations": [_invocation(report)],
                "results": [_problem_result(p, index) for p in report.problems] + [_result(f, index) for f in findings],
            }
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
