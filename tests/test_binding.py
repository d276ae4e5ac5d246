"""Serving bound to the registry: every serving workload names the artifact it serves, from its
pin and modelplane.lock, and a spec storageUri that is not the registry's is a problem at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelplane.cli import main
from modelplane.registry import facts_for, load_lock
from modelplane.render.base import parse_objects
from modelplane.render.serving import serving_values
from modelplane.repo import Repo
from tests.conftest import CRDS, ROOT, require_tool
from tests.example_copy import copy_example

FRAUD = "models/fraud-detection/model.yaml"


def _serving(root: Path, env: str, model: str) -> list[dict[str, Any]]:
    return parse_objects((root / "rendered" / env / model / "serving.yaml").read_text(encoding="utf-8"))


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] == "InferenceService":
        return [obj["spec"]["predictor"]["model"]]
    return list(obj["spec"]["template"]["spec"]["containers"])


def test_every_rendered_serving_workload_names_its_registry_artifact(example_repo: Repo) -> None:
    lock = load_lock(ROOT)
    workloads = 0
    for (env, model), resolved in sorted(example_repo.resolved.items()):
        reg = resolved.model.registry
        source = facts_for(lock, reg.name, reg.version)["source"]
        assert source == f"s3://acme-models/{reg.name}/{reg.version}"
        for obj in _serving(ROOT, env, model):
            if obj["kind"] not in ("Deployment", "Rollout", "InferenceService"):
                continue
            workloads += 1
            for container in _containers(obj):
                env_vars = {e["name"]: e.get("value") for e in container["env"]}
                assert env_vars["MODEL_URI"] == f"models:/{reg.name}/{reg.version}", (env, model)
                assert env_vars["MODEL_SOURCE_URI"] == source, (env, model)
                assert [e["name"] for e in container["env"]][:2] == ["MODEL_URI", "MODEL_SOURCE_URI"]
            if obj["kind"] == "InferenceService":
                assert obj["spec"]["predictor"]["model"]["storageUri"] == source, "from the lock, not the spec"
    assert workloads == 9


def _model_uri(env: str, model: str) -> str:
    [workload] = [o for o in _serving(ROOT, env, model) if o["kind"] in ("Deployment", "Rollout", "InferenceService")]
    return str(next(e["value"] for e in _containers(workload)[0]["env"] if e["name"] == "MODEL_URI"))


def test_the_example_runs_a_model_at_different_versions_across_environments(example_repo: Repo) -> None:
    envs = ("dev", "staging", "prod")
    versions = {env: example_repo.resolved[(env, "demand-forecast")].model.registry.version for env in envs}
    assert versions == {"dev": 4, "staging": 3, "prod": 3}
    assert {env: _model_uri(env, "demand-forecast") for env in envs} == {
        "dev": "models:/demand-forecast/4",
        "staging": "models:/demand-forecast/3",
        "prod": "models:/demand-forecast/3",
    }


def test_values_carry_the_artifact_only_as_data(example_repo: Repo) -> None:
    lock = load_lock(ROOT)
    values = serving_values(example_repo.resolved[("prod", "fraud-detection")], lock)
    assert values == serving_values(example_repo.resolved[("prod", "fraud-detection")], lock)  # pure
    assert values["env"][:2] == [
        {"name": "MODEL_URI", "value": "models:/fraud-detection/12"},
        {"name": "MODEL_SOURCE_URI", "value": "s3://acme-models/fraud-detection/12"},
    ]
    assert values["kserve"]["storageUri"] == "s3://acme-models/fraud-detection/12"
    unknown = serving_values(example_repo.resolved[("prod", "fraud-detection")], None)
    assert unknown["env"][:1] == [{"name": "MODEL_URI", "value": "models:/fraud-detection/12"}]
    assert "MODEL_SOURCE_URI" not in {e["name"] for e in unknown["env"]} and unknown["kserve"]["storageUri"] is None


def _compile(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--root", str(root), "compile", "--crds", str(CRDS)])
    return code, capsys.readouterr().out


def _set_storage_uri(root: Path, uri: str) -> int:
    """Give fraud-detection's kserve section a storageUri; the line it is on."""
    spec = root / FRAUD
    text = spec.read_text(encoding="utf-8")
    anchor = "    protocolVersion: v2\n"
    spec.write_text(text.replace(anchor, anchor + f"    storageUri: {uri}\n"), encoding="utf-8")
    return spec.read_text(encoding="utf-8").splitlines().index(f"    storageUri: {uri}") + 1


def test_a_spec_storage_uri_that_is_not_the_registrys_is_a_compile_problem_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("helm")
    root = copy_example(tmp_path / "config", history=False)
    before = (root / "rendered/prod/fraud-detection/serving.yaml").read_text(encoding="utf-8")
    line = _set_storage_uri(root, "s3://acme-models/fraud-detection/11")
    code, out = _compile(root, capsys)
    assert code == 1
    problems = [ln for ln in out.splitlines() if ln.startswith(FRAUD)]
    assert problems == [
        f"{FRAUD}:{line}:17: serving.kserve.storageUri: storageUri s3://acme-models/fraud-detection/11 is not what"
        " the registry holds for fraud-detection v12 (s3://acme-models/fraud-detection/12, modelplane.lock)"
        f" ({env}/fraud-detection) (remove storageUri to serve the registry's source, or pin the version it belongs to)"
        for env in ("dev", "staging", "prod")
    ]
    after = (root / "rendered/prod/fraud-detection/serving.yaml").read_text(encoding="utf-8")
    assert after == before, "nothing written"
    # The registry's own source, spelled out in the spec, is accepted and renders the same objects.
    spec = root / FRAUD
    spec.write_text(spec.read_text().replace("fraud-detection/11", "fraud-detection/12"), encoding="utf-8")
    code, _ = _compile(root, capsys)
    assert code == 0
    assert (root / "rendered/prod/fraud-detection/serving.yaml").read_text(encoding="utf-8") == before


def test_kserve_without_a_source_anywhere_is_a_problem_at_the_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("helm")
    root = copy_example(tmp_path / "config", history=False)
    lock = root / "modelplane.lock"
    lock.write_text(lock.read_text().replace("s3://acme-models/fraud-detection/12", "runs:/abc/model"))
    code, out = _compile(root, capsys)
    assert code == 1
    assert (
        f"{FRAUD}:34:3: serving.kserve: the registry's source for fraud-detection v12 (runs:/abc/model) is not a"
        " storage URI KServe loads (prod/fraud-detection)"
    ) in out
    lock.write_text('{"models": {}, "version": 1}\n')
    code, out = _compile(root, capsys)
    assert code == 1
    assert (
        f"{FRAUD}:13:12: registry.version: fraud-detection v12 has no source in modelplane.lock, so KServe has no"
        " storageUri (prod/fraud-detection) (register the version in MLflow and run `modelplane lock`, or set"
        " serving.kserve.storageUri)"
    ) in out


@pytest.mark.parametrize("where", ["env", "secretEnv"])
def test_the_artifact_variables_are_the_compilers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    root = copy_example(tmp_path / "config", ("models", "environments"), history=False)
    spec = root / "models/demand-forecast/model.yaml"
    anchor = '    FORECAST_HORIZON_DAYS: "14"\n'
    added = (
        "    MODEL_URI: s3://elsewhere/model\n"
        if where == "env"
        else '    FORECAST_HORIZON_DAYS: "14"\n  secretEnv: [{name: MODEL_SOURCE_URI, secretName: s, key: k}]\n'
    )
    spec.write_text(spec.read_text().replace(anchor, anchor + added if where == "env" else added), encoding="utf-8")
    capsys.readouterr()
    assert main(["--root", str(root), "validate"]) == 1
    out = capsys.readouterr().out
    name = "MODEL_URI" if where == "env" else "MODEL_SOURCE_URI"
    assert f"{name} is set by Modelplane from the registry pin and modelplane.lock; use another name" in out
