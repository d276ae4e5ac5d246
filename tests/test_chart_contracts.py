"""What the serving objects promise each other in a cluster: selectors select, the autoscaler owns
the replica count, and a canary with no data is never judged healthy."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelplane.render.serving import HelmRenderer
from modelplane.repo import Repo
from modelplane.spec.model import Probe
from tests.conftest import require_tool

Objects = dict[tuple[str, str], dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def outputs(example_repo: Repo) -> dict[tuple[str, str], list[dict[str, Any]]]:
    helm = HelmRenderer(require_tool("helm"))
    return {key: out.objects for key, out in helm.render_many(list(example_repo.resolved.values())).items()}


@pytest.fixture(scope="module")
def rendered(outputs: dict[tuple[str, str], list[dict[str, Any]]]) -> Objects:
    """The objects of each pair by kind, where the kind is the model's own (named as the model)."""
    return {key: {o["kind"]: o for o in objects if o["metadata"]["name"] == key[1]} for key, objects in outputs.items()}


def _templates(outputs: dict[tuple[str, str], list[dict[str, Any]]]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    found = [(key, o) for key, objects in outputs.items() for o in objects if o["kind"] == "AnalysisTemplate"]
    assert {o["metadata"]["name"] for _, o in found} >= {"churn", "churn-compare", "demand-forecast"}
    return found


def _workload(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return objects.get("Rollout") or objects["Deployment"]


def _kubernetes_pairs(rendered: Objects) -> list[tuple[str, str]]:
    pairs = [key for key, objects in rendered.items() if "Service" in objects]
    assert len(pairs) >= 6
    return pairs


def test_every_selector_selects_labels_its_target_carries(rendered: Objects) -> None:
    for key in _kubernetes_pairs(rendered):
        objects = rendered[key]
        service_labels = objects["Service"]["metadata"]["labels"]
        pod_labels = _workload(objects)["spec"]["template"]["metadata"]["labels"]
        monitor = objects["ServiceMonitor"]["spec"]["selector"]["matchLabels"]
        assert monitor.items() <= service_labels.items(), f"{key}: the ServiceMonitor selects no Service"
        assert objects["Service"]["spec"]["selector"].items() <= pod_labels.items(), f"{key}: the Service has no pods"
        assert _workload(objects)["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        if "PodDisruptionBudget" in objects:
            pdb = objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
            assert pdb.items() <= pod_labels.items(), f"{key}: the PodDisruptionBudget protects no pods"


def test_an_autoscaled_workload_leaves_the_replica_count_to_the_hpa(example_repo: Repo, rendered: Objects) -> None:
    seen = set()
    for key in _kubernetes_pairs(rendered):
        replicas = example_repo.resolved[key].model.serving.replicas
        workload = _workload(rendered[key])
        if replicas.min != replicas.max:
            assert "HorizontalPodAutoscaler" in rendered[key]
            assert "replicas" not in workload["spec"], f"{key}: spec.replicas fights the HPA on every sync"
        else:
            assert "HorizontalPodAutoscaler" not in rendered[key]
            assert workload["spec"]["replicas"] == replicas.min
        seen.add(replicas.min != replicas.max)
    assert True in seen


def _expr(condition: str, result: list[float]) -> bool:
    """Argo Rollouts' condition language for these conditions (&&, !, len, isNaN), read in Python."""
    python = condition.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    return bool(eval(python, {"__builtins__": {}}, {"len": len, "isNaN": math.isnan, "result": result}))


def test_no_data_is_never_a_successful_measurement(outputs: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    for key, analysis in _templates(outputs):
        for metric in analysis["spec"]["metrics"]:
            success, failure = metric["successCondition"], metric["failureCondition"]
            threshold = float(re.findall(r"<= ([0-9.e+-]+)$", success)[0])
            for no_data in ([], [math.nan]):
                assert not _expr(success, no_data), f"{key} {metric['name']}: {no_data} counts as success"
                assert not _expr(failure, no_data)  # neither: Inconclusive, the rollout pauses
            assert _expr(success, [threshold]) and not _expr(failure, [threshold])
            assert _expr(failure, [threshold * 2 + 1]) and not _expr(success, [threshold * 2 + 1])


def _selectors(query: str) -> list[str]:
    return re.findall(r"\w\{((?:[^{}]|\{\{[^}]*\}\})*)\}", query)  # bodies of metric{…}


CANARY = 'rollouts_pod_template_hash="{{args.canary-hash}}"'
STABLE = 'rollouts_pod_template_hash="{{args.stable-hash}}"'


def test_the_analysis_measures_the_canary_pods_only(
    outputs: dict[tuple[str, str], list[dict[str, Any]]], rendered: Objects, tmp_path: Path
) -> None:
    """`<model>` measures the new version's pods alone; `<model>-compare` sets them against the
    stable version's, each side by its own ReplicaSet hash, and every query is valid PromQL."""
    promtool = require_tool("promtool")
    rules = []
    for key, analysis in _templates(outputs):
        workload = rendered[key]["Rollout"]["spec"]["strategy"]
        args = [a for block in _analyses(workload) for a in block["args"]]
        assert {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}} in args
        assert "rollouts-pod-template-hash" in rendered[key]["ServiceMonitor"]["spec"]["podTargetLabels"]
        compare = analysis["metadata"]["name"].endswith("-compare")
        if compare:
            assert {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}} in args
        for metric in analysis["spec"]["metrics"]:
            query = metric["provider"]["prometheus"]["query"]
            selectors = _selectors(query)
            canary = [s for s in selectors if CANARY in s and 'service="{{args.service}}"' in s]
            stable = [s for s in selectors if STABLE in s and 'service="{{args.stable-service}}"' in s]
            assert selectors and len(canary) + len(stable) == len(selectors), query
            assert (len(stable) == len(canary)) if compare else not stable, query
            filled = query.replace("{{args.namespace}}", "ns").replace("{{args.service}}", "svc")
            filled = filled.replace("{{args.stable-service}}", "svc").replace("{{args.stable-hash}}", "def")
            rules.append({"record": f"canary:{len(rules)}", "expr": filled.replace("{{args.canary-hash}}", "abc")})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "canary", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _analyses(strategy: dict[str, Any]) -> list[dict[str, Any]]:
    """The analysis blocks of a Rollout's strategy: canary's, or blue/green's pre- and post-promotion."""
    if "canary" in strategy:
        return [strategy["canary"]["analysis"]]
    return [strategy["blueGreen"][k] for k in ("prePromotionAnalysis", "postPromotionAnalysis")]


def test_a_startup_probe_guards_slow_model_loading_only_when_the_spec_sets_one(
    example_repo: Repo, rendered: Objects
) -> None:
    resolved = example_repo.resolved[("prod", "churn")]
    serving = resolved.model.serving
    probes = serving.probes.model_copy(
        update={"startup": Probe(path="/started", period_seconds=5, failure_threshold=60)}
    )
    model = resolved.model.model_copy(update={"serving": serving.model_copy(update={"probes": probes})})
    objects = HelmRenderer(require_tool("helm")).render_many([dataclasses.replace(resolved, model=model)])
    container = next(o for o in objects[resolved.key].objects if o["kind"] == "Rollout")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["startupProbe"]["httpGet"] == {"path": "/started", "port": "http"}
    assert (container["startupProbe"]["periodSeconds"], container["startupProbe"]["failureThreshold"]) == (5, 60)
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    for key in _kubernetes_pairs(rendered):
        assert "startupProbe" not in _workload(rendered[key])["spec"]["template"]["spec"]["containers"][0]
