"""Incremental compile: after every kind of change, the files it leaves are byte for byte what a
full compile into a fresh folder writes, and only the pairs that changed were rendered."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from modelplane.build_manifest import manifest_text, parse_manifest
from modelplane.cli import main
from modelplane.pipeline import read_tree
from modelplane.render import serving
from tests.conftest import CRDS, compiled, require_tool
from tests.example_copy import copy_example


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository with its committed rendered/ (and manifests)."""
    require_tool("helm")
    return copy_example(tmp_path / "repo", history=False)


def _compile(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--root", str(root), "compile", "--crds", str(CRDS), "--quiet", *extra])
    return code, capsys.readouterr().out


def _rendered(said: str) -> int:
    match = re.search(r": (\d+) rendered, (\d+) unchanged", said)
    assert match, said
    return int(match.group(1))


def _same_as_full(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = root.parent / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    code, said = _compile(root, capsys, "--out", str(fresh))
    assert code == 0, said
    assert " 0 unchanged" in said, "a fresh folder is a full compile"
    incremental, full = compiled(read_tree(root / "rendered")), read_tree(fresh)
    assert incremental.keys() == full.keys()
    assert [p for p in full if incremental[p] != full[p]] == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _model_edit(root: Path) -> None:
    _edit(root / "models/churn/model.yaml", "latencyP99Ms: 120\n  errorRate", "latencyP99Ms: 150\n  errorRate")


def _environment_edit(root: Path) -> None:
    _edit(root / "environments/prod.yaml", "targetRevision: main", "targetRevision: release")


def _lock_change(root: Path) -> None:
    lock = json.loads((root / "modelplane.lock").read_text())
    for entry in lock["models"]["churn"].values():
        entry["source"] += "-rebuilt"
    (root / "modelplane.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")


def _policy_change(root: Path) -> None:
    _edit(root / "policies/images.rego", "package", "# a reviewer's note\npackage")


def _model_deleted(root: Path) -> None:
    shutil.rmtree(root / "models/demand-forecast")


def _model_renamed(root: Path) -> None:
    (root / "models/churn").rename(root / "models/churn-v2")
    _edit(root / "models/churn-v2/model.yaml", "  name: churn\n  team:", "  name: churn-v2\n  team:")


def _comment_only(root: Path) -> None:
    _edit(root / "models/fraud-detection/model.yaml", "apiVersion:", "# reviewed in PLAT-7\napiVersion:")


CHANGES: list[tuple[str, Callable[[Path], None], int]] = [
    ("model edit", _model_edit, 3),
    ("environment edit", _environment_edit, 3),
    ("lock change", _lock_change, 3),
    ("policy change", _policy_change, 0),
    ("model deleted", _model_deleted, 0),
    ("model renamed", _model_renamed, 3),
    ("comment only", _comment_only, 0),
]


@pytest.mark.parametrize(("change", "rendered"), [(c[1], c[2]) for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_incremental_equals_full_after_each_change(
    repo: Path, capsys: pytest.CaptureFixture[str], change: Callable[[Path], None], rendered: int
) -> None:
    code, said = _compile(repo, capsys)
    assert code == 0 and _rendered(said) == 0, "the committed rendered/ is current"
    change(repo)
    code, said = _compile(repo, capsys)
    assert code == 0, said
    assert _rendered(said) == rendered, said
    assert _compile(repo, capsys, "--check")[0] == 0
    _same_as_full(repo, capsys)


def test_a_chart_change_renders_every_release_again(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chart = tmp_path / "model-serving"
    shutil.copytree(serving.CHART_DIR, chart)
    monkeypatch.setattr(serving, "CHART_DIR", chart)
    assert _rendered(_compile(repo, capsys)[1]) == 0, "a copy of the chart hashes as the chart"
    _edit(chart / "templates/service.yaml", "      port: 80\n", "      port: 8080\n")
    code, said = _compile(repo, capsys)
    assert code == 0 and _rendered(said) == 9, said
    assert "port: 8080" in (repo / "rendered/prod/churn/serving.yaml").read_text()
    _same_as_full(repo, capsys)


def test_nothing_changed_runs_no_helm_template_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "helm.log"
    wrapper = tmp_path / "helm"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {require_tool("helm")} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("MODELPLANE_HELM", str(wrapper))
    before = {p: p.stat().st_mtime_ns for p in (repo / "rendered").rglob("*") if p.is_file()}
    code, said = _compile(repo, capsys)
    assert code == 0 and ": 0 rendered, 9 unchanged; 0 file(s) written" in said, said
    assert "template" not in log.read_text().split()
    assert {p: p.stat().st_mtime_ns for p in (repo / "rendered").rglob("*") if p.is_file()} == before
    _model_edit(repo)
    assert _rendered(_compile(repo, capsys)[1]) == 3
    assert 1 <= log.read_text().split().count("template") <= serving.BATCHES, "churn's releases, batched"


def _rewrite(manifest: Path, change: Callable[[dict[str, object]], None]) -> None:
    """A manifest with a valid digest that says something else: another compiler, another schema."""
    data = json.loads(manifest.read_text())
    change(data)
    manifest.write_text(manifest_text(data))
    assert parse_manifest(manifest.read_text()).problem in ("", "schema version 99, this Modelplane writes 1")


def _corrupt(root: Path) -> None:
    (root / "rendered/prod/manifest.json").write_text('{"apiVersion": "modelplane.dev/v1", "kind": ')


def _hand_edited_manifest(root: Path) -> None:
    path = root / "rendered/prod/manifest.json"
    text = path.read_text()
    sha = json.loads(text)["models"]["churn"]["outputs"][0]["sha256"]
    path.write_text(text.replace(sha, "sha256:" + "1" * 64))


def _other_schema(root: Path) -> None:
    _rewrite(root / "rendered/prod/manifest.json", lambda d: d.update(schemaVersion=99))


def _other_compiler(root: Path) -> None:
    def older(data: dict[str, object]) -> None:
        models = data["models"]
        assert isinstance(models, dict)
        for entry in models.values():
            entry["inputs"]["compiler"] = "0.0.9"
            entry["inputHash"] = "sha256:" + "2" * 64

    _rewrite(root / "rendered/prod/manifest.json", older)


def _hand_edited_output(root: Path) -> None:
    path = root / "rendered/prod/churn/serving.yaml"
    text = path.read_text()
    assert "ClusterIP" in text
    path.write_text(text.replace("ClusterIP", "NodePort", 1))


BROKEN: list[tuple[str, Callable[[Path], None], int]] = [
    ("corrupt manifest", _corrupt, 3),
    ("hand-edited manifest", _hand_edited_manifest, 3),
    ("manifest of another schema", _other_schema, 3),
    ("manifest of another compiler", _other_compiler, 3),
    ("hand-edited output", _hand_edited_output, 1),
]


@pytest.mark.parametrize(("damage", "rendered"), [(b[1], b[2]) for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_an_untrustworthy_manifest_or_file_is_rendered_again(
    repo: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None], rendered: int
) -> None:
    committed = read_tree(repo / "rendered")
    damage(repo)
    code, said = _compile(repo, capsys, "--check")
    assert code == 1, "compile --check names what the damage made stale"
    code, said = _compile(repo, capsys)
    assert code == 0 and _rendered(said) == rendered, said
    assert read_tree(repo / "rendered") == committed
    _same_as_full(repo, capsys)


def test_full_renders_every_pair_whatever_the_manifests_say(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = _compile(repo, capsys, "--full")
    assert code == 0 and _rendered(said) == 9 and " 0 file(s) written" in said, said


def test_a_stray_file_is_removed_and_its_folder_kept(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "rendered/prod/churn/notes.txt").write_text("mine\n")
    (repo / "rendered/README.txt").write_text("mine\n")
    code, said = _compile(repo, capsys)
    assert code == 0 and _rendered(said) == 0, said
    assert not (repo / "rendered/prod/churn/notes.txt").exists() and not (repo / "rendered/README.txt").exists()
    assert (repo / "rendered/prod/churn/serving.yaml").is_file()
    _same_as_full(repo, capsys)


def test_the_local_hash_cache_never_hides_an_edit(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file edited after its hash was cached (same size, even the same modification time) is
    still found: the cache keys on inode, size and both times."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("modelplane.local_cache.SETTLED_NS", 0)  # cache even what was just written
    assert _rendered(_compile(repo, capsys)[1]) == 0
    assert list((tmp_path / "cache/modelplane").glob("hashes-*.json"))
    path = repo / "rendered/dev/churn/training.yaml"
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("Forbid", "Allow!", 1))  # the same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    code, said = _compile(repo, capsys)
    assert code == 0 and _rendered(said) == 1, said
    assert path.read_text() == text


@pytest.mark.parametrize(
    ("change", "loaded"), [(_model_edit, 1), (_lock_change, 1), (_policy_change, 0), (_environment_edit, 3)]
)
def test_only_the_models_that_may_have_changed_are_loaded(
    repo: Path, capsys: pytest.CaptureFixture[str], change: Callable[[Path], None], loaded: int
) -> None:
    change(repo)
    capsys.readouterr()
    assert main(["--root", str(repo), "compile", "--crds", str(CRDS)]) == 0
    said = f"load and render: {loaded} models" if loaded else "load and render"
    assert f"modelplane compile: {said}\n" in capsys.readouterr().err


def test_check_full_catches_a_file_forged_together_with_its_manifest(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented limit of trusting manifests: `--check --full` trusts none of them."""
    import hashlib

    path = repo / "rendered/prod/churn/serving.yaml"
    forged = path.read_text().replace("ClusterIP", "NodePort", 1)
    path.write_text(forged)
    manifest = repo / "rendered/prod/manifest.json"
    data = json.loads(manifest.read_text())
    for output in data["models"]["churn"]["outputs"]:
        if output["path"] == "churn/serving.yaml":
            output["sha256"] = "sha256:" + hashlib.sha256(forged.encode()).hexdigest()
    manifest.write_text(manifest_text(data))
    assert _compile(repo, capsys, "--check")[0] == 0
    code, said = _compile(repo, capsys, "--check", "--full")
    assert code == 1 and "rendered/prod/churn/serving.yaml: stale" in said
