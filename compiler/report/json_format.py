"""Machine-readable results: every finding with all its fields, sorted keys, no timestamps."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from modelplane.gate.results import CheckReport, Finding


def _finding(f: Finding) -> dict[str, Any]:
    data = dataclasses.asdict(f)
    data["blocking"] = f.blocking
    return data


def render(report: CheckReport) -> str:
    data = {
        "passed": report.passed,
        "error": report.error or None,
        "stopped": report.stopped or None,
        "problems": [p.as_dict() for p in report.problems],
        "summary": {
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "waived": len(report.waived),
            "pairs": len(report.pairs),
            "packages": len(report.packages),
            "problems": len(report.problems),
        },
        "findings": [_finding(f) for f in sorted(report.findings, key=Finding.sort_key)],
        "cards": [dataclasses.asdict(c) for c in sorted(report.cards, key=lambda c: (c.env, c.model))],
        "pairs": [list(p) for p in sorted(report.pairs)],
        "packages": sorted(report.packages),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
