"""Strategies the example repository does not use, compiled by the real CLI into a copy of it and
dry-run by the real API server: an A/B test, a blue/green that promotes itself, a KServe canary
at its second step."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from modelplane.cli import main
from modelplane.render.base import parse_objects
from modelplane.render.serving import HelmRenderer
from modelplane.render.traffic import plan
from modelplane.repo import load_repo
from modelplane.spec.delivery import second_version
from tests.cluster import ApiServer
from tests.conftest import CRDS, require_tool
from tests.example_copy import copy_example

AB_TEST = (
    "        strategy: shadow\n",
    "        strategy: abTest\n"
    "        abTest:\n"
    "          version: 8\n"
    "          split: 20\n"
    "          duration: 168h\n"
    "          metric: {name: retention_offer_accepted_ratio}\n",
)
BLUE_GREEN = """\
    serving:
      rollout:
        strategy: blueGreen
        blueGreen: {previewPort: 8080, autoPromotionAfter: 5m}
        analysis:
          maxErrorRate: 0.02
          qualityGates: {errorRate: {tolerance: 0.01}}
"""
KSERVE_STEP = """\
  prod:
    serving:
      kserve: {canaryStep: 2}
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with churn in staging as an A/B test (v7 against v8), demand-forecast in
    staging as a blue/green that switches over by itself, fraud-detection in prod at step 2."""
    root = copy_example(tmp_path_factory.mktemp("variants"), history=False)
    _edit(root / "models/churn/model.yaml", *AB_TEST)
    forecast = root / "models/demand-forecast/model.yaml"
    staging_pin = next(line for line in forecast.read_text().splitlines(keepends=True) if "promoted from dev" in line)
    _edit(forecast, staging_pin, staging_pin + BLUE_GREEN)
    (root / "models/fraud-detection/model.yaml").open("a", encoding="utf-8").write(KSERVE_STEP)
    lock = json.loads((root / "modelplane.lock").read_text(encoding="utf-8"))
    lock["models"]["churn"]["8"] = {**lock["models"]["churn"]["7"], "source": "s3://acme-models/churn/8"}
    (root / "modelplane.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    require_tool("helm")
    assert main(["--root", str(root), "compile", "--crds", str(CRDS)]) == 0
    return root


def _objects(root: Path, env: str, model: str, file: str = "serving.yaml") -> list[dict[str, Any]]:
    return parse_objects((root / "rendered" / env / model / file).read_text(encoding="utf-8"))


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_every_variant_object_is_accepted_by_the_api_server(
    api_server: ApiServer, variants: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(variants), "verify", "--kubeconfig", str(api_server.kubeconfig)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 rejected" in out
    kinds = {o["kind"] for o in _objects(variants, "staging", "churn")}
    assert {"Experiment", "VirtualService", "AnalysisTemplate", "Deployment"} <= kinds


def test_an_ab_test_serves_two_registry_versions_side_by_side(variants: Path) -> None:
    objects = _objects(variants, "staging", "churn")
    a, b = _named(objects, "Deployment", "churn"), _named(objects, "Deployment", "churn-b")
    assert a["metadata"]["labels"]["app.kubernetes.io/version"] == "7"
    assert b["metadata"]["labels"]["app.kubernetes.io/version"] == "8"
    assert b["metadata"]["annotations"]["modelplane.dev/registry-version"] == "8"
    a_pods, b_pods = a["spec"]["template"]["metadata"]["labels"], b["spec"]["template"]["metadata"]["labels"]
    for selector, own, other in ((a, a_pods, b_pods), (b, b_pods, a_pods)):
        wanted = selector["spec"]["selector"]["matchLabels"]
        assert wanted.items() <= own.items() and not wanted.items() <= other.items(), "the variants' pods overlap"
    for service, own, other in (("churn", a_pods, b_pods), ("churn-b", b_pods, a_pods)):
        selects = _named(objects, "Service", service)["spec"]["selector"]
        assert selects.items() <= own.items() and not selects.items() <= other.items()
        monitor = _named(objects, "ServiceMonitor", service)["spec"]["selector"]["matchLabels"]
        assert monitor.items() <= _named(objects, "Service", service)["metadata"]["labels"].items()


def test_an_ab_test_splits_traffic_exactly_for_its_duration(variants: Path) -> None:
    objects = _objects(variants, "staging", "churn")
    [service] = [o for o in objects if o["kind"] == "VirtualService"]
    primary = next(r for r in service["spec"]["http"] if r["name"] == "primary")
    assert [(d["destination"]["host"], d["weight"]) for d in primary["route"]] == [("churn", 80), ("churn-b", 20)]
    assert not [o for o in objects if o["kind"] == "DestinationRule"], "A/B routes by Service"
    experiment = _named(objects, "Experiment", "churn-ab-v8")
    assert experiment["spec"]["duration"] == "168h"
    [template] = experiment["spec"]["templates"]
    assert template["replicas"] == 0  # measures only; both variants are Deployments
    assert template["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "churn-ab-v8"
    [analysis] = experiment["spec"]["analyses"]
    args = {a["name"]: a["value"] for a in analysis["args"]}
    assert args == {"service": "churn-b", "stable-service": "churn", "namespace": "ml-staging"}
    repo, problems = load_repo(variants)
    assert problems == []
    [share] = plan(repo.resolved[("staging", "churn")]).shares
    assert (share.stable, share.new, share.hold) == (80, 20, "168h")


def test_the_ab_analysis_compares_variant_b_with_a_on_the_experiments_metric(variants: Path) -> None:
    template = _named(_objects(variants, "staging", "churn"), "AnalysisTemplate", "churn-ab")
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"experiment", "accuracy-b-vs-a", "error-rate-b-vs-a"}
    query = metrics["experiment"]["provider"]["prometheus"]["query"]
    a = 'retention_offer_accepted_ratio{namespace="{{args.namespace}}",service="{{args.stable-service}}"}'
    b = 'retention_offer_accepted_ratio{namespace="{{args.namespace}}",service="{{args.service}}"}'
    assert query == f"avg({a}) - avg({b})"  # higher is better: how far B falls short of A
    assert all("count" not in m for m in metrics.values()), "it measures until the Experiment ends"
    assert "rollouts_pod_template_hash" not in json.dumps(template)


def test_variant_b_is_pinned_in_the_lock_and_held_to_its_facts(variants: Path) -> None:
    repo, _ = load_repo(variants)
    assert second_version(repo.resolved[("staging", "churn")].model) == 8
    assert second_version(repo.resolved[("prod", "churn")].model) is None


def test_batched_and_alone_give_the_same_ab_objects(variants: Path) -> None:
    repo, _ = load_repo(variants)
    helm = HelmRenderer(require_tool("helm"))
    resolved = repo.resolved[("staging", "churn")]
    alone = asyncio.run(helm.template_one(resolved))
    assert helm.render_many([resolved])[resolved.key].objects == alone
    assert [o["metadata"]["name"] for o in alone if o["kind"] == "Deployment"] == ["churn", "churn-b"]


def test_a_blue_green_promotes_itself_where_the_environment_lets_it(variants: Path) -> None:
    objects = _objects(variants, "staging", "demand-forecast")
    strategy = next(o for o in objects if o["kind"] == "Rollout")["spec"]["strategy"]["blueGreen"]
    assert strategy["autoPromotionEnabled"] is True and strategy["autoPromotionSeconds"] == 300
    assert strategy["scaleDownDelaySeconds"] == 30
    assert _named(objects, "Service", "demand-forecast-preview")["spec"]["ports"][0]["port"] == 8080
    pre = [t["templateName"] for t in strategy["prePromotionAnalysis"]["templates"]]
    post = [t["templateName"] for t in strategy["postPromotionAnalysis"]["templates"]]
    assert pre == ["demand-forecast", "demand-forecast-compare"] and post == ["demand-forecast"]
    args = {a["name"]: a.get("value", a.get("valueFrom")) for a in strategy["prePromotionAnalysis"]["args"]}
    assert args["service"] == "demand-forecast-preview" and args["stable-service"] == "demand-forecast"
    assert args["stable-hash"] == {"podTemplateHashValue": "Stable"}


def test_a_kserve_canary_at_its_second_step_is_fully_promoted(variants: Path) -> None:
    [isvc] = [o for o in _objects(variants, "prod", "fraud-detection") if o["kind"] == "InferenceService"]
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]  # step 2 of 5, 100: promoted
    assert isvc["metadata"]["annotations"]["modelplane.dev/canary-step"] == "2/2"


def test_lock_records_variant_bs_version_from_the_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`modelplane lock` asks MLflow about the A/B's second version like any pinned one."""
    from mlflow.tracking import MlflowClient

    from modelplane.demo_registry import seed
    from modelplane.registry import facts_for, load_lock

    root = copy_example(tmp_path, ("models", "environments"), history=False)
    _edit(root / "models/churn/model.yaml", *AB_TEST)
    uri = f"sqlite:///{root}/.modelplane/mlflow.db"
    repo, problems = load_repo(root)
    assert problems == []
    seed(repo, uri)  # registers churn up to v7, the pinned version
    assert main(["--root", str(root), "lock", "--tracking-uri", uri]) == 0
    assert "not in the registry: churn v8" in capsys.readouterr().out
    MlflowClient(tracking_uri=uri, registry_uri=uri).create_model_version("churn", source="s3://acme-models/churn/8")
    assert main(["--root", str(root), "lock", "--tracking-uri", uri]) == 0
    assert "5 of 5 pinned version(s) found" in capsys.readouterr().out
    facts = facts_for(load_lock(root), "churn", 8)
    assert facts["found"] is True and facts["source"] == "s3://acme-models/churn/8" and facts["approved"] is False
