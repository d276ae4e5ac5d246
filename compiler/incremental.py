"""What the last compile left, and which of it this compile may reuse.

A pair's files are reused only when its `inputHash` is unchanged and every file still has the
content hash its manifest records; a manifest that does not parse, has another schema, or whose
digest does not match its text (edited by hand) counts as absent, so its pairs are rendered
again. A model whose spec file, environment files, registry facts, chart, helm and compiler are
all as recorded is not even loaded: nothing of it can have changed (its spec was valid when it
was compiled, against the same environments).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane import __version__
from modelplane.build_manifest import Manifest, canonical, read_manifest, sha256
from modelplane.fingerprint import compiler_code
from modelplane.local_cache import FileHashes, Stat, stat_of
from modelplane.registry import LOCK_FILE, facts_for


def _hash_files(paths: list[str]) -> list[str | None]:
    out: list[str | None] = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                out.append(sha256(handle.read()))
        except OSError:
            out.append(None)
    return out


def hash_files(paths: Iterable[str | os.PathLike[str]]) -> list[str | None]:
    """Content hashes (None for a missing file), on a few threads: reading and hashing release the GIL."""
    names = [os.fspath(p) for p in paths]
    workers = min(4, (os.cpu_count() or 2) + 1)
    size = max(1, -(-len(names) // workers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = pool.map(_hash_files, [names[i : i + size] for i in range(0, len(names), size)])
        return [h for part in parts for h in part]


@dataclass
class Previous:
    """The output folder before this compile: its files, usable manifests and their files' hashes."""

    out: Path
    hashes: FileHashes  # this machine's cache of the folder's file hashes
    current: set[str] = field(default_factory=set)  # every file, relative to `out`
    manifests: dict[str, Manifest] = field(default_factory=dict)
    disk: dict[str, str | None] = field(default_factory=dict)  # recorded path -> hash on disk now

    def manifest(self, env: str) -> dict[str, Any] | None:
        found = self.manifests.get(env)
        return found.data if found is not None else None

    def record(self, env: str, model: str) -> dict[str, Any] | None:
        data = self.manifest(env)
        return (data.get("models") or {}).get(model) if data is not None else None

    def intact(self, env: str, outputs: list[dict[str, Any]]) -> bool:
        """Every recorded output is on disk with the recorded content."""
        return all(self.disk.get(f"{env}/{o['path']}") == o["sha256"] for o in outputs)

    def text(self, rel: str) -> str:
        return (self.out / rel).read_text(encoding="utf-8")


def scan_tree(folder: Path) -> dict[str, Stat]:
    """Every file under `folder` (relative path) and its stat data."""
    found: dict[str, Stat] = {}
    pending = [(os.fspath(folder), "")]
    while pending:
        path, prefix = pending.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{prefix}{entry.name}/"))
                elif entry.is_file(follow_symlinks=False):
                    found[prefix + entry.name] = stat_of(entry.stat(follow_symlinks=False))
    return found


def read_previous(out: Path, envs: Iterable[str], *, trust: bool = True) -> Previous:
    """The current tree under `out`; with `trust`, the manifests of `envs` and their files' hashes."""
    stats = scan_tree(out) if out.is_dir() else {}
    cache = FileHashes(out)
    previous = Previous(out, cache, set(stats))
    if not trust:  # no manifest is read; what is on disk is hashed, so unchanged files stay untouched
        previous.disk = cache.hashes(sorted(stats.items()), hash_files, os.fspath(out), stats)
        return previous
    recorded: list[str] = []
    for env in envs:
        manifest = read_manifest(out / env)
        if manifest.data is None:
            continue
        previous.manifests[env] = manifest
        recorded += [f"{env}/{o['path']}" for o in manifest.data["outputs"]]
        recorded += [f"{env}/{o['path']}" for m in manifest.models.values() for o in m["outputs"]]
    present = [(rel, stats[rel]) for rel in recorded if rel in stats]
    previous.disk = cache.hashes(present, hash_files, os.fspath(out), stats)
    return previous


@dataclass(frozen=True)
class Shared:
    """The inputs every pair shares, as this compile sees them."""

    lock: dict[str, Any]
    chart: str
    helm: str
    environments: dict[str, str]  # every environment file -> its hash
    models: dict[str, str]  # every model file -> its hash
    card_template: str = ""  # the config repository's own model-card template's hash ("" when none)
    config_root: Path | None = None  # where that template is looked for
    lock_hash: str | None = None  # of modelplane.lock; None without one

    def env_sources(self, env_file: str) -> dict[str, str]:
        """What an environment's manifest records as read for all its pairs: its file and the lock."""
        found = {env_file: self.environments[env_file]}
        if self.lock_hash is not None:
            found[LOCK_FILE] = self.lock_hash
        return found


def unchanged(previous: Previous, env: str, env_file: str, model: str, model_file: str, shared: Shared) -> bool:
    """The pair's recorded files are what compile would write now, judged without loading the spec:
    its spec file, its environment's file, the lock and the set of environments are as recorded
    (so are the resolved spec and the registry facts), and so are chart, compiler and helm."""
    data = previous.manifest(env)
    record = previous.record(env, model)
    if data is None or record is None:
        return False
    sources = data.get("sources")
    if not isinstance(sources, dict) or {k: v for k, v in sources.items() if k != LOCK_FILE} != {
        env_file: shared.environments[env_file]
    }:
        return False
    if data.get("environments") != sorted(Path(f).stem for f in shared.environments):
        return False
    if record["sources"] != {model_file: shared.models[model_file]}:
        return False
    inputs = record["inputs"]
    same_tools = (inputs.get("chart"), inputs.get("helm")) == (shared.chart, shared.helm)
    same_compiler = (inputs.get("compiler"), inputs.get("compilerCode")) == (__version__, compiler_code())
    if inputs.get("cardTemplate", "") != shared.card_template:  # a config repository's own card template
        return False
    if sources.get(LOCK_FILE) != shared.lock_hash:  # another lock: are this version's facts the same?
        registry = record["registry"]
        facts = facts_for(shared.lock, str(registry.get("name")), registry.get("version"))
        if sha256(canonical(facts)) != inputs.get("registry"):
            return False
    return same_tools and same_compiler and previous.intact(env, record["outputs"])


def models_to_load(
    previous: Previous, env_files: dict[str, str], model_files: dict[str, str], shared: Shared
) -> set[str]:
    """The models whose spec must be loaded (`env_files`, `model_files`: name -> file): every model
    not unchanged in every environment."""
    return {
        model
        for model, model_file in model_files.items()
        if not all(unchanged(previous, env, f, model, model_file, shared) for env, f in env_files.items())
    }
