"""What each environment has run, read from the git history of its compiled record.

Compile writes one record per environment (`rendered/<env>/manifest.json`, formerly
`provenance.json`) that names the registry version of every model. Its history in git is the
history of what the environment ran: a version "ran" in an environment from the commit that
first recorded it there. Reading it takes two git processes however long the history is:
`git log` lists the commits that touched the record, `git cat-file --batch` reads them all.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.problems import ModelplaneError
from modelplane.repo import Repo

RECORD_NAMES = ("manifest.json", "provenance.json")


@dataclass(frozen=True)
class Run:
    """A version an environment ran, from the first commit that recorded it there."""

    version: int
    since: int  # commit time, seconds since the epoch
    commit: str


@dataclass
class EnvHistory:
    """Per model, the versions one environment ran, oldest first (a version once, at its first run)."""

    runs: dict[str, list[Run]] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)  # the newest record's version per model

    def ran(self, model: str, version: int) -> Run | None:
        return next((r for r in self.runs.get(model, []) if r.version == version), None)


class NoHistory(ModelplaneError):
    """The config repository is not a git work tree (or git is missing): promotion facts unknown."""


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise NoHistory("git is not installed; promotion facts need the repository's history") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise NoHistory(f"git {args[0]}: {message[0] if message else done.returncode}")
    return done.stdout


def is_git_repo(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--is-inside-work-tree").strip() == b"true"
    except NoHistory:
        return False


def _record_registry(text: bytes) -> dict[str, dict[str, Any]]:
    """Per model, the registry facts a record holds (pin and lock facts)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}  # an unreadable record at some commit says nothing about what ran
    models = data.get("models") if isinstance(data, dict) else None
    out: dict[str, dict[str, Any]] = {}
    for name, entry in (models or {}).items():
        registry = entry.get("registry") if isinstance(entry, dict) else None
        if isinstance(registry, dict):
            out[str(name)] = registry
    return out


def _record_versions(text: bytes) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, registry in _record_registry(text).items():
        version = registry.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            out[name] = version
    return out


def _read_blobs(root: Path, specs: list[str]) -> list[bytes | None]:
    """`git cat-file --batch` for many `<rev>:<path>` at once; None where the path is missing."""
    if not specs:
        return []
    raw = _git(root, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in specs).encode())
    out: list[bytes | None] = []
    pos = 0
    for _ in specs:
        end = raw.index(b"\n", pos)
        header = raw[pos:end].split(b" ")
        pos = end + 1
        if header[-1] == b"missing" or len(header) < 3:
            out.append(None)
            continue
        size = int(header[2])
        out.append(raw[pos : pos + size])
        pos += size + 1
    return out


def env_history(root: Path, rendered: str, env: str, ref: str = "HEAD") -> EnvHistory:
    """Every version each model ran in `env`, from the history of its record up to `ref`."""
    paths = [f"{rendered}/{env}/{name}" for name in RECORD_NAMES]
    log = _git(root, "log", "--reverse", "--format=%H %ct", ref, "--", *paths).decode().split()
    commits = list(zip(log[0::2], (int(t) for t in log[1::2]), strict=True))
    specs = [f"{commit}:./{path}" for commit, _ in commits for path in paths]
    blobs = _read_blobs(root, specs)
    history = EnvHistory()
    for i, (commit, when) in enumerate(commits):
        record = next((b for b in blobs[i * len(paths) : (i + 1) * len(paths)] if b is not None), None)
        if record is None:
            continue
        versions = _record_versions(record)
        history.current = versions
        for model, version in versions.items():
            runs = history.runs.setdefault(model, [])
            if all(r.version != version for r in runs):
                runs.append(Run(version, when, commit))
    return history


def head_time(root: Path, ref: str = "HEAD") -> int:
    return int(_git(root, "log", "-1", "--format=%ct", ref).strip())


def promotion_facts(
    env: str, upstream: str | None, model: str, version: int, histories: dict[str, EnvHistory], now: int
) -> dict[str, Any]:
    """`input.promotion` for one (model, environment): what the policies decide promotion on."""
    here = histories.get(env, EnvHistory())
    facts: dict[str, Any] = {
        "history": True,
        "upstream": upstream,
        "ranHereBefore": here.ran(model, version) is not None,
        "runs": [{"version": r.version, "since": r.since, "commit": r.commit} for r in here.runs.get(model, [])],
    }
    if upstream is None:
        return facts
    above = histories.get(upstream, EnvHistory())
    upstream_runs = above.runs.get(model, [])
    first = above.ran(model, version)
    facts.update(
        {
            "upstreamRuns": [{"version": r.version, "since": r.since, "commit": r.commit} for r in upstream_runs],
            "upstreamVersion": above.current.get(model),
            "ranUpstream": first is not None,
            "upstreamSince": first.since if first else None,
            "soakedHours": round((now - first.since) / 3600, 2) if first else 0,
        }
    )
    return facts


def no_history_facts(upstream: str | None, reason: str) -> dict[str, Any]:
    """Facts when there is no git history (a tarball): policies must refuse, never pass."""
    return {"history": False, "reason": reason, "upstream": upstream}


@dataclass
class Histories:
    """The environments' histories up to a ref, or why there are none (`reason`)."""

    envs: dict[str, EnvHistory]
    reason: str = ""


def read_histories(repo: Repo, envs: Iterable[str], rendered: str, base: str) -> Histories:
    """The history of each of `envs` and of the environments they promote from."""
    wanted = sorted(set(envs) | {u for env in envs if (u := repo.env(env).promotes_from)})
    if not is_git_repo(repo.root):
        return Histories({}, f"{repo.root} is not a git work tree")
    try:
        return Histories({env: env_history(repo.root, rendered, env, base) for env in wanted})
    except NoHistory as exc:
        return Histories({}, str(exc))


def promotion_input(repo: Repo, key: tuple[str, str], histories: Histories, now: int) -> dict[str, Any]:
    """`input.promotion` for one (environment, model)."""
    env, model = key
    upstream = repo.env(env).promotes_from
    if histories.reason:
        return no_history_facts(upstream, histories.reason)
    version = repo.resolved[(env, model)].model.registry.version
    return promotion_facts(env, upstream, model, version, histories.envs, now)


def registry_changes(root: Path, rendered: str, envs: list[str], lock_file: str, ref: str) -> list[str]:
    """What changed since `ref` in the pins environments run and in the lock, one line each.

    The environments' records carry every pin and its lock facts (compile --check keeps them
    current), so a pin moved by hand, by `promote` or by a rollback shows here, as does any edit of
    the lock. An unknown `ref` raises NoHistory: the caller must not take "unknown" for "nothing".
    """
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except NoHistory as exc:
        raise NoHistory(
            f"{ref}: no such commit in {root} (fetch it, e.g. actions/checkout with fetch-depth 0)"
        ) from exc
    paths = [f"{rendered}/{env}/{name}" for env in envs for name in RECORD_NAMES]
    blobs = _read_blobs(root, [f"{ref}:./{path}" for path in [*paths, lock_file]])
    changes = []
    for i, env in enumerate(envs):
        n = len(RECORD_NAMES)
        before = next((b for b in blobs[i * n : (i + 1) * n] if b is not None), b"{}")
        now = next(((root / p).read_bytes() for p in paths[i * n : (i + 1) * n] if (root / p).is_file()), b"{}")
        old, new = _record_registry(before), _record_registry(now)
        for model in sorted(set(old) | set(new)):
            if old.get(model) == new.get(model):
                continue
            was, will = (old.get(model) or {}).get("version"), (new.get(model) or {}).get("version")
            if was is None or will is None:
                what = f"new, v{will}" if was is None else f"removed, was v{was}"
            else:
                what = f"v{was} -> v{will}" if was != will else f"registry facts of v{will} changed"
            changes.append(f"{env}/{model}: {what}")
    lock_now = (root / lock_file).read_bytes() if (root / lock_file).is_file() else None
    if blobs[-1] != lock_now:
        changes.append(f"{lock_file} changed")
    return changes
