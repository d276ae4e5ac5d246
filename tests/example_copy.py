"""A copy of the example config repository in a temporary folder, for tests that change it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

PARTS = ("models", "environments", "policies", "rendered")
# Long enough ago that every version has soaked in every environment.
HISTORY_DATE = "2026-01-01T12:00:00Z"


def commit_history(dest: Path, date: str = HISTORY_DATE) -> None:
    """Make `dest` a git repository whose one commit holds everything there: the promotion
    facts the gate reads from history then say each environment has run its version since `date`."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Example",
        "GIT_AUTHOR_EMAIL": "example@acme.example",
        "GIT_COMMITTER_NAME": "Example",
        "GIT_COMMITTER_EMAIL": "example@acme.example",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "example repository"]):
        subprocess.run(["git", "-C", str(dest), *args], check=True, env=env, capture_output=True)


def copy_example(dest: Path, parts: tuple[str, ...] = PARTS, *, history: bool = True) -> Path:
    """Specs, policies, rendered/ and the lock, as committed (in a git repository of its own
    unless `history` is False); returns `dest`."""
    for name in parts:
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "modelplane.lock", dest / "modelplane.lock")
    if history:
        commit_history(dest)
    return dest
