"""This machine's cache (`$XDG_CACHE_HOME/modelplane`, else `~/.cache/modelplane`): derived data
that is slow to compute and cheap to check, never an input. Losing it costs time, never
correctness; a cache that cannot be read or written is ignored. Only the most recently used
files of each kind are kept (`KEEP`).

- Content hashes of output files, remembered by their stat data (inode, size, modification and
  change times), as git's index does: a file whose stat data changed is hashed again. An entry
  is only kept once its change time is a few seconds old, so that a file edited twice within
  the file system's timestamp granularity is never taken for its older self. The files compile
  writes are remembered as it writes them (in its own staging folder), so the check that follows
  a compile hashes nothing.
- The JSON Schemas compile derives from a folder of CRDs, by the folder's content hash.
- A tool's version, by the executable's path, size and modification time (a process saved).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from modelplane import __version__

SETTLED_NS = 3_000_000_000  # a file changed this recently is hashed again next time
KEEP = {"hashes": 32, "crd-schemas": 4, "tool": 8}  # files of each kind kept, the most recently used


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelplane"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(path: Path, data: Any) -> None:
    from modelplane.write import write_text_atomic

    with contextlib.suppress(OSError):  # a read-only home: the cache only saves time
        write_text_atomic(path, json.dumps(data, separators=(",", ":")))
        _prune(path.name.rsplit("-", 1)[0])


def _name(kind: str, key: str) -> Path:
    return cache_dir() / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _used(path: Path) -> None:
    """Mark a cache file as used now (what `_prune` keeps), as reading it does not."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _prune(kind: str) -> None:
    """Forget all but the most recently used files of one kind (one per output folder, say)."""
    with contextlib.suppress(OSError):
        files = sorted(cache_dir().glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in files[KEEP[kind] :]:
            stale.unlink(missing_ok=True)


Stat = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


def stat_of(result: os.stat_result) -> Stat:
    return (result.st_ino, result.st_size, result.st_mtime_ns, result.st_ctime_ns)


class FileHashes:
    """Hashes of the files under one folder, from the cache where their stat data still matches."""

    def __init__(self, folder: Path):
        self.path = _name("hashes", os.fspath(folder.resolve()))
        data = _read(self.path)
        if data is not None:
            _used(self.path)
        self.entries: dict[str, list[Any]] = data if isinstance(data, dict) else {}

    def hashes(
        self,
        files: Iterable[tuple[str, Stat]],
        hash_paths: Callable[[list[str]], list[str | None]],
        base: str,
        present: Collection[str] | None,
    ) -> dict[str, str | None]:
        """`files` (relative path, stat) -> content hash; what the cache does not know is hashed.
        Entries of files no longer `present` under the folder are forgotten (None: none is)."""
        out, learned = self.lookup(files, hash_paths, base)
        self.remember(learned, present)
        return out

    def lookup(
        self, files: Iterable[tuple[str, Stat]], hash_paths: Callable[[list[str]], list[str | None]], base: str
    ) -> tuple[dict[str, str | None], list[Learned]]:
        """`files` -> content hash, as `hashes` gives, and what hashing the files the cache did not
        know taught it, for `remember` (a worker's lookup is remembered by its parent)."""
        out: dict[str, str | None] = {}
        missing: list[tuple[str, Stat]] = []
        for rel, stat in files:
            entry = self.entries.get(rel)
            if entry is not None and tuple(entry[:4]) == stat:
                out[rel] = entry[4]
            else:
                missing.append((rel, stat))
        learned = learn(missing, hash_paths([os.path.join(base, rel) for rel, _ in missing]))
        out.update((rel, digest) for rel, _, digest in learned)
        return out, learned

    def remember(self, learned: Iterable[Learned], present: Collection[str] | None) -> None:
        """Keep what `learn` found (files hashed just now), and write the cache when it changed."""
        kept = dict(self.entries) if present is None else {r: e for r, e in self.entries.items() if r in present}
        changed = len(kept) != len(self.entries)
        for rel, entry, _ in learned:
            changed = True
            kept.pop(rel, None)
            if entry is not None:
                kept[rel] = entry
        if changed:
            self.entries = kept
            _write(self.path, kept)


Learned = tuple[str, list[Any] | None, str | None]  # a file, its cache entry (None: not kept) and its hash


def written_files(files: Iterable[tuple[str, Stat, str]]) -> list[Learned]:
    """What writing `files` (path, the stat right after writing, the hash of what was written)
    taught. Kept however recent: compile writes them into its own staging folder, where nothing
    else writes, and moves them into place by their folders, which keeps each file's stat data."""
    return [(rel, [*stat, digest], digest) for rel, stat, digest in files]


def learn(hashed: Sequence[tuple[str, Stat]], digests: Sequence[str | None]) -> list[Learned]:
    """What hashing `hashed` just now taught: a file changed in the last seconds is not kept, as it
    may change again within the same clock tick (same size and times, other content)."""
    settled = time.time_ns() - SETTLED_NS
    return [
        (rel, [*stat, digest] if digest is not None and stat[3] < settled else None, digest)
        for (rel, stat), digest in zip(hashed, digests, strict=True)
    ]


def crd_schemas(
    folder: Path, parse: Callable[[], dict[tuple[str, str], dict[str, Any]]], code: bytes
) -> dict[tuple[str, str], Any]:
    """`parse()`, the schemas of the CRDs in `folder` by the converter `code`, from the cache when
    the files and the converter are the same."""
    digest = hashlib.sha256(__version__.encode() + b"\0" + code + b"\0")
    for path in sorted(folder.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    path = _name("crd-schemas", digest.hexdigest())
    cached = _read(path)
    if isinstance(cached, list):
        _used(path)
        return {(api, kind): schema for api, kind, schema in cached}
    schemas = parse()
    _write(path, [[api, kind, schema] for (api, kind), schema in sorted(schemas.items())])
    return schemas


def tool_version(executable: str, ask: Callable[[], str]) -> str:
    """`ask()` (the version of `executable`), from the cache while the executable is the same file."""
    real = os.path.realpath(executable)
    info = os.stat(real)
    path = _name("tool", f"{real}\0{info.st_size}\0{info.st_mtime_ns}")
    cached = _read(path)
    if isinstance(cached, str) and cached:
        _used(path)
        return cached
    version = ask()
    if version and version != "unknown":
        _write(path, version)
    return version
