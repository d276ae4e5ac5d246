"""Render pairs with every target: each output's file, its manifest record and schema problems.

Each pair goes through every target (serving's helm batch renders the whole list in one helm
process), then delivery adds its Application, which syncs exactly the outputs that say
`synced`. Files go straight into the staging folder. Spreading shares of the pairs over worker
processes is `pipeline.py`'s job (`parallel.py` says how many).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelplane.build_manifest import object_refs, output_record
from modelplane.fingerprint import combined
from modelplane.local_cache import Stat
from modelplane.problems import Problem
from modelplane.progress import Progress
from modelplane.render.argocd import render_application, sync_wave
from modelplane.render.base import Output
from modelplane.render.targets import Pair, PairKey, targets
from modelplane.resolve import Resolved
from modelplane.write import Content, Staging

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.serving import HelmRenderer



@dataclass
class Rendered:
    """A rendered pair: its manifest entry, its files (path -> content) and its Application's text."""

    record: dict[str, Any]
    files: dict[str, Content]
    application: str
    text: str = ""  # the entry's text in the manifest, once the entry is final (written where it rendered)
    written: list[tuple[str, Stat, str]] = field(default_factory=list)  # each file staged: its stat, its hash


@dataclass
class _Done:
    """What a pair's targets gave, short of delivery."""

    files: dict[str, Content] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # kept only where asked (the Application)
    written: list[tuple[str, Stat, str]] = field(default_factory=list)

    def add(self, other: _Done) -> None:
        self.files.update(other.files)
        self.records += other.records
        self.synced += other.synced
        self.problems += other.problems
        self.texts.update(other.texts)
        self.written += other.written


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
            done.written.append((f"{env}/{path}", staging.write(f"{env}/{path}", text), record["sha256"]))
        done.files[path] = Content(record["sha256"])
        if keep:
            done.texts[path] = text
        if output.synced:
            done.synced.append(output.path)
    return done


class Runner:
    """Renders pairs with every target and the delivery step, in this process."""

    def __init__(self, helm: HelmRenderer, checker: Callable[[], ManifestChecker], progress: Progress):
        self.targets = targets(helm)
        self.checker_factory = checker
        self.progress = progress
        self._checker: ManifestChecker | None = None

    def render(
        self, pairs: Sequence[Pair], inputs: dict[PairKey, dict[str, str]], staging: Staging | None
    ) -> tuple[dict[PairKey, Rendered], list[Problem]]:
        """Every pair's files (written into `staging` when given) and manifest entry."""
        if self._checker is None:
            self._checker = self.checker_factory()
        checker = self._checker
        results = [t.render(pairs) for t in self.targets]
        out = {}
        problems: list[Problem] = []
        for pair in pairs:
            got = finish(pair, [o for r in results for o in r[pair.key]], checker, staging)
            application = render_application(pair.resolved, sorted(got.synced))
            got.add(finish(pair, [application], checker, staging, keep=True))
            problems += got.problems
            app_path = next(iter(got.texts))  # the one text kept: the Application's
            record: dict[str, Any] = {
                "source": pair.resolved.model_file,
                "registry": pair.registry,
                "inputs": inputs[pair.key],
                "inputHash": combined(inputs[pair.key]),
                "syncWave": sync_wave(pair.resolved),
                "application": app_path,
                "outputs": sorted(got.records, key=lambda r: r["path"]),
            }
            out[pair.key] = Rendered(record, got.files, got.texts[app_path], written=got.written)
        return out, problems
