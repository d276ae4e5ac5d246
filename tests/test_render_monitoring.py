"""Prometheus rules from the spec, checked and unit-tested by the real promtool."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from modelplane.manifests import ManifestChecker
from modelplane.render.base import dump_objects
from modelplane.render.monitoring import _rule_text, render_monitoring, rule_groups
from modelplane.render.monitoring_tests import promtool_tests
from modelplane.render.yaml_writer import write_document
from modelplane.repo import Repo
from modelplane.resolve import Resolved
from tests.conftest import CRDS, require_tool


def _alerts(resolved: Resolved) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in rule_groups(resolved) for r in g["rules"] if "alert" in r}


def _promtool(folder: Path, resolved: Resolved, promtool: str) -> tuple[str, int, str]:
    folder.mkdir(parents=True)
    for output in render_monitoring(resolved):
        (folder / output.path).write_text(output.content(), encoding="utf-8")
    check = subprocess.run(
        [promtool, "check", "rules", "monitoring.rules.yaml"], cwd=folder, capture_output=True, text=True
    )
    if check.returncode != 0:
        return str(folder), check.returncode, check.stdout + check.stderr
    test = subprocess.run(
        [promtool, "test", "rules", "monitoring.test.yaml"], cwd=folder, capture_output=True, text=True
    )
    return str(folder), test.returncode, test.stdout + test.stderr


def test_promtool_checks_and_unit_tests_pass_for_every_pair(example_repo: Repo, tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    pairs = sorted(example_repo.resolved.items())
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda kv: _promtool(tmp_path / "/".join(kv[0]), kv[1], promtool), pairs))
    failures = [f"{folder}:\n{out}" for folder, code, out in results if code != 0]
    assert not failures, "\n".join(failures)


def test_thresholds_come_from_the_spec(example_repo: Repo) -> None:
    alerts = _alerts(example_repo.resolved[("prod", "churn")])
    assert alerts["ChurnHighLatencyP99"]["expr"].endswith("> 0.12")
    assert alerts["ChurnHighErrorRate"]["expr"].endswith("> 0.01")
    assert alerts["ChurnDataDrift"]["expr"].endswith("> 0.2")
    assert alerts["ChurnAccuracyBelowMinimum"]["expr"].endswith("< 0.8")
    assert alerts["ChurnFairnessBelowMinimum"]["expr"].endswith("< 0.8")
    assert alerts["ChurnFairnessAboveMaximum"]["expr"].endswith("> 1.25")
    # availabilityTarget 0.995: budget 0.005; the fast page burns 14.4x of it.
    assert "> 0.072 and" in alerts["ChurnErrorBudgetBurn1h"]["expr"]


def test_routing_labels_and_annotations(example_repo: Repo) -> None:
    alert = _alerts(example_repo.resolved[("prod", "churn")])["ChurnHighErrorRate"]
    assert alert["labels"] == {
        "severity": "page",
        "team": "growth-ds",
        "model": "churn",
        "environment": "prod",
        "namespace": "ml-prod",
        "slack_channel": "#growth-ml-alerts",
        "pagerduty_service": "growth-ml-oncall",
    }
    assert alert["annotations"]["runbook_url"] == "https://runbooks.acme.example/ml/churn"
    assert alert["annotations"]["model_card"] == "rendered/prod/churn/MODEL_CARD.md"
    drift = _alerts(example_repo.resolved[("prod", "churn")])["ChurnDataDrift"]
    assert drift["labels"]["retrain"] == "true" and drift["labels"]["workflow_template"] == "churn-retrain"


def test_only_the_sections_in_the_spec_become_alerts(example_repo: Repo) -> None:
    names = set(_alerts(example_repo.resolved[("prod", "demand-forecast")]))
    assert not any("Fairness" in n for n in names)
    assert "DemandForecastDataDrift" in names
    retrain = _alerts(example_repo.resolved[("prod", "demand-forecast")])["DemandForecastDataDrift"]["labels"][
        "retrain"
    ]
    assert retrain == "false"  # retrainOnDrift: false


def test_each_alert_has_one_firing_and_one_quiet_case(example_repo: Repo) -> None:
    resolved = example_repo.resolved[("prod", "churn")]
    tests = promtool_tests(resolved)["tests"]
    for name in _alerts(resolved):
        cases = [t["alert_rule_test"][0] for t in tests if t["alert_rule_test"][0]["alertname"] == name]
        assert sorted(bool(c["exp_alerts"]) for c in cases) == [False, True], name


def test_generated_cases_follow_a_changed_threshold(example_repo: Repo) -> None:
    resolved = example_repo.resolved[("prod", "churn")]
    monitoring = resolved.model.monitoring.model_copy(update={"latency_p99_ms": 300})
    changed = Resolved(
        resolved.model.model_copy(update={"monitoring": monitoring}),
        resolved.env,
        resolved.source,
        resolved.model_file,
        resolved.env_file,
    )

    def buckets(r: Resolved) -> set[str]:
        tests = promtool_tests(r)["tests"]
        case = next(t for t in tests if t["name"] == "ChurnHighLatencyP99 fires")
        return {s["series"].split('le="')[1].split('"')[0] for s in case["input_series"]}

    assert buckets(resolved) == {"0.06", "0.24", "+Inf"}
    assert buckets(changed) == {"0.15", "0.6", "+Inf"}
    assert _alerts(changed)["ChurnHighLatencyP99"]["expr"].endswith("> 0.3")


def test_prometheus_rule_passes_its_crd(example_repo: Repo) -> None:
    checker = ManifestChecker(CRDS)
    for resolved in example_repo.resolved.values():
        rule = render_monitoring(resolved)[0].objects[0]
        assert rule["kind"] == "PrometheusRule"
        assert checker.errors(rule, resolved.env.kubernetes_version) == []
        plain = yaml.safe_load(render_monitoring(resolved)[1].content())
        assert plain["groups"] == rule["spec"]["groups"]


def test_the_rule_written_from_the_rules_file_is_the_rule_written_whole(example_repo: Repo) -> None:
    for resolved in example_repo.resolved.values():
        rule_file, rules_file, _ = render_monitoring(resolved)
        assert rule_file.text is not None  # the shortcut was taken
        assert rule_file.content() == dump_objects(rule_file.objects)
    # A description with a literal block and an empty line in it stays byte-identical.
    resolved = next(iter(example_repo.resolved.values()))
    groups = rule_groups(resolved)
    groups[1]["rules"][0]["annotations"]["description"] = "first\n\nthird\n"
    rule = {"apiVersion": "v1", "kind": "K", "metadata": {"name": "m"}, "spec": {"groups": groups}}
    assert _rule_text(rule, write_document({"groups": groups})) == dump_objects([rule])
