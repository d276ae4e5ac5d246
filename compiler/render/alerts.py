"""The alert model of one (model, environment): every alerting rule and the facts its tests need.

Computed once per pair (`alert_set`) and handed to the renderers that need it: the rules
(`monitoring.py`) and the promtool tests (`monitoring_tests.py`).

Metrics the serving and model exporters publish (the README cites this list):
- `http_requests_total{namespace, service, code}` and
  `http_request_duration_seconds_bucket{namespace, service, le}` — the serving container;
- `modelplane_drift_score{namespace, model, feature}`,
  `modelplane_model_accuracy{namespace, model, metric}`,
  `modelplane_fairness_ratio{namespace, model, metric, attribute}` — the model exporter;
- `modelplane_monitor_last_success_timestamp_seconds{namespace, model, check}` — the monitor job.

Quality alerts: p99 latency, error rate, drift (labelled `retrain="true"` when drift triggers
the retraining WorkflowTemplate), accuracy below its minimum (or an error metric above its
maximum), the fairness metric outside its bounds, and multi-window multi-burn-rate SLO alerts
(Google SRE workbook: page at 14.4x over 1h+5m and 6x over 6h+30m; ticket at 3x over 1d+2h and
1x over 3d+6h). Severity: `page` for what needs a human now (latency, errors, fast burn);
`ticket` for what needs one this week (drift, accuracy, fairness, slow burn).

Freshness alerts cannot stay silent: one per quality metric (drift, accuracy, fairness) that
fires when the metric is missing, or when the monitor has not reported it for longer than its
schedule allows. A Pushgateway keeps the last push forever, so a stopped monitor leaves its old
values in place; the `modelplane_monitor_last_success_timestamp_seconds{check}` sample it pushes
on every run is what shows the gap. The limit is `monitoring.monitor.staleAfter`, by default
twice the longest gap between two runs of the monitor's schedule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from modelplane.resolve import Resolved

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, long window, short window, burn-rate factor, for)
BURN_ALERTS = (
    ("page", "1h", "5m", 14.4, "2m"),
    ("page", "6h", "30m", 6.0, "15m"),
    ("ticket", "1d", "2h", 3.0, "1h"),
    ("ticket", "3d", "6h", 1.0, "3h"),
)


@dataclass(frozen=True)
class Alert:
    """One alerting rule and the facts its promtool tests need."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str
    # latency | errors | drift | accuracy | accuracy-max | fairness-min | fairness-max | burn | absent-<check>
    kind: str
    threshold: float
    extra_labels: tuple[tuple[str, str], ...] = ()


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def label_value(value: str) -> str:
    """`value` as a PromQL string literal. The spec already restricts every value placed in a
    matcher to names and identifiers; escaping as well means no value can end the string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def matchers(**labels: str) -> str:
    """`name="value",…` for a PromQL selector, each value escaped."""
    return ",".join(f"{key}={label_value(value)}" for key, value in labels.items())


def selectors(resolved: Resolved) -> tuple[str, str]:
    ns, name = resolved.env.namespace, resolved.model.metadata.name
    return matchers(namespace=ns, service=name), matchers(namespace=ns, model=name)


def error_ratio(serving_sel: str, window: str) -> str:
    return (
        f'sum(rate(http_requests_total{{{serving_sel},code=~"5.."}}[{window}])) / '
        f"sum(rate(http_requests_total{{{serving_sel}}}[{window}]))"
    )


def recording_name(model: str, window: str) -> str:
    return f"modelplane:{model.replace('-', '_')}:error_ratio:rate{window}"


def quality_alerts(resolved: Resolved) -> list[Alert]:
    """Latency, errors, drift, accuracy, fairness and the burn-rate alerts, in rule order."""
    model, mon = resolved.model, resolved.model.monitoring
    name, base = model.metadata.name, camel(model.metadata.name)
    serving_sel, model_sel = selectors(resolved)
    out = [
        Alert(
            f"{base}HighLatencyP99",
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket"
            f"{{{serving_sel}}}[5m]))) > {mon.latency_p99_ms / 1000:g}",
            "10m",
            "page",
            f"{name}: p99 latency above {mon.latency_p99_ms} ms",
            f"p99 latency of {name} has been above {mon.latency_p99_ms} ms for 10 minutes.",
            "latency",
            mon.latency_p99_ms / 1000,
        ),
        Alert(
            f"{base}HighErrorRate",
            f"{error_ratio(serving_sel, '5m')} > {mon.error_rate:g}",
            "5m",
            "page",
            f"{name}: error rate above {mon.error_rate:g}",
            f"More than {mon.error_rate:.2%} of requests to {name} failed for 5 minutes.",
            "errors",
            mon.error_rate,
        ),
    ]
    if mon.drift is not None:
        retrain = model.training is not None and model.training.retrain_on_drift
        out.append(
            Alert(
                f"{base}DataDrift",
                f"max(modelplane_drift_score{{{model_sel},{matchers(metric=mon.drift.metric)}}})"
                f" > {mon.drift.threshold:g}",
                "30m",
                "ticket",
                f"{name}: {mon.drift.metric} drift above {mon.drift.threshold:g}",
                f"Input drift ({mon.drift.metric}) of {name} has exceeded {mon.drift.threshold:g} for 30 minutes."
                + (f" Retraining WorkflowTemplate {name}-retrain is submitted." if retrain else ""),
                "drift",
                mon.drift.threshold,
                (("retrain", "true" if retrain else "false"), ("workflow_template", f"{name}-retrain")),
            )
        )
    if mon.accuracy is not None:
        # higher-is-better metrics have a min, lower-is-better ones (mae, rmse) a max
        low = mon.accuracy.max is None
        bound = mon.accuracy.min if mon.accuracy.min is not None else mon.accuracy.max
        assert bound is not None
        word, agg, op = ("below", "min", "<") if low else ("above", "max", ">")
        out.append(
            Alert(
                f"{base}AccuracyBelowMinimum" if low else f"{base}ErrorAboveMaximum",
                f"{agg}(modelplane_model_accuracy{{{model_sel},{matchers(metric=mon.accuracy.metric)}}})"
                f" {op} {bound:g}",
                "1h",
                "ticket",
                f"{name}: {mon.accuracy.metric} {word} {bound:g}",
                f"Online {mon.accuracy.metric} of {name} has been {word} {bound:g} for 1 hour.",
                "accuracy" if low else "accuracy-max",
                bound,
            )
        )
    fairness = mon.fairness
    if fairness is not None:
        metric = f"modelplane_fairness_ratio{{{model_sel},{matchers(metric=fairness.metric)}}}"
        if fairness.min is not None:
            out.append(
                Alert(
                    f"{base}FairnessBelowMinimum",
                    f"min({metric}) < {fairness.min:g}",
                    "1h",
                    "ticket",
                    f"{name}: {fairness.metric} below {fairness.min:g}",
                    f"{fairness.metric} of {name} has been below {fairness.min:g} for 1 hour.",
                    "fairness-min",
                    fairness.min,
                )
            )
        if fairness.max is not None:
            out.append(
                Alert(
                    f"{base}FairnessAboveMaximum",
                    f"max({metric}) > {fairness.max:g}",
                    "1h",
                    "ticket",
                    f"{name}: {fairness.metric} above {fairness.max:g}",
                    f"{fairness.metric} of {name} has been above {fairness.max:g} for 1 hour.",
                    "fairness-max",
                    fairness.max,
                )
            )
    budget = 1 - mon.availability_target
    for severity, long, short, factor, duration in BURN_ALERTS:
        limit = factor * budget
        out.append(
            Alert(
                f"{base}ErrorBudgetBurn{camel(long)}",
                f"{recording_name(name, long)} > {limit:.6g} and {recording_name(name, short)} > {limit:.6g}",
                duration,
                severity,
                f"{name}: error budget burning {factor:g}x over {long}",
                f"{name} is spending its {mon.availability_target:.3%} availability budget {factor:g}x too fast "
                f"over {long} and {short}.",
                "burn",
                limit,
                (("window", long),),
            )
        )
    return out


def alert_labels(resolved: Resolved, alert: Alert) -> dict[str, str]:
    model, routes = resolved.model, resolved.model.monitoring.alert_routes
    labels = {
        "severity": alert.severity,
        "team": model.metadata.team,
        "model": model.metadata.name,
        "environment": resolved.env.metadata.name,
        "namespace": resolved.env.namespace,  # AlertmanagerConfig routes match on it (alert_routing.py)
        **dict(alert.extra_labels),
    }
    if routes.slack:
        labels["slack_channel"] = routes.slack
    if routes.pagerduty:
        labels["pagerduty_service"] = routes.pagerduty
    if routes.email:
        labels["email"] = routes.email
    return labels


def alert_annotations(resolved: Resolved, alert: Alert) -> dict[str, str]:
    env, name = resolved.env.metadata.name, resolved.model.metadata.name
    out = {
        "summary": alert.summary,
        "description": alert.description,
        "model_card": f"rendered/{env}/{name}/MODEL_CARD.md",
    }
    if resolved.model.monitoring.runbook_url:
        out["runbook_url"] = resolved.model.monitoring.runbook_url
    return out


DEFAULT_SCHEDULE = "0 * * * *"  # the monitor's default: hourly
LAST_SUCCESS = "modelplane_monitor_last_success_timestamp_seconds"
FOR = "5m"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# check -> (the series the freshness rule reads, the alert's title)
CHECKS = {
    "drift": ("modelplane_drift_score", "Drift"),
    "accuracy": ("modelplane_model_accuracy", "Accuracy"),
    "fairness": ("modelplane_fairness_ratio", "Fairness"),
}


def seconds(duration: str) -> int:
    return int(duration[:-1]) * _UNITS[duration[-1]]


@functools.cache
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
    """One not-reported alert per quality metric the spec bounds."""
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


@dataclass(frozen=True)
class AlertSet:
    """Every alert of one pair: the quality alerts and the freshness (not-reported) alerts."""

    quality: tuple[Alert, ...]
    freshness: tuple[Alert, ...]


def alert_set(resolved: Resolved) -> AlertSet:
    return AlertSet(tuple(quality_alerts(resolved)), tuple(absent_alerts(resolved)))
