"""Each report format renders the same findings faithfully and deterministically."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET

from modelplane.gate.results import CardScore, CheckReport, Finding, Waiver
from modelplane.report import FORMATS


def _report(shuffle: bool = False) -> CheckReport:
    deny = Finding(
        "MP-IMG-001",
        "deny",
        "image x:1 is not pinned, by digest: 100%\nreally",
        "prod",
        "churn",
        "models/churn/model.yaml",
        18,
        10,
        "serving.image",
        "Images pinned",
        "Prod uses digests.",
        "Use image@sha256:...",
        "high",
    )
    warn = Finding(
        "MP-CARD-002",
        "warn",
        "model card field limitations is missing",
        "staging",
        "demand-forecast",
        "models/demand-forecast/model.yaml",
        70,
        1,
        "card.limitations",
        "Card fields for staging",
    )
    waiver = Waiver(
        "MP-ROLL-001", "demand-forecast", "prod", "Batch model | rolling is fine", "@acme/ml-platform", "2027-06-30"
    )
    waived = Finding(
        "MP-ROLL-001",
        "deny",
        "prod rollout strategy is rolling",
        "prod",
        "demand-forecast",
        "models/demand-forecast/model.yaml",
        24,
        23,
        "serving.rollout.strategy",
        waiver=waiver,
    )
    findings = [deny, warn, waived]
    pairs = [("prod", "churn"), ("prod", "demand-forecast"), ("staging", "demand-forecast")]
    if shuffle:
        random.Random(7).shuffle(findings)
        random.Random(7).shuffle(pairs)
    card = CardScore("prod", "demand-forecast", 87, ("rollbackPlan", "summary"), ("rollbackPlan",))
    return CheckReport(findings=findings, cards=[card], pairs=pairs, packages=["images", "card", "rollout"])


def test_text_lines() -> None:
    out = FORMATS["text"](_report()).splitlines()
    assert out[0] == (
        "models/churn/model.yaml:18:10: error: [MP-IMG-001] image x:1 is not pinned, by digest: 100% really"
        " (prod/churn) — serving.image"
    )
    assert "  remediation: Use image@sha256:..." in out
    assert "waived:" in out
    assert "  prod/demand-forecast: 87% (missing: rollbackPlan)" in out
    assert out[-1] == (
        "policy check failed: 1 error(s), 1 warning(s), 1 waived, 3 (environment, model) pair(s), 3 policy package(s)"
    )


def test_json_round_trip() -> None:
    data = json.loads(FORMATS["json"](_report()))
    assert data["passed"] is False
    assert data["summary"] == {"errors": 1, "warnings": 1, "waived": 1, "pairs": 3, "packages": 3, "problems": 0}
    waived = next(f for f in data["findings"] if f["rule_id"] == "MP-ROLL-001")
    assert waived["waiver"]["expires"] == "2027-06-30" and waived["blocking"] is False


def test_github_escaping() -> None:
    lines = FORMATS["github"](_report()).splitlines()
    error = next(line for line in lines if line.startswith("::error"))
    assert error.startswith("::error file=models/churn/model.yaml,line=18,col=10,title=MP-IMG-001 Images pinned::")
    assert "pinned, by digest: 100%25%0Areally (prod/churn)%0ARemediation: Use image@sha256:..." in error
    assert any(line.startswith("::warning file=models/demand-forecast/model.yaml,line=70") for line in lines)
    assert any(line.startswith("::notice ") and "waived until 2027-06-30" in line for line in lines)


def test_sarif_structure() -> None:
    data = json.loads(FORMATS["sarif"](_report()))
    assert data["version"] == "2.1.0" and data["$schema"].endswith("sarif-2.1.0.json")
    run = data["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted(rules) == ["MP-CARD-002", "MP-IMG-001", "MP-ROLL-001"]
    results = {r["ruleId"]: r for r in run["results"]}
    image = results["MP-IMG-001"]
    assert image["level"] == "error"
    assert image["locations"][0]["physicalLocation"]["region"] == {"startLine": 18, "startColumn": 10}
    assert image["ruleIndex"] == rules.index("MP-IMG-001")
    assert results["MP-ROLL-001"]["suppressions"] == [
        {"kind": "external", "justification": "Batch model | rolling is fine"}
    ]
    assert results["MP-CARD-002"]["level"] == "warning"


def test_junit_counts() -> None:
    root = ET.fromstring(FORMATS["junit"](_report()))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    suites = {s.get("name"): s for s in root}
    assert suites["prod"].get("failures") == "1" and suites["staging"].get("failures") == "0"
    failure = root.find(".//testcase[@classname='prod.churn']/failure")
    assert failure is not None and failure.get("type") == "MP-IMG-001"
    assert "models/churn/model.yaml:18:10" in (failure.text or "")
    assert root.find(".//testcase[@classname='prod.demand-forecast']/skipped") is not None
    assert "MP-CARD-002" in (root.find(".//testcase[@classname='staging.demand-forecast']/system-out").text or "")  # type: ignore[union-attr]


def test_markdown_tables() -> None:
    out = FORMATS["markdown"](_report())
    assert out.startswith("## ❌ Modelplane policy check failed")
    assert (
        "| prod | churn | `MP-IMG-001` | image x:1 is not pinned, by digest: 100% really"
        " | `models/churn/model.yaml:18` |" in out
    )
    assert (
        "| prod | demand-forecast | `MP-ROLL-001` | Batch model \\| rolling is fine | @acme/ml-platform | 2027-06-30 |"
        in out
    )
    assert "| prod | demand-forecast | 87% | rollbackPlan |" in out


def test_every_format_is_deterministic() -> None:
    for name, render in FORMATS.items():
        assert render(_report()) == render(_report(shuffle=True)), name


def test_a_clean_report_passes() -> None:
    report = CheckReport(pairs=[("dev", "churn")], packages=["images"])
    assert FORMATS["markdown"](report).startswith("## ✅")
    assert json.loads(FORMATS["json"](report))["passed"] is True
