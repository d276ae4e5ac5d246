"""`modelplane compile`: render every (model, environment) into rendered/, or check it is current.

Incremental: the build manifests in the output folder say which pairs are unchanged; those are
neither loaded nor rendered, and only the files that change are written.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError, Problem
from modelplane.repo import spec_files
from modelplane.write import Content, Staging, check_output_folder, output_lock, recover, unit_of, update_tree


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
    parser.add_argument("--full", action="store_true", help="render every pair; trust nothing the manifests say")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _selection(args: argparse.Namespace, envs: set[str], models: set[str]) -> Any:
    from modelplane.repo import Selection

    for name in args.env:
        if name not in envs:
            raise ModelplaneError(f"--env {name}: no such environment (have: {', '.join(sorted(envs))})")
    for name in args.model:
        if name not in models:
            raise ModelplaneError(f"--model {name}: no such model (have: {', '.join(sorted(models))})")
    return Selection(set(args.env), set(args.model))


def stale_paths(
    out: Path, current: set[str], wanted: dict[str, Content | None], disk: dict[str, str | None]
) -> list[str]:
    """Files that differ from what compile would write, are missing, or should not be there
    (`disk`: the hashes known of the files there)."""
    from modelplane.build_manifest import sha256

    def differs(path: str, content: Content) -> bool:
        return (disk.get(path) or sha256((out / path).read_bytes())) != content.sha256

    stale = [p for p in current if p not in wanted]
    stale += [p for p, c in wanted.items() if p not in current or (c is not None and differs(p, c))]
    return sorted(stale)


def removed_models(current: set[str], wanted: dict[str, Content | None]) -> list[str]:
    """`<env>/<model>` folders the new tree no longer has."""
    if current <= wanted.keys():
        return []
    folders = {unit_of(p) for p in current if p.count("/") >= 2}
    kept = {unit_of(p) for p in wanted if p.count("/") >= 2}
    return sorted(folders - kept)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


@dataclass
class _Result:
    """What a compile says once its progress is closed: problems, or lines for stdout."""

    code: int
    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    headline: str = ""


def run(args: argparse.Namespace) -> int:
    from modelplane.progress import progress_for

    root = Path(args.root)
    out = Path(args.out) if args.out else root / "rendered"
    check_output_folder(out, root)  # refuse early; checked again under the lock
    if args.crds and not Path(args.crds).is_dir():
        raise ModelplaneError(f"--crds: no such folder: {args.crds}")
    progress = progress_for("compile", quiet=args.quiet)
    try:
        with output_lock(out):
            check_output_folder(out, root)
            if not args.check:
                recover(out)
            result = _compile(args, root, out, progress)
    finally:
        progress.close()
    if result.problems:
        emit(result.problems, "text", result.headline)
    for line in result.lines:
        print(line)
    return result.code


def _shared(root: Path, env_paths: dict[str, Path], model_paths: dict[str, Path], helm: Callable[[], Any]) -> Any:
    """The inputs every pair shares: lock, chart, helm, and every spec file's hash."""
    from modelplane.fingerprint import chart_hash, file_hash
    from modelplane.incremental import Shared, hash_files
    from modelplane.registry import LOCK_FILE, load_lock
    from modelplane.render import serving

    files = [*env_paths.values(), *model_paths.values()]
    hashes = dict(zip((_rel(p, root) for p in files), hash_files(files), strict=True))
    lock = root / LOCK_FILE
    return Shared(
        lock=load_lock(root),
        chart=chart_hash(serving.CHART_DIR),
        helm=_helm_version(helm),
        environments={_rel(p, root): hashes[_rel(p, root)] or "" for p in env_paths.values()},
        models={_rel(p, root): hashes[_rel(p, root)] or "" for p in model_paths.values()},
        card_template=_card_template_hash(root),
        config_root=root,
        lock_hash=file_hash(lock) if lock.is_file() else None,
    )


def _compile(args: argparse.Namespace, root: Path, out: Path, progress: Any) -> _Result:
    # Rendering pulls in helm, hera and the schema bundles: the pipeline imports them only when
    # something is to be rendered.
    from modelplane.decisions import carried_over
    from modelplane.incremental import models_to_load, read_previous
    from modelplane.local_cache import written_files
    from modelplane.parallel import split
    from modelplane.pipeline import Compilation
    from modelplane.repo import StreamingLoad, load_repo

    progress.stage("read inputs")
    env_paths, model_paths = spec_files(root)
    helm = _helm()
    shared = _shared(root, env_paths, model_paths, helm)
    previous = read_previous(out, env_paths, trust=not args.full)
    env_files = {name: _rel(p, root) for name, p in env_paths.items()}
    model_files = {name: _rel(p, root) for name, p in model_paths.items()}
    load = set(model_files) if args.full else models_to_load(previous, env_files, model_files, shared)
    every = [*env_paths.values(), *(model_paths[m] for m in sorted(load))]
    loader = StreamingLoad(root, list(env_paths.values()))
    if loader.has_errors:
        return _stopped(load_repo(root, every)[1])
    try:
        selection = _selection(args, set(loader.repo.environments), set(model_paths))
    except ModelplaneError:  # the specs' problems come first
        problems = load_repo(root, every)[1]
        if _spec_errors(problems):
            return _stopped(problems)
        raise
    staging = None if args.check else Staging(out)
    models = sorted(load) if not selection.models else sorted(m for m in load if m in selection.models)
    pairs = len(models) * len([e for e in loader.repo.environments if not selection.envs or e in selection.envs])
    compilation = Compilation(
        loader.repo, selection, helm, _checker(args.crds), previous, shared, sorted(model_paths), progress, staging
    )
    try:
        shares, workers = split([model_paths[m] for m in sorted(load)], pairs)
        compilation.run(loader, shares, workers)
        if loader.has_errors:
            if staging is not None:
                staging.discard()
            return _stopped(load_repo(root, every)[1])  # exactly what validate would say
        build = compilation.finish()
    except BaseException:
        if staging is not None:
            staging.discard()
        raise
    if build.problems:
        if staging is not None:
            staging.discard()
        headline = f"compile stopped: {len(build.problems)} rendered object(s) fail their schemas"
        return _Result(1, problems=build.problems, headline=headline)
    for path in carried_over(previous.current, build.wanted):  # check --record's, beside the output
        build.wanted.setdefault(path, None)
    if staging is None:
        return _check_result(out, previous.current, build.wanted, previous.disk)
    removed = removed_models(previous.current, build.wanted)
    progress.stage("write")
    changed = update_tree(staging, build.wanted, previous.current)
    # Remembered as written, so the check that follows need not hash them: every file staged in a
    # unit that was replaced is now in place (the others were discarded with the staging folder).
    replaced = set(changed)
    placed = [file for file in compilation.staged() if unit_of(file[0]) in replaced]
    previous.hashes.remember(written_files(placed), build.wanted)
    written = sum(1 for text in build.wanted.values() if text is not None)
    lines = [f"removed {out / folder}: the model is no longer in models/" for folder in removed]
    lines.append(
        f"compiled {build.rendered + build.reused} (environment, model) pair(s) into {out}: {build.rendered} rendered,"
        f" {build.reused} unchanged; {written} file(s) written ({len(changed)} folder(s) or file(s) replaced),"
        f" {len(build.wanted)} in all"
    )
    return _Result(0, lines)


def _spec_errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _stopped(problems: list[Problem]) -> _Result:
    errors = _spec_errors(problems)
    return _Result(1, problems=problems, headline=f"compile stopped: {len(errors)} problem(s) in the specs")


def _check_result(
    out: Path, current: set[str], wanted: dict[str, Content | None], disk: dict[str, str | None]
) -> _Result:
    stale = stale_paths(out, current, wanted, disk)
    lines = [f"{out / path}: stale" for path in stale]
    if stale:
        lines.append(f"compile --check: {len(stale)} file(s) differ; run `modelplane compile` and commit rendered/")
        return _Result(1, lines)
    return _Result(0, [f"compile --check: rendered/ is current ({len(wanted)} files)"])


def _card_template_hash(root: Path) -> str:
    """The config repository's own model-card template, an input of every card ("" when none)."""
    from modelplane.build_manifest import sha256
    from modelplane.render.card import CARD_TEMPLATE, OVERRIDE_DIR

    template = root / OVERRIDE_DIR / CARD_TEMPLATE
    return sha256(template.read_bytes()) if template.is_file() else ""


def _helm() -> Callable[[], Any]:
    """The helm renderer, made when something is to be rendered (a no-op compile runs no helm)."""
    from modelplane.render import serving

    made: list[Any] = []

    def make() -> Any:
        if not made:
            made.append(serving.HelmRenderer(chart_dir=serving.CHART_DIR))
        return made[0]

    return make


def _helm_version(helm: Callable[[], Any]) -> str:
    from modelplane.local_cache import tool_version

    executable = os.environ.get("MODELPLANE_HELM") or shutil.which("helm")
    if not executable or not os.path.isfile(executable):
        return str(helm().version())  # the renderer says what is wrong with helm
    return tool_version(executable, lambda: str(helm().version()))


def _checker(crds: str | None) -> Any:
    def make() -> Any:
        from modelplane.manifests import ManifestChecker

        return ManifestChecker(Path(crds) if crds else None)

    return make
