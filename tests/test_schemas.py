"""schemas/*.json are generated from the pydantic models, current, and agree with them."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest
from pydantic import ValidationError

from modelplane.cli import main
from modelplane.schemas import SCHEMA_FILES, generate
from tests.conftest import ROOT


def test_committed_schemas_are_current() -> None:
    for name, text in generate().items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, f"schemas/{name} is stale: run `modelplane schemas` and commit"


def test_schemas_check_flags_a_stale_file(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--out", str(tmp_path)]) == 0
    assert main(["schemas", "--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "model.schema.json").write_text("{}", encoding="utf-8")
    assert main(["schemas", "--check", "--out", str(tmp_path)]) == 1
    assert "model.schema.json: stale" in capsys.readouterr().out


def test_generation_is_byte_stable() -> None:
    assert generate() == generate()


def _example(kind: str) -> dict[str, Any]:
    from modelplane.loader import load_yaml

    path = ROOT / ("models/churn/model.yaml" if kind == "model" else "environments/prod.yaml")
    doc, problems = load_yaml(path)
    assert doc is not None and not problems
    return dict(doc.data)


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return out


MODEL_CASES = [
    ("valid", None, None, True),
    ("unknown key", "serving.replicass", 3, False),
    ("bad name", "metadata.name", "Churn_Model", False),
    ("bad cpu", "serving.resources.requests.cpu", "lots", False),
    ("number cpu", "serving.resources.requests.cpu", 2, True),
    ("negative replicas", "serving.replicas.min", -1, False),
    ("string for int", "registry.version", "seven", False),
    ("bool for int", "registry.version", True, False),
    ("wrong kind", "kind", "Modle", False),
    ("error rate of 1", "monitoring.errorRate", 1.0, False),
    ("bad slack channel", "monitoring.alertRoutes.slack", "growth alerts", False),
    ("bad strategy", "serving.rollout.strategy", "bluegreen", False),
    ("weight above 100", "serving.rollout.steps", [{"weight": 150}], False),
]


def _verdicts(schema_file: str, doc: dict[str, Any]) -> tuple[bool, bool]:
    """(JSON Schema accepts it, pydantic accepts it)."""
    schema_ok = jsonschema_rs.validator_for(json.loads(generate()[schema_file])).is_valid(doc)
    try:
        SCHEMA_FILES[schema_file].model_validate(doc)
        return schema_ok, True
    except ValidationError:
        return schema_ok, False


@pytest.mark.parametrize("label,path,value,ok", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_model_schema_agrees_with_pydantic(label: str, path: str | None, value: Any, ok: bool) -> None:
    doc = _example("model") if path is None else _set(_example("model"), path, value)
    assert _verdicts("model.schema.json", doc) == (ok, ok), label


ENV_CASES = [
    ("valid", None, None, True),
    ("unknown profile", "policyProfile", "production", False),
    ("unknown key", "argocd.repoUrl", "https://x.example/r.git", False),
    ("bad namespace", "namespace", "ML Prod", False),
    ("bad budget memory", "limits.budget.memory", "lots", False),
]


@pytest.mark.parametrize("label,path,value,ok", ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_environment_schema_agrees_with_pydantic(label: str, path: str | None, value: Any, ok: bool) -> None:
    doc = _example("env") if path is None else _set(_example("env"), path, value)
    assert _verdicts("environment.schema.json", doc) == (ok, ok), label


def test_examples_point_editors_at_the_schemas() -> None:
    for path in [*sorted((ROOT / "models").glob("*/model.yaml")), *sorted((ROOT / "environments").glob("*.yaml"))]:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.exists(), f"{path}: schema link points at {target}"
