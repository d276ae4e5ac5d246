"""The per-machine cache: hashes by stat data, kept for the most recently used folders only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelplane import local_cache
from modelplane.build_manifest import sha256
from modelplane.cli import main
from modelplane.gate import inputs
from modelplane.incremental import hash_files, scan_tree
from tests.conftest import CRDS, require_tool
from tests.example_copy import copy_example


def _hashes(folder: Path) -> dict[str, str | None]:
    stats = scan_tree(folder)
    return local_cache.FileHashes(folder).hashes(sorted(stats.items()), hash_files, os.fspath(folder), stats)


def test_hashes_come_back_from_the_cache_and_old_folders_are_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(local_cache, "SETTLED_NS", 0)
    folders = []
    for i in range(local_cache.KEEP["hashes"] + 8):
        folder = tmp_path / f"out{i}"
        folder.mkdir()
        (folder / "a.yaml").write_text(f"a: {i}\n")
        folders.append(folder)
        first = _hashes(folder)
        read: list[str] = []

        def hashing(paths: list[str], read: list[str] = read) -> list[str | None]:
            read.extend(paths)
            return hash_files(paths)

        stats = scan_tree(folder)
        again = local_cache.FileHashes(folder).hashes(sorted(stats.items()), hashing, os.fspath(folder), stats)
        assert again == first and read == [], "the second time nothing is read"
    kept = sorted((tmp_path / "cache/modelplane").glob("hashes-*.json"))
    assert len(kept) == local_cache.KEEP["hashes"]
    assert local_cache.FileHashes(folders[-1]).entries, "the most recent folder is kept"
    assert not local_cache.FileHashes(folders[0]).entries, "the oldest is forgotten"


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/modelplane-no-cache")
    (tmp_path / "a.yaml").write_text("a: 1\n")
    assert list(_hashes(tmp_path).values())[0] is not None


def test_the_check_after_a_compile_hashes_nothing_compile_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("helm")
    require_tool("opa")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = copy_example(tmp_path / "repo", parts=("models", "environments", "policies"))
    assert main(["--root", str(repo), "compile", "--crds", str(CRDS), "--quiet"]) == 0
    cached = local_cache.FileHashes(repo / "rendered").entries
    for rel, entry in cached.items():  # exactly the stat and content now on disk
        assert tuple(entry[:4]) == local_cache.stat_of(os.stat(repo / "rendered" / rel)), rel
        assert entry[4] == sha256((repo / "rendered" / rel).read_bytes()), rel
    assert "prod/churn/serving.yaml" in cached and len(cached) > 80

    hashed: list[str] = []

    def hashing(paths: list[Path]) -> list[str | None]:
        hashed.extend(map(str, paths))
        return hash_files(paths)

    monkeypatch.setattr(inputs, "hash_files", hashing)
    assert main(["--root", str(repo), "check"]) in (0, 1)  # judged: rendered/ is not in the git history
    assert hashed == [], "what compile wrote is known by its stat data"
    # A file edited after the compile is hashed again and read back.
    training = repo / "rendered/prod/churn/training.yaml"
    training.write_text(training.read_text().replace("kind: ServiceAccount", "kind: ServiceAccount2", 1))
    objects = inputs.read_rendered(repo / "rendered", ["prod"]).objects([("prod", "churn")])[0][("prod", "churn")]
    assert hashed == [str(training)] and "ServiceAccount2" in {o["kind"] for o in objects}
