"""Helpers that several commands share (this module is not a command itself)."""

from __future__ import annotations

from pathlib import Path

from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError
from modelplane.repo import Repo, load_repo


def load_selected_repo(root: Path, envs: list[str], models: list[str], command: str) -> Repo | None:
    """The config repository, or None once its spec problems are printed (the caller exits 1).
    An --env or --model that names nothing is a usage error (exit 2)."""
    repo, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        emit(problems, "text", f"{command} stopped: {len(errors)} problem(s) in the specs; run `modelplane validate`")
        return None
    check_selection(repo, envs, models)
    return repo


def check_selection(repo: Repo, envs: list[str], models: list[str]) -> None:
    """An --env or --model that names nothing is a usage error (exit 2)."""
    for name in envs:
        if name not in repo.environments:
            raise ModelplaneError(f"--env {name}: no such environment (have: {', '.join(sorted(repo.environments))})")
    for name in models:
        if name not in repo.models:
            raise ModelplaneError(f"--model {name}: no such model (have: {', '.join(sorted(repo.models))})")
