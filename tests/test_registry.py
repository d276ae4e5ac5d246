"""`modelplane lock` against real MLflow registries: a sqlite store and an `mlflow server` on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.demo_registry import seed
from modelplane.registry import facts_for, load_lock
from modelplane.repo import load_repo
from tests.conftest import ROOT
from tests.mlflow_server import mlflow_server as start_mlflow_server
from tests.mlflow_server import stop


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    for name in ("models", "environments"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def _lock(root: Path, uri: str, *extra: str) -> int:
    return main(["--root", str(root), "lock", "--tracking-uri", uri, *extra])


def test_lock_from_a_sqlite_registry(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{config_repo}/.modelplane/mlflow.db"
    repo, _ = load_repo(config_repo)
    assert seed(repo, uri) == ["churn v7", "demand-forecast v3", "demand-forecast v4", "fraud-detection v12"]
    assert _lock(config_repo, uri) == 0
    lock = load_lock(config_repo)
    churn = facts_for(lock, "churn", 7)
    assert churn["found"] is True and churn["approved"] is True
    assert (churn["approvedBy"], churn["approvedAt"]) == ("@acme/ml-platform", "2026-10-01T09:00:00Z")
    assert churn["source"] == "s3://acme-models/churn/7"
    assert churn["aliases"] == ["champion"]
    assert facts_for(lock, "churn", 6)["found"] is False, "only pinned versions are locked"
    assert _lock(config_repo, uri, "--check") == 0


def test_lock_check_notices_a_registry_change(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{config_repo}/.modelplane/mlflow.db"
    repo, _ = load_repo(config_repo)
    seed(repo, uri)
    assert _lock(config_repo, uri) == 0
    MlflowClient(tracking_uri=uri, registry_uri=uri).set_model_version_tag("churn", "7", "approval", "revoked")
    capsys.readouterr()
    assert _lock(config_repo, uri, "--check") == 1
    assert "modelplane.lock: stale" in capsys.readouterr().out


def test_unpinned_version_is_reported_missing(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{config_repo}/.modelplane/mlflow.db"
    repo, _ = load_repo(config_repo)
    seed(repo, uri)
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("  version: 7", "  version: 9"))
    capsys.readouterr()
    assert _lock(config_repo, uri) == 0
    assert "not in the registry: churn v9" in capsys.readouterr().out
    assert facts_for(load_lock(config_repo), "churn", 9)["found"] is False


@pytest.fixture()
def mlflow_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with start_mlflow_server(tmp_path) as server:
        yield server


def test_lock_from_an_mlflow_server(config_repo: Path, mlflow_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = mlflow_server
    repo, _ = load_repo(config_repo)
    seed(repo, url)
    assert _lock(config_repo, url) == 0
    data = json.loads((config_repo / "modelplane.lock").read_text())
    assert data["models"]["fraud-detection"]["12"]["tags"]["approval"] == "approved"
    assert data["models"]["fraud-detection"]["12"]["status"] == "READY"
    assert url not in (config_repo / "modelplane.lock").read_text(), "the lock must not depend on where MLflow ran"


def test_the_lock_records_who_approved_and_leaves_out_what_sync_writes(
    config_repo: Path, mlflow_server: tuple[str, subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    url, _ = mlflow_server
    repo, _ = load_repo(config_repo)
    seed(repo, url)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    client.set_model_version_tag("churn", "7", "approved_by", "ana@acme.example")
    client.set_model_version_tag("churn", "7", "approved_at", "2026-11-20T08:30:00Z")
    assert _lock(config_repo, url) == 0
    churn = facts_for(load_lock(config_repo), "churn", 7)
    assert (churn["approved"], churn["approvedBy"], churn["approvedAt"]) == (
        True,
        "ana@acme.example",
        "2026-11-20T08:30:00Z",
    )
    # What `registry sync` writes after a merge follows from git: the lock stays current across it.
    client.set_registered_model_alias("churn", "prod", "7")
    client.set_model_version_tag("churn", "7", "modelplane.prod.commit", "0" * 40)
    capsys.readouterr()
    assert _lock(config_repo, url, "--check") == 0
    # Anything else the registry changes is a stale lock, named version by version.
    client.set_model_version_tag("churn", "7", "approval", "revoked")
    assert _lock(config_repo, url, "--check") == 1
    out = capsys.readouterr().out
    assert 'modelplane.lock: churn v7: tags: lock {"approval": "approved"' in out
    assert '"approval": "revoked"' in out


def test_lock_check_without_a_registry_fails_closed(
    config_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no local registry at .modelplane/mlflow.db here
    for unset in (None, "", "  "):
        if unset is None:
            monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        else:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", unset)
        assert main(["--root", str(config_repo), "lock", "--check"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no MLflow registry to ask: MLFLOW_TRACKING_URI is not set" in err[0], err
        assert "MLFLOW_TRACKING_TOKEN" in err[0]
    assert not (tmp_path / ".modelplane").exists(), "no empty registry is made up to check against"
    assert main(["--root", str(config_repo), "lock", "--changed-since", "main"]) == 2
    assert "--changed-since goes with --check" in capsys.readouterr().err


def test_lock_against_a_dead_server_is_exit_2(
    config_repo: Path,
    mlflow_server: tuple[str, subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, process = mlflow_server
    stop(process)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    assert _lock(config_repo, url) == 2
    err = capsys.readouterr().err
    assert "not reachable" in err and "Traceback" not in err


def test_unsupported_tracking_uri_is_one_line(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _lock(config_repo, "foo://bar") == 2
    err = capsys.readouterr().err
    assert err.startswith("modelplane lock: error: ") and "foo://bar" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
