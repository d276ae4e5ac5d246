"""Render pairs with every target: each output's text, its manifest record and schema problems.

With many pairs the work runs in forked worker processes, one per core, each taking a share of
the pairs at a time and sending back text and records (the pairs themselves are inherited, never
sent); each share goes through every target, serving's helm batch included, so helm, YAML
parsing and the Python renderers all spread over the cores. Last, delivery adds each pair's
Application, which syncs exactly the outputs that say `synced`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Sequence
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

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.serving import HelmRenderer

PARALLEL_FROM = 256  # fewer pairs render faster than worker processes start
SHARES_PER_WORKER = 4  # more shares: finer progress; fewer: fewer helm processes


@dataclass
class Rendered:
    """A rendered pair: its manifest entry, its files' text, its Application's text."""

    record: dict[str, Any]
    files: dict[str, str]
    application: str


@dataclass
class _Done:
    """What a pair's targets gave, short of delivery."""

    files: dict[str, str] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, other: _Done) -> None:
        self.files.update(other.files)
        self.records += other.records
        self.synced += other.synced
        self.problems += other.problems


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


def finish(pair: Pair, outputs: Sequence[Output], checker: ManifestChecker) -> _Done:
    """Each output's text and manifest record, and the objects' schema problems; the objects are
    let go after this."""
    env, model = pair.key
    done = _Done(problems=check_objects(outputs, pair.resolved, checker, f"{env}/{model}"))
    for output in outputs:
        text = output.content()
        path = f"{model}/{output.path}"
        done.files[path] = text
        done.records.append(output_record(path, text.encode(), output.synced, object_refs(output.objects)))
        if output.synced:
            done.synced.append(output.path)
    return done


# The work of the forked workers, inherited from the parent when the pool starts.
_WORK: tuple[list[Target], Sequence[Pair], ManifestChecker] | None = None


def _share(bounds: tuple[int, int]) -> list[tuple[PairKey, _Done]]:
    assert _WORK is not None
    every, pairs, checker = _WORK
    share = pairs[bounds[0] : bounds[1]]
    results = [t.render(share) for t in every]
    return [(p.key, finish(p, [o for r in results for o in r[p.key]], checker)) for p in share]


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

    def _shares(self, pairs: Sequence[Pair], checker: ManifestChecker) -> dict[PairKey, _Done]:
        global _WORK
        workers = _workers(len(pairs))
        size = -(-len(pairs) // (workers * SHARES_PER_WORKER)) if workers else len(pairs)
        bounds = [(start, min(start + size, len(pairs))) for start in range(0, len(pairs), size)]
        done: dict[PairKey, _Done] = {}
        _WORK = (self.targets, pairs, checker)
        pool = multiprocessing.get_context("fork").Pool(workers) if workers else None
        try:
            shares = pool.imap(_share, bounds) if pool is not None else map(_share, bounds)
            for (start, end), results in zip(bounds, shares, strict=True):
                done.update(results)
                self.progress.advance(end - start)
        finally:
            if pool is not None:
                pool.terminate()  # every share is back by now, or something failed
                pool.join()
            _WORK = None
        return done

    def render(
        self, pairs: Sequence[Pair], inputs: dict[PairKey, dict[str, str]]
    ) -> tuple[dict[PairKey, Rendered], list[Problem]]:
        checker = self.checker_factory()
        self.progress.stage("render", len(pairs))
        done = self._shares(pairs, checker)
        out = {}
        problems: list[Problem] = []
        for pair in pairs:
            got = done[pair.key]
            application = render_application(pair.resolved, sorted(got.synced))
            got.add(finish(pair, [application], checker))
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
            out[pair.key] = Rendered(record, got.files, got.files[app_path])
        return out, problems
