"""`modelplane codeowners [--check]`: write `.github/CODEOWNERS` from the model and environment owners."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

from modelplane.codeowners import CODEOWNERS, codeowners_text, owned_paths, owner_problems
from modelplane.commands.validate import emit
from modelplane.repo import load_repo
from modelplane.write import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help=f"exit 1 naming what differs when {CODEOWNERS} is stale")


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    repo, problems = load_repo(root)
    if not any(p.severity == "error" for p in problems):
        problems += owner_problems(repo)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # problems found: exit 1, as for validate
        emit(problems, "text", f"codeowners stopped: {len(errors)} problem(s) in the specs; nothing written")
        return 1
    path = root / CODEOWNERS
    current = path.read_text(encoding="utf-8") if path.exists() else None
    rows = owned_paths(repo)
    wanted = codeowners_text(current, rows)
    if wanted == current:
        print(f"{CODEOWNERS}: current ({len(rows)} owned path(s))")
        return 0
    if args.check:
        diff = difflib.unified_diff(
            (current or "").splitlines(keepends=True), wanted.splitlines(keepends=True), CODEOWNERS, "from the specs"
        )
        print("".join(diff), end="")
        print(f"{CODEOWNERS}: differs from the specs' owners; run `modelplane codeowners` and commit it")
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, wanted)
    print(f"{CODEOWNERS}: written ({len(rows)} owned path(s))")
    return 0
