"""Shared fixtures: the example repository, loaded and resolved once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelplane.repo import Repo, load_repo

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT.parent / "shared" / "reference" / "crds"


def require_tool(name: str) -> str:
    """The path of a real tool; a missing tool fails the test loudly, never skips it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"required tool '{name}' is not on PATH; run `make setup` (installs into .tools/bin)")
    return path


@pytest.fixture(scope="session")
def example_repo() -> Repo:
    repo, problems = load_repo(ROOT)
    assert problems == [], "\n".join(p.render() for p in problems)
    return repo
