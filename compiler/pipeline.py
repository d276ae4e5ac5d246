"""Compile: resolved specs -> every rendered file and one build manifest per environment.

For each selected (model, environment) the pair is reused — its files left as they are, its
manifest entry carried over — when `incremental.py` finds it unchanged, and rendered otherwise:
every target of `render/targets.py`, then its Argo CD Application, each object checked against
the schemas a cluster enforces. The environment's root (`apps.yaml`) and manifest follow. The
result maps every file the output folder must hold to its new text, or to None when the file
there is already right; writing it is `write.py`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    manifest_text,
    model_texts,
    object_refs,
    output_record,
    sha256,
)
from modelplane.fingerprint import combined, compiler_code, environment_hash, pair_inputs, spec_hash
from modelplane.incremental import Previous, Shared
from modelplane.problems import Problem
from modelplane.progress import Progress
from modelplane.registry import facts_for
from modelplane.repo import Repo, Selection
from modelplane.write import MARKER, MARKER_TEXT, Content, Staging

if TYPE_CHECKING:
    from modelplane.manifests import ManifestChecker
    from modelplane.render.runner import Rendered
    from modelplane.render.serving import HelmRenderer
    from modelplane.render.targets import Pair
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


def compile_repo(
    repo: Repo,
    selection: Selection,
    helm: Callable[[], HelmRenderer],
    checker: Callable[[], ManifestChecker],
    previous: Previous,
    shared: Shared,
    models: Sequence[str] | None = None,
    progress: Progress | None = None,
    staging: Staging | None = None,
) -> Build:
    """Every file of the selected environments, reusing what `previous` shows is unchanged.

    `models` are all the models of the repository (default: those loaded); a model that is not
    loaded is unchanged in every environment (`incremental.models_to_load`). Rendered files are
    written into `staging` as they are rendered (none without one: `compile --check`).
    """
    progress = progress or Progress()
    names = sorted(models if models is not None else repo.models)
    envs = [e for e in repo.env_order() if not selection.envs or e in selection.envs]
    build = Build()
    env_hashes = {e: environment_hash(repo.env(e), repo.environments[e].doc.file) for e in envs}
    to_render: list[Pair] = []
    inputs: dict[PairKey, dict[str, str]] = {}
    entries: dict[PairKey, dict[str, Any] | None] = {}  # reused or kept records; None: to render
    binding: list[Problem] = []
    for env in envs:
        for model in names:
            key = (env, model)
            record = previous.record(env, model)
            resolved = repo.resolved.get(key)
            if not selection.wants(env, model):  # left as it is; in the manifest if its files are whole
                entries[key] = record if record is not None and previous.intact(env, record["outputs"]) else None
                continue
            if resolved is None:  # not loaded: unchanged (`incremental.models_to_load`)
                entries[key] = record
                continue
            facts = facts_for(shared.lock, resolved.model.registry.name, resolved.model.registry.version)
            binding += binding_problems(resolved, facts)
            inputs[key] = pair_inputs(
                spec_hash(resolved, env_hashes[env]),
                _served_facts(shared.lock, resolved, facts),
                shared.chart,
                shared.helm,
                shared.card_template,
            )
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
            to_render.append(Pair(resolved, facts, shared.lock, shared.config_root))
    rendered: dict[PairKey, Rendered] = {}
    if to_render:
        from modelplane.render.runner import Runner

        rendered, build.problems = Runner(helm(), checker, progress).render(to_render, inputs, staging)
        for pair in to_render:
            rendered[pair.key].record["sources"] = {
                pair.resolved.model_file: shared.models[pair.resolved.model_file]
            }
    build.problems = binding + build.problems
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
