"""Compile: resolved specs -> every rendered file and one build manifest per environment.

For each selected (model, environment) the pair is reused — its files left as they are, its
manifest entry carried over — when `incremental.py` finds it unchanged, and rendered otherwise:
every target of `render/targets.py`, then its Argo CD Application, each object checked against
the schemas a cluster enforces. The environment's root (`apps.yaml`) and manifest follow. The
result maps every file the output folder must hold to its new text, or to None when the file
there is already right; writing it is `write.py`'s job.

Models come a share at a time (`Compilation.add`); with many, forked workers load and render
the shares (`Compilation.run`) and send back only records and problems.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelplane import __version__
from modelplane.binding import binding_problems
from modelplane.build_manifest import (
    API_VERSION,
    FILE,
    KIND,
    SCHEMA_VERSION,
    entry_text,
    manifest_text,
    model_texts,
    object_refs,
    output_record,
    sha256,
)
from modelplane.fingerprint import combined, compiler_code, environment_hash, pair_inputs, spec_hash
from modelplane.incremental import Previous, Shared
from modelplane.local_cache import Stat
from modelplane.parallel import forked_map
from modelplane.problems import Problem
from modelplane.progress import Progress
from modelplane.registry import facts_for
from modelplane.repo import Repo, Selection
from modelplane.write import MARKER, MARKER_TEXT, Content, Staging

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.runner import Rendered, Runner
    from modelplane.render.serving import HelmRenderer
    from modelplane.render.targets import Pair
    from modelplane.repo import StreamingLoad
    from modelplane.resolve import Resolved

PairKey = tuple[str, str]


@dataclass
class Build:
    """Every file the output folder must hold (relative path -> new content, or None: already right)."""

    wanted: dict[str, Content | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rendered: int = 0  # pairs rendered
    reused: int = 0  # pairs whose files were already right


def _keep_folder(previous: Previous, prefix: str, wanted: dict[str, Content | None]) -> None:
    """Leave every file under `prefix` (a folder) as it is."""
    for path in previous.current:
        if path.startswith(prefix):
            wanted[path] = None


def _put(wanted: dict[str, Content | None], previous: Previous, rel: str, content: Content) -> None:
    """`content` at `rel`, or None when the file there already holds exactly it."""
    same = rel in previous.current and previous.disk.get(rel) == content.sha256
    wanted[rel] = None if same else content


def _text(text: str) -> Content:
    return Content(sha256(text.encode()), text)


def _served_facts(lock: dict[str, Any], resolved: Resolved, facts: dict[str, Any]) -> dict[str, Any]:
    """The registry facts a pair's output depends on: its pin's, and an A/B test's variant B's."""
    from modelplane.spec.delivery import second_version

    second = second_version(resolved.model)
    if second is None:
        return facts
    return {**facts, "abTest": facts_for(lock, resolved.model.registry.name, second)}


@dataclass
class Share:
    """What one share of the models added to a compile: the unit a worker process sends back."""

    loaded: list[str] = field(default_factory=list)  # the models it loaded
    entries: dict[PairKey, dict[str, Any] | None] = field(default_factory=dict)  # reused records; None: rendered
    inputs: dict[PairKey, dict[str, str]] = field(default_factory=dict)
    binding: dict[PairKey, list[Problem]] = field(default_factory=dict)
    rendered: dict[PairKey, Rendered] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # rendered objects that fail their schemas
    load_problems: list[Problem] = field(default_factory=list)


class Compilation:
    """A compile fed a share of models at a time (`add`, or `run` to load and render shares in
    worker processes); `finish` gives the build."""

    def __init__(
        self,
        repo: Repo,
        selection: Selection,
        helm: Callable[[], HelmRenderer],
        checker: Callable[[], ManifestChecker],
        previous: Previous,
        shared: Shared,
        models: Sequence[str],
        progress: Progress,
        staging: Staging | None,
    ):
        """`models` are all the models of the repository; a model never added is unchanged."""
        self.repo, self.selection, self.previous, self.shared = repo, selection, previous, shared
        self.helm, self.checker, self.progress, self.staging = helm, checker, progress, staging
        self.names = sorted(models)
        self.envs = [e for e in repo.env_order() if not selection.envs or e in selection.envs]
        self.env_hashes = {e: environment_hash(repo.env(e), repo.environments[e].doc.file) for e in self.envs}
        self.done = Share()
        self.runner: Runner | None = None

    def _plan_and_render(self, loaded: Sequence[str]) -> Share:
        """Plan the pairs of these models (loaded into the repository now); render the changed ones."""
        shared, previous = self.shared, self.previous
        out = Share(loaded=list(loaded))
        pairs: list[Pair] = []
        for env in self.envs:
            for model in loaded:
                key = (env, model)
                resolved = self.repo.resolved.get(key)
                if not self.selection.wants(env, model) or resolved is None:
                    continue
                facts = facts_for(shared.lock, resolved.model.registry.name, resolved.model.registry.version)
                out.binding[key] = binding_problems(resolved, facts)
                out.inputs[key] = pair_inputs(
                    spec_hash(resolved, self.env_hashes[env]),
                    _served_facts(shared.lock, resolved, facts),
                    shared.chart,
                    shared.helm,
                    shared.card_template,
                )
                record = previous.record(env, model)
                source = {resolved.model_file: shared.models[resolved.model_file]}
                if (
                    record is not None
                    and record["inputHash"] == combined(out.inputs[key])
                    and previous.intact(env, record["outputs"])
                ):
                    out.entries[key] = {**record, "sources": source}
                    continue
                from modelplane.render.targets import Pair  # the renderers' imports cost a second: only when needed

                out.entries[key] = None
                pairs.append(Pair(resolved, facts, shared.lock, shared.config_root))
        if pairs:
            if self.runner is None:
                from modelplane.render.runner import Runner

                self.runner = Runner(self.helm(), self.checker, self.progress)
            out.rendered, out.problems = self.runner.render(pairs, out.inputs, self.staging)
            for pair in pairs:
                done = out.rendered[pair.key]
                done.record["sources"] = {pair.resolved.model_file: shared.models[pair.resolved.model_file]}
                done.text = entry_text(done.record)
        return out

    def _merge(self, share: Share) -> None:
        done = self.done
        done.loaded += share.loaded
        done.entries.update(share.entries)
        done.inputs.update(share.inputs)
        done.binding.update(share.binding)
        done.rendered.update(share.rendered)
        if self.staging is not None:  # what a worker wrote into the staging folder
            self.staging.staged.update(path for r in share.rendered.values() for path, _, _ in r.written)
        done.problems += share.problems
        self.progress.advance(len(share.loaded))

    def add(self, loaded: Sequence[str]) -> None:
        """Plan and render the pairs of these models, here."""
        self._merge(self._plan_and_render(loaded))

    def run(self, loader: StreamingLoad, shares: list[list[Path]], workers: int) -> None:
        """Load each share of model files into `loader` and plan and render its pairs, in
        `workers` forked processes (none: here), until a share's specs have errors.

        Each worker loads its shares itself, so loading spreads over the cores as rendering
        does; what it sends back is records and problems, never the loaded specs.
        """
        global _WORK
        self.progress.stage("load and render", sum(len(files) for files in shares), "models")
        if workers:
            import modelplane.render.runner  # noqa: F401  (imported once here, not once per worker: hera alone is 0.3 s)

            self.helm().processes = 1  # in a worker: the other cores run the other workers
        _WORK = (self, loader)
        try:
            with closing(forked_map(_load_and_render, shares, workers)) as results:
                for share in results:
                    loader.problems += share.load_problems
                    self._merge(share)
                    if loader.has_errors:
                        break
        finally:
            _WORK = None

    def staged(self) -> list[tuple[str, Stat, str]]:
        """Each file the renderers wrote into the staging folder: its stat and hash."""
        return [file for done in self.done.rendered.values() for file in done.written]

    def finish(self) -> Build:
        """The build: every file of the selected environments."""
        done, build = self.done, Build()
        loaded = set(done.loaded)
        entries = dict(done.entries)
        for env in self.envs:
            for model in self.names:
                key = (env, model)
                if key in entries:
                    continue
                record = self.previous.record(env, model)
                if not self.selection.wants(env, model):  # left as it is; in the manifest if its files are whole
                    whole = record is not None and self.previous.intact(env, record["outputs"])
                    entries[key] = record if whole else None
                elif model not in loaded:  # not loaded: unchanged (`incremental.models_to_load`)
                    entries[key] = record
        binding = [p for env in self.envs for m in self.names for p in done.binding.get((env, m), [])]
        build.problems = binding + done.problems
        build.rendered = len(done.rendered)
        self.progress.stage("manifests")
        for env in self.envs:
            _environment(
                self.repo, env, self.names, self.selection, self.previous, self.shared, self.env_hashes[env],
                entries, done.rendered, build,
            )
        _outside(self.previous, self.selection, build)
        return build


# What the forked workers of `Compilation.run` inherit: the compile and the loader.
_WORK: tuple[Compilation, StreamingLoad] | None = None


def _load_and_render(files: list[Path]) -> Share:
    assert _WORK is not None
    compilation, loader = _WORK
    before = len(loader.problems)
    added = loader.add(files)
    problems = loader.problems[before:]
    del loader.problems[before:]  # the caller merges them, whichever process this runs in
    share = Share() if any(p.severity == "error" for p in problems) else compilation._plan_and_render(added)
    share.load_problems = problems
    return share


def _environment(
    repo: Repo,
    env: str,
    names: Sequence[str],
    selection: Selection,
    previous: Previous,
    shared: Shared,
    env_hash: str,
    entries: dict[PairKey, dict[str, Any] | None],
    rendered: dict[PairKey, Rendered],
    build: Build,
) -> None:
    """One environment's files: its pairs', the root Application and the manifest."""
    wanted = build.wanted
    models: dict[str, dict[str, Any]] = {}
    children: list[tuple[int, str, str, dict[str, Any]]] = []  # wave, model, application sha, record
    for model in names:
        key = (env, model)
        if key in rendered:
            done = rendered[key]
            models[model] = done.record
            for path, content in done.files.items():
                _put(wanted, previous, f"{env}/{path}", content)
        elif key in entries:
            record = entries[key]
            if not selection.wants(env, model):
                _keep_folder(previous, f"{env}/{model}/", wanted)
            if record is None:
                continue
            models[model] = record
            if selection.wants(env, model):
                build.reused += 1
                for output in record["outputs"]:
                    wanted[f"{env}/{output['path']}"] = None
        else:
            continue
        record = models[model]
        app = next(o for o in record["outputs"] if o["path"] == record["application"])
        children.append((record["syncWave"], model, app["sha256"], record))

    old = previous.manifest(env)
    env_inputs = {
        "environment": env_hash,
        "compiler": __version__,
        "compilerCode": compiler_code(),
        "models": combined([[model, wave, sha] for wave, model, sha, _ in sorted(children, key=lambda c: c[1])]),
    }
    if old is not None and old["inputHash"] == combined(env_inputs) and previous.intact(env, old["outputs"]):
        env_outputs = old["outputs"]
        for output in env_outputs:
            wanted[f"{env}/{output['path']}"] = None
    else:
        env_outputs = [_root(repo, env, children, rendered, previous, wanted)]
    data = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "schemaVersion": SCHEMA_VERSION,
        "environment": env,
        "compiler": {"name": "modelplane", "version": __version__, "code": compiler_code()},
        "tools": {"helm": shared.helm},
        "environments": sorted(repo.environments),
        "sources": shared.env_sources(repo.environments[env].doc.file),
        "inputs": env_inputs,
        "inputHash": combined(env_inputs),
        "outputs": env_outputs,
        "models": models,
    }
    rel = f"{env}/{FILE}"
    if old is not None and {**old, "digest": None} == {**data, "digest": None} and rel in previous.current:
        wanted[rel] = None
    else:
        found = previous.manifests.get(env)
        texts = model_texts(found.text) if found is not None else {}
        known = {name: (entry, texts[name]) for name, entry in (old or {}).get("models", {}).items() if name in texts}
        for model in names:  # entries rendered now: their text was written by the worker that rendered them
            now = rendered.get((env, model))
            if now is not None and now.text:
                known[model] = (now.record, now.text)
        _put(wanted, previous, rel, _text(manifest_text(data, known)))


def _root(
    repo: Repo,
    env: str,
    children: list[tuple[int, str, str, dict[str, Any]]],
    rendered: dict[PairKey, Rendered],
    previous: Previous,
    wanted: dict[str, Content | None],
) -> dict[str, Any]:
    """Render `apps.yaml` from the children's Application texts; its manifest record."""
    from modelplane.render.argocd import Child, render_root

    parts, refs = [], []
    for wave, model, _, record in children:
        key = (env, model)
        text = rendered[key].application if key in rendered else previous.text(f"{env}/{record['application']}")
        parts.append(Child(wave, model, text))
        refs.append((wave, model, next(o for o in record["outputs"] if o["path"] == record["application"])))
    root = render_root(repo.env(env), parts)
    text = root.content()
    child_refs = [ref for _, _, app in sorted(refs, key=lambda r: (r[0], r[1])) for ref in app["objects"]]
    record = output_record(root.path, text.encode(), root.synced, object_refs(root.objects) + child_refs)
    _put(wanted, previous, f"{env}/{root.path}", Content(record["sha256"], text))
    return record


def _outside(previous: Previous, selection: Selection, build: Build) -> None:
    """The marker, and with --env whatever lies outside the selected environments."""
    marker = previous.out / MARKER
    same = MARKER in previous.current and marker.read_text(encoding="utf-8") == MARKER_TEXT
    build.wanted[MARKER] = None if same else _text(MARKER_TEXT)
    if selection.envs:
        for path in previous.current:
            if path.split("/")[0] not in selection.envs and path not in build.wanted:
                build.wanted[path] = None


def read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()}
