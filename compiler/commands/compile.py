"""`modelplane compile`: render every (model, environment) into rendered/, or check it is current."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError
from modelplane.repo import load_repo
from modelplane.write import MARKER, MARKER_TEXT, check_output_folder, output_lock, recover, swap_in, write_tree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="exit 1 and name stale files when rendered/ is out of date"
    )
    parser.add_argument("--env", action="append", default=[], help="only this environment (repeatable)")
    parser.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    parser.add_argument("--out", default=None, help="output folder (default: <root>/rendered)")
    parser.add_argument(
        "--crds",
        default=os.environ.get("MODELPLANE_CRDS"),
        help="folder of CustomResourceDefinitions to check custom resources against (env MODELPLANE_CRDS)",
    )


def _selection(args: argparse.Namespace, envs: set[str], models: set[str]) -> Any:
    from modelplane.repo import Selection

    for name in args.env:
        if name not in envs:
            raise ModelplaneError(f"--env {name}: no such environment (have: {', '.join(sorted(envs))})")
    for name in args.model:
        if name not in models:
            raise ModelplaneError(f"--model {name}: no such model (have: {', '.join(sorted(models))})")
    return Selection(set(args.env), set(args.model))


def stale_paths(current: dict[str, str], wanted: dict[str, str]) -> list[str]:
    changed = [p for p, text in wanted.items() if current.get(p) != text]
    extra = [p for p in current if p not in wanted]
    return sorted(changed + extra)


def removed_models(current: dict[str, str], wanted: dict[str, str]) -> list[str]:
    """`<env>/<model>` folders the new tree no longer has."""
    folders = {"/".join(p.split("/")[:2]) for p in current if p.count("/") >= 2}
    kept = {"/".join(p.split("/")[:2]) for p in wanted if p.count("/") >= 2}
    return sorted(folders - kept)


def run(args: argparse.Namespace) -> int:
    # Rendering pulls in helm, hera and the schema bundles: import them only when compiling.
    from modelplane.decisions import carried_over  # check --record's files live beside the output
    from modelplane.manifests import ManifestChecker
    from modelplane.pipeline import compile_repo, merge_untouched, read_tree
    from modelplane.render.serving import HelmRenderer

    root = Path(args.root)
    out = Path(args.out) if args.out else root / "rendered"
    repo, problems = load_repo(root)
    check_output_folder(out, root)  # refuse early; checked again under the lock
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        emit(problems, "text", f"compile stopped: {len(errors)} problem(s) in the specs")
        return 1
    selection = _selection(args, set(repo.environments), set(repo.models))
    checker = ManifestChecker(Path(args.crds) if args.crds else None)
    rendered, problems = compile_repo(repo, selection, HelmRenderer(), checker)
    if problems:
        emit(problems, "text", f"compile stopped: {len(problems)} problem(s) in what would be rendered")
        return 1

    with output_lock(out):
        check_output_folder(out, root)
        if not args.check:
            recover(out)
        current = read_tree(out)
        kept = {**merge_untouched(current, rendered, selection), **carried_over(current, rendered)}
        wanted = {**kept, MARKER: MARKER_TEXT}
        stale = stale_paths(current, wanted)
        removed = removed_models(current, wanted)
        if args.check:
            for path in stale:
                print(f"{out / path}: stale", file=sys.stdout)
            if stale:
                print(f"compile --check: {len(stale)} file(s) differ; run `modelplane compile` and commit rendered/")
                return 1
            print(f"compile --check: rendered/ is current ({len(wanted)} files)")
            return 0
        if stale:
            swap_in(write_tree(wanted, out), out)
    for folder in removed:
        print(f"removed {out / folder}: the model is no longer in models/")
    pairs = sum(1 for key in repo.resolved if selection.wants(*key))
    print(
        f"compiled {pairs} (environment, model) pair(s) into {out}: {len(stale)} file(s) changed, {len(wanted)} in all"
    )
    return 0
