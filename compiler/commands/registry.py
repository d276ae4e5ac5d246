"""`modelplane registry sync`: make MLflow say what each environment runs, after a merge.

For every (model, environment), the version the environment pins gets the MLflow alias named
after the environment (`prod`, `staging`, …) and the tag `modelplane.<env>.commit` with the git
commit that made it so. Running it again changes nothing; `--dry-run` only lists the changes.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from modelplane.commands.lock import add_tracking_uri
from modelplane.commands.shared import check_selection
from modelplane.problems import ModelplaneError
from modelplane.registry import DEFAULT_TIMEOUT, bounded_requests, no_registry, quiet_mlflow, tracking_uri
from modelplane.repo import load_repo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="registry_command", metavar="SUBCOMMAND", required=True)
    sync = sub.add_parser("sync", help="set MLflow aliases <env> on the version each environment runs")
    add_tracking_uri(sync)
    sync.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    sync.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    sync.add_argument("--commit", default=None, help="the commit to record (default: git rev-parse HEAD)")
    sync.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per registry request, one try (default 30)"
    )


def _head(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ModelplaneError(f"{root}: not a git repository; pass --commit")
    return done.stdout.strip()


def commit_tag(env: str) -> str:
    return f"modelplane.{env}.commit"


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ModelplaneError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    with bounded_requests(args.timeout):
        return _sync(args)


def _sync(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    root = Path(args.root)
    repo, problems = load_repo(root)
    if any(p.severity == "error" for p in problems):
        raise ModelplaneError("the specs have problems; run `modelplane validate` first")
    check_selection(repo, args.env, [])
    missing_registry = no_registry(args.tracking_uri)
    if missing_registry:
        raise ModelplaneError(missing_registry)
    commit = args.commit or _head(root)
    uri = tracking_uri(args.tracking_uri)
    quiet_mlflow()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    pairs = sorted((key, r) for key, r in repo.resolved.items() if not args.env or key[0] in args.env)
    changes = 0
    for (env, _model), resolved in pairs:
        name, version = resolved.model.registry.name, str(resolved.model.registry.version)
        try:
            current = client.get_model_version(name, version)
            by_alias = None
            try:
                by_alias = str(client.get_model_version_by_alias(name, env).version)
            except MlflowException as exc:
                if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                    raise
            todo = []
            if by_alias != version:
                todo.append(f"alias {env}: v{by_alias or '-'} -> v{version}")
            if (current.tags or {}).get(commit_tag(env)) != commit:
                todo.append(f"tag {commit_tag(env)}={commit[:12]}")
            if not todo:
                continue
            changes += 1
            print(f"{env}/{name} v{version}: {'; '.join(todo)}{' (dry run)' if args.dry_run else ''}")
            if not args.dry_run:
                client.set_registered_model_alias(name, env, version)
                client.set_model_version_tag(name, version, commit_tag(env), commit)
        except MlflowException as exc:
            raise ModelplaneError(f"MLflow registry at {uri}: {exc.message.splitlines()[0]}") from exc
        except Exception as exc:  # connection refused, bad URI: one line
            raise ModelplaneError(f"MLflow registry at {uri} is not reachable: {exc}") from exc
    verb = "would change" if args.dry_run else "changed"
    print(f"registry sync: {changes} version(s) {verb}; {len(pairs) - changes} already current")
    return 0
