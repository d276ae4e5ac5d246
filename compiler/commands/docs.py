"""`modelplane docs build`: a static HTML catalog of the config repository."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = ".modelplane/site"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="docs_command", metavar="SUBCOMMAND", required=True)
    build = sub.add_parser("build", help="write the catalog (index, a page per model and environment, policies)")
    build.add_argument("--out", default=None, help=f"output folder (default: <root>/{DEFAULT_OUT})")


def run(args: argparse.Namespace) -> int:
    from modelplane.catalog.build import build_site

    root = Path(args.root)
    out = Path(args.out) if args.out else root / DEFAULT_OUT
    return build_site(root, out)
