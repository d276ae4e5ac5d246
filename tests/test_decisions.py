"""Decisions kept in git: `check --record` writes rendered/<env>/decisions.json, byte-stable, and
`check --record --check` names every decision its inputs no longer match. Real OPA and helm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import ROOT, require_tool
from tests.example_copy import copy_example


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path / "config")


def _decisions(root: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text(encoding="utf-8") for p in sorted((root / "rendered").glob("*/decisions.json"))}


def test_the_committed_decisions_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(ROOT), "check", "--record", "--check"]) == 0
    assert "the decisions of 9 (environment, model) pair(s) are current" in capsys.readouterr().out


def test_recording_twice_gives_the_committed_bytes(config_repo: Path) -> None:
    committed = _decisions(config_repo)
    for name in ("dev", "staging", "prod"):
        (config_repo / "rendered" / name / "decisions.json").unlink()
    assert main(["--root", str(config_repo), "check", "--record"]) == 0
    first = _decisions(config_repo)
    assert main(["--root", str(config_repo), "check", "--record"]) == 0
    assert _decisions(config_repo) == first == committed
    prod = json.loads(first["prod"])["models"]
    assert "timestamp" not in first["prod"] and prod["churn"]["outcome"] == "pass"
    waived = prod["fraud-detection"]
    assert waived["waivers"][0]["rule"] == "MP-ROLL-003" and waived["waivers"][0]["approver"] == "@acme/ml-platform"
    assert waived["card"] == {"missing": [], "score": 100} and waived["registry"]["version"] == 12
    leftovers = [p for p in (config_repo / "rendered").rglob(".*") if p.name != ".modelplane-output"]
    assert leftovers == []  # atomic writes leave no temporary files


def test_a_changed_input_makes_its_decisions_stale(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("helm")
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("replicas: {min: 3, max: 12}", "replicas: {min: 3, max: 14}"))
    assert main(["--root", str(config_repo), "compile"]) == 0
    assert set(_decisions(config_repo)) == {"dev", "staging", "prod"}  # compile keeps them
    capsys.readouterr()
    assert main(["--root", str(config_repo), "check", "--record", "--check"]) == 1
    out = capsys.readouterr().out.splitlines()
    stale = [line for line in out if line.endswith("stale (its inputs changed since the decision was recorded)")]
    assert [line.split("rendered/")[1] for line in stale] == [
        "dev/decisions.json: churn: stale (its inputs changed since the decision was recorded)",
        "prod/decisions.json: churn: stale (its inputs changed since the decision was recorded)",
        "staging/decisions.json: churn: stale (its inputs changed since the decision was recorded)",
    ]
    assert main(["--root", str(config_repo), "compile", "--check"]) == 0  # decisions are not compile's
    assert main(["--root", str(config_repo), "check", "--record", "--model", "churn", "--env", "prod"]) == 0
    capsys.readouterr()
    assert main(["--root", str(config_repo), "check", "--record", "--check", "--env", "prod"]) == 0


def test_waivers_and_policies_are_inputs(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = config_repo / "policies/waivers.yaml"
    waivers.write_text(waivers.read_text().replace("Canary tracked in SCM-311.", "Canary tracked in SCM-312."))
    (config_repo / "policies/extra.rego").write_text(
        "package modelplane.extra\n\nwarn contains v if {\n\tfalse\n\tv := {}\n}\n"
    )
    assert main(["--root", str(config_repo), "check", "--record", "--check"]) == 1
    out = capsys.readouterr().out
    assert out.count(": stale") == 9  # the policy bundle changed for every pair
    assert "prod/decisions.json: demand-forecast: stale" in out


def test_removed_models_and_missing_files(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(config_repo / "models/fraud-detection")
    (config_repo / "rendered/dev/decisions.json").unlink()
    assert main(["--root", str(config_repo), "check", "--record", "--check"]) == 1
    out = capsys.readouterr().out
    assert f"{config_repo}/rendered/dev/decisions.json: churn: no decision recorded" in out
    assert (
        f"{config_repo}/rendered/prod/decisions.json: fraud-detection: recorded for a model that is not in prod" in out
    )
    assert main(["--root", str(config_repo), "check", "--check"]) == 2
    assert capsys.readouterr().err.strip() == (
        "modelplane check: error: --check goes with --record: it checks the recorded decisions"
    )
