"""Promotion end to end on a real git history: pins moving dev → staging → prod, a hand edit
that skips staging, a soak too short, a rollback, refusals, a forged lock, no history at all.

One history is built per module with the real compiler and a real sqlite MLflow registry:

    2026-11-01  dev, staging and prod run churn v7
    2026-11-02  dev runs v8
    2026-11-03  staging runs v8 (promoted)
    2026-11-04  dev runs v9 (registered, not approved)

Each test works in its own `git clone` of it, as a developer or CI would. The gate is the real
OPA with the starter policies; `--base main` is what CI passes (the branch a PR merges into).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelplane.demo_registry import DEMO_APPROVER, seed
from modelplane.repo import load_repo
from tests.conftest import require_tool
from tests.example_copy import copy_example
from tests.mlflow_server import mlflow_server
from tests.promotion_repo import CHURN, commit_all, git, line_of, merge, mp, pin, set_base_version


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the origin repository, its registry URI)."""
    from mlflow.tracking import MlflowClient

    require_tool("helm")
    require_tool("opa")
    work = tmp_path_factory.mktemp("promotion")
    root = copy_example(work / "origin", history=False)
    git(root, "init", "-q", "-b", "main")
    uri = f"sqlite:///{work}/mlflow.db"
    repo, problems = load_repo(root)
    assert problems == []
    seed(repo, uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for version in (8, 9):
        client.create_model_version("churn", source=f"s3://acme-models/churn/{version}")
    approval = {"approval": "approved", "approved_by": DEMO_APPROVER, "approved_at": "2026-11-02T09:00:00Z"}
    for key, value in approval.items():
        client.set_model_version_tag("churn", "8", key, value)
    pin(root, "staging", 7)
    pin(root, "prod", 7)
    merge(root, uri, "every environment runs churn v7", "2026-11-01T10:00:00Z")
    set_base_version(root, 8)
    merge(root, uri, "dev runs churn v8", "2026-11-02T10:00:00Z")
    pin(root, "staging", 8)
    merge(root, uri, "Promote churn v8 to staging (from dev)", "2026-11-03T10:00:00Z")
    set_base_version(root, 9)
    merge(root, uri, "dev runs churn v9", "2026-11-04T10:00:00Z")
    return root, uri


@pytest.fixture()
def clone(history: tuple[Path, str], tmp_path: Path) -> Iterator[Path]:
    origin, _ = history
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True)
    yield dest


@pytest.fixture()
def uri(history: tuple[Path, str]) -> str:
    return history[1]


def _check(root: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = mp(root, "check", "--env", "prod", "--model", "churn", "--format", "json", *argv)
    return code, json.loads(capsys.readouterr().out)


def _blocking(report: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    return {f["rule_id"]: (f["file"], f["line"], f["message"]) for f in report["findings"] if f["blocking"]}


def _untouched(root: Path, head: str) -> None:
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "branch", "--list", "promote/*") == ""


def _hours_ago(hours: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_promote_to_prod_in_order_passes_the_prod_gate(
    clone: Path, uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.md"
    assert mp(clone, "promote", "churn", "--to", "prod", "--git", "--pr-body", str(body), "--tracking-uri", uri) == 0
    assert git(clone, "branch", "--show-current").strip() == "promote/churn-prod-v8"
    assert git(clone, "log", "-1", "--format=%s").strip() == "Promote churn v8 to prod (from staging)"
    text = body.read_text(encoding="utf-8")
    assert "| dev | v9 |" in text and "| staging | v8 |" in text and "| prod | v7 → **v8** |" in text
    assert f"- approved: yes, by {DEMO_APPROVER} at 2026-11-02T09:00:00Z" in text
    assert "`staging` has run v8 since 2026-11-03 10:00 UTC" in text
    assert "### Gate for prod/churn: passed" in text and "| prod | churn | 100% |" in text
    code, report = _check(clone, capsys, "--base", "main")
    assert code == 0 and _blocking(report) == {}
    capsys.readouterr()
    assert mp(clone, "lock", "--check", "--changed-since", "main", "--tracking-uri", uri) == 0
    out = capsys.readouterr().out
    assert "changed since main: prod/churn: v7 -> v8" in out and "modelplane.lock: matches the registry" in out
    serving = (clone / "rendered/prod/churn/serving.yaml").read_text(encoding="utf-8")
    assert "value: models:/churn/8" in serving and "value: s3://acme-models/churn/8" in serving


def test_a_hand_edit_that_skips_staging_fails_the_gate_at_the_pin(
    clone: Path, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    git(clone, "switch", "-q", "-c", "skip-staging")
    pin(clone, "prod", 9)
    merge(clone, uri, "prod straight to v9", _hours_ago(0))
    line = line_of(clone, CHURN, "      version: 9", after="  prod:")
    code, report = _check(clone, capsys, "--base", "main")
    assert code == 1
    blocking = _blocking(report)
    assert blocking["MP-PROM-002"] == (CHURN, line, "churn v9 never ran in staging; promote it there first")
    assert blocking["MP-REG-002"][:2] == (CHURN, line), "and the registry never approved it"
    # Counted from the branch itself, its own commit would look like a version prod already ran:
    # this is why CI passes --base (the branch the pull request merges into).
    code, report = _check(clone, capsys)
    assert "MP-PROM-002" not in _blocking(report)


def test_a_soak_too_short_upstream_blocks(clone: Path, uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    pin(clone, "staging", 9)
    merge(clone, uri, "Promote churn v9 to staging (from dev)", _hours_ago(3))
    git(clone, "switch", "-q", "-c", "too-soon")
    pin(clone, "prod", 9)
    merge(clone, uri, "prod to v9", _hours_ago(0))
    code, report = _check(clone, capsys, "--base", "main")
    assert code == 1
    _, line, message = _blocking(report)["MP-PROM-003"]
    assert line == line_of(clone, CHURN, "      version: 9", after="  prod:")
    assert re.fullmatch(r"churn v9 has run in staging for 3(\.\d+)? h; prod needs 24 h", message), message
    assert "MP-PROM-002" not in _blocking(report)


def test_a_rollback_to_a_version_prod_ran_before(
    clone: Path, uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin(clone, "prod", 8)
    merge(clone, uri, "Promote churn v8 to prod (from staging)", "2026-11-05T10:00:00Z")
    body = tmp_path / "body.md"
    argv = ["promote", "churn", "--to", "prod", "--version", "7", "--git", "--pr-body", str(body)]
    assert mp(clone, *argv, "--tracking-uri", uri) == 0
    assert git(clone, "log", "-1", "--format=%s").strip() == "Roll back churn to v7 in prod"
    assert "`prod` rolls back from v8 to v7, a version it ran before." in body.read_text(encoding="utf-8")
    code, report = _check(clone, capsys, "--base", "main")
    assert code == 0 and _blocking(report) == {}
    git(clone, "switch", "-q", "main")
    head = git(clone, "rev-parse", "HEAD")
    git(clone, "branch", "-q", "-D", "promote/churn-prod-v7")
    capsys.readouterr()
    assert mp(clone, "promote", "churn", "--to", "prod", "--version", "5", "--tracking-uri", uri) == 1
    assert "churn v5 never ran in staging (it ran: v7, v8) nor in prod before" in capsys.readouterr().err
    _untouched(clone, head)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_promote_refuses_what_the_registry_does_not_allow(
    clone: Path, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pin(clone, "staging", 9)
    merge(clone, uri, "Promote churn v9 to staging (from dev)", "2026-11-05T10:00:00Z")
    head = git(clone, "rev-parse", "HEAD")
    capsys.readouterr()
    assert mp(clone, "promote", "churn", "--to", "prod", "--git", "--tracking-uri", uri) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "modelplane promote: error: churn v9 is not approved in the registry (tag approval=approved);"
        " prod runs approved versions only"
    ]
    _untouched(clone, head)
    dead = f"http://127.0.0.1:{_closed_port()}"
    assert mp(clone, "promote", "churn", "--to", "prod", "--git", "--tracking-uri", dead) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not reachable" in err[0], err
    _untouched(clone, head)
    set_base_version(clone, 11)  # dev runs a version nobody registered
    merge(clone, uri, "dev runs churn v11", "2026-11-06T10:00:00Z")
    head = git(clone, "rev-parse", "HEAD")
    capsys.readouterr()
    assert mp(clone, "promote", "churn", "--to", "staging", "--tracking-uri", uri) == 1
    assert f"churn v11 is not in the MLflow registry at {uri}; register it first" in capsys.readouterr().err
    _untouched(clone, head)


def test_a_forged_approval_in_the_lock_fails_lock_check_against_a_real_mlflow_server(
    clone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    with mlflow_server(tmp_path) as (url, _):
        repo, _ = load_repo(clone)
        seed(repo, url)
        MlflowClient(tracking_uri=url, registry_uri=url).set_model_version_tag("churn", "9", "approval", "pending")
        merge(clone, url, "the lock from the shared registry", "2026-11-05T10:00:00Z")
        capsys.readouterr()
        assert mp(clone, "lock", "--check", "--changed-since", "main", "--tracking-uri", url) == 0
        assert "no pin and no lock fact differs from main; nothing to check" in capsys.readouterr().out

        git(clone, "switch", "-q", "-c", "forged")
        lock = json.loads((clone / "modelplane.lock").read_text(encoding="utf-8"))
        lock["models"]["churn"]["9"]["tags"].update(approval="approved", approved_by="@acme/ml-platform")
        (clone / "modelplane.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        assert mp(clone, "compile") == 0
        commit_all(clone, "approve churn v9", _hours_ago(0))
        assert mp(clone, "lock", "--check", "--changed-since", "main", "--tracking-uri", url) == 1
        out = capsys.readouterr().out
        assert "changed since main: dev/churn: registry facts of v9 changed; modelplane.lock changed" in out
        assert 'modelplane.lock: churn v9: tags: lock {"approval": "approved", "approved_at"' in out
        assert '"approval": "pending"' in out

    monkeypatch.chdir(tmp_path)  # no local registry here, and no MLFLOW_TRACKING_URI: CI without access
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert mp(clone, "lock", "--check", "--changed-since", "main") == 2
    assert "no MLflow registry to ask" in capsys.readouterr().err
    assert mp(clone, "lock", "--check", "--changed-since", "no-such-ref") == 2
    assert "--changed-since no-such-ref: cannot tell what changed" in capsys.readouterr().err


def test_without_git_history_staging_and_prod_are_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tarball = copy_example(tmp_path / "tarball", history=False)
    capsys.readouterr()
    assert mp(tarball, "check", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    blocked = {(f["env"], f["model"]) for f in report["findings"] if f["rule_id"] == "MP-PROM-001" and f["blocking"]}
    models = {"churn", "demand-forecast", "fraud-detection"}
    assert blocked == {(env, m) for env in ("staging", "prod") for m in models}
