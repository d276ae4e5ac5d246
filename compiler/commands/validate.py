"""`modelplane validate [PATH...]`: report every spec problem at once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from modelplane.problems import ModelplaneError, Problem
from modelplane.repo import discover, load_repo
from modelplane.report.github import problem_annotation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="files or folders (default: models/ and environments/)")
    parser.add_argument("--format", choices=["text", "json", "github"], default="text")


def expand(paths: list[str], root: Path) -> list[Path] | None:
    """Files named on the command line, plus the repo's environments (needed to check overrides)."""
    if not paths:
        return None
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ModelplaneError(f"no such file or folder: {raw}")
    named = {p.resolve() for p in files}
    env_files = [p for p in discover(root) if p.parent.name == "environments" and p.resolve() not in named]
    return env_files + files


def emit(problems: list[Problem], fmt: str, summary: str) -> None:
    if fmt == "json":
        print(json.dumps({"problems": [p.as_dict() for p in problems], "summary": summary}, indent=2, sort_keys=True))
        return
    for p in problems:
        if fmt == "github":
            print(problem_annotation(p))  # escaped per GitHub's rules: no forged or disabled annotations
        else:
            print(p.render())
    print(summary, file=sys.stderr if fmt != "text" else sys.stdout)


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    repo, problems = load_repo(root, expand(args.paths, root))
    errors = [p for p in problems if p.severity == "error"]
    summary = (
        f"{len(repo.models)} model(s), {len(repo.environments)} environment(s), "
        f"{len(repo.resolved)} resolved: {len(errors)} problem(s)"
    )
    emit(problems, args.format, summary)
    return 1 if errors else 0
