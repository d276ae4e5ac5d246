"""Hostile text in every report format: no forged annotations, always well-formed, one line stays one line."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.gate.results import CheckReport, Finding, Waiver
from modelplane.problems import Problem
from modelplane.report import FORMATS
from tests.conftest import require_tool
from tests.example_copy import copy_example

FORGED = "growth\n::error file=environments/prod.yaml,title=Approved::All good, merge it"
STOP = "key\n::stop-commands::x"
NASTY = f"{FORGED} | <script>x</script> `tick` \\ \x00\x1b[31m\x07 %0A \r\n::warning::y {STOP}"


def _finding(rule_id: str, level: str, env: str, line: int, **extra: object) -> Finding:
    fields: dict[str, object] = {"message": NASTY, "model": "churn", "file": "models/churn/model.yaml", "col": 1}
    fields.update(extra)
    return Finding(rule_id=rule_id, level=level, env=env, line=line, **fields)  # type: ignore[arg-type]


def _hostile_report() -> CheckReport:
    deny = _finding(f"MP-X|{STOP}", "deny", "prod", 3, col=5, path=STOP, title=FORGED, remediation=NASTY)
    warn = _finding("MP-W", "warn", "dev", 4, path="metadata.team")
    waiver = Waiver("MP-X", "churn", "staging", NASTY, FORGED, "2027-01-01")
    waived = _finding("MP-X", "deny", "staging", 5, path="x", waiver=waiver)
    pairs = [("dev", "churn"), ("prod", "churn"), ("staging", "churn")]
    return CheckReport(findings=[deny, warn, waived], pairs=pairs, packages=["modelplane.x"])


def _problem_report() -> CheckReport:
    problem = Problem("models/churn/model.yaml", 4, 9, STOP, NASTY, FORGED)
    return CheckReport.halted("check stopped: 1 problem(s) in the specs", [problem])


def _error_report() -> CheckReport:
    return CheckReport.halted(f"policy check could not run: {NASTY}", error=NASTY)


REPORTS = {"findings": _hostile_report, "problems": _problem_report, "error": _error_report}


def _workflow_commands(out: str) -> list[str]:
    return [line.split(" ", 1)[0].split("::")[1] for line in out.splitlines() if line.startswith("::")]


@pytest.mark.parametrize(
    "kind,expected", [("findings", ["warning", "error", "notice"]), ("problems", ["error"]), ("error", ["error"])]
)
def test_github_annotations_cannot_be_forged_or_stopped(kind: str, expected: list[str]) -> None:
    out = FORMATS["github"](REPORTS[kind]())
    assert _workflow_commands(out) == expected
    assert len(out.splitlines()) == len(expected) + 1  # the annotations and the summary, nothing else
    assert "stop-commands" not in "".join(line[:20] for line in out.splitlines())
    assert "\r" not in out
    assert "%0A::error file=environments/prod.yaml,title=Approved::All good, merge it" in out


def test_github_property_separators_are_escaped() -> None:
    out = next(line for line in FORMATS["github"](_hostile_report()).splitlines() if line.startswith("::error"))
    props = out.split("::")[1]
    # file, line, col, title: exactly three separators; the title's commas and colons are escaped
    assert props.count(",") == 3 and "title=MP-X|key%0A%3A%3Astop-commands%3A%3Ax growth%0A%3A%3Aerror" in props


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_junit_is_well_formed_xml(kind: str) -> None:
    root = ET.fromstring(FORMATS["junit"](REPORTS[kind]()))
    assert root.tag == "testsuites"
    if kind == "error":
        assert root.get("errors") == "1" and root.find(".//error") is not None
    if kind == "problems":
        assert root.get("failures") == "1"
        assert "\\x1b[31m" in (root.find(".//failure").get("message") or "")  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_sarif_and_json_are_valid_and_keep_the_text(kind: str) -> None:
    sarif = json.loads(FORMATS["sarif"](REPORTS[kind]()))
    run = sarif["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is (kind != "error")
    texts = [r["message"]["text"] for r in run["results"]]
    texts += [n["message"]["text"] for n in run["invocations"][0].get("toolExecutionNotifications", [])]
    assert any(NASTY in t for t in texts)
    data = json.loads(FORMATS["json"](REPORTS[kind]()))
    assert data["passed"] is False


def _cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_markdown_tables_cannot_be_broken(kind: str) -> None:
    out = FORMATS["markdown"](REPORTS[kind]())
    rows = [line for line in out.splitlines() if line.startswith("|")]
    for row in rows:
        assert row.endswith("|")
    widths = {_cells(row) for row in rows if not row.startswith("|---")}
    assert widths <= {4, 5, 6}  # the tables' own widths, never more cells
    for line in out.splitlines():
        assert not line.startswith("::") and not re.search(r"(?<!\\)<script", line)
    assert "\x00" not in out and "\x1b" not in out


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_text_is_one_line_per_entry(kind: str) -> None:
    out = FORMATS["text"](REPORTS[kind]())
    assert not any(line.startswith("::") for line in out.splitlines())
    assert "\x1b" not in out and "\r" not in out and "\x00" not in out


# End to end: the same attacks through the CLI.


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def _forge(repo: Path) -> None:
    spec = repo / "models/churn/model.yaml"
    text = spec.read_text()
    assert "team: growth-ds" in text
    spec.write_text(text.replace("team: growth-ds", f"team: {json.dumps(FORGED)}", 1) + f"{json.dumps(STOP)}: 1\n")


def test_validate_github_cannot_be_forged(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _forge(config_repo)
    assert main(["--root", str(config_repo), "validate", "--format", "github"]) == 1
    out = capsys.readouterr().out
    commands = _workflow_commands(out)
    assert commands and set(commands) == {"error"}
    assert all(line.startswith("::error file=models/churn/model.yaml,") for line in out.splitlines())


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "markdown"])
def test_check_stopped_by_spec_problems_speaks_its_format(
    config_repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    _forge(config_repo)
    assert main(["--root", str(config_repo), "check", "--format", fmt]) == 1
    _assert_document(fmt, capsys.readouterr().out, failed=True)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "markdown"])
def test_check_that_cannot_run_speaks_its_format(
    config_repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    require_tool("opa")
    shutil.rmtree(config_repo / "policies")
    (config_repo / "policies").mkdir()
    assert main(["--root", str(config_repo), "check", "--format", fmt]) == 2
    out, err = capsys.readouterr()
    assert "no policy modules" in err and "no policy modules" in out
    _assert_document(fmt, out, failed=True)


def _assert_document(fmt: str, out: str, failed: bool) -> None:
    if fmt == "json":
        assert json.loads(out)["passed"] is not failed
    elif fmt == "sarif":
        assert json.loads(out)["version"] == "2.1.0"
    elif fmt == "junit":
        root = ET.fromstring(out)
        assert int(root.get("failures") or 0) + int(root.get("errors") or 0) >= 1
    elif fmt == "github":
        assert _workflow_commands(out)[0] == "error"
    else:
        assert out.startswith("## ❌") or out.startswith("## ⚠️")
