"""Progressive delivery in the committed rendered/ tree: the traffic each version gets at each step,
read back from the rendered Rollouts, VirtualServices and Services, and the quality gates'
queries evaluated by the real promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from modelplane.monitor.publish import ACCURACY, FAIRNESS
from modelplane.render.base import dump_document, parse_objects
from modelplane.render.traffic import AB_VERSION_DIGITS, SUFFIXES, plan
from modelplane.repo import Repo
from modelplane.spec.types import MODEL_NAME_MAX
from tests.conftest import ROOT, require_tool


def _serving(env: str, model: str) -> list[dict[str, Any]]:
    return parse_objects((ROOT / "rendered" / env / model / "serving.yaml").read_text(encoding="utf-8"))


def _one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {[(o['kind'], o['metadata']['name']) for o in objects]}"
    return found[0]


def canary_shares(rollout: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(stable %, new %, mirrored %) while each pause holds, replaying the Rollout's steps."""
    weight = mirror = 0
    out = []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        weight = step.get("setWeight", weight)
        if "setMirrorRoute" in step:  # a mirror step without match removes the mirror
            mirror = step["setMirrorRoute"]["percentage"] if step["setMirrorRoute"].get("match") else 0
        if "pause" in step:
            out.append((100 - weight, weight, mirror))
    return out


def _planned(repo: Repo, env: str, model: str) -> list[tuple[int, int, int]]:
    return [(s.stable, s.new, s.mirror) for s in plan(repo.resolved[(env, model)]).shares]


def test_every_name_derived_from_a_model_fits_a_kubernetes_name() -> None:
    longest = max(len(s) for s in SUFFIXES.values()) + AB_VERSION_DIGITS
    assert MODEL_NAME_MAX + longest <= 63


def test_prod_churn_is_a_canary_with_exact_istio_weights_after_a_shadow_phase(example_repo: Repo) -> None:
    objects = _serving("prod", "churn")
    rollout = _one(objects, "Rollout")
    # Mirror 20 % (users all on stable), then 5, 25, 50 and 100 % of requests.
    assert canary_shares(rollout) == [(100, 0, 20), (95, 5, 0), (75, 25, 0), (50, 50, 0), (0, 100, 0)]
    assert canary_shares(rollout) == _planned(example_repo, "prod", "churn")
    routing = rollout["spec"]["strategy"]["canary"]["trafficRouting"]
    service = _one(objects, "VirtualService", routing["istio"]["virtualService"]["name"])
    rule = _one(objects, "DestinationRule", routing["istio"]["destinationRule"]["name"])
    routes = {r["name"]: r for r in service["spec"]["http"]}
    assert set(routing["istio"]["virtualService"]["routes"]) <= set(routes)
    assert {m["name"] for m in routing["managedRoutes"]}.isdisjoint(routes), "Argo Rollouts adds managed routes"
    primary = [(d["destination"]["subset"], d["weight"]) for d in routes["primary"]["route"]]
    assert primary == [("stable", 100), ("canary", 0)]  # at rest; Argo Rollouts sets each step's weights
    subsets = {s["name"]: s["labels"] for s in rule["spec"]["subsets"]}
    istio = routing["istio"]["destinationRule"]
    assert {istio["stableSubsetName"], istio["canarySubsetName"]} == set(subsets)
    pods = rollout["spec"]["template"]["metadata"]["labels"]
    assert all(labels.items() <= pods.items() for labels in subsets.values())
    assert rule["spec"]["host"] == _one(objects, "Service")["metadata"]["name"] == "churn"
    # Clients' host, the Service's own name for callers in the mesh, the gateway from prod's defaults.
    assert service["spec"]["hosts"] == ["churn", "churn.models.acme.example"]
    assert service["spec"]["gateways"] == ["istio-ingress/models", "mesh"]


def test_testers_reach_the_canary_by_the_header_the_spec_names() -> None:
    service = _one(_serving("prod", "churn"), "VirtualService")
    first = service["spec"]["http"][0]
    assert first["name"] == "testers"
    assert first["match"] == [{"headers": {"x-modelplane-tester": {"exact": "true"}}}]
    assert first["route"] == [{"destination": {"host": "churn", "subset": "canary"}, "weight": 100}]


def test_the_shadow_in_staging_mirrors_and_never_serves(example_repo: Repo) -> None:
    rollout = _one(_serving("staging", "churn"), "Rollout")
    steps = rollout["spec"]["strategy"]["canary"]["steps"]
    assert canary_shares(rollout) == [(100, 0, 50), (100, 0, 0)] == _planned(example_repo, "staging", "churn")
    assert not any("setWeight" in s for s in steps), "a shadow never takes a share of requests"
    assert steps[-1] == {"pause": {}}, "it holds until the spec changes"
    assert steps[0] == {"setCanaryScale": {"weight": 50}}  # pods for the mirrored share
    assert steps[2] == {"pause": {"duration": "2h"}}
    analysis = rollout["spec"]["strategy"]["canary"]["analysis"]
    assert analysis["startingStep"] == 2  # measured once the mirror is in place
    assert [t["templateName"] for t in analysis["templates"]] == ["churn", "churn-compare"]


def test_prod_demand_forecast_is_blue_green_with_a_preview_and_a_person_to_switch(example_repo: Repo) -> None:
    objects = _serving("prod", "demand-forecast")
    strategy = _one(objects, "Rollout")["spec"]["strategy"]["blueGreen"]
    assert strategy["autoPromotionEnabled"] is False  # prod's defaults: blueGreen.autoPromotion false
    assert strategy["scaleDownDelaySeconds"] == 600
    active = _one(objects, "Service", strategy["activeService"])
    preview = _one(objects, "Service", strategy["previewService"])
    assert preview["spec"]["ports"][0]["port"] == 80 and preview["spec"]["ports"][0]["targetPort"] == "http"
    assert preview["spec"]["selector"] == active["spec"]["selector"]  # Argo Rollouts adds each side's hash
    monitor = _one(objects, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert monitor.items() <= preview["metadata"]["labels"].items(), "the preview's pods are scraped"
    pre, post = strategy["prePromotionAnalysis"], strategy["postPromotionAnalysis"]
    assert {"name": "service", "value": "demand-forecast-preview"} in pre["args"]
    assert {"name": "service", "value": "demand-forecast"} in post["args"]
    assert pre["templates"] == post["templates"] == [{"templateName": "demand-forecast"}]
    assert _planned(example_repo, "prod", "demand-forecast") == [(100, 0, 0), (0, 100, 0)]
    # Only prod is blue/green; dev and staging roll.
    assert [o["kind"] for o in _serving("staging", "demand-forecast")].count("Deployment") == 1


def test_kserve_shows_its_step_of_the_schedule(example_repo: Repo) -> None:
    isvc = _one(_serving("prod", "fraud-detection"), "InferenceService")
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 5
    notes = isvc["metadata"]["annotations"]
    assert (notes["modelplane.dev/canary-step"], notes["modelplane.dev/canary-schedule"]) == ("1/2", "5,100")
    assert _planned(example_repo, "prod", "fraud-detection") == [(95, 5, 0), (0, 100, 0)]


def test_argo_cd_leaves_what_argo_rollouts_rewrites_alone() -> None:
    def ignored(env: str, model: str) -> dict[str, dict[str, Any]]:
        [app] = parse_objects((ROOT / "rendered" / env / model / "application.yaml").read_text(encoding="utf-8"))
        return {f"{i['kind']}/{i['name']}": i for i in app["spec"]["ignoreDifferences"]}

    churn = ignored("prod", "churn")
    assert ".spec.http[].route[].weight" in churn["VirtualService/churn"]["jqPathExpressions"]
    hashes = ['.spec.subsets[].labels["rollouts-pod-template-hash"]']
    assert churn["DestinationRule/churn"]["jqPathExpressions"] == hashes
    assert churn["Rollout/churn"]["jsonPointers"] == ["/spec/replicas"]
    forecast = ignored("prod", "demand-forecast")
    for service in ("Service/demand-forecast", "Service/demand-forecast-preview"):
        assert forecast[service]["jsonPointers"] == ["/spec/selector/rollouts-pod-template-hash"]


# Quality gates: the comparison template's queries against series shaped as the ServiceMonitor
# stores them (the monitor's metric names, the Service, the pod-template hash), in promtool.
ARGS = {
    "{{args.namespace}}": "ml-prod",
    "{{args.service}}": "churn",
    "{{args.stable-service}}": "churn",
    "{{args.canary-hash}}": "new",
    "{{args.stable-hash}}": "old",
}


def _fill(query: str) -> str:
    for arg, value in ARGS.items():
        query = query.replace(arg, value)
    return query


def _series(name: str, side: str, value: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    selector = f'namespace="ml-prod",service="churn",rollouts_pod_template_hash="{side}"{extra}'
    return {"series": f"{name}{{{selector}}}", "values": value}


def _gates() -> dict[str, dict[str, Any]]:
    template = _one(_serving("prod", "churn"), "AnalysisTemplate", "churn-compare")
    return {m["name"]: m for m in template["spec"]["metrics"]}


def _tolerance(metric: dict[str, Any]) -> float:
    return float(re.findall(r"> ([0-9.e+-]+)$", metric["failureCondition"])[0])


def test_the_gates_use_the_metric_names_the_monitor_publishes(example_repo: Repo) -> None:
    gates = _gates()
    assert set(gates) == {"accuracy-vs-stable", "error-rate-vs-stable", "fairness-vs-stable"}
    monitoring = example_repo.resolved[("prod", "churn")].model.monitoring
    assert monitoring.accuracy is not None
    accuracy = gates["accuracy-vs-stable"]["provider"]["prometheus"]["query"]
    assert accuracy.count(f"{ACCURACY}{{") == 2 and f'metric="{monitoring.accuracy.metric}"' in accuracy
    fairness = gates["fairness-vs-stable"]["provider"]["prometheus"]["query"]
    assert fairness.count(f"{FAIRNESS}{{") == 2 and 'attribute=~"age_band|gender"' in fairness
    assert [_tolerance(gates[g]) for g in sorted(gates)] == [0.01, 0.005, 0.05]


CASES = [
    # (gate, series, regression beyond tolerance?)
    (
        "accuracy-vs-stable",
        [_series(ACCURACY, "new", "0.75x20", metric="auc"), _series(ACCURACY, "old", "0.875x20", metric="auc")],
        True,  # auc 0.125 below stable's
    ),
    (
        "accuracy-vs-stable",
        [_series(ACCURACY, "new", "0.875x20", metric="auc"), _series(ACCURACY, "old", "0.8828125x20", metric="auc")],
        False,  # 0.0078 below: within 0.01
    ),
    (
        "accuracy-vs-stable",
        [_series(ACCURACY, "new", "0.9375x20", metric="auc"), _series(ACCURACY, "old", "0.875x20", metric="auc")],
        False,  # better than stable
    ),
    (
        "fairness-vs-stable",
        [
            _series(FAIRNESS, "new", "0.75x20", metric="disparate_impact", attribute="age_band"),
            _series(FAIRNESS, "new", "0.9375x20", metric="disparate_impact", attribute="gender"),
            _series(FAIRNESS, "old", "0.875x20", metric="disparate_impact", attribute="age_band"),
            _series(FAIRNESS, "old", "0.96875x20", metric="disparate_impact", attribute="gender"),
        ],
        True,  # age_band moved 0.125 further from parity
    ),
    (
        "fairness-vs-stable",
        [
            _series(FAIRNESS, "new", "1.03125x20", metric="disparate_impact", attribute="age_band"),
            _series(FAIRNESS, "old", "0.96875x20", metric="disparate_impact", attribute="age_band"),
        ],
        False,  # as far from parity on the other side
    ),
    (
        "error-rate-vs-stable",
        [
            _series("http_requests_total", "new", "0+100x20", code="200"),
            _series("http_requests_total", "new", "0+25x20", code="500"),
            _series("http_requests_total", "old", "0+100x20", code="200"),
        ],
        True,  # a fifth of the new version's requests fail, none of the stable's
    ),
    (
        "error-rate-vs-stable",
        [
            _series("http_requests_total", "new", "0+100x20", code="200"),
            _series("http_requests_total", "old", "0+100x20", code="200"),
        ],
        False,  # no 5xx series on either side is an error rate of 0, not "no data"
    ),
]


def _promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rules.yaml").write_text("groups: []\n", encoding="utf-8")
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "test.yaml").write_text(dump_document(spec), encoding="utf-8")
    promtool = require_tool("promtool")
    return subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)


@pytest.mark.parametrize("gate,series,regressed", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_gate_fails_exactly_on_a_regression_beyond_its_tolerance(
    tmp_path: Path, gate: str, series: list[dict[str, str]], regressed: bool
) -> None:
    metric = _gates()[gate]
    query = _fill(metric["provider"]["prometheus"]["query"])
    check = {"expr": f"({query}) > bool {_tolerance(metric)}", "eval_time": "4m"}
    expected = {**check, "exp_samples": [{"labels": "{}", "value": int(regressed)}]}
    test = {"interval": "15s", "input_series": series, "promql_expr_test": [expected]}
    result = _promtool(tmp_path, [test])
    assert result.returncode == 0, result.stdout + result.stderr
    # and promtool really compares: the opposite verdict fails
    test["promql_expr_test"][0]["exp_samples"][0]["value"] = int(not regressed)
    assert _promtool(tmp_path, [test]).returncode == 1


@pytest.mark.parametrize("gate", ["accuracy-vs-stable", "fairness-vs-stable", "error-rate-vs-stable"])
def test_a_gate_without_the_stable_side_has_no_data(tmp_path: Path, gate: str) -> None:
    """Only the new version reports: the query is empty, so the measurement is Inconclusive."""
    new_only = [s for name, series, _ in CASES if name == gate for s in series if 'hash="new"' in s["series"]]
    query = _fill(_gates()[gate]["provider"]["prometheus"]["query"])
    empty = {"expr": query, "eval_time": "4m", "exp_samples": []}
    test = {"interval": "15s", "input_series": new_only, "promql_expr_test": [empty]}
    result = _promtool(tmp_path, [test])
    assert result.returncode == 0, result.stdout + result.stderr


def test_routing_names_are_names_whatever_is_written() -> None:
    """A header name becomes a key of the VirtualService's match, a host and a gateway its lists:
    anything but a plain name is refused before it renders (hostile pieces as in test_render_safety)."""
    from pydantic import ValidationError

    from modelplane.spec.delivery import TesterHeader, TrafficRouting
    from tests.test_render_safety import HOSTILE

    candidates = [*HOSTILE, *(a + b for a in HOSTILE for b in ("x", "-", "A", "."))]
    label = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    kinds = {
        "host": (lambda v: TrafficRouting(host=v), rf"{label}(\.{label})*"),
        "gateway": (lambda v: TrafficRouting(gateway=v), rf"({label}/)?{label}"),
        "header": (lambda v: TesterHeader(name=v), label),
    }
    for kind, (build, plain) in kinds.items():
        for value in candidates:
            try:
                build(value)
            except ValidationError:
                continue
            assert re.fullmatch(plain, value), f"{kind} {value!r} was accepted"
