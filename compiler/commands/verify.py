"""`modelplane verify`: server-side dry-run of every rendered object against a real cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

from modelplane.commands.shared import load_selected_repo
from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError, Problem
from modelplane.repo import Repo

# Which part of the spec produced each rendered file, for "produced by <file>:<line> (<key>)".
_SOURCE_KEYS = {
    "serving.yaml": "serving",
    "training.yaml": "training",
    "retrain-events.yaml": "training",
    "monitoring.yaml": "monitoring",
    "monitor.yaml": "monitoring",
    "alertmanager-config.yaml": "monitoring",
    "dashboard.yaml": "monitoring",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    where.add_argument("--context", default=None, help="context of the default kubeconfig (default: its current one)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each request (default 10)")


def _source(repo: Repo, env: str, model: str | None, file: str) -> str:
    """`models/churn/model.yaml:14 (serving)` for a model's file; the environment file otherwise."""
    if model is None or (env, model) not in repo.resolved:
        loaded = repo.environments.get(env)
        if loaded is None:
            return ""
        pos = loaded.doc.source.locate(("argocd",), at_key=True)
        return f"{pos.file}:{pos.line} (argocd)"
    resolved = repo.resolved[(env, model)]
    key = _SOURCE_KEYS.get(Path(file).name)
    if key is None:  # application.yaml: the model's name and the environment's argocd settings
        return f"{resolved.model_file} and {resolved.env_file}"
    pos = resolved.source.locate((key,), at_key=True)
    return f"{pos.file}:{pos.line} ({key})"


def run(args: argparse.Namespace) -> int:
    from modelplane.cluster import connect, dry_run, missing_prerequisites, rejection, rendered_objects

    root = Path(args.root)
    if args.timeout <= 0:
        raise ModelplaneError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    repo = load_selected_repo(root, args.env, args.model, "verify")
    if repo is None:
        return 1
    envs = [e for e in repo.env_order() if not args.env or e in args.env]
    objects = rendered_objects(root, envs, set(args.model))
    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else None
    with connect(kubeconfig, args.context, args.timeout) as cluster:
        missing = missing_prerequisites(cluster, objects)
        for item in missing:
            print(f"verify: {item.render()}")
        absent = {m.name for m in missing}
        ready = [o for o in objects if o.namespace not in absent and f"{o.api_version} {o.kind}" not in absent]
        found: list[Problem] = []
        for obj in ready:
            message = dry_run(cluster, obj, args.timeout)
            if message is not None:
                found.append(rejection(obj, message, _source(repo, obj.env, obj.model, obj.file)))
    skipped = len(objects) - len(ready)
    summary = (
        f"verify: {len(ready)} object(s) of {', '.join(envs)} dry-run on {cluster.host} "
        f"(Kubernetes {cluster.server_version}): {len(ready) - len(found)} accepted, {len(found)} rejected"
        + (f", {skipped} not tried (missing namespace or kind)" if skipped else "")
    )
    emit(found, "text", summary)
    return 1 if found or missing else 0
