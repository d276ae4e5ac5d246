"""Serving rendered by the real helm binary: objects, canary steps and analysis follow the spec."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from modelplane.manifests import ManifestChecker
from modelplane.registry import load_lock
from modelplane.render.crd_schemas import load_crd_schemas
from modelplane.render.serving import HelmRenderer, serving_values
from modelplane.repo import Repo
from tests.conftest import CRDS, require_tool


@pytest.fixture(scope="module")
def rendered(example_repo: Repo) -> dict[tuple[str, str], list[dict[str, Any]]]:
    helm = HelmRenderer(require_tool("helm"))
    outputs = helm.render_many(list(example_repo.resolved.values()), load_lock(example_repo.root))
    return {key: out.objects for key, out in outputs.items()}


def _kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {[o['kind'] for o in objects]}"
    return found[0]


def test_helm_really_rendered_the_chart(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    service = _kind(rendered[("prod", "churn")], "Service")
    # Only the chart's template adds this label: the objects came out of `helm template`.
    assert service["metadata"]["labels"]["helm.sh/chart"] == "model-serving-0.1.0"
    assert service["metadata"]["namespace"] == "ml-prod"


def test_canary_steps_equal_the_spec(example_repo: Repo, rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    spec = example_repo.resolved[("prod", "churn")].model.serving.rollout
    rollout = _kind(rendered[("prod", "churn")], "Rollout")
    steps = rollout["spec"]["strategy"]["canary"]["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [s.weight for s in spec.steps] == [5, 25, 50, 100]
    weighted = next(i for i, s in enumerate(steps) if "setWeight" in s)  # after prod's shadow phase
    assert [s["pause"]["duration"] for s in steps[weighted:] if "pause" in s] == [s.pause for s in spec.steps]
    templates = rollout["spec"]["strategy"]["canary"]["analysis"]["templates"]
    assert templates == [{"templateName": "churn"}, {"templateName": "churn-compare"}]


def test_analysis_thresholds_equal_the_spec(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    analysis = next(
        o for o in rendered[("prod", "churn")] if o["kind"] == "AnalysisTemplate" and o["metadata"]["name"] == "churn"
    )
    metrics = {m["name"]: m for m in analysis["spec"]["metrics"]}
    assert metrics["error-rate"]["successCondition"].endswith("result[0] <= 0.02")  # maxErrorRate
    assert metrics["latency-p99"]["successCondition"].endswith("result[0] <= 0.12")  # maxLatencyP99Ms 120
    assert (
        metrics["error-rate"]["provider"]["prometheus"]["address"] == "http://prometheus-operated.monitoring.svc:9090"
    )
    assert 'code=~\\"5..\\"' not in metrics["error-rate"]["provider"]["prometheus"]["query"]
    assert 'code=~"5.."' in metrics["error-rate"]["provider"]["prometheus"]["query"]


def test_rolling_override_renders_a_deployment(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    kinds = [o["kind"] for o in rendered[("dev", "churn")]]
    assert "Deployment" in kinds and "Rollout" not in kinds and "AnalysisTemplate" not in kinds
    deployment = _kind(rendered[("dev", "churn")], "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


def test_hpa_and_pdb_follow_replicas_per_environment(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    hpa = _kind(rendered[("prod", "churn")], "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Rollout"
    dev_hpa = _kind(rendered[("dev", "churn")], "HorizontalPodAutoscaler")
    assert (dev_hpa["spec"]["minReplicas"], dev_hpa["spec"]["maxReplicas"]) == (1, 8)
    assert "PodDisruptionBudget" not in [o["kind"] for o in rendered[("dev", "churn")]]  # one replica
    assert _kind(rendered[("prod", "churn")], "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_kserve_backend_with_canary_traffic(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    prod = _kind(rendered[("prod", "fraud-detection")], "InferenceService")
    predictor = prod["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 5
    assert predictor["model"]["modelFormat"] == {"name": "xgboost"}
    assert predictor["model"]["storageUri"] == "s3://acme-models/fraud-detection/12"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (4, 20)
    dev = _kind(rendered[("dev", "fraud-detection")], "InferenceService")
    assert "canaryTrafficPercent" not in dev["spec"]["predictor"]


def test_secrets_only_by_reference(example_repo: Repo, rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    rollout = _kind(rendered[("prod", "churn")], "Rollout")
    env = rollout["spec"]["template"]["spec"]["containers"][0]["env"]
    token = next(e for e in env if e["name"] == "FEATURE_STORE_TOKEN")
    assert token == {
        "name": "FEATURE_STORE_TOKEN",
        "valueFrom": {"secretKeyRef": {"key": "token", "name": "churn-feature-store"}},
    }
    values = serving_values(example_repo.resolved[("prod", "churn")])
    assert values == serving_values(example_repo.resolved[("prod", "churn")])  # pure
    assert "value" not in values["secretEnv"][0]


def test_requests_limits_and_probes(rendered: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    container = _kind(rendered[("prod", "churn")], "Rollout")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "limits": {"cpu": "1", "memory": "2Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["initialDelaySeconds"] == 10
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_rendering_is_deterministic(example_repo: Repo) -> None:
    helm = HelmRenderer(require_tool("helm"))
    pairs = list(example_repo.resolved.values())
    first = {k: v.content() for k, v in helm.render_many(pairs).items()}
    second = {k: v.content() for k, v in helm.render_many(pairs).items()}
    assert first == second


def test_every_object_passes_its_cluster_schema(
    example_repo: Repo, rendered: dict[tuple[str, str], list[dict[str, Any]]]
) -> None:
    checker = ManifestChecker(CRDS)
    for (env, _model), objects in rendered.items():
        version = example_repo.env(env).kubernetes_version
        for obj in objects:
            assert checker.errors(obj, version) == [], f"{env} {obj['kind']}"


def test_schema_checks_catch_a_broken_object() -> None:
    schemas = load_crd_schemas(CRDS)
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "spec": {"replicas": "three"}}
    errors = list(jsonschema_rs.validator_for(schemas[("argoproj.io/v1alpha1", "Rollout")]).iter_errors(rollout))
    assert errors, "a string replica count must fail the Rollout CRD schema"
    checker = ManifestChecker(None)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": 1, "bogus": 1},
    }
    assert any("bogus" in e for e in checker.errors(deployment, "1.31"))


def test_every_upstream_crd_file_loads_as_published() -> None:
    """Each file in the upstream set is read as it is, including YAML 1.1 `=` enum values."""
    files = sorted(CRDS.glob("*.yaml"))
    kinds = {kind for _, kind in load_crd_schemas(CRDS)}
    assert {"AlertmanagerConfig", "PodMonitor", "EventSource", "Sensor", "VirtualService", "DestinationRule"} <= kinds
    assert len(files) >= 17
    schema = load_crd_schemas(CRDS)[("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig")]
    matcher = schema["properties"]["spec"]["properties"]["route"]["properties"]["matchers"]["items"]
    assert matcher["properties"]["matchType"]["enum"] == ["!=", "=", "=~", "!~"]
