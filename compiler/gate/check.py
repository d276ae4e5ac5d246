"""Run the policy gate: inputs for every selected (model, environment) -> one OPA request -> report."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane.gate.inputs import build_input, locate, rendered_objects
from modelplane.gate.opa import Engine, local_server, rule_annotations
from modelplane.gate.results import CardScore, CheckReport, Finding, Waiver
from modelplane.gate.waivers import load_waivers
from modelplane.problems import ModelplaneError, Problem
from modelplane.registry import facts_for, load_lock
from modelplane.repo import Repo, Selection


@dataclass(frozen=True)
class GateOptions:
    policy_dir: Path
    rendered_dir: Path
    opa_url: str | None = None  # None: start a local server
    upload: bool = True
    timeout: float = 30.0
    today: dt.date = dt.date.today()


@contextmanager
def _server(url: str | None) -> Iterator[str]:
    if url:
        yield url
    else:
        with local_server() as local:
            yield local


def _finding(repo: Repo, key: tuple[str, str], level: str, raw: Any, notes: dict[str, dict[str, Any]]) -> Finding:
    env, model = key
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("msg"):
        raise ModelplaneError(
            f"a {level} rule returned {raw!r} for {env}/{model}; rules must return objects with id and msg"
        )
    resolved = repo.resolved[key]
    pos, shown = locate(repo, resolved, raw.get("path"))
    meta = notes.get(str(raw["id"]), {})
    custom = meta.get("custom") or {}
    return Finding(
        rule_id=str(raw["id"]),
        level="deny" if level == "deny" else "warn",
        message=str(raw["msg"]),
        env=env,
        model=model,
        file=pos.file,
        line=pos.line,
        col=pos.col,
        path=shown,
        title=str(meta.get("title", "")),
        description=str(meta.get("description", "")),
        remediation=str(custom.get("remediation", "")),
        severity=str(raw.get("severity") or custom.get("severity") or ""),
    )


def _waive(finding: Finding, waivers: list[Waiver]) -> Finding:
    for w in waivers:
        if (w.rule, w.model, w.environment) == (finding.rule_id, finding.model, finding.env):
            return Finding(**{**finding.__dict__, "waiver": w})
    return finding


def _card(key: tuple[str, str], raw: Any) -> CardScore | None:
    if not isinstance(raw, dict):
        return None
    return CardScore(
        env=key[0],
        model=key[1],
        score=int(raw.get("score", 0)),
        required=tuple(sorted(raw.get("required", []))),
        missing=tuple(sorted(raw.get("missing", []))),
    )


def _annotations(options: GateOptions) -> dict[str, dict[str, Any]]:
    """Rule METADATA via `opa inspect`; with a shared server, a missing local opa only costs the titles."""
    if options.opa_url and not (os.environ.get("MODELPLANE_OPA") or shutil.which("opa")):
        print(
            "modelplane check: note: opa is not on PATH, so rule titles and remediation are not shown", file=sys.stderr
        )
        return {}
    return rule_annotations(options.policy_dir)


def run_gate(repo: Repo, selection: Selection, options: GateOptions) -> tuple[CheckReport, list[Problem]]:
    modules = [p for p in options.policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego")]
    if not modules:
        raise ModelplaneError(f"{options.policy_dir}: no policy modules (*.rego); refusing to pass without policies")
    keys = sorted(k for k in repo.resolved if selection.wants(*k))
    if not keys:
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    notes = _annotations(options)
    lock = load_lock(repo.root)
    items = {}
    for key in keys:
        resolved = repo.resolved[key]
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        items["/".join(key)] = build_input(resolved, facts, rendered_objects(options.rendered_dir, *key))

    with _server(options.opa_url) as url:
        engine = Engine(url, timeout=options.timeout)
        if options.upload or options.opa_url is None:
            engine.upload(options.policy_dir)
        result = engine.evaluate(items)

    packages = sorted(result.get("packages") or [])
    if not packages:
        raise ModelplaneError("no deny or warn rules under package modelplane.*; refusing to pass without rules")
    waivers, problems = load_waivers(
        options.policy_dir,
        str(options.policy_dir / "waivers.yaml"),
        options.today,
        set(notes) | _ids_seen(result),
        set(repo.models),
        set(repo.environments),
    )
    report = CheckReport(pairs=keys, packages=packages)
    for key in keys:
        outcome = result["results"].get("/".join(key), {})
        for level in ("deny", "warn"):
            for raw in outcome.get(level) or []:
                report.findings.append(_waive(_finding(repo, key, level, raw, notes), waivers))
        card = _card(key, outcome.get("card"))
        if card is not None:
            report.cards.append(card)
    report.findings.sort(key=Finding.sort_key)
    return report, problems


def _ids_seen(result: dict[str, Any]) -> set[str]:
    return {
        str(v.get("id"))
        for outcome in (result.get("results") or {}).values()
        for level in ("deny", "warn")
        for v in outcome.get(level) or []
        if isinstance(v, dict)
    }
