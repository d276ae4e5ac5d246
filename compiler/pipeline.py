"""Compile: resolved specs -> every rendered file and one build manifest per environment.

For each selected (model, environment) the pair is reused — its files left as they are, its
manifest entry carried over — when `incremental.py` finds it unchanged, and rendered otherwise:
every target of `render/targets.py`, then its Argo CD Application, each object checked against
the schemas a cluster enforces. The environment's root (`apps.yaml`) and manifest follow. The
result maps every file the output folder must hold to its new text, or to None when the file
there is already right; writing it is `write.py`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelplane import __version__
from modelplane.build_manifest import API_VERSION, FILE, KIND, SCHEMA_VERSION, manifest_text, object_refs, output_record
from modelplane.fingerprint import combined, compiler_code, environment_hash, pair_inputs, spec_hash
from modelplane.incremental import Previous, Shared
from modelplane.problems import Problem
from modelplane.progress import Progress
from modelplane.registry import facts_for
from modelplane.repo import Repo, Selection
from modelplane.resolve import Resolved
from modelplane.write import MARKER, MARKER_TEXT

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.base import Output
    from modelplane.render.serving import HelmRenderer
    from modelplane.render.targets import Pair

PairKey = tuple[str, str]
CHUNK = 64  # pairs rendered between two progress reports


@dataclass
class Build:
    """Every file the output folder must hold (relative path -> new text, or None: already right)."""

    wanted: dict[str, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rendered: int = 0  # pairs rendered
    reused: int = 0  # pairs whose files were already right


@dataclass
class Rendered:
    """A rendered pair: its manifest entry and its files' text, the Application's kept apart."""

    record: dict[str, Any]
    files: dict[str, str]
    application: str


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


def synced_paths(outputs: Iterable[Output]) -> list[str]:
    return sorted(o.path for o in outputs if o.synced)


class _Renderer:
    """Renders pairs with every target and the delivery step, chunk by chunk, serving beside."""

    def __init__(self, helm: HelmRenderer, checker: Callable[[], ManifestChecker], progress: Progress):
        from modelplane.render.targets import targets

        self.targets = targets(helm)
        self.checker_factory = checker
        self.checker: ManifestChecker | None = None
        self.progress = progress
        self.problems: list[Problem] = []

    def _files(self, pair: Pair, outputs: Sequence[Output]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Each output's text and manifest record; the objects are checked, then let go."""
        if self.checker is None:
            self.checker = self.checker_factory()
        env, model = pair.key
        self.problems += check_objects(outputs, pair.resolved, self.checker, f"{env}/{model}")
        files, records = {}, []
        for output in outputs:
            text = output.content()
            path = f"{model}/{output.path}"
            files[path] = text
            records.append(output_record(path, text.encode(), output.synced, object_refs(output.objects)))
        return files, records

    def render(self, pairs: Sequence[Pair], inputs: dict[PairKey, dict[str, str]]) -> dict[PairKey, Rendered]:
        from modelplane.render.argocd import render_application, sync_wave

        batched = [t for t in self.targets if t.batched]
        each = [t for t in self.targets if not t.batched]
        files: dict[PairKey, dict[str, str]] = {p.key: {} for p in pairs}
        records: dict[PairKey, list[dict[str, Any]]] = {p.key: [] for p in pairs}
        synced: dict[PairKey, list[str]] = {p.key: [] for p in pairs}

        def keep(pair: Pair, outputs: list[Output]) -> None:
            got, recorded = self._files(pair, outputs)
            files[pair.key].update(got)
            records[pair.key] += recorded
            synced[pair.key] += synced_paths(outputs)

        self.progress.stage("render", len(pairs))
        with ThreadPoolExecutor(max_workers=max(1, len(batched))) as pool:
            running = [pool.submit(t.render, pairs) for t in batched]
            for start in range(0, len(pairs), CHUNK):
                chunk = pairs[start : start + CHUNK]
                results = [t.render(chunk) for t in each]
                for pair in chunk:
                    keep(pair, [o for result in results for o in result[pair.key]])
                self.progress.advance(len(chunk))
            if running:
                self.progress.stage("serving (helm)", len(pairs), "releases")
            for future in running:
                result = future.result()
                for pair in pairs:
                    keep(pair, result[pair.key])
                self.progress.advance(len(pairs))
        out = {}
        for pair in pairs:
            env, model = pair.key
            application = render_application(pair.resolved, sorted(synced[pair.key]))
            keep(pair, [application])
            app_path = f"{model}/{application.path}"
            record: dict[str, Any] = {
                "source": pair.resolved.model_file,
                "registry": pair.registry,
                "inputs": inputs[pair.key],
                "inputHash": combined(inputs[pair.key]),
                "syncWave": sync_wave(pair.resolved),
                "application": app_path,
                "outputs": sorted(records[pair.key], key=lambda r: r["path"]),
            }
            out[pair.key] = Rendered(record, files[pair.key], files[pair.key][app_path])
        return out


def _keep_folder(previous: Previous, prefix: str, wanted: dict[str, str | None]) -> None:
    """Leave every file under `prefix` (a folder) as it is."""
    for path in previous.current:
        if path.startswith(prefix):
            wanted[path] = None


def _put(wanted: dict[str, str | None], previous: Previous, rel: str, text: str, disk_hash: str | None) -> None:
    """`text` at `rel`, or None when the file there already holds exactly it."""
    from modelplane.build_manifest import sha256

    same = rel in previous.current and disk_hash is not None and disk_hash == sha256(text.encode())
    wanted[rel] = None if same else text


def compile_repo(
    repo: Repo,
    selection: Selection,
    helm: HelmRenderer,
    checker: Callable[[], ManifestChecker],
    previous: Previous,
    shared: Shared,
    models: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Build:
    """Every file of the selected environments, reusing what `previous` shows is unchanged.

    `models` are all the models of the repository (default: those loaded); a model that is not
    loaded is unchanged in every environment (`incremental.models_to_load`).
    """
    progress = progress or Progress()
    names = sorted(models if models is not None else repo.models)
    envs = [e for e in repo.env_order() if not selection.envs or e in selection.envs]
    build = Build()
    env_hashes = {e: environment_hash(repo.env(e), repo.environments[e].doc.file) for e in envs}
    to_render: list[Pair] = []
    inputs: dict[PairKey, dict[str, str]] = {}
    entries: dict[PairKey, dict[str, Any] | None] = {}  # reused or kept records; None: to render
    for env in envs:
        for model in names:
            key = (env, model)
            record = previous.record(env, model)
            resolved = repo.resolved.get(key)
            if not selection.wants(env, model) or resolved is None:
                if record is not None or not selection.wants(env, model):
                    entries[key] = record
                continue
            facts = facts_for(shared.lock, resolved.model.registry.name, resolved.model.registry.version)
            inputs[key] = pair_inputs(spec_hash(resolved, env_hashes[env]), facts, shared.chart, shared.helm)
            source = {resolved.model_file: shared.models[resolved.model_file]}
            if (
                record is not None
                and record["inputHash"] == combined(inputs[key])
                and previous.intact(env, record["outputs"])
            ):
                entries[key] = {**record, "sources": source}
                continue
            from modelplane.render.targets import Pair  # the renderers' imports cost a second: only when needed

            entries[key] = None
            to_render.append(Pair(resolved, facts))
    rendered: dict[PairKey, Rendered] = {}
    if to_render:
        renderer = _Renderer(helm, checker, progress)
        rendered = renderer.render(to_render, inputs)
        build.problems = renderer.problems
        for pair in to_render:
            rendered[pair.key].record["sources"] = {
                pair.resolved.model_file: shared.models[pair.resolved.model_file]
            }
    build.rendered = len(rendered)
    progress.stage("manifests")
    for env in envs:
        _environment(repo, env, names, selection, previous, shared, env_hashes[env], entries, rendered, build)
    _outside(previous, selection, build)
    return build


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
            disk = {o["path"]: previous.disk.get(f"{env}/{o['path']}") for o in done.record["outputs"]}
            for path, text in done.files.items():
                _put(wanted, previous, f"{env}/{path}", text, disk.get(path))
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
        "sources": {repo.environments[env].doc.file: shared.environments[repo.environments[env].doc.file]},
        "inputs": env_inputs,
        "inputHash": combined(env_inputs),
        "outputs": env_outputs,
        "models": models,
    }
    rel = f"{env}/{FILE}"
    if old is not None and {**old, "digest": None} == {**data, "digest": None} and rel in previous.current:
        wanted[rel] = None
    else:
        _put(wanted, previous, rel, manifest_text(data), previous.disk.get(rel))


def _root(
    repo: Repo,
    env: str,
    children: list[tuple[int, str, str, dict[str, Any]]],
    rendered: dict[PairKey, Rendered],
    previous: Previous,
    wanted: dict[str, str | None],
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
    _put(wanted, previous, f"{env}/{root.path}", text, previous.disk.get(f"{env}/{root.path}"))
    return record


def _outside(previous: Previous, selection: Selection, build: Build) -> None:
    """The marker, and with --env whatever lies outside the selected environments."""
    marker = previous.out / MARKER
    same = MARKER in previous.current and marker.read_text(encoding="utf-8") == MARKER_TEXT
    build.wanted[MARKER] = None if same else MARKER_TEXT
    if selection.envs:
        for path in previous.current:
            if path.split("/")[0] not in selection.envs and path not in build.wanted:
                build.wanted[path] = None


def read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()}
