"""`modelplane schemas [--check]`: write (or check) schemas/*.schema.json from the spec models."""

from __future__ import annotations

import argparse
from pathlib import Path

from modelplane.schemas import generate
from modelplane.write import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 when schemas/ is out of date")
    parser.add_argument("--out", default=None, help="folder (default: <root>/schemas)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(args.root) / "schemas"
    stale = []
    for name, text in sorted(generate().items()):
        path = out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(str(path))
        if not args.check:
            write_text_atomic(path, text)
    if args.check and stale:
        for name in stale:
            print(f"{name}: stale; run `modelplane schemas` and commit the result")
        return 1
    verb = "stale" if args.check else "written"
    print(f"schemas: {len(stale)} file(s) {verb}, {len(generate()) - len(stale)} up to date")
    return 0
