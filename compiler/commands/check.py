"""`modelplane check`: evaluate the OPA policies for every (model, environment)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modelplane.commands.shared import check_selection
from modelplane.gate.results import CheckReport
from modelplane.problems import ModelplaneError, Problem
from modelplane.repo import load_repo

if TYPE_CHECKING:
    from modelplane.gate.check import GateOptions


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
    parser.add_argument(
        "--base", default="HEAD", help="git ref whose history gives the promotion facts (in a PR: origin/main)"
    )
    parser.add_argument("--today", default=None, help=argparse.SUPPRESS)  # waiver expiry, for tests
    parser.add_argument(
        "--record", action="store_true", help="write each decision into rendered/<env>/decisions.json (for git)"
    )
    parser.add_argument(
        "--check", action="store_true", help="with --record: write nothing; exit 1 naming each stale decision"
    )


def _emit(fmt: str, report: CheckReport) -> None:
    from modelplane.report import FORMATS

    print(FORMATS[fmt](report), end="")


def run(args: argparse.Namespace) -> int:
    """Every exit path prints a document in --format; a gate error is also one line on stderr (exit 2)."""
    try:
        return _run(args)
    except Exception as exc:  # ModelplaneError, OSError or a bug: the CLI still prints its one line
        if args.format != "text":
            message = str(exc) if isinstance(exc, ModelplaneError) else f"{type(exc).__name__}: {exc}"
            _emit(args.format, CheckReport.halted(f"policy check could not run: {message}", error=message))
        raise


def _options(args: argparse.Namespace, root: Path) -> GateOptions:
    from modelplane.gate.check import GateOptions

    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError as exc:
        raise ModelplaneError(f"--today {args.today}: expected YYYY-MM-DD") from exc
    return GateOptions(
        policy_dir=_policy_dir(args),
        rendered_dir=root / "rendered",
        opa_url=args.opa_url,
        upload=not args.no_upload,
        timeout=args.timeout,
        today=today,
        base=args.base,
    )


def _in_shares(args: argparse.Namespace, root: Path) -> tuple[CheckReport, list[Problem]] | None:
    """The gate with the models loaded and judged a share at a time, in worker processes when
    there are many; None when the specs or the selection have problems (the caller loads the
    repository whole and says so, exactly as before)."""
    from modelplane.gate.check import run_gate_shares
    from modelplane.parallel import split
    from modelplane.repo import Selection, StreamingLoad, spec_files

    env_paths, model_paths = spec_files(root)
    loader = StreamingLoad(root, list(env_paths.values()))
    if loader.has_errors or any(e not in loader.repo.environments for e in args.env):
        return None
    if any(m not in model_paths for m in args.model):
        return None
    selection = Selection(set(args.env), set(args.model))
    models = sorted(m for m in model_paths if not args.model or m in args.model)
    envs = [e for e in loader.repo.environments if not args.env or e in args.env]
    shares, workers = split([model_paths[m] for m in models], len(models) * len(envs))
    return run_gate_shares(loader, shares, selection, _options(args, root), workers, set(model_paths))


def _run(args: argparse.Namespace) -> int:
    from modelplane.gate.check import run_gate
    from modelplane.repo import Selection

    root = Path(args.root)
    if not args.record and not args.check:  # judged a share at a time: nothing needs the whole repository
        outcome = _in_shares(args, root)
        if outcome is not None:
            return _finish(args, *outcome)
    repo, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        reason = f"check stopped: {len(errors)} problem(s) in the specs; run `modelplane validate`"
        _emit(args.format, CheckReport.halted(reason, problems))
        return 1
    check_selection(repo, args.env, args.model)
    if args.check:
        from modelplane.decisions import report_stale

        if not args.record:
            raise ModelplaneError("--check goes with --record: it checks the recorded decisions")
        return report_stale(repo, Selection(set(args.env), set(args.model)), root / "rendered", _policy_dir(args))
    options = _options(args, root)
    report, waiver_problems = run_gate(repo, Selection(set(args.env), set(args.model)), options)
    code = _finish(args, report, waiver_problems)
    if args.record and not waiver_problems:
        from modelplane.decisions import record

        written = record(repo, report, options.rendered_dir, options.policy_dir)
        print(f"check --record: {len(written)} decisions file(s) updated", file=sys.stderr)
    return code


def _finish(args: argparse.Namespace, report: CheckReport, waiver_problems: list[Problem]) -> int:
    if waiver_problems:
        reason = f"check stopped: {len(waiver_problems)} problem(s) in the waivers"
        _emit(args.format, CheckReport.halted(reason, waiver_problems))
        return 1
    _emit(args.format, report)
    return 0 if report.passed else 1


def _policy_dir(args: argparse.Namespace) -> Path:
    return Path(args.policies) if args.policies else Path(args.root) / "policies"
