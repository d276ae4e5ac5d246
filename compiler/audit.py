"""`modelplane audit`: per (model, environment), who changed what, when, and under which decision.

Walks the first-parent line of HEAD (what landed on the branch: merges of pull requests, squash
merges, direct pushes) with one `git log --raw` and one `git cat-file --batch`, however long the
history. For each commit that touched a pair it reports what changed (classified as in `plan`),
the version the environment ran before and after (from its compiled record), the gate decision
recorded at that commit and whether it covers exactly the rendered output, and the waivers in
force. A commit that changed what a prod-profile environment runs without a recorded passing
decision for that very output is flagged. A file that does not parse at some commit is noted
as unreadable there, and the walk goes on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.audit_state import PairView, State
from modelplane.changes import Change, classify, outcome_change, refine_versions, version_category
from modelplane.gitread import (
    UNSHALLOW,
    Commit,
    ObjectReader,
    first_parent_log,
    is_shallow,
    parse_commit,
    require_repository,
)
from modelplane.problems import ModelplaneError

WATCHED = ["models", "environments", "policies/waivers.yaml", "rendered"]
_MERGE_PR = re.compile(r"^Merge pull request #(\d+)\b")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")


@dataclass
class Entry:
    commit: str
    author: str
    email: str
    date: int  # committer time: when it landed
    subject: str
    pr: int | None
    landed: str  # merge | squash | direct
    version_before: int | None
    version_after: int | None
    changes: list[Change] = field(default_factory=list)
    runs_changed: list[str] = field(default_factory=list)  # cluster files that changed
    decision: dict[str, Any] | None = None
    waivers: list[dict[str, str]] = field(default_factory=list)  # in force at the commit's date
    flags: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def day(self) -> str:
        return iso_day(self.date)


@dataclass
class Timeline:
    env: str
    model: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Audit:
    commits: int  # first-parent commits walked
    timelines: list[Timeline] = field(default_factory=list)

    @property
    def flagged(self) -> list[tuple[Timeline, Entry]]:
        return [(t, e) for t in self.timelines for e in t.entries if e.flags]


@dataclass(frozen=True)
class Filters:
    models: frozenset[str] = frozenset()
    envs: frozenset[str] = frozenset()
    since: int | None = None  # seconds since the epoch, inclusive
    until: int | None = None

    def wants_pair(self, env: str, model: str) -> bool:
        return (not self.envs or env in self.envs) and (not self.models or model in self.models)

    def wants_time(self, when: int) -> bool:
        return (self.since is None or when >= self.since) and (self.until is None or when <= self.until)


def iso_day(when: int) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d")


def iso_time(when: int) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_day(text: str, option: str, *, end: bool = False) -> int:
    """YYYY-MM-DD (a whole UTC day) or an ISO date-time -> seconds since the epoch."""
    try:
        if len(text) == 10:
            day = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
            return int(day.timestamp()) + (86_399 if end else 0)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ModelplaneError(f"{option} {text}: expected a date, YYYY-MM-DD") from exc
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())


def pull_request(commit: Commit) -> tuple[int | None, str]:
    subject = commit.subject
    merged = _MERGE_PR.match(subject)
    if merged:
        return int(merged.group(1)), "merge"
    squashed = _SQUASH_PR.search(subject)
    if squashed:
        return int(squashed.group(1)), "merge" if len(commit.parents) > 1 else "squash"
    return None, "merge" if len(commit.parents) > 1 else "direct"


def _decision_view(view: PairView, state: State) -> dict[str, Any] | None:
    decision = view.decision
    if decision is None:
        return None
    digest = state.digest(view.files) if view.files else None
    covers = decision.outputs_hash is not None and decision.outputs_hash == digest
    if decision.version is not None and view.version is not None and decision.version != view.version:
        covers = False
    return {
        "outcome": decision.outcome,
        "current": covers,
        "card": decision.card_score,
        "blocking": list(decision.blocking),
        "waivers": [dict(w) for w in decision.waivers],
    }


def _flags(entry: Entry, view: PairView) -> list[str]:
    if not view.prod:
        return []
    out = []
    how = " (direct push)" if entry.landed == "direct" else ""
    if entry.runs_changed and view.files:  # a removal has no decision to record; it shows as breaking
        decision = entry.decision
        if decision is None:
            out.append(f"changed what {view.env} runs without a recorded decision{how}")
        elif not decision["current"]:
            out.append(f"changed what {view.env} runs; the recorded decision is for other rendered output{how}")
        elif decision["outcome"] != "pass":
            out.append(f"changed what {view.env} runs although the recorded decision blocks it{how}")
    if entry.runs_changed and entry.decision and entry.decision["current"] and entry.decision["outcome"] == "pass":
        for waiver in entry.decision["waivers"]:
            if waiver.get("expires", "9999") < entry.day:
                rule, expired = waiver.get("rule"), waiver.get("expires")
                out.append(f"the recorded decision relies on waiver {rule} that expired on {expired}")
    return out


def _entry(commit: Commit, before: PairView, after: PairView, state: State) -> Entry | None:
    pr, landed = pull_request(commit)
    entry = Entry(
        commit.sha,
        commit.author,
        commit.email,
        commit.committer_time,
        commit.subject,
        pr,
        landed,
        before.version,
        after.version,
    )
    entry.unreadable = after.unreadable
    if not after.spec_error:
        changes = classify(before.spec, after.spec, prod=after.prod or before.prod)
        entry.changes = refine_versions(changes, after.upstream_version, after.ran_before)
    whole = any(c.category in ("added", "removed") for c in entry.changes)  # says it all for the pair
    if before.version != after.version and not whole and not any(c.path == "registry.version" for c in entry.changes):
        name = version_category(before.version, after.version, after.upstream_version, after.ran_before)
        entry.changes.append(Change(name, "rendered record", before.version, after.version))
    moved = outcome_change(
        before.decision.outcome if before.decision else None,
        after.decision.outcome if after.decision else None,
        prod=after.prod,
    )
    if moved is not None and not whole:
        entry.changes.append(moved)
    if before.waivers != after.waivers:
        entry.changes.append(Change("waivers", "policies/waivers.yaml", before.waivers, after.waivers))
    entry.runs_changed = sorted(
        f
        for f in set(before.files) | set(after.files)
        if before.files.get(f) != after.files.get(f) and state.synced(after, f)
    )
    entry.decision = _decision_view(after, state)
    entry.waivers = [w for w in after.waivers if w.get("expires", "") >= entry.day]
    entry.flags = _flags(entry, after)
    if entry.changes or entry.runs_changed or entry.flags or entry.unreadable:
        return entry
    return None


def walk(root: Path, filters: Filters, ref: str = "HEAD") -> Audit:
    require_repository(root, "audit")
    if is_shallow(root):
        raise ModelplaneError(f"{root} is a shallow clone: audit needs the whole history; {UNSHALLOW}")
    commits = first_parent_log(root, ref, WATCHED)
    timelines: dict[tuple[str, str], Timeline] = {}
    with ObjectReader(root) as reader:
        state = State(reader)
        for commit in commits:
            info = parse_commit(commit.sha, reader.read(commit.sha) or b"")
            commit.parents, commit.message = info.parents, info.message
            commit.author, commit.email = info.author, info.email
            commit.author_time, commit.committer_time = info.author_time, info.committer_time
            pairs = [p for p in state.touched(commit) if filters.wants_pair(*p)]
            before = {pair: state.view(pair) for pair in pairs}
            state.apply(commit)
            for pair in pairs:
                after = state.view(pair)
                entry = _entry(commit, before[pair], after, state)
                if entry is not None and filters.wants_time(commit.committer_time):
                    timelines.setdefault(pair, Timeline(*pair)).entries.append(entry)
            state.remember_versions()
    ordered = sorted(timelines.values(), key=lambda t: (t.env, t.model))
    return Audit(len(commits), ordered)
