"""Render pairs with every target: each output's file, its manifest record and schema problems.

With many pairs the work runs in forked worker processes, one per core, each taking a share of
the pairs at a time and sending back text and records (the pairs themselves are inherited, never
sent); each share goes through every target, serving's helm batch included, so helm, YAML
parsing and the Python renderers all spread over the cores. Last, delivery adds each pair's
Application, which syncs exactly the outputs that say `synced`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelplane.build_manifest import object_refs, output_record
from modelplane.fingerprint import combined
from modelplane.problems import Problem
from modelplane.progress import Progress
from modelplane.render.argocd import render_application, sync_wave
from modelplane.render.base import Output
from modelplane.render.targets import Pair, PairKey, Target, targets
from modelplane.resolve import Resolved
from modelplane.write import Content, Staging

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.serving import HelmRenderer

PARALLEL_FROM = 256  # fewer pairs render faster than worker processes start
SHARES_PER_WORKER = 4  # more shares: finer progress; fewer: fewer helm processes


@dataclass
class Rendered:
    """A rendered pair: its manifest entry, its files (path -> content) and its Application's text."""

    record: dict[str, Any]
    files: dict[str, Content]
    application: str


@dataclass
class _Done:
    """What a pair's targets gave, short of delivery."""

    files: dict[str, Content] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # kept only where asked (the Application)

    def add(self, other: _Done) -> None:
        self.files.update(other.files)
        self.records += other.records
        self.synced += other.synced
        self.problems += other.problems
        self.texts.update(other.texts)


def check_objects(
    outputs: Iterable[Output], resolved: Resolved, checker: ManifestChecker, prefix: str
) -> list[Problem]:
    problems = []
    for output in outputs:
        for obj in output.objects:
            for error in checker.errors(obj, resolved.env.kubernetes_version):
                name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
                problems.append(
                    Problem(
                        f"{prefix}/{output.path}",
                        1,
                        1,
                        name,
                        f"rendered object fails its schema: {error}",
                        code="render",
                    )
                )
    return problems


def finish(
    pair: Pair, outputs: Sequence[Output], checker: ManifestChecker, staging: Staging | None, keep: bool = False
) -> _Done:
    """Each output's manifest record, and the objects' schema problems; each file is written into
    `staging` (when compile writes), its text kept with `keep`. The objects are let go after this."""
    env, model = pair.key
    done = _Done(problems=check_objects(outputs, pair.resolved, checker, f"{env}/{model}"))
    for output in outputs:
        text = output.content()
        path = f"{model}/{output.path}"
        record = output_record(path, text.encode(), output.synced, object_refs(output.objects))
        done.records.append(record)
        if staging is not None:
            staging.write(f"{env}/{path}", text)
        done.files[path] = Content(record["sha256"])
        if keep:
            done.texts[path] = text
        if output.synced:
            done.synced.append(output.path)
    return done


# The work of the forked workers, inherited from the parent when the pool starts.
_WORK: tuple[list[Target], Sequence[Pair], ManifestChecker, Staging | None] | None = None


def _share(bounds: tuple[int, int]) -> list[tuple[PairKey, _Done]]:
    assert _WORK is not None
    every, pairs, checker, staging = _WORK
    share = pairs[bounds[0] : bounds[1]]
    results = [t.render(share) for t in every]
    return [(p.key, finish(p, [o for r in results for o in r[p.key]], checker, staging)) for p in share]


def _workers(count: int) -> int:
    """Worker processes for `count` pairs: one per core, or none (fork only, as on Linux)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if count < PARALLEL_FROM or cores < 2 or sys.platform != "linux":
        return 0
    return cores


class Runner:
    """Renders pairs with every target and the delivery step."""

    def __init__(self, helm: HelmRenderer, checker: Callable[[], ManifestChecker], progress: Progress):
        self.targets = targets(helm)
        self.checker_factory = checker
        self.progress = progress

    def _shares(self, pairs: Sequence[Pair], checker: ManifestChecker, staging: Staging | None) -> dict[
        PairKey, _Done
    ]:
        global _WORK
        workers = _workers(len(pairs))
        size = -(-len(pairs) // (workers * SHARES_PER_WORKER)) if workers else len(pairs)
        bounds = [(start, min(start + size, len(pairs))) for start in range(0, len(pairs), size)]
        done: dict[PairKey, _Done] = {}
        _WORK = (self.targets, pairs, checker, staging)
        try:
            if not workers:
                for (start, end), results in zip(bounds, map(_share, bounds), strict=True):
                    done.update(results)
                    self.progress.advance(end - start)
                return done
            # The workers inherit the loaded specs: frozen, the collector neither scans them nor
            # touches their pages (which would copy every page into every worker).
            gc.freeze()
            # A worker that dies (killed, out of memory) breaks the pool: an error, never a hang.
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            try:
                for (start, end), results in zip(bounds, pool.map(_share, bounds), strict=True):
                    done.update(results)
                    self.progress.advance(end - start)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # no worker writes on after this returns
                raise
            pool.shutdown()
            return done
        finally:
            _WORK = None
            gc.unfreeze()

    def render(
        self, pairs: Sequence[Pair], inputs: dict[PairKey, dict[str, str]], staging: Staging | None
    ) -> tuple[dict[PairKey, Rendered], list[Problem]]:
        """Every pair's files (written into `staging` when given) and manifest entry."""
        checker = self.checker_factory()
        self.progress.stage("render", len(pairs))
        done = self._shares(pairs, checker, staging)
        out = {}
        problems: list[Problem] = []
        for pair in pairs:
            got = done[pair.key]
            application = render_application(pair.resolved, sorted(got.synced))
            got.add(finish(pair, [application], checker, staging, keep=True))
            problems += got.problems
            app_path = f"{pair.key[1]}/{application.path}"
            record: dict[str, Any] = {
                "source": pair.resolved.model_file,
                "registry": pair.registry,
                "inputs": inputs[pair.key],
                "inputHash": combined(inputs[pair.key]),
                "syncWave": sync_wave(pair.resolved),
                "application": app_path,
                "outputs": sorted(got.records, key=lambda r: r["path"]),
            }
            out[pair.key] = Rendered(record, got.files, got.texts[app_path])
        return out, problems
