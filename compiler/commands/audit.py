"""`modelplane audit`: per (model, environment), who changed what and under which decision, from git."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    parser.add_argument("--since", default=None, help="only changes on or after this date (YYYY-MM-DD)")
    parser.add_argument("--until", default=None, help="only changes on or before this date (YYYY-MM-DD)")
    parser.add_argument("--format", choices=["text", "json", "csv", "markdown"], default="text")


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a commit is flagged (it changed what prod runs without a passing decision)."""
    from modelplane.audit import Filters, parse_day, walk
    from modelplane.audit_format import FORMATS, summary

    filters = Filters(
        frozenset(args.model),
        frozenset(args.env),
        parse_day(args.since, "--since") if args.since else None,
        parse_day(args.until, "--until", end=True) if args.until else None,
    )
    audit = walk(Path(args.root), filters)
    print(FORMATS[args.format](audit), end="")
    if args.format not in ("text",):
        print(summary(audit), file=sys.stderr)
    return 1 if audit.flagged else 0
