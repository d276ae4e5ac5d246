"""The prod gate's holes, end to end: `modelplane check` on a real OPA refuses each one at its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import require_tool
from tests.example_copy import copy_example

CHURN = "models/churn/model.yaml"


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path)


def _edit(repo: Path, old: str, new: str, file: str = CHURN) -> None:
    path = repo / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _check(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["--root", str(repo), "check", "--today", "2026-11-24", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _blocking(report: dict[str, object]) -> set[tuple[str, str, str, int, str]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {(f["rule_id"], f["env"], f["file"], f["line"], f["path"]) for f in findings if f["blocking"]}


def test_blank_owners_block(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, 'owners: ["@acme/growth-ds", "maria.lopez@acme.example"]', 'owners: ["", " "]')
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "churn")
    assert code == 1
    assert _blocking(report) == {
        ("MP-OWN-001", "prod", CHURN, 9, "metadata.owners"),
        ("MP-OWN-003", "prod", CHURN, 9, "metadata.owners[0]"),
        ("MP-OWN-003", "prod", CHURN, 9, "metadata.owners[1]"),
    }


def test_blank_pager_route_blocks_prod(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, "pagerduty: growth-ml-oncall", 'pagerduty: ""')
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "churn")
    assert code == 1
    assert {(r, line) for r, _, _, line, _ in _blocking(report)} == {("MP-OWN-002", 64), ("MP-OWN-004", 64)}


def test_an_override_cannot_drop_the_classification(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, "  prod:\n    serving:\n", "  prod:\n    data: null\n    serving:\n")
    assert main(["--root", str(config_repo), "check", "--today", "2026-11-24"]) == 1
    out = capsys.readouterr().out
    assert (
        f"{CHURN}:82:11: environments.prod.data: the prod override drops the data classification pii "
        "that the model declares" in out
    )


def test_an_override_cannot_downgrade_the_classification(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, "  prod:\n    serving:\n", "  prod:\n    data: {classification: [public]}\n    serving:\n")
    assert main(["--root", str(config_repo), "validate"]) == 1
    out = capsys.readouterr().out
    assert "environments.prod.data.classification: the prod override drops the data classification pii" in out


def test_an_override_may_add_a_class(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, "  prod:\n    serving:\n", "  prod:\n    data: {classification: [pii, phi]}\n    serving:\n")
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "churn")
    assert code == 0 and report["passed"] is True


@pytest.mark.parametrize(
    "field,value,line,message",
    [
        ("reason", "'          .'", 8, "the reason must say why, in at least 10 characters"),
        ("approver", "' '", 9, "the approver must name someone"),
        ("approver", "'@a @b'", 9, "is not one handle or address"),
        ("expires", "9999-12-31", 10, "runs until 9999-12-31, more than 365 days from 2026-11-24"),
    ],
)
def test_weak_waivers_are_refused(
    config_repo: Path, capsys: pytest.CaptureFixture[str], field: str, value: str, line: int, message: str
) -> None:
    waivers = config_repo / "policies/waivers.yaml"
    text = waivers.read_text()
    current = next(row for row in text.splitlines() if row.startswith(f"    {field}: "))
    waivers.write_text(text.replace(current, f"    {field}: {value}"))
    assert main(["--root", str(config_repo), "check", "--today", "2026-11-24"]) == 1
    out = capsys.readouterr().out
    assert f"waivers.yaml:{line}:" in out and message in out


def test_the_environment_sets_the_longest_waiver(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_repo, "limits:\n", "limits:\n  maxWaiverDays: 30\n", "environments/prod.yaml")
    assert main(["--root", str(config_repo), "check", "--today", "2026-11-24"]) == 1
    assert "more than 30 days from 2026-11-24" in capsys.readouterr().out


@pytest.mark.parametrize(
    "old,new,line,path",
    [
        ("  caveats: Scores", "  caveats: Use token ghp_0123456789abcdefghijKLMNOP. Scores", 75, "card.caveats"),
        (
            "    train: {command: [python, -m, churn.train]}",
            "    train: {command: [python, -m, churn.train], args: [--db, 'postgres://ml:hunter2@db/x']}",
            50,
            "training.steps.train.args[1]",
        ),
        (
            "runbookUrl: https://runbooks",
            "runbookUrl: https://bot:s3cret@runbooks",
            65,
            "monitoring.runbookUrl",
        ),
    ],
)
def test_credentials_anywhere_block(
    config_repo: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, line: int, path: str
) -> None:
    _edit(config_repo, old, new)
    code, report = _check(config_repo, capsys, "--model", "churn")
    assert code == 1
    assert {(r, env, ln, p) for r, env, _, ln, p in _blocking(report)} == {
        ("MP-SEC-003", env, line, path) for env in ("dev", "staging", "prod")
    }


def test_an_image_the_compiler_adds_is_held_to_digests_in_prod(
    config_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image in the rendered objects that the spec does not name is held to digests in prod."""
    (config_repo / "policies/waivers.yaml").write_text("waivers: []\n")
    pipeline = config_repo / "rendered/prod/churn/training.yaml"
    text = pipeline.read_text()
    images = {line.split("image: ")[1] for line in text.splitlines() if "image: " in line}
    assert images and all("@sha256:" in image for image in images), "every prod training image is pinned"
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "churn")
    assert code == 0 and not _blocking(report)
    pipeline.write_text(text.replace(sorted(images)[0], "registry.example/unpinned:latest", 1))
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "churn")
    assert code == 1
    assert {(r, path) for r, _, _, _, path in _blocking(report)} == {("MP-IMG-002", "training")}
