"""Policies written as a hostile contributor would: every rule counts or the gate refuses to run.

All against the real OPA: nested and root packages are evaluated, wrong rule shapes and built-in
errors stop the gate (exit 2) at the rule's file and line, and the sandbox refuses network,
environment and non-deterministic built-ins in `check`, `opa check` and `opa test` alike.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from modelplane.cli import main
from modelplane.gate.opa import SERVER_RUNTIME, Engine, local_server
from modelplane.gate.sandbox import CAPABILITIES
from tests.conftest import ROOT, require_tool
from tests.example_copy import copy_example

RULE = '{"id": "MP-HOSTILE-001", "msg": "blocked by a hostile policy", "path": "model.metadata.team"}'


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path)


def _policy(repo: Path, name: str, text: str) -> Path:
    path = repo / "policies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _check(repo: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["--root", str(repo), "check", "--today", "2026-11-24", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    "package,file",
    [
        ("modelplane.team.freeze", "team/freeze.rego"),
        ("modelplane", "root.rego"),
        ('modelplane.team["release-freeze"]', "quoted.rego"),
    ],
)
def test_a_deny_in_a_nested_or_root_package_blocks(
    config_repo: Path, capsys: pytest.CaptureFixture[str], package: str, file: str
) -> None:
    _policy(config_repo, file, f"package {package}\n\ndeny contains v if {{\n\tv := {RULE}\n}}\n")
    code, out, _ = _check(config_repo, capsys, "--format", "json")
    report = json.loads(out)
    assert code == 1
    hits = [f for f in report["findings"] if f["rule_id"] == "MP-HOSTILE-001"]
    assert len(hits) == 9  # every (environment, model) pair
    assert package.replace('["release-freeze"]', ".release-freeze") in report["packages"]


@pytest.mark.parametrize(
    "body,kind",
    [
        ("deny := true\n", "boolean"),
        ('deny := "blocked"\n', "string"),
        ('deny := ["blocked"]\n', "array"),
        ('warn := {"id": "X", "msg": "y"}\n', "object"),
    ],
)
def test_a_rule_that_is_not_a_set_is_an_error_at_its_line(
    config_repo: Path, capsys: pytest.CaptureFixture[str], body: str, kind: str
) -> None:
    path = _policy(config_repo, "freeze.rego", f"package modelplane.freeze\n\n# frozen\n{body}")
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    level = body.split()[0]
    assert f"{path}:4: modelplane.freeze.{level} is a {kind}, not a set of objects" in err


def test_a_set_of_strings_is_an_error_at_its_line(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _policy(config_repo, "team/freeze.rego", 'package modelplane.team.freeze\n\ndeny contains "blocked"\n')
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f'{path}:3: modelplane.team.freeze.deny produced "blocked"' in err
    assert "must be an object with non-empty id and msg" in err


def test_deny_outside_the_modelplane_packages_is_refused(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _policy(config_repo, "team.rego", f"package team.freeze\n\n\ndeny contains v if {{\n\tv := {RULE}\n}}\n")
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f"{path}:4: 'deny' in package team.freeze would never be evaluated" in err


def test_a_builtin_error_stops_the_gate(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _policy(
        config_repo,
        "cpu.rego",
        f'package modelplane.cpu\n\ndeny contains v if {{\n\tto_number("500m") > 1\n\tv := {RULE}\n}}\n',
    )
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f"failed to evaluate the policies: {path}:4: to_number" in err


FORBIDDEN_CALLS = {
    "http.send": 'http.send({"method": "POST", "url": "http://127.0.0.1:9/", "body": input})',
    "net.lookup_ip_addr": 'net.lookup_ip_addr("example.com")',
    "net.cidr_contains": 'net.cidr_contains("10.0.0.0/8", "10.1.1.1")',
    "opa.runtime": "opa.runtime().env",
    "rand.intn": 'rand.intn("seed", 10)',
    "uuid.rfc4122": 'uuid.rfc4122("seed")',
    "time.now_ns": "time.now_ns()",
}


def _hostile(name: str) -> str:
    return f"package modelplane.sneaky\n\ndeny contains v if {{\n\tx := {FORBIDDEN_CALLS[name]}\n\tv := {RULE}\n}}\n"


@pytest.mark.parametrize("builtin", sorted(FORBIDDEN_CALLS))
def test_a_forbidden_builtin_is_refused_with_its_line(
    config_repo: Path, capsys: pytest.CaptureFixture[str], builtin: str
) -> None:
    path = _policy(config_repo, "sneaky.rego", _hostile(builtin))
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f"{path}:4: {builtin} is not allowed in Modelplane policies" in err


@pytest.mark.parametrize("command", ["check", "test"])
@pytest.mark.parametrize("builtin", ["http.send", "opa.runtime", "time.now_ns"])
def test_opa_check_and_opa_test_refuse_it_too(tmp_path: Path, command: str, builtin: str) -> None:
    (tmp_path / "sneaky.rego").write_text(_hostile(builtin))
    (tmp_path / "sneaky_test.rego").write_text(
        "package modelplane.sneaky_test\n\nimport data.modelplane.sneaky\n\n"
        "test_denies if {\n\tcount(sneaky.deny) == 1\n}\n"
    )
    done = subprocess.run(
        [require_tool("opa"), command, "--capabilities", str(CAPABILITIES), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert f"sneaky.rego:4: rego_type_error: undefined function {builtin}" in done.stdout + done.stderr


def test_a_policy_cannot_reach_a_listener_on_loopback(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        call = f'http.send({{"method": "POST", "url": "http://127.0.0.1:{port}/leak", "body": input}})'
        _policy(
            config_repo,
            "leak.rego",
            f"package modelplane.leak\n\nwarn contains v if {{\n\tr := {call}\n\tv := {RULE}\n}}\n",
        )
        code, _, err = _check(config_repo, capsys)
        assert code == 2 and "http.send is not allowed" in err
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody called


def test_the_local_server_has_none_of_the_callers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a module that reaches the server unchecked sees no CI secrets."""
    require_tool("opa")
    monkeypatch.setenv("CI_DEPLOY_TOKEN", "s3cr3t-token-value")
    with local_server() as url:
        engine = Engine(url)
        assert engine._put_policy("probe", "package probe\n\nenv := opa.runtime().env\n") is None
        env = requests.get(f"{url}/v1/data/probe/env", timeout=5).json()["result"]
    assert env == SERVER_RUNTIME  # Go's collector settings, nothing of the caller's environment
    assert "CI_DEPLOY_TOKEN" not in env


def test_the_pinned_capabilities_match_the_pinned_opa_minus_the_sandbox() -> None:
    from modelplane.gate.sandbox import capabilities_text, forbidden

    current = subprocess.run(
        [require_tool("opa"), "capabilities", "--current"], capture_output=True, text=True, check=True
    ).stdout
    assert CAPABILITIES.read_text() == capabilities_text(json.loads(current))
    names = {b["name"] for b in json.loads(CAPABILITIES.read_text())["builtins"]}
    assert not {n for n in names if forbidden(n)}
    assert {"regex.match", "time.parse_rfc3339_ns", "sprintf"} <= names
    assert json.loads(CAPABILITIES.read_text())["allow_net"] == []


@pytest.mark.parametrize("sandboxed", [True, False])
def test_a_copied_policies_folder_tests_on_its_own(tmp_path: Path, sandboxed: bool) -> None:
    """A config repository that copies policies/ runs `opa test policies/` with nothing else."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    caps = ["--capabilities", str(CAPABILITIES)] if sandboxed else []
    done = subprocess.run(
        [require_tool("opa"), "test", *caps, "policies"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("PASS: ")


def test_a_policy_cannot_extend_the_gate_driver(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _policy(config_repo, "driver.rego", "package modelplane_engine\n\n_extra := true\n")
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f"{path}: package modelplane_engine is the gate's own driver" in err


def test_a_package_deeper_than_the_engine_reaches_is_refused(
    config_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _policy(
        config_repo, "deep.rego", f"package modelplane.a.b.c.d.e.f\n\ndeny contains v if {{\n\tv := {RULE}\n}}\n"
    )
    code, _, err = _check(config_repo, capsys)
    assert code == 2
    assert f"{path}: package modelplane.a.b.c.d.e.f is nested deeper than 5 levels" in err


def test_the_deepest_package_the_engine_reaches_counts(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _policy(config_repo, "deep.rego", f"package modelplane.a.b.c.d.e\n\ndeny contains v if {{\n\tv := {RULE}\n}}\n")
    code, out, _ = _check(config_repo, capsys, "--format", "json")
    assert code == 1
    assert len([f for f in json.loads(out)["findings"] if f["rule_id"] == "MP-HOSTILE-001"]) == 9
