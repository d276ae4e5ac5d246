"""Run the policy gate: inputs for every selected (model, environment) -> OPA (several requests at once) -> report."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane.gate.inputs import build_input, locate, rendered_objects
from modelplane.gate.opa import Engine, local_server, opa_binary, rule_annotations
from modelplane.gate.packages import ENGINE_REGO, LEVELS, PolicyPackage, policy_packages
from modelplane.gate.results import CardScore, CheckReport, Finding, Waiver
from modelplane.gate.sandbox import check_policies
from modelplane.gate.waivers import load_waivers
from modelplane.history import promotion_inputs
from modelplane.problems import ModelplaneError, Problem
from modelplane.registry import facts_for, load_lock
from modelplane.repo import Repo, Selection
from modelplane.spec.delivery import second_version


@dataclass(frozen=True)
class GateOptions:
    policy_dir: Path
    rendered_dir: Path
    opa_url: str | None = None  # None: start a local server
    upload: bool = True
    timeout: float = 30.0
    today: dt.date = dt.date.today()
    base: str = "HEAD"  # promotion facts come from git history up to this ref
    now: float | None = None  # seconds since the epoch for soak times; None: the clock


@contextmanager
def _server(url: str | None) -> Iterator[str]:
    if url:
        yield url
    else:
        with local_server() as local:
            yield local


def _rule_at(package: PolicyPackage, level: str) -> str:
    file, line = package.rules.get(level, (package.files[0], 0))
    return f"{file}:{line}" if line else str(file)


def _finding(
    repo: Repo, key: tuple[str, str], level: str, raw: Any, notes: dict[str, dict[str, Any]], package: PolicyPackage
) -> Finding:
    env, model = key
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("msg"):
        shown = json.dumps(raw, sort_keys=True)
        raise ModelplaneError(
            f"{_rule_at(package, level)}: {package.name}.{level} produced {shown[:80]} for {env}/{model}; "
            "each element must be an object with non-empty id and msg"
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


def _sandbox(options: GateOptions) -> None:
    """Refuse forbidden built-ins (network, environment, randomness, the clock) with their line."""
    if options.opa_url and not (os.environ.get("MODELPLANE_OPA") or shutil.which("opa")):
        print("modelplane check: note: opa is not on PATH, so the sandbox check is left to the server", file=sys.stderr)
        return
    check_policies(opa_binary(), [options.policy_dir, ENGINE_REGO], {})


def _rule_sets(
    outcome: dict[str, Any], packages: dict[str, PolicyPackage], key: tuple[str, str]
) -> Iterator[tuple[PolicyPackage, str, list[Any]]]:
    """Each package's deny and warn for one pair; a rule that is not a set is an error at its line."""
    for name, rules in sorted((outcome.get("packages") or {}).items()):
        package = packages.get(name)
        if package is None or not isinstance(rules, dict):
            raise ModelplaneError(f"OPA returned results for an unknown package {name!r}")
        for level in LEVELS:
            shape = rules.get(level)
            if shape is None:
                continue
            if not shape.get("set"):
                raise ModelplaneError(
                    f"{_rule_at(package, level)}: {name}.{level} is a {shape.get('type')}, not a set of objects; "
                    f"write `{level} contains {{\"id\": ..., \"msg\": ...}} if {{ ... }}` ({'/'.join(key)})"
                )
            yield package, level, list(shape.get("value") or [])


EVALUATIONS = 8  # requests a large check is split into: OPA evaluates each on a core of its own
_PARALLEL_FROM = 200  # fewer pairs: one request


def _evaluate(
    engine: Engine,
    paths: list[list[str]],
    keys: list[tuple[str, str]],
    document: Callable[[tuple[str, str]], dict[str, Any]],
) -> dict[str, Any]:
    """Every pair's outcome. A large check goes out as several requests at once, each sent as
    soon as its inputs are built, so OPA evaluates on the other cores while Python builds the
    rest; the outcomes are the same as one request's (each input is evaluated on its own)."""
    from concurrent.futures import ThreadPoolExecutor

    count = EVALUATIONS if len(keys) >= _PARALLEL_FROM else 1
    size = -(-len(keys) // count)
    with ThreadPoolExecutor(max_workers=min(count, os.cpu_count() or 1)) as pool:
        futures = [
            pool.submit(engine.evaluate, paths, {"/".join(k): document(k) for k in keys[start : start + size]})
            for start in range(0, len(keys), size)
        ]
        results: dict[str, Any] = {}
        for future in futures:
            results.update(future.result().get("results") or {})
    return {"results": results}


def run_gate(repo: Repo, selection: Selection, options: GateOptions) -> tuple[CheckReport, list[Problem]]:
    modules = sorted(p for p in options.policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))
    if not modules:
        raise ModelplaneError(f"{options.policy_dir}: no policy modules (*.rego); refusing to pass without policies")
    packages = {p.name: p for p in policy_packages(modules)}
    keys = sorted(k for k in repo.resolved if selection.wants(*k))
    if not keys:
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    _sandbox(options)
    notes = _annotations(options)
    lock = load_lock(repo.root)
    rendered = os.path.relpath(options.rendered_dir, repo.root)
    now = int(options.now if options.now is not None else time.time())
    promotion = promotion_inputs(repo, keys, rendered, options.base, now)
    objects = rendered_objects(options.rendered_dir, keys)

    def document(key: tuple[str, str]) -> dict[str, Any]:
        resolved = repo.resolved[key]
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        second = second_version(resolved.model)
        if second is not None:  # an A/B test's variant B, held to the same registry facts
            facts = {**facts, "abTest": facts_for(lock, resolved.model.registry.name, second)}
        return {**build_input(resolved, facts, objects[key], options.today), "promotion": promotion[key]}

    with _server(options.opa_url) as url:
        engine = Engine(url, timeout=options.timeout)
        if options.upload or options.opa_url is None:
            engine.upload(options.policy_dir)
        result = _evaluate(engine, [list(p.path) for p in packages.values()], keys, document)

    report = CheckReport(pairs=keys)
    seen: set[str] = set()
    with_rules = {p.name for p in packages.values() if p.rules}  # deny/warn defined in the source
    for key in keys:
        outcome = (result.get("results") or {}).get("/".join(key))
        if not isinstance(outcome, dict):
            raise ModelplaneError(f"OPA returned no result for {'/'.join(key)}; refusing to pass it")
        for package, level, raws in _rule_sets(outcome, packages, key):
            with_rules.add(package.name)
            for raw in raws:
                finding = _finding(repo, key, level, raw, notes, package)
                seen.add(finding.rule_id)
                report.findings.append(finding)
        card = _card(key, outcome.get("card"))
        if card is not None:
            report.cards.append(card)
    if not with_rules:
        raise ModelplaneError("no deny or warn rules under package modelplane.*; refusing to pass without rules")
    report.packages = sorted(with_rules)
    waivers, problems = load_waivers(
        options.policy_dir,
        str(options.policy_dir / "waivers.yaml"),
        options.today,
        set(notes) | seen,
        set(repo.models),
        {name: repo.env(name).limits.max_waiver_days for name in repo.environments},
    )
    report.findings = sorted((_waive(f, waivers) for f in report.findings), key=Finding.sort_key)
    return report, problems
