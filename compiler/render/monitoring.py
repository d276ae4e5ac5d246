"""Monitoring as Prometheus rules: one `PrometheusRule` per (model, environment).

Metrics the serving and model exporters publish (the README cites this list):
- `http_requests_total{namespace, service, code}` and
  `http_request_duration_seconds_bucket{namespace, service, le}` — the serving container;
- `modelplane_drift_score{namespace, model, feature}`,
  `modelplane_model_accuracy{namespace, model, metric}`,
  `modelplane_fairness_ratio{namespace, model, metric, attribute}` — the model exporter.

Alerts: p99 latency, error rate, drift (labelled `retrain="true"` when drift triggers the
retraining WorkflowTemplate), accuracy below its minimum, the fairness metric outside its
bounds, and multi-window multi-burn-rate SLO alerts (Google SRE workbook: page at 14.4x over
1h+5m and 6x over 6h+30m; ticket at 3x over 1d+2h and 1x over 3d+6h).
Severity: `page` for what needs a human now (latency, errors, fast burn); `ticket` for what
needs one this week (drift, accuracy, fairness, slow burn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelplane.render.base import Output, common_annotations, common_labels, dump_document
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
    kind: str  # latency | errors | drift | accuracy | accuracy-max | fairness-min | fairness-max | burn
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


def alerts(resolved: Resolved) -> list[Alert]:
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


def rule_groups(resolved: Resolved) -> list[dict[str, Any]]:
    name = resolved.model.metadata.name
    serving_sel, _ = selectors(resolved)
    recording = [{"record": recording_name(name, w), "expr": error_ratio(serving_sel, w)} for w in WINDOWS]
    alerting = [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.duration,
            "labels": alert_labels(resolved, a),
            "annotations": alert_annotations(resolved, a),
        }
        for a in alerts(resolved)
    ]
    return [
        {"name": f"modelplane.{name}.slo", "rules": recording},
        {"name": f"modelplane.{name}.alerts", "rules": alerting},
    ]


def render_monitoring(resolved: Resolved) -> list[Output]:
    from modelplane.render.alerts_absent import absent_rule_groups, absent_tests
    from modelplane.render.monitoring_tests import promtool_tests

    groups = rule_groups(resolved) + absent_rule_groups(resolved)
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": resolved.model.metadata.name,
            "namespace": resolved.env.namespace,
            "labels": {**common_labels(resolved), "prometheus": "k8s", "role": "alert-rules"},
            "annotations": common_annotations(resolved),
        },
        "spec": {"groups": groups},
    }
    return [
        Output("monitoring.yaml", objects=[rule], synced=True),
        Output("monitoring.rules.yaml", text=dump_document({"groups": groups})),
        Output("monitoring.test.yaml", text=dump_document(absent_tests(resolved, promtool_tests(resolved)))),
    ]
