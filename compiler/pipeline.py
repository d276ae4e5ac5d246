"""Compile: resolved specs -> every rendered file, checked against cluster schemas.

The output is a mapping of paths under `rendered/` to text; writing it is `modelplane.write`'s job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelplane import __version__
from modelplane.binding import binding_problems
from modelplane.manifests import ManifestChecker
from modelplane.problems import Problem
from modelplane.registry import LOCK_FILE, facts_for, load_lock
from modelplane.render.alert_routing import render_alert_routing
from modelplane.render.argocd import render_application, render_root
from modelplane.render.base import Output
from modelplane.render.card import render_card
from modelplane.render.dashboard import render_dashboard
from modelplane.render.monitor_job import render_monitor_job
from modelplane.render.monitoring import render_monitoring
from modelplane.render.retrain_events import render_retrain_events
from modelplane.render.serving import CHART_DIR, HelmRenderer, render_many
from modelplane.render.training import render_training
from modelplane.repo import Repo, Selection
from modelplane.resolve import Resolved

PROVENANCE = "provenance.json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def shared_input_hashes(repo: Repo) -> dict[str, str]:
    """Hashes of the inputs every environment shares (models, lock, chart), read once per compile."""
    hashes = {m.doc.file: sha256((repo.root / m.doc.file).read_bytes()) for m in repo.models.values()}
    lock = repo.root / LOCK_FILE
    if lock.exists():
        hashes[LOCK_FILE] = sha256(lock.read_bytes())
    for path in sorted(CHART_DIR.rglob("*")):
        if path.is_file():
            hashes[f"chart:{path.relative_to(CHART_DIR)}"] = sha256(path.read_bytes())
    return hashes


def _beside_serving(resolved: Resolved) -> list[Output]:
    """The pair's outputs other than serving (helm, batched), the card and the Application (which
    lists the synced outputs)."""
    outputs = [*render_monitoring(resolved)]
    training = render_training(resolved)
    if training is not None:
        outputs.append(training)
    outputs += render_monitor_job(resolved)
    outputs += render_alert_routing(resolved)
    outputs += render_retrain_events(resolved)
    outputs += render_dashboard(resolved)
    return outputs


def _synced(outputs: Iterable[Output]) -> list[str]:
    return sorted(o.path for o in outputs if o.synced)


def model_outputs(
    resolved: Resolved, serving: Output, facts: dict[str, Any], config_root: Path | None = None
) -> list[Output]:
    outputs = [serving, *_beside_serving(resolved)]
    outputs += [render_application(resolved, _synced(outputs)), render_card(resolved, facts, config_root)]
    return sorted(outputs, key=lambda o: o.path)


def synced_paths(resolved: Resolved) -> list[str]:
    """The files the pair's Application syncs, for pairs this compile does not render."""
    return _synced([Output("serving.yaml", synced=True), *_beside_serving(resolved)])


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


def compile_repo(
    repo: Repo, selection: Selection, helm: HelmRenderer, checker: ManifestChecker
) -> tuple[dict[str, str], list[Problem]]:
    """All rendered files (path relative to the output folder -> text) and any schema problems."""
    lock = load_lock(repo.root)
    shared = shared_input_hashes(repo)
    wanted = [r for key, r in sorted(repo.resolved.items()) if selection.wants(*key)]
    serving = render_many(wanted, helm, lock)
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for env in repo.env_order():
        if selection.envs and env not in selection.envs:
            continue
        in_env = [r for key, r in sorted(repo.resolved.items()) if key[0] == env]
        synced: dict[str, list[str]] = {}
        for resolved in in_env:
            model = resolved.model.metadata.name
            if not selection.wants(env, model):
                synced[model] = synced_paths(resolved)
                continue
            facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
            problems += binding_problems(resolved, facts)
            outputs = model_outputs(resolved, serving[resolved.key], facts, repo.root)
            synced[model] = _synced(outputs)
            problems += check_objects(outputs, resolved, checker, f"{env}/{model}")
            files.update({f"{env}/{model}/{o.path}": o.content() for o in outputs})
        root = render_root(repo.env(env), in_env, synced)
        files[f"{env}/{root.path}"] = root.content()
        files[f"{env}/{PROVENANCE}"] = provenance(repo, env, helm.version(), in_env, lock, shared)
    return files, problems


def provenance(
    repo: Repo, env: str, helm_version: str, in_env: list[Resolved], lock: dict[str, Any], shared: dict[str, str]
) -> str:
    """What produced this environment's folder: inputs' hashes, tool versions, pinned registry facts."""
    env_file = repo.environments[env].doc.file
    models = {
        r.model.metadata.name: {
            "source": r.model_file,
            "registry": facts_for(lock, r.model.registry.name, r.model.registry.version),
        }
        for r in in_env
    }
    data = {
        "apiVersion": "modelplane.dev/v1",
        "kind": "Provenance",
        "environment": env,
        "compiler": {"name": "modelplane", "version": __version__},
        "tools": {"helm": helm_version},
        "inputs": dict(sorted({**shared, env_file: sha256((repo.root / env_file).read_bytes())}.items())),
        "models": dict(sorted(models.items())),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()}


def merge_untouched(current: dict[str, str], new: dict[str, str], selection: Selection) -> dict[str, str]:
    """With --env/--model, keep what was rendered before for everything not selected."""
    kept = {}
    for path, text in current.items():
        parts = path.split("/")
        env, model = parts[0], parts[1] if len(parts) > 2 else ""
        selected = (not selection.envs or env in selection.envs) and (
            not model or not selection.models or model in selection.models
        )
        if not selected:
            kept[path] = text
    return {**kept, **new}
