"""`modelplane check`: evaluate the OPA policies for every (model, environment)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

from modelplane.commands.shared import load_selected_repo
from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modelplane.report import FORMATS

    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    parser.add_argument("--policies", default=None, help="policy folder (default: <root>/policies)")
    parser.add_argument(
        "--opa-url",
        default=os.environ.get("MODELPLANE_OPA_URL"),
        help="use this OPA server instead of starting a local one (env MODELPLANE_OPA_URL)",
    )
    parser.add_argument(
        "--no-upload",
        action="store_true",
        help="with --opa-url: the server already has the policies (from a bundle); do not upload them",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for OPA (default 30)")
    parser.add_argument("--today", default=None, help=argparse.SUPPRESS)  # waiver expiry, for tests


def run(args: argparse.Namespace) -> int:
    from modelplane.gate.check import GateOptions, run_gate
    from modelplane.repo import Selection
    from modelplane.report import FORMATS

    root = Path(args.root)
    repo = load_selected_repo(root, args.env, args.model, "check")
    if repo is None:
        return 1
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError as exc:
        raise ModelplaneError(f"--today {args.today}: expected YYYY-MM-DD") from exc
    options = GateOptions(
        policy_dir=Path(args.policies) if args.policies else root / "policies",
        rendered_dir=root / "rendered",
        opa_url=args.opa_url,
        upload=not args.no_upload,
        timeout=args.timeout,
        today=today,
    )
    report, waiver_problems = run_gate(repo, Selection(set(args.env), set(args.model)), options)
    if waiver_problems:
        emit(waiver_problems, "text", f"check stopped: {len(waiver_problems)} problem(s) in the waivers")
        return 1
    print(FORMATS[args.format](report), end="")
    return 0 if report.passed else 1
