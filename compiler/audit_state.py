"""The config repository as of one commit of an audit walk, built change by change.

The walk applies each commit's raw diff to a map of path -> blob id and asks this state what a
(model, environment) looked like: its resolved spec, the version its environment's record names,
the decision recorded for it, the waivers naming it and its rendered files. Every blob is read
once through one `git cat-file --batch` process and every parse is cached by blob id, so a
long history costs a parse per distinct file version, not per commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from modelplane.changes import spec_data
from modelplane.decisions import Decision, pair_waivers, parse_decisions, parse_waivers
from modelplane.gitread import Commit, ObjectReader
from modelplane.history import RECORD_NAMES
from modelplane.loader import Document, parse_text
from modelplane.records import (
    EnvRecord,
    ModelRecord,
    RecordError,
    affects_cluster,
    outputs_digest,
    parse_record,
    sha256,
)
from modelplane.resolve import resolve
from modelplane.spec.environment import Environment
from modelplane.spec.errors import validation_problems

MODEL_FILE = re.compile(r"^models/([^/]+)/model\.ya?ml$")
ENV_FILE = re.compile(r"^environments/([^/]+)\.ya?ml$")
PAIR_FILE = re.compile(r"^rendered/([^/]+)/([^/]+)/(.+)$")
ENV_FILE_RENDERED = re.compile(r"^rendered/([^/]+)/([^/]+\.json)$")
WAIVERS = "policies/waivers.yaml"
DECISIONS = "decisions.json"

Pair = tuple[str, str]  # (environment, model)


@dataclass
class PairView:
    env: str
    model: str
    spec: dict[str, Any] | None = None
    spec_error: str = ""  # the spec does not parse or resolve here (spec is then the last readable one)
    unreadable: list[str] = field(default_factory=list)
    version: int | None = None
    record: ModelRecord | None = None
    decision: Decision | None = None
    waivers: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file under rendered/<env>/<model>/ -> blob id
    prod: bool = False
    upstream_version: int | None = None
    ran_before: set[int] = field(default_factory=set)


def _first_problem(problems: list[Any]) -> str:
    return problems[0].render() if problems else "does not parse"


class State:
    def __init__(self, reader: ObjectReader):
        self.reader = reader
        self.blobs: dict[str, str] = {}
        self.pair_files: dict[Pair, dict[str, str]] = {}
        self.models: dict[str, str] = {}  # model -> its spec's path
        self.envs: dict[str, str] = {}  # environment -> its file's path
        self.ran: dict[Pair, set[int]] = {}
        self._docs: dict[str, Document | str] = {}
        self._env_specs: dict[str, Environment | str] = {}
        self._resolved: dict[tuple[str, str, str], dict[str, Any] | str] = {}
        self._records: dict[str, EnvRecord | str] = {}
        self._decisions: dict[str, dict[str, Decision] | str] = {}
        self._waivers: dict[str, list[dict[str, str]]] = {}
        self._hashes: dict[str, str] = {}
        self._last_spec: dict[Pair, dict[str, Any] | None] = {}
        self._last_record: dict[str, EnvRecord] = {}
        self._changed_records: set[str] = set()

    # --- the walk ---------------------------------------------------------------------------------
    def touched(self, commit: Commit) -> set[Pair]:
        """Every pair a commit may have changed: its model, environment, rendered files, the
        environment's record or decisions, or the waivers."""
        models, envs, pairs, records, waivers = set(), set(), set(), set(), False
        for change in commit.changes:
            if m := MODEL_FILE.match(change.path):
                models.add(m.group(1))
            elif e := ENV_FILE.match(change.path):
                envs.add(e.group(1))
            elif p := PAIR_FILE.match(change.path):
                pairs.add((p.group(1), p.group(2)))
            elif r := ENV_FILE_RENDERED.match(change.path):
                records.add(r.group(1))
            elif change.path == WAIVERS:
                waivers = True
        all_envs, all_models = set(self.envs) | envs, set(self.models) | models
        out = pairs | {(e, m) for e in all_envs for m in models} | {(e, m) for e in envs for m in all_models}
        for env in records | (all_envs if waivers else set()):
            out |= {(env, m) for m in all_models} | {p for p in self.pair_files if p[0] == env}
        return out

    def apply(self, commit: Commit) -> None:
        self._changed_records = set()
        for change in commit.changes:
            path = change.path
            if change.new is None:
                self.blobs.pop(path, None)
            else:
                self.blobs[path] = change.new
            if p := PAIR_FILE.match(path):
                files = self.pair_files.setdefault((p.group(1), p.group(2)), {})
                if change.new is None:
                    files.pop(p.group(3), None)
                    if not files:
                        del self.pair_files[(p.group(1), p.group(2))]
                else:
                    files[p.group(3)] = change.new
            elif m := MODEL_FILE.match(path):
                self._track(self.models, m.group(1), path, change.new)
            elif e := ENV_FILE.match(path):
                self._track(self.envs, e.group(1), path, change.new)
            elif r := ENV_FILE_RENDERED.match(path):
                self._changed_records.add(r.group(1))

    @staticmethod
    def _track(table: dict[str, str], name: str, path: str, blob: str | None) -> None:
        if blob is not None:
            table[name] = path
        elif table.get(name) == path:
            del table[name]

    def remember_versions(self) -> None:
        """After a commit: the versions each changed record names have now run in its environment."""
        for env in self._changed_records:
            record = self.record(env, [])
            for model, entry in (record.models if record else {}).items():
                if entry.version is not None:
                    self.ran.setdefault((env, model), set()).add(entry.version)

    # --- what a pair looks like ---------------------------------------------------------------------
    def view(self, pair: Pair) -> PairView:
        env, model = pair
        view = PairView(env, model, files=dict(self.pair_files.get(pair, {})), ran_before=set(self.ran.get(pair, ())))
        env_spec = self._env_spec(env, view.unreadable)
        view.prod = env_spec.policy_profile == "prod" if env_spec is not None else env == "prod"
        self._spec(pair, env_spec, view)
        record = self.record(env, view.unreadable)
        view.record = record.models.get(model) if record else None
        view.version = view.record.version if view.record else None
        upstream = env_spec.promotes_from if env_spec is not None else None
        if upstream:
            above = self.record(upstream, [])
            view.upstream_version = above.version(model) if above else None
        view.decision = self._decision(env, model, view.unreadable)
        waivers = self.blobs.get(WAIVERS)
        view.waivers = pair_waivers(self._waiver_list(waivers), env, model) if waivers else []
        return view

    def digest(self, files: dict[str, str]) -> str:
        return outputs_digest((f, self._sha256(blob)) for f, blob in files.items())

    def synced(self, view: PairView, file: str) -> bool:
        return affects_cluster(file, view.record)

    # --- cached parses ---------------------------------------------------------------------------
    def _text(self, blob: str) -> str:
        return (self.reader.read(blob) or b"").decode("utf-8", errors="replace")

    def _sha256(self, blob: str) -> str:
        if blob not in self._hashes:
            self._hashes[blob] = sha256(self.reader.read(blob) or b"")
        return self._hashes[blob]

    def _doc(self, path: str) -> Document | str:
        blob = self.blobs[path]
        if blob not in self._docs:
            doc, problems = parse_text(self._text(blob), path)
            errors = [p for p in problems if p.severity == "error"]
            self._docs[blob] = doc if doc is not None and not errors else _first_problem(errors)
        return self._docs[blob]

    def _env_spec(self, env: str, notes: list[str]) -> Environment | None:
        path = self.envs.get(env)
        if path is None:
            return None
        blob = self.blobs[path]
        if blob not in self._env_specs:
            doc = self._doc(path)
            if isinstance(doc, str):
                self._env_specs[blob] = doc
            else:
                try:
                    self._env_specs[blob] = Environment.model_validate(doc.data)
                except ValidationError as exc:
                    self._env_specs[blob] = _first_problem(validation_problems(exc, Environment, doc.source))
        found = self._env_specs[blob]
        if isinstance(found, str):
            notes.append(f"unreadable at this commit: {found}")
            return None
        return found

    def _spec(self, pair: Pair, env_spec: Environment | None, view: PairView) -> None:
        env, model = pair
        model_path, env_path = self.models.get(model), self.envs.get(env)
        if model_path is None or env_path is None:
            self._last_spec[pair] = None
            return
        if env_spec is None:
            view.spec, view.spec_error = self._last_spec.get(pair), "environment unreadable"
            return
        key = (self.blobs[model_path], self.blobs[env_path], env)
        if key not in self._resolved:
            doc = self._doc(model_path)
            env_doc = self._doc(env_path)
            if isinstance(doc, str):
                self._resolved[key] = doc
            elif isinstance(env_doc, str):
                self._resolved[key] = env_doc
            else:
                resolved, problems = resolve(doc, env_doc, env_spec)
                self._resolved[key] = spec_data(resolved) if resolved is not None else _first_problem(problems)
        found = self._resolved[key]
        if isinstance(found, str):
            view.unreadable.append(f"unreadable at this commit ({env}): {found}")
            view.spec, view.spec_error = self._last_spec.get(pair), found
            return
        view.spec = self._last_spec[pair] = found

    def record(self, env: str, notes: list[str]) -> EnvRecord | None:
        """The environment's record (newest shape first); an unreadable one is noted and the last
        readable one stands in for it."""
        for name in RECORD_NAMES:
            path = f"rendered/{env}/{name}"
            blob = self.blobs.get(path)
            if blob is None:
                continue
            if blob not in self._records:
                try:
                    self._records[blob] = parse_record(self._text(blob), env)
                except RecordError as exc:
                    self._records[blob] = str(exc)
            found = self._records[blob]
            if isinstance(found, str):
                notes.append(f"{path}: unreadable at this commit: {found}")
                return self._last_record.get(env)
            self._last_record[env] = found
            return found
        return None

    def _decision(self, env: str, model: str, notes: list[str]) -> Decision | None:
        path = f"rendered/{env}/{DECISIONS}"
        blob = self.blobs.get(path)
        if blob is None:
            return None
        if blob not in self._decisions:
            try:
                self._decisions[blob] = parse_decisions(self._text(blob))
            except ValueError as exc:
                self._decisions[blob] = str(exc).splitlines()[0]
        found = self._decisions[blob]
        if isinstance(found, str):
            notes.append(f"{path}: unreadable at this commit: {found}")
            return None
        return found.get(model)

    def _waiver_list(self, blob: str) -> list[dict[str, str]]:
        if blob not in self._waivers:
            self._waivers[blob] = parse_waivers(self._text(blob), WAIVERS)
        return self._waivers[blob]
