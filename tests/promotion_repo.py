"""Config repositories with a real git history of promotions, for the promotion tests.

Each commit is what a merged pull request leaves: specs, modelplane.lock (from a real MLflow
registry) and rendered/ (from the real compiler), dated so the history says since when each
environment ran what.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from modelplane.cli import main
from modelplane.pins import set_pin

CHURN = "models/churn/model.yaml"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Ana",
    "GIT_AUTHOR_EMAIL": "ana@acme.example",
    "GIT_COMMITTER_NAME": "Ana",
    "GIT_COMMITTER_EMAIL": "ana@acme.example",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


def commit_all(root: Path, message: str, when: str) -> None:
    git(root, "add", "-A")
    env = {**os.environ, **IDENTITY, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", message], check=True, env=env)


def mp(root: Path, *argv: str) -> int:
    return main(["--root", str(root), *argv])


def pin(root: Path, env: str, version: int, file: str = CHURN) -> None:
    """Set `environments.<env>.registry.version` by hand, as a person editing the file would."""
    path = root / file
    path.write_text(set_pin(path.read_text(encoding="utf-8"), file, env, version), encoding="utf-8")


def set_base_version(root: Path, version: int, file: str = CHURN) -> None:
    """The model's own `registry.version`: what dev (the first environment) runs."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("registry:"))
    index = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("  version:"))
    lines[index] = f"  version: {version}\n"
    path.write_text("".join(lines), encoding="utf-8")


def merge(root: Path, uri: str, message: str, when: str) -> None:
    """Lock, compile and commit on the current branch: what a merged pull request leaves."""
    assert mp(root, "lock", "--tracking-uri", uri) == 0
    assert mp(root, "compile") == 0
    commit_all(root, message, when)


def line_of(root: Path, file: str, prefix: str, after: str) -> int:
    """The 1-based line of the first line starting with `prefix` below the line `after`."""
    lines = (root / file).read_text(encoding="utf-8").splitlines()
    start = lines.index(after)
    return next(i + 1 for i in range(start, len(lines)) if lines[i].startswith(prefix))
