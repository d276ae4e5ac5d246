"""`modelplane demo`: the pipeline on the example repository, then a promotion dev → staging in a
scratch copy, with its pull-request body; the repository it ran in is left as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import CRDS, require_tool
from tests.example_copy import copy_example
from tests.promotion_repo import git


def test_demo_shows_a_promotion_and_leaves_the_work_tree_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tool in ("opa", "helm"):
        require_tool(tool)
    root = copy_example(tmp_path / "config")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    capsys.readouterr()
    assert main(["--root", str(root), "demo", "--tracking-uri", uri, "--crds", str(CRDS)]) == 0
    out = capsys.readouterr().out
    assert "== promote demand-forecast to staging:" in out
    assert "promoted demand-forecast v4 to staging on branch promote/demand-forecast-staging-v4 (gate: passed)" in out
    assert "-    registry: {version: 3}" in out and "+    registry: {version: 4}" in out, "the one-line pin diff"
    body = out[out.index("-- its pull-request body:") :]
    assert "## Promote demand-forecast v4 to staging" in body
    assert "| dev | v4 |" in body and "| staging | v3 → **v4** |" in body and "| prod | v3 |" in body
    assert "- approved: yes, by @acme/ml-platform at 2026-10-01T09:00:00Z" in body
    assert re.search(r"`dev` has run v4 since .* \(72\.0 h, commit `[0-9a-f]{12}`\)", body)
    assert "### Gate for staging/demand-forecast: passed" in body
    assert out.rstrip().endswith("demo finished: all steps passed")
    scratch = re.search(r"scratch copy of this repository \((.+?); removed afterwards\)", out)
    assert scratch and not Path(scratch.group(1)).exists()
    assert git(root, "status", "--porcelain") == "", "the demo leaves the repository it ran in as it was"
