"""`modelplane demo`: the whole pipeline on this repository with embedded defaults, then a promotion.

A sqlite MLflow registry under .modelplane/ stands in for a shared one, and a local OPA server
is started for the policy check; both are the real thing, just local. The promotion runs in a
scratch copy of the repository (a git repository of its own whose one commit has everything
running for three days), so the work tree here is left as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from modelplane.cli import main as cli_main
from modelplane.commands.lock import DEFAULT_TRACKING_URI
from modelplane.commands.validate import emit
from modelplane.registry import LOCK_FILE
from modelplane.repo import Repo, load_repo

COPIED = ("models", "environments", "policies", "rendered")
SOAKED_HOURS = 72  # how long ago the scratch copy's one commit was made


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI, help="MLflow registry to seed and read")
    parser.add_argument("--crds", default=os.environ.get("MODELPLANE_CRDS"), help="CRD folder for compile")


def _step(title: str, argv: list[str]) -> int:
    print(f"\n== {title}: modelplane {' '.join(argv)}", flush=True)
    code = cli_main(argv)
    print(f"-> exit {code}", flush=True)
    return code


def waiting_promotion(repo: Repo) -> tuple[str, str] | None:
    """The first (model, environment), in promotion order, whose upstream runs another version."""
    for env in repo.env_order():
        upstream = repo.env(env).promotes_from
        if upstream is None:
            continue
        for model in sorted(repo.models):
            here, above = repo.resolved.get((env, model)), repo.resolved.get((upstream, model))
            if here and above and here.model.registry.version != above.model.registry.version:
                return model, env
    return None


def _git(root: Path, *args: str, when: int | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when is not None:
        env |= {"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def scratch_copy(root: Path, dest: Path, when: int) -> None:
    """`dest`: the config repository's specs, policies, rendered/ and lock in a git repository of
    its own, committed at `when`, so each environment has run what it runs since then."""
    for name in COPIED:
        shutil.copytree(root / name, dest / name)
    shutil.copy(root / LOCK_FILE, dest / LOCK_FILE)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "config", "user.name", "Modelplane demo")
    _git(dest, "config", "user.email", "demo@modelplane.invalid")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "what each environment runs", when=when)


def _promotion(root: Path, repo: Repo, tracking_uri: str, crds: list[str]) -> int:
    waiting = waiting_promotion(repo)
    if waiting is None:
        print("\n== promotion: every environment runs what its upstream runs; nothing to promote")
        return 0
    model, env = waiting
    with tempfile.TemporaryDirectory(prefix="modelplane-demo-") as tmp:
        scratch = Path(tmp) / "config"
        scratch_copy(root, scratch, int(time.time()) - SOAKED_HOURS * 3600)
        print(f"\n== promotion, in a scratch copy of this repository ({scratch}; removed afterwards)", flush=True)
        body = Path(tmp) / "pr-body.md"
        argv = ["--root", str(scratch), "promote", model, "--to", env, "--git", "--pr-body", str(body)]
        code = _step(f"promote {model} to {env}", [*argv, "--tracking-uri", tracking_uri, *crds])
        if code != 0:
            return code
        print(f"\n-- the commit on {_git(scratch, 'branch', '--show-current').strip()}:")
        print(_git(scratch, "show", "--stat", "--format=%s", "HEAD").rstrip())
        print(_git(scratch, "show", "--format=", "HEAD", "--", repo.models[model].doc.file).rstrip())
        print("\n-- its pull-request body:\n")
        print(body.read_text(encoding="utf-8").rstrip())
    return 0


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
    if max(codes) == 0:
        codes.append(_promotion(root, repo, args.tracking_uri, crds))
    else:
        print("\n== promotion: skipped, a step above failed")
    worst = max(codes)
    print(f"\ndemo finished: {'all steps passed' if worst == 0 else 'a step failed (see above)'}")
    return worst
