"""`modelplane promote MODEL --to ENV`: pin in ENV the version its upstream environment runs.

The version comes from the upstream environment's compiled record on the base ref (what was
merged and synced there), or `--version V` for a version that ran upstream or ran in ENV before
(a rollback). The pin is a one-line YAML edit that keeps comments and layout; then the lock and
`rendered/` are brought up to date. With `--git` it all lands on a new branch as one commit, and
a pull-request body says what changes. Nothing is written with `--dry-run` or on any error.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from modelplane.commands.lock import DEFAULT_TRACKING_URI
from modelplane.history import EnvHistory, NoHistory, env_history, is_git_repo
from modelplane.pins import set_pin
from modelplane.problems import ModelplaneError
from modelplane.registry import LOCK_FILE, facts_for, load_lock
from modelplane.repo import Repo, load_repo
from modelplane.write import write_text_atomic


class PromotionRefused(ModelplaneError):
    """The promotion asked for is not allowed (exit 1, like a blocking policy finding)."""

    exit_code = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model to promote")
    parser.add_argument("--to", required=True, dest="target", help="the environment that gets the new pin")
    parser.add_argument("--version", type=int, default=None, help="pin this version instead (rollback)")
    parser.add_argument("--base", default="HEAD", help="git ref whose upstream record is promoted (default HEAD)")
    parser.add_argument("--dry-run", action="store_true", help="show the change; write nothing")
    parser.add_argument("--git", action="store_true", help="make a branch and a commit")
    parser.add_argument("--pr-body", default=None, help="write the pull-request body (Markdown) to this file")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI),
        help="MLflow registry the lock is refreshed from (env MLFLOW_TRACKING_URI)",
    )
    parser.add_argument("--crds", default=os.environ.get("MODELPLANE_CRDS"), help="CRD folder for compile")


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ModelplaneError(f"git {args[0]}: {lines[0] if lines else done.returncode}")
    return done.stdout


def choose_version(model: str, target: str, upstream: str, asked: int | None, histories: dict[str, EnvHistory]) -> int:
    """The version to pin, or why not: it must have run upstream, or here before (rollback)."""
    above, here = histories[upstream], histories[target]
    if asked is None:
        if model not in above.current:
            raise PromotionRefused(f"{model} does not run in {upstream} on the base ref; nothing to promote")
        return above.current[model]
    if above.ran(model, asked) or here.ran(model, asked):
        return asked
    ran = sorted({r.version for r in above.runs.get(model, [])})
    raise PromotionRefused(
        f"{model} v{asked} never ran in {upstream} (it ran: {', '.join(f'v{v}' for v in ran) or 'nothing'})"
        f" nor in {target} before; promote only what ran upstream"
    )


def _quiet(argv: list[str]) -> tuple[int, str]:
    """Run another modelplane command in-process; its exit code and what it printed."""
    from modelplane.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(argv)
    return code, out.getvalue()


def pin_table(repo: Repo, model: str, target: str, old: int, new: int) -> list[tuple[str, str]]:
    rows = []
    for env in repo.env_order():
        if (env, model) not in repo.resolved:
            continue
        now = repo.resolved[(env, model)].model.registry.version
        rows.append((env, f"v{old} → **v{new}**" if env == target else f"v{now}"))
    return rows


def pr_body(
    model: str,
    target: str,
    upstream: str,
    old: int,
    new: int,
    rows: list[tuple[str, str]],
    facts: dict[str, Any],
    gate: tuple[int, str],
) -> str:
    status = {0: "passed", 1: "blocked"}.get(gate[0], "could not run")
    lines = [
        f"## Promote {model} v{new} to {target}",
        "",
        f"`{target}` runs what `{upstream}` runs: v{old} → v{new}.",
        "",
        "| environment | version |",
        "|---|---|",
        *[f"| {env} | {cell} |" for env, cell in rows],
        "",
        "### Registry (from modelplane.lock)",
        "",
        f"- found: {'yes' if facts.get('found') else 'no'}; status: {facts.get('status') or '-'}",
        f"- approved: {'yes' if facts.get('approved') else 'no'}"
        + (f" by {facts['approvedBy']}" if facts.get("approvedBy") else "")
        + (f" at {facts['approvedAt']}" if facts.get("approvedAt") else ""),
        f"- source: `{facts.get('source') or '-'}`",
        "",
        f"### Gate for {target}/{model}: {status}",
        "",
        "```",
        gate[1].strip()[:4000],
        "```",
        "",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    repo, problems = load_repo(root)
    if any(p.severity == "error" for p in problems):
        raise PromotionRefused("the specs have problems; run `modelplane validate` first")
    if args.model not in repo.models:
        raise PromotionRefused(f"no model named {args.model!r} (have: {', '.join(sorted(repo.models))})")
    if args.target not in repo.environments:
        raise PromotionRefused(f"--to {args.target}: no such environment (have: {', '.join(repo.env_order())})")
    upstream = repo.env(args.target).promotes_from
    if upstream is None:
        raise PromotionRefused(f"{args.target} promotes from no environment; its pin is the model's registry.version")
    if not is_git_repo(root):
        raise ModelplaneError(f"{root}: not a git repository; promotion reads what ran from git history")
    if args.git and _git(root, "status", "--porcelain").strip():
        raise ModelplaneError("the work tree has uncommitted changes; commit or stash them before --git")
    try:
        histories = {env: env_history(root, "rendered", env, args.base) for env in (upstream, args.target)}
    except NoHistory as exc:
        raise ModelplaneError(f"--base {args.base}: {exc}") from exc
    version = choose_version(args.model, args.target, upstream, args.version, histories)
    old = repo.resolved[(args.target, args.model)].model.registry.version
    if version == old:
        print(f"{args.target}/{args.model} already runs v{version}; nothing to promote")
        return 0

    model_file = root / repo.models[args.model].doc.file
    before = model_file.read_text(encoding="utf-8")
    after = set_pin(before, repo.models[args.model].doc.file, args.target, version)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{repo.models[args.model].doc.file}",
            f"b/{repo.models[args.model].doc.file}",
        )
    )
    if args.dry_run:
        print(diff, end="")
        print(f"promote --dry-run: {args.target}/{args.model} v{old} → v{version}; nothing written")
        return 0

    branch = f"promote/{args.model}-{args.target}-v{version}"
    if args.git:
        _git(root, "switch", "-q", "-c", branch)
    write_text_atomic(model_file, after)
    steps = [
        ["lock", "--tracking-uri", args.tracking_uri],
        ["compile", *(["--crds", args.crds] if args.crds else [])],
    ]
    for step in steps:
        code, said = _quiet(["--root", str(root), *step])
        if code != 0:
            write_text_atomic(model_file, before)
            if args.git:
                _git(root, "checkout", "-q", "--", ".")
                _git(root, "switch", "-q", "-")
                _git(root, "branch", "-q", "-D", branch)
            last = said.strip().splitlines()[-1] if said.strip() else f"exit {code}"
            raise ModelplaneError(f"promote: `modelplane {step[0]}` failed, nothing changed: {last}")

    repo, _ = load_repo(root)
    facts = facts_for(load_lock(root), repo.model(args.model).registry.name, version)
    gate = _quiet(["--root", str(root), "check", "--model", args.model, "--env", args.target])
    body = pr_body(
        args.model,
        args.target,
        upstream,
        old,
        version,
        pin_table(repo, args.model, args.target, old, version),
        facts,
        gate,
    )
    if args.git:
        _git(root, "add", "--", repo.models[args.model].doc.file, LOCK_FILE, "rendered")
        _git(root, "commit", "-q", "-m", f"Promote {args.model} v{version} to {args.target} (from {upstream})")
    if args.pr_body:
        write_text_atomic(Path(args.pr_body), body)
    else:
        print(body)
    where = f" on branch {branch}" if args.git else ""
    print(f"promoted {args.model} v{version} to {args.target}{where} (gate: {json.dumps(gate[0])})")
    return 0
