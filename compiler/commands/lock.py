"""`modelplane lock`: record what MLflow says about each pinned model version in modelplane.lock.

`--check` proves the committed lock against the registry, so a pull request cannot approve its own
version by editing the lock; with no registry to ask it fails (exit 2), it never passes.
`--changed-since REF` narrows the check to a change that needs it: a pin or a lock fact that
differs from REF (a promotion, a rollback, a hand edit of the lock).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from modelplane.commands.validate import emit
from modelplane.history import NoHistory, registry_changes
from modelplane.problems import ModelplaneError
from modelplane.registry import DEFAULT_TRACKING_URI, LOCK_FILE, lock_text, no_registry, tracking_uri
from modelplane.repo import Repo, load_repo
from modelplane.spec.delivery import served_versions
from modelplane.write import write_text_atomic

__all__ = ["DEFAULT_TRACKING_URI", "add_tracking_uri"]


def add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help=f"MLflow tracking/registry URI (default: env MLFLOW_TRACKING_URI, else {DEFAULT_TRACKING_URI})",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_tracking_uri(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 when modelplane.lock differs from the registry")
    parser.add_argument(
        "--changed-since",
        default=None,
        metavar="REF",
        help="with --check: check only when a pin or the lock differs from git ref REF (in a PR: origin/main)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the registry, one try per request (default 30)"
    )


def _changes(repo: Repo, ref: str) -> list[str]:
    try:
        return registry_changes(repo.root, "rendered", repo.env_order(), LOCK_FILE, ref)
    except NoHistory as exc:  # unknown is not "nothing changed": fail closed
        raise ModelplaneError(f"--changed-since {ref}: cannot tell what changed: {exc}") from exc


def lock_differences(current: str, registry: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Each version whose lock entry differs from what the registry says, with the keys that differ."""
    try:
        locked = json.loads(current).get("models", {}) if current else {}
    except (ValueError, AttributeError):
        return ["not readable as a lock"]
    out = []
    for name in sorted(set(locked) | set(registry)):
        for version in sorted(set(locked.get(name, {})) | set(registry.get(name, {})), key=_number):
            have, want = locked.get(name, {}).get(version), registry.get(name, {}).get(version)
            if have == want:
                continue
            if want is None:
                out.append(f"{name} v{version}: in the lock, not in the registry (or no longer pinned)")
            elif have is None:
                out.append(f"{name} v{version}: in the registry, missing from the lock")
            else:
                keys = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
                shown = "; ".join(
                    f"{k}: lock {json.dumps(have.get(k))}, registry {json.dumps(want.get(k))}" for k in keys
                )
                out.append(f"{name} v{version}: {shown}")
    return out


def _number(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


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
    if args.changed_since is not None and not args.check:
        raise ModelplaneError("--changed-since goes with --check")
    if args.check:
        if args.changed_since is not None:
            changes = _changes(repo, args.changed_since)
            if not changes:
                print(f"{LOCK_FILE}: no pin and no lock fact differs from {args.changed_since}; nothing to check")
                return 0
            print(f"changed since {args.changed_since}: {'; '.join(changes)}")
        missing_registry = no_registry(args.tracking_uri)
        if missing_registry:
            raise ModelplaneError(missing_registry)
    uri = tracking_uri(args.tracking_uri)
    refs = sorted({(r.model.registry.name, v) for r in repo.resolved.values() for v in served_versions(r.model)})
    entries = fetch_versions(uri, refs, args.timeout, frozenset(repo.environments))
    text = lock_text(entries)
    path = root / LOCK_FILE
    missing = [f"{name} v{version}" for name, version in refs if str(version) not in entries.get(name, {})]
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            for line in lock_differences(current, entries):
                print(f"{LOCK_FILE}: {line}")
            print(f"{LOCK_FILE}: stale or edited by hand: differs from the registry; run `modelplane lock`, commit it")
            return 1
        print(f"{LOCK_FILE}: matches the registry ({len(refs)} version(s))")
        return 0
    write_text_atomic(path, text)
    note = f"; not in the registry: {', '.join(missing)}" if missing else ""
    print(f"{LOCK_FILE}: {len(refs) - len(missing)} of {len(refs)} pinned version(s) found{note}")
    return 0
