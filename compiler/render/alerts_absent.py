"""Alerts that cannot stay silent: one per quality metric (drift, accuracy, fairness) that fires
when the metric is missing, or when the monitor has not reported it for longer than its schedule
allows, with promtool tests for the three cases (fresh: quiet; never reported; stale: firing).

A Pushgateway keeps the last push forever, so a stopped monitor leaves its old values in place;
the `modelplane_monitor_last_success_timestamp_seconds{check}` sample it pushes on every run is
what shows the gap. The limit is `monitoring.monitor.staleAfter`, by default twice the longest
gap between two runs of the monitor's schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from modelplane.render.monitoring import Alert, alert_annotations, alert_labels, camel, selectors
from modelplane.resolve import Resolved

DEFAULT_SCHEDULE = "0 * * * *"  # the monitor's default: hourly
LAST_SUCCESS = "modelplane_monitor_last_success_timestamp_seconds"
FOR = "5m"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# check -> (metric the rules read, label naming the spec's metric, display name)
CHECKS = {
    "drift": ("modelplane_drift_score", "Drift"),
    "accuracy": ("modelplane_model_accuracy", "Accuracy"),
    "fairness": ("modelplane_fairness_ratio", "Fairness"),
}


def seconds(duration: str) -> int:
    return int(duration[:-1]) * _UNITS[duration[-1]]


def schedule_gap(schedule: str) -> int:
    """The longest gap, in seconds, between two runs of a cron schedule over a year of runs."""
    runs = croniter(schedule, datetime(2026, 1, 1, tzinfo=UTC))
    times = [runs.get_next(float) for _ in range(400)]
    return int(max(b - a for a, b in zip(times, times[1:], strict=False)))


def stale_after(resolved: Resolved) -> int:
    monitor = resolved.model.monitoring.monitor
    if monitor is not None and monitor.stale_after is not None:
        return seconds(monitor.stale_after)
    return 2 * schedule_gap(monitor.schedule if monitor is not None else DEFAULT_SCHEDULE)


def checks(resolved: Resolved) -> list[tuple[str, str]]:
    """(check, the spec's metric name) for every quality metric the spec sets a bound on."""
    mon = resolved.model.monitoring
    out: list[tuple[str, str]] = []
    if mon.drift is not None:
        out.append(("drift", mon.drift.metric))
    if mon.accuracy is not None:
        out.append(("accuracy", mon.accuracy.metric))
    if mon.fairness is not None:
        out.append(("fairness", mon.fairness.metric))
    return out


def absent_alerts(resolved: Resolved) -> list[Alert]:
    name = resolved.model.metadata.name
    _, model_sel = selectors(resolved)
    limit = stale_after(resolved)
    out = []
    for check, metric in checks(resolved):
        series, title = CHECKS[check]
        stamp = f'{LAST_SUCCESS}{{{model_sel},check="{check}"}}'
        # count() folds the three reasons into one alert without labels of their own
        expr = (
            f'count(absent({series}{{{model_sel},metric="{metric}"}}) or absent({stamp}) '
            f"or (time() - max({stamp}) > {limit}))"
        )
        out.append(
            Alert(
                f"{camel(name)}{title}NotReported",
                expr,
                FOR,
                "ticket",
                f"{name}: {check} ({metric}) not reported",
                f"The model-quality monitor of {name} has not reported {check} ({metric}) for more than "
                f"{limit} s, or never did: the {check} alerts cannot fire while it is silent.",
                f"absent-{check}",
                limit,
                (("check", check),),
            )
        )
    return out


def absent_rule_groups(resolved: Resolved) -> list[dict[str, Any]]:
    alerts = absent_alerts(resolved)
    if not alerts:
        return []
    rules = [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.duration,
            "labels": alert_labels(resolved, a),
            "annotations": alert_annotations(resolved, a),
        }
        for a in alerts
    ]
    return [{"name": f"modelplane.{resolved.model.metadata.name}.freshness", "rules": rules}]


def _case(resolved: Resolved, alert: Alert, metric: str, case: str) -> dict[str, Any]:
    """`fresh`: reported within the limit; `missing`: never reported; `stale`: reported too long ago."""
    _, model_sel = selectors(resolved)
    check = alert.kind.removeprefix("absent-")
    series, _ = CHECKS[check]
    eval_s = seconds(FOR) + 600
    age = alert.threshold + 600 if case == "stale" else alert.threshold - 600
    steps = eval_s // 60 + 2
    inputs = []
    if case != "missing":
        inputs = [
            {"series": f'{series}{{{model_sel},metric="{metric}"}}', "values": f"0.5+0x{steps}"},
            {"series": f'{LAST_SUCCESS}{{{model_sel},check="{check}"}}', "values": f"{eval_s - age:g}+0x{steps}"},
        ]
    expected = []
    if case != "fresh":
        expected = [
            {"exp_labels": alert_labels(resolved, alert), "exp_annotations": alert_annotations(resolved, alert)}
        ]
    verb = {"fresh": "stays quiet", "missing": "fires when never reported", "stale": "fires when stale"}[case]
    return {
        "name": f"{alert.name} {verb}",
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [{"eval_time": f"{eval_s}s", "alertname": alert.name, "exp_alerts": expected}],
    }


def absent_tests(resolved: Resolved, tests: dict[str, Any]) -> dict[str, Any]:
    """The promtool test file `tests`, with this module's cases added."""
    metrics = dict(checks(resolved))
    cases = [
        _case(resolved, alert, metrics[alert.kind.removeprefix("absent-")], case)
        for alert in absent_alerts(resolved)
        for case in ("fresh", "missing", "stale")
    ]
    return {**tests, "tests": [*tests["tests"], *cases]}
