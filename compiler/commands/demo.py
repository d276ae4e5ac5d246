"""`modelplane demo`: the whole pipeline on this repository with embedded defaults.

A sqlite MLflow registry under .modelplane/ stands in for a shared one, and a local OPA server
is started for the policy check; both are the real thing, just local.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelplane.cli import main as cli_main
from modelplane.commands.lock import DEFAULT_TRACKING_URI
from modelplane.commands.validate import emit
from modelplane.repo import load_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI, help="MLflow registry to seed and read")
    parser.add_argument("--crds", default=os.environ.get("MODELPLANE_CRDS"), help="CRD folder for compile")


def _step(title: str, argv: list[str]) -> int:
    print(f"\n== {title}: modelplane {' '.join(argv)}", flush=True)
    code = cli_main(argv)
    print(f"-> exit {code}", flush=True)
    return code


def run(args: argparse.Namespace) -> int:
    from modelplane.demo_registry import seed

    root = Path(args.root)
    repo, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # problems found: exit 1, as for validate
        emit(problems, "text", f"demo stopped: {len(errors)} problem(s) in the specs; run `modelplane validate`")
        return 1
    print(f"== registry: seeding {args.tracking_uri} with the pinned example versions", flush=True)
    print("   " + ", ".join(seed(repo, args.tracking_uri)))
    base = ["--root", str(root)]
    crds = ["--crds", args.crds] if args.crds else []
    codes = [
        _step("validate", [*base, "validate"]),
        _step("lock", [*base, "lock", "--tracking-uri", args.tracking_uri]),
        _step("compile", [*base, "compile", *crds]),
        _step("check", [*base, "check"]),
    ]
    worst = max(codes)
    print(f"\ndemo finished: {'all steps passed' if worst == 0 else 'a step failed (see above)'}")
    return worst
