"""`modelplane docs build`: the catalog as static HTML files, one folder, no external assets.

Pages: `index.html` (models × environments, searchable by name), `models/<name>.html` (card,
data, thresholds, rollout, alerts, training, audit timeline), `environments/<env>.html` and
`policies.html`. Every value is autoescaped by Jinja2; a Content-Security-Policy allows only the
page's own inline script (by hash), so even markup that got through could run nothing. The same
inputs give the same bytes (no timestamps); the folder is replaced atomically.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from markupsafe import Markup

from modelplane import __version__
from modelplane.audit_format import decision_text, version_text, what_changed
from modelplane.build_manifest import sha256
from modelplane.catalog.data import Catalog, gather
from modelplane.commands.validate import emit
from modelplane.problems import ModelplaneError
from modelplane.repo import load_repo
from modelplane.spec.model import Model
from modelplane.templating import html_environment, render
from modelplane.write import INPUT_FOLDERS, MARKER, Content, Staging, output_lock, recover, update_tree

TEMPLATES = Path(__file__).with_name("templates")
SITE_MARKER_TEXT = "This folder is written by `modelplane docs build`, which replaces everything in it.\n"
CARD_SECTIONS = [
    ("Summary", "summary"),
    ("Intended use", "intended_use"),
    ("Out-of-scope use", "out_of_scope_use"),
    ("Limitations", "limitations"),
    ("Ethical considerations", "ethical_considerations"),
    ("Training data", "training_data"),
    ("Evaluation data", "evaluation_data"),
    ("Caveats", "caveats"),
    ("Rollback plan", "rollback_plan"),
]


def _check_out(out: Path, root: Path) -> None:
    """The catalog replaces its folder: never the config repository, nor anything inside its inputs."""
    target, repo = out.resolve(), root.resolve()
    if out.exists() and not out.is_dir():
        raise ModelplaneError(f"--out {out} is not a folder")
    if target == repo or target in repo.parents:
        raise ModelplaneError(f"--out {out} is or contains the config repository; choose another folder")
    for name in (*INPUT_FOLDERS, "rendered"):
        if target == repo / name or repo / name in target.parents:
            raise ModelplaneError(f"--out {out} is inside {name}/; choose a folder outside it")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ModelplaneError(f"--out {out} holds files docs build did not write; choose a new or empty folder")


def _thresholds(per_env: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    def row(label: str, pick: Any) -> tuple[str, list[str]]:
        return label, [pick(r["spec"]) for r in per_env]

    def acc(s: Any) -> str:
        a = s.monitoring.accuracy
        return "—" if a is None else f"{a.metric} ≥ {a.min:g}" if a.min is not None else f"{a.metric} ≤ {a.max:g}"

    def fair(s: Any) -> str:
        f = s.monitoring.fairness
        if f is None:
            return "—"
        bounds = [
            b for b in (f"≥ {f.min:g}" if f.min is not None else "", f"≤ {f.max:g}" if f.max is not None else "") if b
        ]
        return f"{f.metric} {' and '.join(bounds)}"

    return [
        row("p99 latency", lambda s: f"≤ {s.monitoring.latency_p99_ms} ms"),
        row("error rate", lambda s: f"≤ {s.monitoring.error_rate:g}"),
        row("availability target", lambda s: f"{s.monitoring.availability_target:g}"),
        row(
            "drift",
            lambda s: f"{s.monitoring.drift.metric} ≤ {s.monitoring.drift.threshold:g}" if s.monitoring.drift else "—",
        ),
        row("accuracy", acc),
        row("fairness", fair),
        row(
            "training acceptance",
            lambda s: f"{s.training.acceptance.metric} ≥ {s.training.acceptance.min:g}" if s.training else "—",
        ),
    ]


def _routes(spec: Any) -> str:
    r = spec.monitoring.alert_routes
    return ", ".join(f"{k} {v}" for k, v in (("slack", r.slack), ("pagerduty", r.pagerduty), ("email", r.email)) if v)


def _model_context(catalog: Catalog, name: str) -> dict[str, Any]:
    envs = [e for e in catalog.envs if catalog.resolved(e, name) is not None]
    per_env: list[dict[str, Any]] = []
    for env in envs:
        resolved = catalog.resolved(env, name)
        assert resolved is not None
        per_env.append(
            {
                "env": env,
                "spec": resolved.model,
                "version": catalog.version(env, name),
                "decision": catalog.decision(env, name),
                "last": catalog.last_change(env, name),
                "alerts": catalog.alerts.get((env, name), []),
                "entries": catalog.timeline(env, name),
                "routes": _routes(resolved.model),
            }
        )
    shown: Model = per_env[-1]["spec"] if per_env else catalog.repo.model(name)
    return {
        "name": name,
        "spec": shown,
        "card_env": per_env[-1]["env"] if per_env else "spec",
        "card_sections": [(title, (getattr(shown.card, key) or "").strip()) for title, key in CARD_SECTIONS],
        "per_env": per_env,
        "thresholds": _thresholds(per_env),
    }


def _index_context(catalog: Catalog) -> dict[str, Any]:
    rows = []
    for name in sorted(catalog.repo.models):
        spec = catalog.repo.model(name)
        cells = []
        for env in catalog.envs:
            present = catalog.resolved(env, name) is not None
            cells.append(
                {
                    "env": env,
                    "present": present,
                    "version": catalog.version(env, name),
                    "decision": catalog.decision(env, name),
                    "last": catalog.last_change(env, name),
                }
            )
        rows.append(
            {
                "name": name,
                "description": spec.metadata.description,
                "team": spec.metadata.team,
                "owners": spec.metadata.owners,
                "cells": cells,
            }
        )
    environments = [
        {
            "name": env,
            "profile": catalog.repo.env(env).policy_profile,
            "promotes_from": catalog.repo.env(env).promotes_from,
            "namespace": catalog.repo.env(env).namespace,
        }
        for env in catalog.envs
    ]
    return {"models": rows, "envs": catalog.envs, "environments": environments}


def _env_context(catalog: Catalog, env: str) -> dict[str, Any]:
    spec = catalog.repo.env(env)
    models = sorted(m for e, m in catalog.repo.resolved if e == env)
    rows = [
        {
            "name": m,
            "version": catalog.version(env, m),
            "decision": catalog.decision(env, m),
            "last": catalog.last_change(env, m),
        }
        for m in models
    ]
    recent = sorted(
        ((m, e) for m in models for e in catalog.timeline(env, m)), key=lambda pair: (-pair[1].date, pair[0])
    )[:50]
    limits = spec.limits.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"env": spec, "rows": rows, "recent": recent, "limits": sorted((k, str(v)) for k, v in limits.items())}


def pages(catalog: Catalog) -> dict[str, str]:
    """Relative path -> HTML for every page of the catalog."""
    environment = html_environment(TEMPLATES)
    script = (TEMPLATES / "filter.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    common = {
        "css": Markup((TEMPLATES / "style.css").read_text(encoding="utf-8")),
        "script": Markup(script),
        "script_hash": f"sha256-{digest}",
        "version": __version__,
        "commit": catalog.commit,
        "notes": catalog.notes,
        "what": what_changed,
        "decision_text": decision_text,
        "version_move": version_text,
    }

    def page(template: str, path: str, **context: Any) -> None:
        up = "../" * path.count("/")
        out[path] = render(environment, template, f"catalog template {template}", up=up, **common, **context)

    out: dict[str, str] = {}
    page("index.html.j2", "index.html", rules=catalog.rules, waivers=catalog.waivers, **_index_context(catalog))
    for name in sorted(catalog.repo.models):
        page("model.html.j2", f"models/{name}.html", **_model_context(catalog, name))
    for env in catalog.envs:
        page("environment.html.j2", f"environments/{env}.html", **_env_context(catalog, env))
    firing = {rule.rule_id: catalog.firing(rule.rule_id) for rule in catalog.rules}
    page("policies.html.j2", "policies.html", rules=catalog.rules, waivers=catalog.waivers, firing=firing)
    return out


def build_site(root: Path, out: Path) -> int:
    repo, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        emit(problems, "text", f"docs build stopped: {len(errors)} problem(s) in the specs; run `modelplane validate`")
        return 1
    _check_out(out, root)
    files = {**pages(gather(repo)), MARKER: SITE_MARKER_TEXT}
    with output_lock(out):
        _check_out(out, root)
        recover(out)
        current = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} if out.is_dir() else set()
        update_tree(Staging(out), {path: Content(sha256(text.encode()), text) for path, text in files.items()}, current)
    print(f"docs build: {len(files) - 1} page(s) in {out} (open {os.path.join(out, 'index.html')})")
    return 0
