"""The gate's decisions kept in git: `rendered/<env>/decisions.json`, one entry per model.

`check --record` writes what the gate said about each (model, environment) — findings, waivers
applied, card score, registry facts — with the hash of every input that decision depends on.
There is no timestamp: the commit that adds the file is the decision's time, and the same
inputs give the same bytes. `check --record --check` recomputes the input hashes (no OPA) and
names every decision that no longer matches its inputs.

The input hash covers the model and environment files, the registry facts from the lock, the
pair's rendered files, the policy bundle (every non-test `.rego` plus the gate's driver), the
waivers naming the pair and the compiler version.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane import __version__
from modelplane.gate.packages import ENGINE_REGO
from modelplane.gate.results import CheckReport, Finding
from modelplane.loader import parse_text
from modelplane.records import folder_digest, mapping, outputs_digest, sha256
from modelplane.registry import facts_for, load_lock
from modelplane.repo import Repo, Selection
from modelplane.write import output_lock, write_text_atomic

DECISIONS = "decisions.json"
WAIVERS = "waivers.yaml"
_REGISTRY_KEYS = ("name", "version", "found", "approved", "status", "source", "runId")


@dataclass(frozen=True)
class Decision:
    """A recorded decision as plan, audit and the catalog read it."""

    model: str
    outcome: str  # pass | block
    input_hash: str = ""
    outputs_hash: str | None = None
    card_score: int | None = None
    card_missing: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()  # rule ids
    warnings: tuple[str, ...] = ()
    waivers: tuple[dict[str, str], ...] = ()
    version: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def policy_bundle_hash(policy_dir: Path) -> str:
    modules = sorted(p for p in policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))
    pairs = [(str(p.relative_to(policy_dir)), sha256(p.read_bytes())) for p in modules]
    return outputs_digest([*pairs, ("\0engine.rego", sha256(ENGINE_REGO.read_bytes()))])


def parse_waivers(text: str, file: str) -> list[dict[str, str]]:
    """The entries of a waivers file as plain strings; whatever does not parse is left out (the gate
    reports it at its line)."""
    doc, _ = parse_text(text, file)
    entries = doc.data.get("waivers") if doc is not None and isinstance(doc.data, dict) else None
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            out.append({str(k): str(v) for k, v in sorted(entry.items()) if v is not None})
    return out


def pair_waivers(waivers: list[dict[str, str]], env: str, model: str) -> list[dict[str, str]]:
    return [w for w in waivers if w.get("model") == model and w.get("environment") == env]


def _read_waivers(policy_dir: Path) -> list[dict[str, str]]:
    path = policy_dir / WAIVERS
    return parse_waivers(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []


@dataclass(frozen=True)
class Inputs:
    """What every decision in one repository depends on, read once."""

    bundle: str
    waivers: list[dict[str, str]]
    lock: dict[str, Any]


def read_inputs(policy_dir: Path, root: Path) -> Inputs:
    return Inputs(policy_bundle_hash(policy_dir), _read_waivers(policy_dir), load_lock(root))


def input_hash(repo: Repo, key: tuple[str, str], rendered_dir: Path, inputs: Inputs) -> tuple[str, str | None]:
    """(the pair's input hash, the digest of its rendered files)."""
    env, model = key
    resolved = repo.resolved[key]
    registry = facts_for(inputs.lock, resolved.model.registry.name, resolved.model.registry.version)
    outputs = folder_digest(rendered_dir / env / model)
    doc = {
        "compiler": __version__,
        "sources": {f: sha256((repo.root / f).read_bytes()) for f in (resolved.model_file, resolved.env_file)},
        "registry": registry,
        "outputs": outputs,
        "policies": inputs.bundle,
        "waivers": pair_waivers(inputs.waivers, env, model),
    }
    return sha256(json.dumps(doc, sort_keys=True).encode()), outputs


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule_id,
        "level": f.level,
        "severity": f.severity,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "path": f.path,
        "waived": f.waiver is not None,
    }


def entry(report: CheckReport, key: tuple[str, str], hashes: tuple[str, str | None], bundle: str) -> dict[str, Any]:
    """One model's decision in an environment, from the gate's report."""
    env, model = key
    findings = sorted((f for f in report.findings if (f.env, f.model) == key), key=Finding.sort_key)
    waivers = {(w.rule, w.approver, w.expires, w.reason): w for f in findings if (w := f.waiver) is not None}.values()
    card = next((c for c in report.cards if (c.env, c.model) == key), None)
    return {
        "inputHash": hashes[0],
        "outputsHash": hashes[1],
        "policyBundle": bundle,
        "outcome": "block" if any(f.blocking for f in findings) else "pass",
        "findings": [_finding(f) for f in findings],
        "waivers": [
            {"rule": w.rule, "approver": w.approver, "expires": w.expires, "reason": w.reason}
            for w in sorted(waivers, key=lambda w: (w.rule, w.expires))
        ],
        "card": None if card is None else {"score": card.score, "missing": list(card.missing)},
    }


def document(env: str, models: dict[str, dict[str, Any]]) -> str:
    data = {
        "apiVersion": "modelplane.dev/v1",
        "kind": "Decisions",
        "environment": env,
        "models": dict(sorted(models.items())),
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _registry(lock: dict[str, Any], repo: Repo, key: tuple[str, str]) -> dict[str, Any]:
    ref = repo.resolved[key].model.registry
    facts = facts_for(lock, ref.name, ref.version)
    return {k: facts[k] for k in _REGISTRY_KEYS if k in facts}


def _current_models(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    return dict(models) if isinstance(models, dict) else {}


def record(repo: Repo, report: CheckReport, rendered_dir: Path, policy_dir: Path) -> list[Path]:
    """Write the decisions of every pair in `report` into its environment's file, under the output
    lock; entries of other models in the environment are kept, those of removed models dropped."""
    inputs = read_inputs(policy_dir, repo.root)
    written = []
    with output_lock(rendered_dir):
        for env in sorted({env for env, _ in report.pairs}):
            path = rendered_dir / env / DECISIONS
            models = {m: e for m, e in _current_models(path).items() if (env, m) in repo.resolved}
            for key in (k for k in report.pairs if k[0] == env):
                new = entry(report, key, input_hash(repo, key, rendered_dir, inputs), inputs.bundle)
                models[key[1]] = {**new, "registry": _registry(inputs.lock, repo, key)}
            text = document(env, models)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                write_text_atomic(path, text)
                written.append(path)
    return written


def stale(repo: Repo, keys: list[tuple[str, str]], rendered_dir: Path, policy_dir: Path) -> list[str]:
    """One line per decision that is missing or no longer matches its inputs."""
    inputs = read_inputs(policy_dir, repo.root)
    lines = []
    for env in sorted({env for env, _ in keys}):
        path = rendered_dir / env / DECISIONS
        shown = f"{path}"
        recorded = _current_models(path)
        for _, model in (k for k in keys if k[0] == env):
            entry_ = recorded.get(model)
            if not isinstance(entry_, dict):
                lines.append(f"{shown}: {model}: no decision recorded")
            elif entry_.get("inputHash") != input_hash(repo, (env, model), rendered_dir, inputs)[0]:
                lines.append(f"{shown}: {model}: stale (its inputs changed since the decision was recorded)")
        for model in sorted(m for m in recorded if (env, m) not in repo.resolved):
            lines.append(f"{shown}: {model}: recorded for a model that is not in {env}")
    return lines


def parse_decisions(text: bytes | str) -> dict[str, Decision]:
    """Recorded decisions by model; raises ValueError when the file is not a decisions document."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ValueError("not a decisions document (expected an object with 'models')")
    out = {}
    for model, raw in data["models"].items():
        if not isinstance(raw, dict):
            continue
        findings = [f for f in raw.get("findings") or [] if isinstance(f, dict)]
        card, registry = mapping(raw.get("card")), mapping(raw.get("registry"))
        version = registry.get("version")
        out[str(model)] = Decision(
            model=str(model),
            outcome="pass" if raw.get("outcome") == "pass" else "block",
            input_hash=str(raw.get("inputHash", "")),
            outputs_hash=raw.get("outputsHash") if isinstance(raw.get("outputsHash"), str) else None,
            card_score=card.get("score") if isinstance(card.get("score"), int) else None,
            card_missing=tuple(str(m) for m in card.get("missing") or []),
            blocking=tuple(str(f.get("rule")) for f in findings if f.get("level") == "deny" and not f.get("waived")),
            warnings=tuple(str(f.get("rule")) for f in findings if f.get("level") == "warn" and not f.get("waived")),
            waivers=tuple(
                {k: str(w.get(k, "")) for k in ("rule", "approver", "expires", "reason")}
                for w in raw.get("waivers") or []
                if isinstance(w, dict)
            ),
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            raw=raw,
        )
    return out


def read_decisions(rendered_dir: Path, env: str) -> dict[str, Decision]:
    path = rendered_dir / env / DECISIONS
    if not path.is_file():
        return {}
    try:
        return parse_decisions(path.read_bytes())
    except ValueError:
        return {}


def carried_over(current: Collection[str], wanted: Collection[str]) -> list[str]:
    """The decisions files compile keeps when it replaces rendered/: those of environments it still
    writes (`check --record` owns them; a removed environment's go with it)."""
    envs = {path.split("/", 1)[0] for path in wanted if "/" in path}
    return sorted(p for p in current if p.count("/") == 1 and p.split("/") in ([e, DECISIONS] for e in envs))


def report_stale(repo: Repo, selection: Selection, rendered_dir: Path, policy_dir: Path) -> int:
    """`check --record --check`: print each stale decision; 1 when there is one, else 0."""
    keys = sorted(k for k in repo.resolved if selection.wants(*k))
    lines = stale(repo, keys, rendered_dir, policy_dir)
    for line in lines:
        print(line)
    if lines:
        print(
            f"check --record --check: {len(lines)} decision(s) stale;"
            " run `make render` (or `modelplane check --record`) and commit rendered/"
        )
        return 1
    print(f"check --record --check: the decisions of {len(keys)} (environment, model) pair(s) are current")
    return 0
