"""`modelplane lock`: record what MLflow says about each pinned model version in modelplane.lock."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError
from modelplane.registry import LOCK_FILE, lock_text
from modelplane.repo import load_repo
from modelplane.spec.delivery import served_versions
from modelplane.write import write_text_atomic

DEFAULT_TRACKING_URI = "sqlite:///.modelplane/mlflow.db"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI),
        help=f"MLflow tracking/registry URI (env MLFLOW_TRACKING_URI; default {DEFAULT_TRACKING_URI})",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when modelplane.lock differs from the registry")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the registry, one try per request (default 30)"
    )


def run(args: argparse.Namespace) -> int:
    from modelplane.registry import fetch_versions

    root = Path(args.root)
    repo, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # problems found: exit 1, as for validate
        emit(problems, "text", f"lock stopped: {len(errors)} problem(s) in the specs; run `modelplane validate`")
        return 1
    if args.timeout <= 0:
        raise ModelplaneError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    refs = sorted({(r.model.registry.name, v) for r in repo.resolved.values() for v in served_versions(r.model)})
    entries = fetch_versions(args.tracking_uri, refs, args.timeout)
    text = lock_text(entries)
    path = root / LOCK_FILE
    missing = [f"{name} v{version}" for name, version in refs if str(version) not in entries.get(name, {})]
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{LOCK_FILE}: stale; run `modelplane lock` and commit it")
            return 1
        print(f"{LOCK_FILE}: current ({len(refs)} version(s))")
        return 0
    write_text_atomic(path, text)
    note = f"; not in the registry: {', '.join(missing)}" if missing else ""
    print(f"{LOCK_FILE}: {len(refs) - len(missing)} of {len(refs)} pinned version(s) found{note}")
    return 0
