"""The build manifest: its schema and digest, the objects and images it records, and `check`
reading it instead of rendered/'s YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelplane.build_manifest import images_in, manifest_text, object_refs, parse_manifest, read_manifest
from modelplane.cli import main
from modelplane.gate.inputs import read_rendered
from modelplane.history import env_history
from modelplane.render.base import parse_objects
from tests.conftest import ROOT, require_tool
from tests.example_copy import copy_example

ENVS = ("dev", "staging", "prod")


def _reference_images(node: Any) -> set[str]:
    """The plain definition: the string value of any `image` key, at any depth."""
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k == "image" and isinstance(v, str)}
        return found.union(*(_reference_images(v) for k, v in node.items() if k != "image" or not isinstance(v, str)))
    if isinstance(node, list):
        return set().union(*(_reference_images(v) for v in node))
    return set()


def test_images_are_every_image_key_at_any_depth_and_nothing_else() -> None:
    tricky = {
        "image": "a@sha256:1",
        "spec": [{"image": 'b "quoted" \\ \u00e9'}, {"notimage": "c", "image": {"nested": {"image": "d"}}}],
        "data": {"text": '{"image": "in-a-string"}', "x": 'say "image": "e"'},
        "images": ["f"],
    }
    assert images_in(tricky) == sorted(_reference_images(tricky)) == sorted(["a@sha256:1", 'b "quoted" \\ \u00e9', "d"])
    odd_keys = {1: {"image": "g"}, "image": "h\n\u0000"}  # not JSON: walked instead
    assert images_in(odd_keys) == sorted(_reference_images(odd_keys)) == ["g", "h\n\u0000"]
    for path in sorted((ROOT / "rendered").rglob("*.yaml")):
        for obj in parse_objects(path.read_text()):
            if isinstance(obj, dict):
                assert images_in(obj) == sorted(_reference_images(obj)), path


def test_every_object_in_rendered_is_recorded_with_its_images() -> None:
    for env in ENVS:
        manifest = read_manifest(ROOT / "rendered" / env)
        assert manifest.problem == "" and manifest.data is not None
        recorded = {o["path"] for m in manifest.models.values() for o in m["outputs"]}
        recorded |= {o["path"] for o in manifest.data["outputs"]}
        on_disk = {p.relative_to(ROOT / "rendered" / env).as_posix() for p in (ROOT / "rendered" / env).rglob("*")}
        files = {p for p in on_disk if (ROOT / "rendered" / env / p).is_file()}
        assert recorded == files - {"manifest.json", "decisions.json"}  # the decisions are check --record's
        for entry in [*manifest.models.values(), {"outputs": manifest.data["outputs"]}]:
            for output in entry["outputs"]:
                path = ROOT / "rendered" / env / output["path"]
                docs = parse_objects(path.read_text()) if path.suffix in (".yaml", ".yml") else []
                assert output["objects"] == object_refs(d for d in docs if isinstance(d, dict) and "kind" in d), path


def test_the_digest_finds_any_edit() -> None:
    text = (ROOT / "rendered/prod/manifest.json").read_text()
    assert parse_manifest(text).problem == ""
    data = json.loads(text)
    assert manifest_text(data) == text, "the text is a function of the data"
    edited = text.replace('"synced": true', '"synced": false', 1)
    assert parse_manifest(edited).problem == "its digest does not match its content (edited by hand?)"
    assert "not JSON" in parse_manifest(text[:-3]).problem
    assert parse_manifest(manifest_text({**data, "schemaVersion": 2})).problem.startswith("schema version 2")
    assert parse_manifest(manifest_text({**data, "kind": "Provenance"})).problem.startswith("not a")


def test_each_output_is_one_line_so_a_diff_names_it() -> None:
    lines = (ROOT / "rendered/prod/manifest.json").read_text().splitlines()
    serving = [line for line in lines if '"path": "churn/serving.yaml"' in line]
    assert len(serving) == 1 and serving[0].startswith('        {"objects": [')


def test_history_reads_the_registry_version_from_the_manifest(tmp_path: Path) -> None:
    repo = copy_example(tmp_path)
    history = env_history(repo, "rendered", "prod")
    versions = {m: entry["registry"]["version"] for m, entry in read_manifest(repo / "rendered/prod").models.items()}
    assert history.current == versions and versions


def rendered_objects(rendered: Path, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """What check reads of `keys` from the build manifests under `rendered` (and the files)."""
    return read_rendered(rendered, {env for env, _ in keys}).objects(keys)[0]


def test_check_sees_the_objects_the_manifest_records(tmp_path: Path) -> None:
    keys = [(env, model) for env in ENVS for model in ("churn", "fraud-detection", "demand-forecast")]
    objects = rendered_objects(ROOT / "rendered", keys)
    churn = objects[("prod", "churn")]
    assert {o["kind"] for o in churn} >= {"Rollout", "Service", "PrometheusRule", "CronWorkflow", "Application"}
    assert any(image.startswith("ghcr.io/acme/churn-serving@sha256:") for o in churn for image in o["images"])
    copy = copy_example(tmp_path / "copy", history=False)
    training = copy / "rendered/prod/churn/training.yaml"
    training.write_text(training.read_text().replace("kind: ServiceAccount", "kind: ServiceAccount2", 1))
    edited = rendered_objects(copy / "rendered", [("prod", "churn")])[("prod", "churn")]
    assert "ServiceAccount2" in {o["kind"] for o in edited}, "a hand-edited file is read back, not trusted"


def test_check_stops_on_a_manifest_it_cannot_trust(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("opa")
    repo = copy_example(tmp_path)
    manifest = repo / "rendered/prod/manifest.json"
    manifest.write_text(manifest.read_text().replace('"synced": true', '"synced": false', 1))
    assert main(["--root", str(repo), "check"]) == 2
    err = capsys.readouterr().err
    assert "rendered/prod/manifest.json: its digest does not match its content" in err and "Traceback" not in err


def test_check_without_a_manifest_says_it_sees_no_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = copy_example(tmp_path)
    (repo / "rendered/dev/manifest.json").unlink()
    objects = rendered_objects(repo / "rendered", [("dev", "churn"), ("prod", "churn")])
    assert objects[("dev", "churn")] == [] and objects[("prod", "churn")]
    assert "rendered/dev has no manifest.json" in capsys.readouterr().err


def test_a_manifest_rewritten_from_its_own_entries_is_the_same_text() -> None:
    from modelplane.build_manifest import model_texts

    text = (ROOT / "rendered/prod/manifest.json").read_text()
    data = json.loads(text)
    texts = model_texts(text)
    assert set(texts) == set(data["models"])
    assert manifest_text(data, {name: (entry, texts[name]) for name, entry in data["models"].items()}) == text
    changed = {**data, "models": {**data["models"], "churn": {**data["models"]["churn"], "syncWave": 9}}}
    known = {name: (entry, texts[name]) for name, entry in data["models"].items()}
    assert manifest_text(changed, known) == manifest_text(changed), "an entry that changed is written anew"
