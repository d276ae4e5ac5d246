"""`modelplane lock` against real MLflow registries: a sqlite store and an `mlflow server` on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from modelplane.cli import main
from modelplane.demo_registry import seed
from modelplane.gate.opa import _free_port
from modelplane.registry import facts_for, load_lock
from modelplane.repo import load_repo
from tests.conftest import ROOT


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
    """A real `mlflow server` (sqlite backend) on a free loopback port."""
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    if not mlflow.exists():
        pytest.fail(f"{mlflow} is missing; run `make setup`")
    process = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the server forks workers
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None:
            pytest.fail("mlflow server exited at start")
        time.sleep(0.3)
    else:
        _stop(process)
        pytest.fail("mlflow server did not become healthy in 90 s")
    yield url, process
    _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the server and its workers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_lock_from_an_mlflow_server(config_repo: Path, mlflow_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = mlflow_server
    repo, _ = load_repo(config_repo)
    seed(repo, url)
    assert _lock(config_repo, url) == 0
    data = json.loads((config_repo / "modelplane.lock").read_text())
    assert data["models"]["fraud-detection"]["12"]["tags"]["approval"] == "approved"
    assert data["models"]["fraud-detection"]["12"]["status"] == "READY"
    assert url not in (config_repo / "modelplane.lock").read_text(), "the lock must not depend on where MLflow ran"


def test_lock_against_a_dead_server_is_exit_2(
    config_repo: Path,
    mlflow_server: tuple[str, subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, process = mlflow_server
    _stop(process)
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
