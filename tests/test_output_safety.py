"""Faults while compile writes: SIGKILL at exact points, concurrent compiles, failures mid-write,
and models that leave. rendered/ is always wholly old or wholly new, and nothing is left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.pipeline import read_tree
from modelplane.write import MARKER, recover
from tests.conftest import ROOT, require_tool

# Runs the real CLI in a child process and SIGKILLs it at the n-th call of one function, just
# before or just after the call: a deterministic kill point instead of a guessed delay.
KILLER = """
import os, pathlib, shutil, signal, sys
name, n, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
owner = {"write_text": pathlib.Path, "replace": os, "rmtree": shutil}[name]
original, calls = getattr(owner, name), [0]
def hooked(*args, **kwargs):
    calls[0] += 1
    if calls[0] == n and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    if calls[0] == n and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, name, hooked)
from modelplane.cli import main
sys.exit(main(sys.argv[4:]))
"""


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("helm")
    root = tmp_path / "repo"
    for name in ("models", "environments", "policies", "rendered"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "modelplane.lock", root / "modelplane.lock")
    return root


def _change_churn(root: Path) -> None:
    spec = root / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate"))


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".rendered."))


# The kill points count calls; compile's per-machine cache (local_cache.py) would add renames of
# its own, so these runs have none (a cache folder that cannot be created is left unused).
NO_CACHE = {**os.environ, "XDG_CACHE_HOME": "/proc/modelplane-no-cache"}


def _cli(root: Path, *args: str) -> list[str]:
    # No --crds: checking custom resources against their CRDs (4 s a process) is not what these test.
    return [sys.executable, "-m", "modelplane", "--root", str(root), "compile", *args]


ONE = ("--env", "dev", "--model", "churn")  # one helm run; the update replaces dev/churn and dev's manifest
KILL_POINTS = [
    ("write_text", 1, "before"),  # staging just started
    ("write_text", 3, "after"),  # staging half written
    ("replace", 1, "before"),  # staging complete, journal not yet committed
    ("replace", 1, "after"),  # journal committed, nothing replaced yet
    ("replace", 2, "after"),  # the old dev/churn moved aside, the new one not yet in place
    ("replace", 3, "after"),  # the new dev/churn in place, the manifest not yet
    ("rmtree", 1, "before"),  # everything in place, the staging folder not yet removed
]


def test_sigkill_at_every_step_of_the_update_leaves_old_or_new(config_repo: Path, tmp_path: Path) -> None:
    old = read_tree(config_repo / "rendered")
    _change_churn(config_repo)
    reference = tmp_path / "reference"
    shutil.copytree(config_repo / "rendered", reference)
    assert subprocess.run(_cli(config_repo, "--out", str(reference), *ONE), capture_output=True).returncode == 0
    new = read_tree(reference)
    assert new != old and new[MARKER] == old[MARKER]
    seen = set()
    for name, n, when in KILL_POINTS:
        shutil.rmtree(config_repo / "rendered", ignore_errors=True)
        shutil.copytree(ROOT / "rendered", config_repo / "rendered")
        cmd = [sys.executable, "-c", KILLER, name, str(n), when, *_cli(config_repo, *ONE)[3:]]
        done = subprocess.run(cmd, capture_output=True, text=True, env=NO_CACHE)
        assert done.returncode == -9, f"{name}#{n} {when}: not killed ({done.returncode}): {done.stderr}"
        recover(config_repo / "rendered")
        state = read_tree(config_repo / "rendered")
        assert state in (old, new), f"mixed output after a kill at {name}#{n} {when}"
        assert _leftovers(config_repo) == [], "recover leaves no staging folder or backup"
        seen.add("old" if state == old else "new")
    assert seen == {"old", "new"}, "the kill points cover both sides of the swap"


def test_a_killed_compile_is_cleaned_up_by_the_next_one(config_repo: Path) -> None:
    _change_churn(config_repo)
    cmd = [sys.executable, "-c", KILLER, "write_text", "3", "after", *_cli(config_repo, *ONE)[3:]]
    assert subprocess.run(cmd, capture_output=True, env=NO_CACHE).returncode == -9
    assert len(_leftovers(config_repo)) == 1, "the killed compile left its half-written staging folder"
    assert main(["--root", str(config_repo), "compile", *ONE]) == 0
    assert _leftovers(config_repo) == []


def test_a_failure_while_writing_removes_the_staging_folder(
    config_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_tree(config_repo / "rendered")
    _change_churn(config_repo)
    original, calls = Path.write_text, [0]

    def failing_write(self: Path, *args: object, **kwargs: object) -> int:
        calls[0] += 1
        if calls[0] > 3:
            raise OSError(28, "No space left on device", str(self))
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", failing_write)
    assert main(["--root", str(config_repo), "compile", "--env", "dev"]) == 2
    monkeypatch.undo()
    assert "No space left on device" in capsys.readouterr().err
    assert read_tree(config_repo / "rendered") == before
    assert _leftovers(config_repo) == []


def test_concurrent_compiles_of_different_environments_keep_both_updates(config_repo: Path) -> None:
    """Each compile reads the current tree, merges its environment in and swaps: without the lock
    the second swap would drop the first one's update."""
    _change_churn(config_repo)
    runs = [
        subprocess.Popen(_cli(config_repo, "--env", env, "--model", "churn"), stdout=subprocess.PIPE)
        for env in ("dev", "staging", "prod")
    ]
    assert [r.wait() for r in runs] == [0, 0, 0]
    state = read_tree(config_repo / "rendered")
    for env in ("dev", "staging", "prod"):
        assert "150 ms" in state[f"{env}/churn/MODEL_CARD.md"], f"{env}'s update was lost"


def test_compile_names_the_models_it_removes(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(config_repo / "models/churn")
    assert main(["--root", str(config_repo), "compile"]) == 0
    out = capsys.readouterr().out
    for env in ("dev", "prod", "staging"):
        assert f"removed {config_repo / 'rendered' / env / 'churn'}: the model is no longer in models/" in out
        assert not (config_repo / "rendered" / env / "churn").exists()
    assert (config_repo / "rendered/prod/fraud-detection/serving.yaml").is_file()


def test_an_empty_folder_is_accepted_as_output_and_gets_the_marker(config_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    inputs = {p: p.read_bytes() for p in sorted(config_repo.rglob("*")) if p.is_file()}
    assert main(["--root", str(config_repo), "compile", "--out", str(out), "--env", "dev"]) == 0
    assert {p: p.read_bytes() for p in sorted(config_repo.rglob("*")) if p.is_file()} == inputs, "inputs changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "repo"], "nothing written beside the output"
    assert (out / MARKER).is_file() and (out / "dev/churn/serving.yaml").is_file()
    assert main(["--root", str(config_repo), "compile", "--out", str(out), "--env", "dev"]) == 0


def test_a_second_compile_says_it_waits_for_the_first(config_repo: Path) -> None:
    from modelplane.write import output_lock

    with output_lock(config_repo / "rendered"):
        process = subprocess.Popen(
            _cli(config_repo, *ONE), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("modelplane: waiting for another compile into ") and "to finish" in first
        assert process.poll() is None, "it waits while the lock is held"
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and "compiled" in out
