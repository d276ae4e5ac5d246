"""Forked worker processes give exactly what one process gives: compile's bytes, check's report."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane import parallel
from modelplane.cli import main
from modelplane.pipeline import read_tree
from tests.conftest import CRDS, ROOT, compiled, require_tool


def test_workers_render_exactly_what_one_process_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("helm")
    assert parallel.workers(10**6) >= 2, "this machine forks one worker per core"
    trees = {}
    for name, start in (("one", 10**9), ("workers", 1)):
        monkeypatch.setattr(parallel, "PARALLEL_FROM", start)
        out = tmp_path / name
        assert main(["--root", str(ROOT), "compile", "--crds", str(CRDS), "--out", str(out), "--quiet"]) == 0
        trees[name] = read_tree(out)
    assert parallel.workers(9) >= 2, "the second compile did fork"
    assert trees["one"] == trees["workers"] == compiled(read_tree(ROOT / "rendered"))


def test_check_in_workers_reports_exactly_what_one_process_reports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("opa")
    reports = {}
    for name, start in (("one", 10**9), ("workers", 1)):
        monkeypatch.setattr(parallel, "PARALLEL_FROM", start)
        assert main(["--root", str(ROOT), "check", "--format", "json"]) == 0
        reports[name] = capsys.readouterr().out
    assert parallel.workers(9) >= 2, "the second check did fork"
    assert reports["one"] == reports["workers"]
    assert '"passed": true' in reports["one"] and '"findings": [' in reports["one"]
