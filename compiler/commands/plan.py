"""`modelplane plan`: what this change does to each environment, against a base commit (no cluster)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base", default=None, help="git ref to compare with (default: the merge base with the default branch)"
    )
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")


def run(args: argparse.Namespace) -> int:
    from modelplane.commands.validate import emit
    from modelplane.plan_format import FORMATS
    from modelplane.planning import HeadProblems, build_plan

    try:
        plan = build_plan(Path(args.root), args.base)
    except HeadProblems as exc:
        emit(exc.problems, "text", str(exc))
        return 1
    print(FORMATS[args.format](plan), end="")
    return 0
