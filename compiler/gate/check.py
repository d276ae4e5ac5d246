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

from modelplane.gate.inputs import RenderedTree, build_input, locate, read_rendered
from modelplane.gate.opa import Engine, local_server, opa_binary, rule_annotations
from modelplane.gate.packages import ENGINE_REGO, LEVELS, PolicyPackage, policy_packages
from modelplane.gate.results import CardScore, CheckReport, Finding, Waiver
from modelplane.gate.sandbox import check_policies
from modelplane.gate.waivers import load_waivers
from modelplane.history import Histories, promotion_input, read_histories
from modelplane.local_cache import Learned
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


def _modules(policy_dir: Path) -> list[Path]:
    modules = sorted(p for p in policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))
    if not modules:
        raise ModelplaneError(f"{policy_dir}: no policy modules (*.rego); refusing to pass without policies")
    return modules


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


@dataclass
class _Context:
    """What judging any pair needs, read once: the policies, their notes, the lock, the
    promotion history and what compile recorded of what it rendered."""

    options: GateOptions
    packages: dict[str, PolicyPackage]
    notes: dict[str, dict[str, Any]]
    lock: dict[str, Any]
    histories: Histories
    now: int
    tree: RenderedTree
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
    learned: list[Learned] = field(default_factory=list)  # rendered files hashed on the way (for the cache)

    def add(self, other: _Judged) -> None:
        self.keys += other.keys
        self.findings += other.findings
        self.cards += other.cards
        self.with_rules |= other.with_rules
        self.seen |= other.seen
        self.load_problems += other.load_problems
        self.learned += other.learned


def _context(repo: Repo, envs: set[str], options: GateOptions, modules: list[Path]) -> _Context:
    packages = {p.name: p for p in policy_packages(modules)}
    rendered = os.path.relpath(options.rendered_dir, repo.root)
    return _Context(
        options=options,
        packages=packages,
        notes=_annotations(options),
        lock=load_lock(repo.root),
        histories=read_histories(repo, envs, rendered, options.base),
        now=int(options.now if options.now is not None else time.time()),
        tree=read_rendered(options.rendered_dir, envs),
    )


def _document(
    repo: Repo, context: _Context, objects: dict[tuple[str, str], list[dict[str, Any]]]
) -> Callable[[tuple[str, str]], dict[str, Any]]:
    """The OPA input of a pair resolved in `repo`, with what compile rendered for it (`objects`)."""
    options, lock = context.options, context.lock

    def document(key: tuple[str, str]) -> dict[str, Any]:
        resolved = repo.resolved[key]
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        second = second_version(resolved.model)
        if second is not None:  # an A/B test's variant B, held to the same registry facts
            facts = {**facts, "abTest": facts_for(lock, resolved.model.registry.name, second)}
        promotion = promotion_input(repo, key, context.histories, context.now)
        return {**build_input(resolved, facts, objects[key], options.today), "promotion": promotion}

    return document


class _Sender:
    """Sends pairs' inputs to OPA a batch at a time (`send`) on `pool`'s threads, so OPA evaluates
    while the caller builds or loads the next batch; `judged` then collects every answer."""

    def __init__(self, context: _Context, pool: Any):
        self.context, self.pool = context, pool
        self.engine = Engine(context.url, timeout=context.options.timeout)
        self.engine.uploaded_files = context.uploaded
        self.paths = [list(p.path) for p in context.packages.values()]
        self.sent: list[tuple[Repo, list[tuple[str, str]], Any]] = []
        self.learned: list[Learned] = []

    def send(self, repo: Repo, keys: list[tuple[str, str]]) -> None:
        """The inputs of `keys` (resolved in `repo`), built now and evaluated on a thread."""
        if not keys:
            return
        objects, learned = self.context.tree.objects(keys)
        self.learned += learned
        document = _document(repo, self.context, objects)
        items = {"/".join(k): document(k) for k in keys}
        self.sent.append((repo, keys, self.pool.submit(self.engine.evaluate, self.paths, items)))

    def judged(self) -> _Judged:
        """The findings and card scores OPA returned for every pair sent."""
        judged = _Judged(learned=self.learned)
        for repo, keys, evaluation in self.sent:
            results = evaluation.result().get("results") or {}
            judged.keys += keys
            for key in keys:
                outcome = results.get("/".join(key))
                if not isinstance(outcome, dict):
                    raise ModelplaneError(f"OPA returned no result for {'/'.join(key)}; refusing to pass it")
                for package, level, raws in _rule_sets(outcome, self.context.packages, key):
                    judged.with_rules.add(package.name)
                    for raw in raws:
                        finding = _finding(repo, key, level, raw, self.context.notes, package)
                        judged.seen.add(finding.rule_id)
                        judged.findings.append(finding)
                card = _card(key, outcome.get("card"))
                if card is not None:
                    judged.cards.append(card)
        return judged


def _judge(repo: Repo, keys: list[tuple[str, str]], context: _Context, requests: int) -> _Judged:
    """Evaluate the policies for `keys` (resolved in `repo`) in `requests` requests at once."""
    from concurrent.futures import ThreadPoolExecutor

    size = max(1, -(-len(keys) // requests))
    with ThreadPoolExecutor(max_workers=min(requests, os.cpu_count() or 1)) as pool:
        sender = _Sender(context, pool)
        for start in range(0, len(keys), size):
            sender.send(repo, keys[start : start + size])
        return sender.judged()


def _upload(url: str, options: GateOptions) -> dict[str, str]:
    """Put the policies on a shared server, unless it has them from a bundle (`--no-upload`); the
    file of each policy id uploaded, to name files in OPA's errors."""
    if options.upload:
        engine = Engine(url, timeout=options.timeout)
        engine.upload(options.policy_dir)
        return engine.uploaded_files
    return {}


@contextmanager
def _ready(repo: Repo, envs: set[str], options: GateOptions) -> Iterator[_Context]:
    """The context, on a server that has the policies, after the sandbox has passed them.

    A local server reads the policy files as it starts (one compile of them all; OPA names each
    by its file). To a shared server they are uploaded, mostly a wait on OPA compiling them, beside
    the reading of the context; an error there (the sandbox's first) wins.
    """
    from concurrent.futures import ThreadPoolExecutor

    modules = _modules(options.policy_dir)
    if options.opa_url is None:
        _sandbox(options)
        with local_server(policies=[*modules, ENGINE_REGO]) as url:
            context = _context(repo, envs, options, modules)
            context.url = url
            yield context
        return
    pool = ThreadPoolExecutor(1)
    try:
        uploading = pool.submit(_upload, options.opa_url, options)
        try:
            _sandbox(options)
            context = _context(repo, envs, options, modules)
        except BaseException:
            with suppress(BaseException):
                uploading.result()
            raise
        context.url, context.uploaded = options.opa_url, uploading.result()
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
    with _ready(repo, {env for env, _ in keys}, options) as context:
        judged = _judge(repo, keys, context, EVALUATIONS if len(keys) >= PARALLEL_FROM else 1)
    context.tree.hashes.remember(judged.learned, None)
    return _report(repo, set(repo.models), context, judged)


# What the forked workers of `run_gate_shares` inherit: the loader, the selection and the context.
_WORK: tuple[StreamingLoad, Selection, _Context] | None = None


def _judge_shares(shares: list[list[Path]]) -> _Judged:
    """Load each share and send its inputs; OPA evaluates a share while the next one loads.
    Stops at the first share whose specs have errors (those come back alone)."""
    from concurrent.futures import ThreadPoolExecutor

    assert _WORK is not None
    loader, selection, context = _WORK
    problems: list[Problem] = []
    with ThreadPoolExecutor(1) as pool:
        sender = _Sender(context, pool)
        for files in shares:
            before = len(loader.problems)
            added = set(loader.add(files))
            problems += loader.problems[before:]
            del loader.problems[before:]  # the caller merges them, whichever process this runs in
            if any(p.severity == "error" for p in problems):
                return _Judged(load_problems=problems)  # the pool finishes what was sent
            sender.send(loader.repo, sorted(k for k in loader.repo.resolved if k[1] in added and selection.wants(*k)))
        judged = sender.judged()
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
    each of `workers` forked processes (none: this one) loads its shares, builds their inputs
    and sends them to the one OPA server, a share at a time. None when a spec has errors (the
    caller loads the repository whole to say which). `every_model`: the repository's, which
    waivers may name."""
    repo = loader.repo
    models = {f.parent.name for files in shares for f in files}
    envs = {e for e in repo.environments if not selection.envs or e in selection.envs}
    if not any(selection.wants(e, m) for e in envs for m in models):
        raise ModelplaneError("no (environment, model) pairs to check; refusing to pass with no inputs")
    batches = [shares[i::workers] for i in range(workers)] if workers else [shares]
    judged = _Judged()
    global _WORK
    with _ready(repo, envs, options) as context:
        _WORK = (loader, selection, context)
        try:
            for part in forked_map(_judge_shares, batches, workers):
                judged.add(part)
        finally:
            _WORK = None
    loader.problems += judged.load_problems
    if loader.has_errors:
        return None
    context.tree.hashes.remember(judged.learned, None)
    return _report(repo, every_model, context, judged)
