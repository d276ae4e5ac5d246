"""Run the policy gate: inputs for every selected (model, environment) -> OPA (several requests at once) -> report."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.gate.inputs import build_input, locate, rendered_objects
from modelplane.gate.opa import Engine, local_server, opa_binary, rule_annotations
from modelplane.gate.packages import ENGINE_REGO, LEVELS, PolicyPackage, policy_packages
from modelplane.gate.results import CardScore, CheckReport, Finding, Waiver
from modelplane.gate.sandbox import check_policies
from modelplane.gate.waivers import load_waivers
from modelplane.history import Histories, promotion_input, read_histories
from modelplane.parallel import PARALLEL_FROM, forked_map
from modelplane.problems import ModelplaneError, Problem
from modelplane.registry import facts_for, load_lock
from modelplane.repo import Repo, Selection, StreamingLoad
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


EVALUATIONS = 8  # requests a large check in one process is split into: OPA evaluates each on a core


def _evaluate(
    engine: Engine,
    paths: list[list[str]],
    keys: list[tuple[str, str]],
    document: Callable[[tuple[str, str]], dict[str, Any]],
    count: int,
) -> dict[str, Any]:
    """Every pair's outcome, in `count` requests at once, each sent as soon as its inputs are
    built, so OPA evaluates on the other cores while Python builds the rest; the outcomes are
    the same as one request's (each input is evaluated on its own)."""
    from concurrent.futures import ThreadPoolExecutor

    size = max(1, -(-len(keys) // count))
    with ThreadPoolExecutor(max_workers=min(count, os.cpu_count() or 1)) as pool:
        futures = [
            pool.submit(engine.evaluate, paths, {"/".join(k): document(k) for k in keys[start : start + size]})
            for start in range(0, len(keys), size)
        ]
        results: dict[str, Any] = {}
        for future in futures:
            results.update(future.result().get("results") or {})
    return results


@dataclass
class _Context:
    """What judging any pair needs, read once: the policies, their notes, the lock, the
    promotion history and what compile rendered."""

    options: GateOptions
    packages: dict[str, PolicyPackage]
    notes: dict[str, dict[str, Any]]
    lock: dict[str, Any]
    histories: Histories
    now: int
    objects: dict[tuple[str, str], list[dict[str, Any]]]
    url: str = ""
    uploaded: dict[str, str] = field(default_factory=dict)  # policy id -> file, to name files in OPA's errors


@dataclass
class _Judged:
    """The gate's word on some pairs: the unit a worker process sends back."""

    keys: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cards: list[CardScore] = field(default_factory=list)
    with_rules: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    load_problems: list[Problem] = field(default_factory=list)


def _context(repo: Repo, envs: set[str], candidates: list[tuple[str, str]], options: GateOptions) -> _Context:
    modules = sorted(p for p in options.policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))
    if not modules:
        raise ModelplaneError(f"{options.policy_dir}: no policy modules (*.rego); refusing to pass without policies")
    packages = {p.name: p for p in policy_packages(modules)}
    _sandbox(options)
    rendered = os.path.relpath(options.rendered_dir, repo.root)
    return _Context(
        options=options,
        packages=packages,
        notes=_annotations(options),
        lock=load_lock(repo.root),
        histories=read_histories(repo, envs, rendered, options.base),
        now=int(options.now if options.now is not None else time.time()),
        objects=rendered_objects(options.rendered_dir, candidates),
    )


def _judge(repo: Repo, keys: list[tuple[str, str]], context: _Context, requests: int) -> _Judged:
    """Evaluate the policies for `keys` (resolved in `repo`) on the server at `context.url`."""
    options, lock = context.options, context.lock

    def document(key: tuple[str, str]) -> dict[str, Any]:
        resolved = repo.resolved[key]
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        second = second_version(resolved.model)
        if second is not None:  # an A/B test's variant B, held to the same registry facts
            facts = {**facts, "abTest": facts_for(lock, resolved.model.registry.name, second)}
        promotion = promotion_input(repo, key, context.histories, context.now)
        return {**build_input(resolved, facts, context.objects[key], options.today), "promotion": promotion}

    judged = _Judged(keys=list(keys))
    if not keys:
        return judged
    engine = Engine(context.url, timeout=options.timeout)
    engine.uploaded_files = context.uploaded
    paths = [list(p.path) for p in context.packages.values()]
    results = _evaluate(engine, paths, list(keys), document, requests)
    for key in keys:
        outcome = results.get("/".join(key))
        if not isinstance(outcome, dict):
            raise ModelplaneError(f"OPA returned no result for {'/'.join(key)}; refusing to pass it")
        for package, level, raws in _rule_sets(outcome, context.packages, key):
            judged.with_rules.add(package.name)
            for raw in raws:
                finding = _finding(repo, key, level, raw, context.notes, package)
                judged.seen.add(finding.rule_id)
                judged.findings.append(finding)
        card = _card(key, outcome.get("card"))
        if card is not None:
            judged.cards.append(card)
    return judged


def _upload(url: str, options: GateOptions) -> dict[str, str]:
    """Put the policies on the server, unless it has them from a bundle (`--no-upload`); the file
    of each policy id uploaded, to name files in OPA's errors."""
    if options.upload or options.opa_url is None:
        engine = Engine(url, timeout=options.timeout)
        engine.upload(options.policy_dir)
        return engine.uploaded_files
    return {}


@contextmanager
def _ready(
    repo: Repo, envs: set[str], candidates: list[tuple[str, str]], options: GateOptions
) -> Iterator[_Context]:
    """The context, on a server that has the policies. The upload, mostly a wait on OPA compiling
    them, runs beside the reading of the context; an error there (the sandbox's first) wins."""
    from concurrent.futures import ThreadPoolExecutor

    with _server(options.opa_url) as url:
        pool = ThreadPoolExecutor(1)
        try:
            uploading = pool.submit(_upload, url, options)
            try:
                context = _context(repo, envs, candidates, options)
            except BaseException:
                with suppress(BaseException):
                    uploading.result()
                raise
            context.url, context.uploaded = url, uploading.result()
        finally:
            pool.shutdown(wait=True)  # no thread is left when the caller forks workers
        yield context


def _report(
    repo: Repo, models: set[str], context: _Context, judged: _Judged
) -> tuple[CheckReport, list[Problem]]:
    """The report of every judged pair, waivers applied (`repo`: its environments)."""
    options = context.options
    if not judged.keys:
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    report = CheckReport(pairs=sorted(judged.keys))
    with_rules = {p.name for p in context.packages.values() if p.rules} | judged.with_rules
    if not with_rules:
        raise ModelplaneError("no deny or warn rules under package modelplane.*; refusing to pass without rules")
    report.packages = sorted(with_rules)
    order = {key: i for i, key in enumerate(report.pairs)}
    report.cards = sorted(judged.cards, key=lambda c: order[(c.env, c.model)])
    waivers, problems = load_waivers(
        options.policy_dir,
        str(options.policy_dir / "waivers.yaml"),
        options.today,
        set(context.notes) | judged.seen,
        models,
        {name: repo.env(name).limits.max_waiver_days for name in repo.environments},
    )
    report.findings = sorted((_waive(f, waivers) for f in judged.findings), key=Finding.sort_key)
    return report, problems


def run_gate(repo: Repo, selection: Selection, options: GateOptions) -> tuple[CheckReport, list[Problem]]:
    """The gate over a repository loaded whole, in this process."""
    keys = sorted(k for k in repo.resolved if selection.wants(*k))
    if not keys:
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    with _ready(repo, {env for env, _ in keys}, keys, options) as context:
        judged = _judge(repo, keys, context, EVALUATIONS if len(keys) >= PARALLEL_FROM else 1)
    return _report(repo, set(repo.models), context, judged)


# What the forked workers of `run_gate_shares` inherit: the loader, the selection and the context.
_WORK: tuple[StreamingLoad, Selection, _Context] | None = None


def _judge_share(files: list[Path]) -> _Judged:
    assert _WORK is not None
    loader, selection, context = _WORK
    before = len(loader.problems)
    added = set(loader.add(files))
    problems = loader.problems[before:]
    del loader.problems[before:]  # the caller merges them, whichever process this runs in
    if any(p.severity == "error" for p in problems):
        return _Judged(load_problems=problems)
    keys = sorted(k for k in loader.repo.resolved if k[1] in added and selection.wants(*k))
    judged = _judge(loader.repo, keys, context, 1)
    judged.load_problems = problems
    return judged


def run_gate_shares(
    loader: StreamingLoad,
    shares: list[list[Path]],
    selection: Selection,
    options: GateOptions,
    workers: int,
    every_model: set[str],
) -> tuple[CheckReport, list[Problem]] | None:
    """The gate with the environments loaded into `loader` and the model files in `shares`:
    each share is loaded, judged and sent to OPA by one of `workers` forked processes (none:
    here), while OPA evaluates the others'. None when a spec has errors (the caller loads the
    repository whole to say which). `every_model`: the repository's, which waivers may name."""

    repo = loader.repo
    models = {f.parent.name for files in shares for f in files}
    envs = {e for e in repo.environments if not selection.envs or e in selection.envs}
    candidates = sorted((e, m) for e in envs for m in models if selection.wants(e, m))
    if not candidates:
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    judged = _Judged()
    global _WORK
    with _ready(repo, envs, candidates, options) as context:
        _WORK = (loader, selection, context)
        try:
            parts = list(forked_map(_judge_share, shares, workers))
        finally:
            _WORK = None
    for part in parts:
        loader.problems += part.load_problems
        judged.keys += part.keys
        judged.findings += part.findings
        judged.cards += part.cards
        judged.with_rules |= part.with_rules
        judged.seen |= part.seen
    if loader.has_errors:
        return None
    return _report(repo, every_model, context, judged)
