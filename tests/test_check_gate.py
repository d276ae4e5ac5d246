"""`modelplane check` against a real OPA server: fail-closed behaviour, shared servers, waivers."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.gate import opa as opa_module
from tests.conftest import require_tool
from tests.example_copy import copy_example


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path)


@pytest.fixture()
def opa_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A separately started OPA server, standing in for a team's shared one."""
    port = opa_module._free_port()
    process = subprocess.Popen(
        [require_tool("opa"), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import time

    import requests

    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{url}/health", timeout=0.2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.05)
    yield url, process
    process.kill()
    process.wait()


def _check(root: Path, *extra: str) -> int:
    return main(["--root", str(root), "check", *extra])


def test_example_repository_passes_its_policies(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _check(config_repo, "--format", "json")
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 0, out
    assert report["passed"] is True
    assert len(report["pairs"]) == 9
    assert len(report["packages"]) >= 10


def test_empty_policy_folder_is_exit_2(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(config_repo / "policies")
    (config_repo / "policies").mkdir()
    assert _check(config_repo) == 2
    err = capsys.readouterr().err
    assert "no policy modules" in err and "Traceback" not in err


def test_policies_without_deny_or_warn_rules_is_exit_2(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(config_repo / "policies")
    (config_repo / "policies").mkdir()
    (config_repo / "policies/helpers.rego").write_text("package modelplane.helpers\n\nanswer := 42\n")
    assert _check(config_repo) == 2
    assert "no deny or warn rules" in capsys.readouterr().err


def test_rego_that_does_not_compile_is_exit_2(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_repo / "policies/broken.rego").write_text("package modelplane.broken\n\ndeny contains v if {\n  v := \n}\n")
    assert _check(config_repo) == 2
    err = capsys.readouterr().err
    assert "broken.rego" in err and "Traceback" not in err


def test_no_models_fails_closed(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty models/ is a problem in the specs (exit 1), never a gate that passes on nothing."""
    shutil.rmtree(config_repo / "models")
    (config_repo / "models").mkdir()
    assert _check(config_repo) == 1
    assert "models:1:1: no models: nothing to validate, gate or render" in capsys.readouterr().out


def test_unreachable_opa_url_is_exit_2(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = opa_module._free_port()  # nothing listens there
    assert _check(config_repo, "--opa-url", f"http://127.0.0.1:{port}", "--timeout", "2") == 2
    err = capsys.readouterr().err
    assert "not reachable" in err and "Traceback" not in err


def test_shared_server_by_url(
    config_repo: Path, opa_server: tuple[str, subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = opa_server
    assert _check(config_repo, "--opa-url", url, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_shared_server_without_policies_and_no_upload_is_exit_2(
    config_repo: Path, opa_server: tuple[str, subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = opa_server
    assert _check(config_repo, "--opa-url", url, "--no-upload") == 2
    assert "modelplane_engine" in capsys.readouterr().err


def test_opa_killed_mid_run_is_exit_2(
    config_repo: Path,
    opa_server: tuple[str, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, process = opa_server
    original = opa_module.Engine.evaluate

    def kill_then_evaluate(self: opa_module.Engine, packages: list[list[str]], items: dict[str, object]) -> object:
        process.kill()  # policies are uploaded; the server dies before the decision
        process.wait()
        return original(self, packages, items)  # type: ignore[arg-type]

    monkeypatch.setattr(opa_module.Engine, "evaluate", kill_then_evaluate)
    assert _check(config_repo, "--opa-url", url) == 2
    err = capsys.readouterr().err
    assert "not reachable" in err and "Traceback" not in err


def test_expired_waiver_is_an_error_at_its_line(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_repo / "policies/waivers.yaml").write_text(
        "waivers:\n"
        "  - rule: MP-IMG-001\n"
        "    model: demand-forecast\n"
        "    environment: prod\n"
        "    reason: Vendor image has no digest yet.\n"
        "    approver: '@acme/ml-platform'\n"
        "    expires: 2026-01-31\n"
    )
    assert _check(config_repo, "--today", "2026-11-24") == 1
    out = capsys.readouterr().out
    assert (
        "waivers.yaml:7:14: waivers[0].expires: waiver for MP-IMG-001 on prod/demand-forecast expired on 2026-01-31"
        in out
    )


def test_waiver_for_unknown_rule_is_an_error(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_repo / "policies/waivers.yaml").write_text(
        "waivers:\n"
        "  - rule: MP-NOPE-999\n"
        "    model: churn\n"
        "    environment: prod\n"
        "    reason: Testing an unknown rule id.\n"
        "    approver: '@acme/ml-platform'\n"
        "    expires: 2027-01-31\n"
    )
    assert _check(config_repo, "--today", "2026-11-24") == 1
    assert "waivers.yaml:2:11: waivers[0].rule: unknown rule 'MP-NOPE-999'" in capsys.readouterr().out


def test_bad_specs_stop_the_check_before_opa(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("  team: growth-ds", "  teem: growth-ds"))
    assert _check(config_repo) == 1
    assert "did you mean 'team'?" in capsys.readouterr().out


def test_opa_that_never_answers_times_out_with_exit_2(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are queued but never answered
        port = silent.getsockname()[1]
        assert _check(config_repo, "--opa-url", f"http://127.0.0.1:{port}", "--timeout", "1") == 2
    err = capsys.readouterr().err
    assert "OPA" in err and "Traceback" not in err
