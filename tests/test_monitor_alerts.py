"""Absent/staleness alerts per quality metric: rendered from the spec, and promtool's own tests of them."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import yaml

from modelplane.render.alerts import absent_alerts, alert_set, quality_alerts, schedule_gap, stale_after
from modelplane.render.base import dump_document
from modelplane.render.monitoring import freshness_groups, render_monitoring
from modelplane.render.monitoring_tests import promtool_tests
from modelplane.repo import Repo, load_repo
from tests.conftest import ROOT, require_tool


def test_every_quality_metric_has_a_not_reported_alert(example_repo: Repo) -> None:
    churn = example_repo.resolved[("prod", "churn")]
    names = [a.name for a in absent_alerts(churn)]
    assert names == ["ChurnDriftNotReported", "ChurnAccuracyNotReported", "ChurnFairnessNotReported"]
    [group] = freshness_groups(churn)
    drift = group["rules"][0]
    assert 'absent(modelplane_drift_score{namespace="ml-prod",model="churn",metric="psi"})' in drift["expr"]
    assert "time() - max(modelplane_monitor_last_success_timestamp_seconds" in drift["expr"]
    assert drift["labels"]["severity"] == "ticket" and drift["labels"]["slack_channel"] == "#growth-ml-alerts"


def test_staleness_limit_follows_the_schedule() -> None:
    assert schedule_gap("15 * * * *") == 3600
    assert schedule_gap("0 2 * * 1") == 7 * 86400
    assert schedule_gap("0 9 * * 1-5") == 3 * 86400  # Friday to Monday


def test_churn_monitor_runs_hourly_so_it_is_stale_after_two_hours(example_repo: Repo) -> None:
    assert stale_after(example_repo.resolved[("prod", "churn")]) == 7200


def _promtool_test(
    folder: Path, groups: list[dict[str, object]], tests: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    (folder / "rules.yaml").write_text(dump_document({"groups": groups}), encoding="utf-8")
    (folder / "test.yaml").write_text(dump_document(tests), encoding="utf-8")
    promtool = require_tool("promtool")
    return subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=folder, capture_output=True, text=True)


def test_promtool_proves_fresh_quiet_and_missing_or_stale_firing(example_repo: Repo, tmp_path: Path) -> None:
    churn = example_repo.resolved[("dev", "churn")]
    groups = freshness_groups(churn)
    freshness_only = dataclasses.replace(alert_set(churn), quality=())
    tests = {**promtool_tests(churn, freshness_only), "rule_files": ["rules.yaml"]}
    assert len(tests["tests"]) == 9  # three metrics x (fresh, missing, stale)
    result = _promtool_test(tmp_path, groups, tests)
    assert result.returncode == 0, result.stdout + result.stderr
    # The tests can fail: with a limit twenty minutes longer, the stale cases stay quiet.
    looser = yaml.safe_load(dump_document(groups).replace("> 7200)", "> 8400)"))
    result = _promtool_test(tmp_path, looser, tests)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("fires when stale") == 3 and "stays quiet" not in output, output


def _repo_with(tmp_path: Path, old: str, new: str, model: str = "demand-forecast") -> tuple[Repo, list[str]]:
    for folder in ("models", "environments"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    spec = tmp_path / "models" / model / "model.yaml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new), encoding="utf-8")
    repo, problems = load_repo(tmp_path)
    return repo, [p.render() for p in problems]


def test_lower_is_better_error_metric_alerts_above_its_maximum(tmp_path: Path) -> None:
    repo, problems = _repo_with(tmp_path, "{metric: wape_skill, min: 0.75}", "{metric: wape, max: 0.25}")
    assert problems == []
    resolved = repo.resolved[("prod", "demand-forecast")]
    [alert] = [a for a in quality_alerts(resolved) if a.kind.startswith("accuracy")]
    assert alert.name == "DemandForecastErrorAboveMaximum"
    assert (
        alert.expr == 'max(modelplane_model_accuracy{namespace="ml-prod",model="demand-forecast",metric="wape"}) > 0.25'
    )
    folder = tmp_path / "rules"
    folder.mkdir()
    for output in render_monitoring(resolved):
        (folder / output.path).write_text(output.content(), encoding="utf-8")
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", "monitoring.test.yaml"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DemandForecastErrorAboveMaximum fires" in (folder / "monitoring.test.yaml").read_text()


def test_a_bound_against_the_metric_direction_is_a_validation_error_at_its_line(tmp_path: Path) -> None:
    _, problems = _repo_with(tmp_path, "{metric: wape_skill, min: 0.75}", "{metric: wape, min: 0.25}")
    assert problems == [
        "models/demand-forecast/model.yaml:44:22: monitoring.accuracy.metric:"
        " lower wape is better: bound it with max, not min"
    ]


def test_a_metric_the_monitor_cannot_measure_is_reported_at_the_metric(tmp_path: Path) -> None:
    """churn runs the quality monitor in staging and prod, so its metric must be one the monitor knows."""
    _, problems = _repo_with(tmp_path, "{metric: auc, min: 0.8}", "{metric: auc_custom, min: 0.8}", model="churn")
    assert problems
    for problem in problems:
        assert problem.startswith("models/churn/model.yaml:62:22: monitoring.accuracy.metric:"), problem
        assert "the monitor cannot measure accuracy metric 'auc_custom' (known: " in problem, problem
