"""`modelplane compile`: layout, determinism, atomic update, --check, selection, the build manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.pipeline import read_tree
from modelplane.write import Staging
from tests.conftest import CRDS, ROOT, compiled, require_tool


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    """A private copy of the example config repository (specs, policies, lock)."""
    require_tool("helm")
    for name in ("models", "environments", "policies"):
        shutil.copytree(ROOT / name, tmp_path / name)
    if (ROOT / "modelplane.lock").exists():
        shutil.copy(ROOT / "modelplane.lock", tmp_path / "modelplane.lock")
    return tmp_path


def _compile(root: Path, *extra: str) -> int:
    return main(["--root", str(root), "compile", "--crds", str(CRDS), *extra])


def test_layout_per_environment_and_model(config_repo: Path) -> None:
    assert _compile(config_repo) == 0
    tree = read_tree(config_repo / "rendered")
    for env in ("dev", "staging", "prod"):
        assert f"{env}/apps.yaml" in tree
        assert f"{env}/manifest.json" in tree and f"{env}/provenance.json" not in tree
        for model in ("churn", "fraud-detection", "demand-forecast"):
            for leaf in (
                "serving.yaml",
                "training.yaml",
                "monitoring.yaml",
                "monitoring.test.yaml",
                "application.yaml",
                "MODEL_CARD.md",
            ):
                assert f"{env}/{model}/{leaf}" in tree, f"{env}/{model}/{leaf} missing"


def test_the_manifest_records_inputs_tools_and_registry_facts(config_repo: Path) -> None:
    assert _compile(config_repo) == 0
    data = json.loads((config_repo / "rendered/prod/manifest.json").read_text())
    assert (data["apiVersion"], data["kind"], data["schemaVersion"]) == ("modelplane.dev/v1", "BuildManifest", 1)
    assert data["environment"] == "prod"
    assert data["tools"]["helm"].startswith("v3.22")
    assert set(data["models"]) == {"churn", "fraud-detection", "demand-forecast"}
    churn = data["models"]["churn"]
    assert churn["registry"]["version"] == 7
    model_hash = "sha256:" + hashlib.sha256((config_repo / "models/churn/model.yaml").read_bytes()).hexdigest()
    assert churn["sources"] == {"models/churn/model.yaml": model_hash}
    assert set(churn["inputs"]) == {"spec", "registry", "chart", "compiler", "compilerCode", "helm"}
    text = (config_repo / "rendered/prod/manifest.json").read_text()
    assert str(config_repo) not in text, "the manifest must not record machine-specific paths"


def test_byte_identical_across_processes_with_different_hash_seeds(config_repo: Path, tmp_path: Path) -> None:
    outs = []
    for seed in ("1", "12345"):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelplane",
                "--root",
                str(config_repo),
                "compile",
                "--out",
                str(out),
                "--crds",
                str(CRDS),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outs.append(read_tree(out))
    assert outs[0] == outs[1]
    assert len(outs[0]) > 50


def test_check_names_stale_files_after_a_spec_edit(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile(config_repo) == 0
    assert _compile(config_repo, "--check") == 0
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate"))
    capsys.readouterr()
    assert _compile(config_repo, "--check") == 1
    out = capsys.readouterr().out
    assert "rendered/prod/churn/monitoring.yaml: stale" in out
    assert "rendered/prod/fraud-detection" not in out


def test_check_flags_files_that_should_not_exist(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile(config_repo) == 0
    (config_repo / "rendered/prod/churn/leftover.yaml").write_text("kind: Nothing\n")
    capsys.readouterr()
    assert _compile(config_repo, "--check") == 1
    assert "leftover.yaml: stale" in capsys.readouterr().out


def test_invalid_override_names_its_file_and_line(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = config_repo / "models/churn/model.yaml"
    text = spec.read_text().replace("      replicas: {min: 3, max: 12}", "      replicas: {min: 3, max: -12}")
    spec.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "max: -12" in row)
    assert _compile(config_repo) == 1
    out = capsys.readouterr().out
    assert f"models/churn/model.yaml:{line}:" in out
    assert "environments.prod.serving.replicas.max" in out
    assert not (config_repo / "rendered").exists(), "nothing is written when the specs have problems"


def test_selection_keeps_other_output(config_repo: Path) -> None:
    assert _compile(config_repo) == 0
    before = read_tree(config_repo / "rendered")
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate"))
    assert _compile(config_repo, "--env", "dev", "--model", "churn") == 0
    after = read_tree(config_repo / "rendered")
    assert after["prod/churn/monitoring.yaml"] == before["prod/churn/monitoring.yaml"]
    assert after["dev/churn/monitoring.yaml"] != before["dev/churn/monitoring.yaml"]
    assert set(after) == set(before)


def test_unknown_env_selection_is_a_usage_error(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile(config_repo, "--env", "qa") == 2
    err = capsys.readouterr().err
    assert "--env qa: no such environment" in err
    assert "Traceback" not in err


def test_a_crash_while_writing_leaves_the_previous_output(config_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compile(config_repo) == 0
    before = read_tree(config_repo / "rendered")
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate"))

    written = {"n": 0}
    original = Staging.write

    def dying_write(self: Staging, rel: str, text: str) -> None:
        written["n"] += 1
        if written["n"] > 10:
            raise KeyboardInterrupt  # what Ctrl-C or a kill mid-write looks like in-process
        original(self, rel, text)

    monkeypatch.setattr(Staging, "write", dying_write)
    assert _compile(config_repo) == 130
    monkeypatch.undo()
    assert read_tree(config_repo / "rendered") == before


def test_sigkill_at_any_moment_never_mixes_old_and_new(config_repo: Path) -> None:
    """Kill real compile processes at several moments; rendered/ is always wholly old or wholly new."""
    assert _compile(config_repo) == 0
    old = read_tree(config_repo / "rendered")
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate"))
    cmd = [sys.executable, "-m", "modelplane", "--root", str(config_repo), "compile", "--crds", str(CRDS)]
    new_out = config_repo.parent / "reference-new"
    assert subprocess.run([*cmd, "--out", str(new_out)], capture_output=True, check=False).returncode == 0
    new = read_tree(new_out)
    assert new != old
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        from modelplane.write import recover

        recover(config_repo / "rendered")
        state = read_tree(config_repo / "rendered")
        assert state in (old, new), f"mixed output after a kill at {delay}s"
        if state == new:
            break


def test_committed_rendered_output_is_current(tmp_path: Path) -> None:
    """rendered/ in git is exactly what compile produces from the committed specs (what CI's --check enforces)."""
    require_tool("helm")
    out = tmp_path / "rendered"
    assert main(["--root", str(ROOT), "compile", "--crds", str(CRDS), "--out", str(out)]) == 0
    # decisions.json is `check --record`'s (tests/test_decisions.py proves those current).
    assert compiled(read_tree(ROOT / "rendered")) == read_tree(out), "run `make render` and commit rendered/"


def test_unwritable_output_is_one_line(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _compile(config_repo, "--out", "/proc/modelplane-cannot-write/rendered") == 2
    err = capsys.readouterr().err
    assert err.startswith("modelplane compile: error: ") and "/proc/modelplane-cannot-write" in err
    assert "Traceback" not in err


def test_missing_helm_is_one_line(
    config_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPLANE_HELM", str(config_repo / "no-helm-here"))
    assert _compile(config_repo) == 2
    err = capsys.readouterr().err
    assert "does not run" in err and "Traceback" not in err
