"""`promtool test rules` unit tests generated from the alert model: for every quality alert one
firing and one quiet case; for every freshness alert three (fresh: quiet; never reported and
stale: firing).

Input series are built from the alert's own threshold, so a changed threshold changes the test.
"""

from __future__ import annotations

import math
from typing import Any

from modelplane.render.alerts import (
    CHECKS,
    FOR,
    LAST_SUCCESS,
    Alert,
    AlertSet,
    alert_annotations,
    alert_labels,
    alert_set,
    checks,
    matchers,
    seconds,
    selectors,
)
from modelplane.resolve import Resolved

RULES_FILE = "monitoring.rules.yaml"
REQUESTS_PER_MINUTE = 1000


def _minutes(duration: str) -> int:
    unit = {"m": 1, "h": 60, "d": 1440}[duration[-1]]
    return int(duration[:-1]) * unit


def _series(name: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{name}{{{labels}}}", "values": values}


def _traffic(serving_sel: str, bad_per_step: int, ok_per_step: int, steps: int) -> list[dict[str, str]]:
    return [
        _series("http_requests_total", f"{serving_sel},{matchers(code='200')}", f"0+{ok_per_step}x{steps}"),
        _series("http_requests_total", f"{serving_sel},{matchers(code='500')}", f"0+{bad_per_step}x{steps}"),
    ]


def _latency(serving_sel: str, threshold_s: float, slow: bool, steps: int) -> list[dict[str, str]]:
    """All requests in one bucket: above the threshold (slow) or well below it."""
    low, high = threshold_s / 2, threshold_s * 2
    return [
        _series(
            "http_request_duration_seconds_bucket", f'{serving_sel},le="{low:g}"', f"0+{0 if slow else 10}x{steps}"
        ),
        _series("http_request_duration_seconds_bucket", f'{serving_sel},le="{high:g}"', f"0+10x{steps}"),
        _series("http_request_duration_seconds_bucket", f'{serving_sel},le="+Inf"', f"0+10x{steps}"),
    ]


def _gauge(name: str, labels: str, value: float, steps: int) -> list[dict[str, str]]:
    return [_series(name, labels, f"{value:g}+0x{steps}")]


def _fairness_quiet_value(resolved: Resolved) -> float:
    fairness = resolved.model.monitoring.fairness
    assert fairness is not None
    if fairness.min is not None and fairness.max is not None:
        return (fairness.min + fairness.max) / 2
    if fairness.min is not None:
        return fairness.min * 1.5 if fairness.min > 0 else 1.0
    assert fairness.max is not None
    return fairness.max / 2


def _case_series(resolved: Resolved, alert: Alert, firing: bool, steps: int) -> list[dict[str, str]]:
    serving_sel, model_sel = selectors(resolved)
    mon = resolved.model.monitoring
    if alert.kind == "latency":
        return _latency(serving_sel, alert.threshold, firing, steps)
    if alert.kind in ("errors", "burn"):
        if not firing:
            return _traffic(serving_sel, 0, REQUESTS_PER_MINUTE, steps)
        if alert.kind == "burn":
            return _traffic(serving_sel, REQUESTS_PER_MINUTE, 0, steps)  # every request fails
        bad = min(REQUESTS_PER_MINUTE, math.ceil(alert.threshold * REQUESTS_PER_MINUTE * 2) + 1)
        return _traffic(serving_sel, bad, REQUESTS_PER_MINUTE - bad, steps)
    if alert.kind == "drift":
        assert mon.drift is not None
        value = alert.threshold * 2 if firing else alert.threshold / 2
        labels = f"{model_sel},{matchers(metric=mon.drift.metric, feature='tenure_months')}"
        return _gauge("modelplane_drift_score", labels, value, steps)
    if alert.kind in ("accuracy", "accuracy-max"):
        assert mon.accuracy is not None
        value = alert.threshold / 2 if firing else (1 + alert.threshold) / 2
        if alert.kind == "accuracy-max":  # lower is better: an error above its maximum fires
            value = alert.threshold * 2 if firing else alert.threshold / 2
        return _gauge("modelplane_model_accuracy", f"{model_sel},{matchers(metric=mon.accuracy.metric)}", value, steps)
    fairness = mon.fairness
    assert fairness is not None
    if firing:
        value = alert.threshold / 2 if alert.kind == "fairness-min" else alert.threshold * 2
    else:
        value = _fairness_quiet_value(resolved)
    labels = f"{model_sel},{matchers(metric=fairness.metric, attribute='group')}"
    return _gauge("modelplane_fairness_ratio", labels, value, steps)


def _timing(alert: Alert) -> tuple[str, int, int]:
    """(sample interval, eval time in minutes, number of samples) for one alert's cases.

    A burn-rate ratio is the same over any window when every request fails, so even the 3-day
    alert needs only its `for` duration of samples, not three days of them.
    """
    eval_minutes = _minutes(alert.duration) + 35
    return "1m", eval_minutes, eval_minutes + 2


def _case(resolved: Resolved, alert: Alert, firing: bool) -> dict[str, Any]:
    interval, eval_minutes, steps = _timing(alert)
    expected = []
    if firing:
        expected = [
            {"exp_labels": alert_labels(resolved, alert), "exp_annotations": alert_annotations(resolved, alert)}
        ]
    return {
        "name": f"{alert.name} {'fires' if firing else 'stays quiet'}",
        "interval": interval,
        "input_series": _case_series(resolved, alert, firing, steps),
        "alert_rule_test": [{"eval_time": f"{eval_minutes}m", "alertname": alert.name, "exp_alerts": expected}],
    }


def _freshness_case(resolved: Resolved, alert: Alert, metric: str, case: str) -> dict[str, Any]:
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


def promtool_tests(resolved: Resolved, alerts: AlertSet | None = None) -> dict[str, Any]:
    """The whole test file for the pair's rules file."""
    alerts = alerts or alert_set(resolved)
    cases = [_case(resolved, alert, firing) for alert in alerts.quality for firing in (True, False)]
    metrics = dict(checks(resolved))
    cases += [
        _freshness_case(resolved, alert, metrics[alert.kind.removeprefix("absent-")], case)
        for alert in alerts.freshness
        for case in ("fresh", "missing", "stale")
    ]
    return {"rule_files": [RULES_FILE], "evaluation_interval": "1m", "tests": cases}
