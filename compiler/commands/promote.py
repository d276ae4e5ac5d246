"""`modelplane promote MODEL --to ENV`: pin in ENV the version its upstream environment runs.

The version comes from the upstream environment's compiled record on the base ref (what was
merged and synced there), or `--version V` for a version that ran upstream or ran in ENV before
(a rollback). The registry is asked about the version before anything is written: it must be
there, and approved when ENV is a prod-profile environment. The pin is a one-line YAML edit that
keeps comments and layout; then the lock and `rendered/` are brought up to date. With `--git` it
all lands on a new branch as one commit, and a pull-request body says what changes. Nothing is
written with `--dry-run` or on any error.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import subprocess
import time
from pathlib import Path

from modelplane.binding import model_uri
from modelplane.commands.lock import add_tracking_uri
from modelplane.history import EnvHistory, NoHistory, env_history, is_git_repo
from modelplane.pins import set_pin
from modelplane.pr_body import Promotion, pr_body, pr_title
from modelplane.problems import ModelplaneError
from modelplane.registry import DEFAULT_TIMEOUT, LOCK_FILE, facts_for, fetch_versions, load_lock, tracking_uri
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
    parser.add_argument("--pr-title", default=None, help="write the pull-request title (one line) to this file")
    add_tracking_uri(parser)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per registry request, one try (default 30)"
    )
    parser.add_argument("--crds", default=None, help="CRD folder for compile (default: env MODELPLANE_CRDS)")


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


def check_registry(repo: Repo, model: str, target: str, version: int, uri: str, timeout: float) -> None:
    """The registry must know the version, and have approved it for a prod-profile environment."""
    name = repo.model(model).registry.name
    entries = fetch_versions(uri, [(name, version)], timeout, frozenset(repo.environments))
    facts = facts_for({"models": entries}, name, version)
    if not facts["found"]:
        raise PromotionRefused(f"{name} v{version} is not in the MLflow registry at {uri}; register it first")
    if repo.env(target).policy_profile == "prod" and not facts["approved"]:
        raise PromotionRefused(
            f"{name} v{version} is not approved in the registry (tag approval=approved);"
            f" {target} runs approved versions only"
        )


def pins_after(repo: Repo, model: str) -> list[tuple[str, int]]:
    return [
        (env, repo.resolved[(env, model)].model.registry.version)
        for env in repo.env_order()
        if (env, model) in repo.resolved
    ]


def _diff(file: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{file}", f"b/{file}"
    )
    return "".join(lines)


def _refresh(root: Path, uri: str, timeout: float, crds: str | None) -> None:
    """Lock, compile and record the gate's decisions (as `make render` does, so the branch's
    recorded decisions are current; a blocking decision is recorded too, and shown in the pull
    request body). On failure the lock is put back (compile writes all of rendered/ or nothing)."""
    lock_path = root / LOCK_FILE
    lock_before = lock_path.read_text(encoding="utf-8") if lock_path.exists() else None
    steps = [
        (["lock", "--tracking-uri", uri, "--timeout", str(timeout)], {0}),
        (["compile", *(["--crds", crds] if crds else [])], {0}),
        (["check", "--record"], {0, 1}),
    ]
    for step, fine in steps:
        code, said = _quiet(["--root", str(root), *step])
        if code not in fine:
            if lock_before is not None:
                write_text_atomic(lock_path, lock_before)
            last = said.strip().splitlines()[-1] if said.strip() else f"exit {code}"
            raise ModelplaneError(f"promote: `modelplane {step[0]}` failed, nothing changed: {last}")


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
    if args.timeout <= 0:
        raise ModelplaneError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    uri = tracking_uri(args.tracking_uri)
    check_registry(repo, args.model, args.target, version, uri, args.timeout)

    file = repo.models[args.model].doc.file
    model_file = root / file
    before = model_file.read_text(encoding="utf-8")
    after = set_pin(before, file, args.target, version)
    if args.dry_run:
        print(_diff(file, before, after), end="")
        print(f"promote --dry-run: {args.target}/{args.model} v{old} → v{version}; nothing written")
        return 0

    branch = f"promote/{args.model}-{args.target}-v{version}"
    if args.git:
        _git(root, "switch", "-q", "-c", branch)
    write_text_atomic(model_file, after)
    try:
        _refresh(root, uri, args.timeout, args.crds)
    except ModelplaneError:
        write_text_atomic(model_file, before)
        if args.git:
            _git(root, "checkout", "-q", "--", ".")
            _git(root, "switch", "-q", "-")
            _git(root, "branch", "-q", "-D", branch)
        raise

    repo, _ = load_repo(root)
    registry = repo.model(args.model).registry
    facts = facts_for(load_lock(root), registry.name, version)
    gate_code, gate_report = _quiet(
        [
            "--root",
            str(root),
            "check",
            "--model",
            args.model,
            "--env",
            args.target,
            "--base",
            args.base,
            "--format",
            "markdown",
        ]
    )
    promotion = Promotion(
        model=args.model,
        model_uri=model_uri(registry.name, version),
        target=args.target,
        upstream=upstream,
        old=old,
        new=version,
        rollback=histories[args.target].ran(args.model, version) is not None,
        upstream_run=histories[upstream].ran(args.model, version),
        now=int(time.time()),
    )
    status = {0: "passed", 1: "blocked"}.get(gate_code, "could not run")
    body = pr_body(promotion, pins_after(repo, args.model), facts, status, gate_report)
    if args.git:
        _git(root, "add", "--", file, LOCK_FILE, "rendered")
        origin = "" if promotion.rollback else f" (from {upstream})"
        _git(root, "commit", "-q", "-m", f"{pr_title(promotion)}{origin}")
    if args.pr_title:
        write_text_atomic(Path(args.pr_title), pr_title(promotion) + "\n")
    if args.pr_body:
        write_text_atomic(Path(args.pr_body), body)
    else:
        print(body)
    where = f" on branch {branch}" if args.git else ""
    print(f"promoted {args.model} v{version} to {args.target}{where} (gate: {status})")
    return 0
