"""What the catalog shows, gathered once: the resolved specs, each environment's record and
recorded decisions, the rendered alerts, the policy rules and the audit timelines."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelplane.audit import Audit, Entry, Filters, walk
from modelplane.decisions import Decision, parse_waivers, read_decisions
from modelplane.gate.opa import opa_binary
from modelplane.gitread import NotARepository
from modelplane.problems import ModelplaneError
from modelplane.records import EnvRecord, RecordError, mapping, read_record
from modelplane.render.base import parse_objects
from modelplane.repo import Repo
from modelplane.resolve import Resolved

RENDERED = "rendered"


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    summary: str


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    description: str
    severity: str
    remediation: str
    package: str
    level: str  # deny | warn
    location: str  # file:line


@dataclass
class Catalog:
    repo: Repo
    envs: list[str]
    records: dict[str, EnvRecord | None] = field(default_factory=dict)
    decisions: dict[str, dict[str, Decision]] = field(default_factory=dict)
    alerts: dict[tuple[str, str], list[Alert]] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    waivers: list[dict[str, str]] = field(default_factory=list)
    audit: Audit | None = None
    notes: list[str] = field(default_factory=list)
    commit: str = ""

    def resolved(self, env: str, model: str) -> Resolved | None:
        return self.repo.resolved.get((env, model))

    def version(self, env: str, model: str) -> int | None:
        record = self.records.get(env)
        ran = record.version(model) if record is not None else None
        resolved = self.resolved(env, model)
        return ran if ran is not None else resolved.model.registry.version if resolved else None

    def decision(self, env: str, model: str) -> Decision | None:
        return self.decisions.get(env, {}).get(model)

    def timeline(self, env: str, model: str) -> list[Entry]:
        if self.audit is None:
            return []
        return next((t.entries for t in self.audit.timelines if (t.env, t.model) == (env, model)), [])

    def last_change(self, env: str, model: str) -> Entry | None:
        entries = self.timeline(env, model)
        return entries[-1] if entries else None

    def firing(self, rule_id: str) -> list[dict[str, Any]]:
        """Where a rule fires, per the recorded decisions: environment, model, level, waived."""
        out = []
        for env in self.envs:
            for model, decision in sorted(self.decisions.get(env, {}).items()):
                for finding in decision.raw.get("findings") or []:
                    if isinstance(finding, dict) and finding.get("rule") == rule_id:
                        out.append({"env": env, "model": model, **finding})
        return out


def _alerts(folder: Path) -> list[Alert]:
    path = folder / "monitoring.rules.yaml"
    if not path.is_file():
        return []
    try:
        docs = parse_objects(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    out = []
    for doc in docs:
        for group in doc.get("groups") or [] if isinstance(doc, dict) else []:
            for rule in group.get("rules") or [] if isinstance(group, dict) else []:
                if isinstance(rule, dict) and rule.get("alert"):
                    labels, notes = mapping(rule.get("labels")), mapping(rule.get("annotations"))
                    out.append(
                        Alert(str(rule["alert"]), str(labels.get("severity", "")), str(notes.get("summary", "")))
                    )
    return out


def policy_rules(root: Path) -> list[Rule]:
    """Every rule with METADATA under policies/, read by `opa inspect`."""
    done = subprocess.run(
        [opa_binary(), "inspect", "-a", "--format", "json", "policies"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["opa inspect failed"])[0]
        raise ModelplaneError(f"{root / 'policies'}: the policies do not compile: {first}")
    rules = []
    for entry in json.loads(done.stdout or "{}").get("annotations") or []:
        notes = entry.get("annotations") or {}
        custom = notes.get("custom") or {}
        path = [str(p.get("value")) for p in entry.get("path") or []][1:]
        where = entry.get("location") or {}
        if not custom.get("id"):
            continue
        rules.append(
            Rule(
                str(custom["id"]),
                str(notes.get("title", "")),
                str(notes.get("description", "")),
                str(custom.get("severity", "")),
                str(custom.get("remediation", "")),
                ".".join(path[:-1]),
                path[-1] if path else "",
                f"{where.get('file', '')}:{where.get('row', '')}",
            )
        )
    return sorted(rules, key=lambda r: r.rule_id)


def _head(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def gather(repo: Repo) -> Catalog:
    root = repo.root
    catalog = Catalog(repo, repo.env_order())
    for env in catalog.envs:
        try:
            catalog.records[env] = read_record(root / RENDERED, env)
        except RecordError as exc:
            catalog.notes.append(f"{RENDERED}/{env}: its record is unreadable ({exc})")
            catalog.records[env] = None
        catalog.decisions[env] = read_decisions(root / RENDERED, env)
    for env, model in repo.resolved:
        catalog.alerts[(env, model)] = _alerts(root / RENDERED / env / model)
    if (root / "policies").is_dir():
        catalog.rules = policy_rules(root)
        waivers = root / "policies" / "waivers.yaml"
        if waivers.is_file():
            catalog.waivers = parse_waivers(waivers.read_text(encoding="utf-8"), "policies/waivers.yaml")
    try:
        catalog.audit = walk(root, Filters())
        catalog.commit = _head(root)
    except NotARepository:
        catalog.notes.append("not a git repository: no change history")
    except ModelplaneError as exc:  # a shallow clone, an unreadable history
        catalog.notes.append(f"no change history: {exc}")
    return catalog
