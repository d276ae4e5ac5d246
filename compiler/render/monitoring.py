"""Monitoring as Prometheus rules: one `PrometheusRule` per (model, environment), the same rules as
a plain rules file, and their promtool tests. The alerts themselves are `alerts.py`'s model.
"""

from __future__ import annotations

from typing import Any

from modelplane.render.alerts import (
    WINDOWS,
    Alert,
    AlertSet,
    alert_annotations,
    alert_labels,
    alert_set,
    error_ratio,
    recording_name,
    selectors,
)
from modelplane.render.base import Output, common_annotations, common_labels, dump_document
from modelplane.render.monitoring_tests import RULES_FILE, promtool_tests
from modelplane.resolve import Resolved


def _rules(resolved: Resolved, alerts: tuple[Alert, ...]) -> list[dict[str, Any]]:
    return [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.duration,
            "labels": alert_labels(resolved, a),
            "annotations": alert_annotations(resolved, a),
        }
        for a in alerts
    ]


def rule_groups(resolved: Resolved, alerts: AlertSet | None = None) -> list[dict[str, Any]]:
    """The SLO recording rules and the quality alerts."""
    alerts = alerts or alert_set(resolved)
    name = resolved.model.metadata.name
    serving_sel, _ = selectors(resolved)
    recording = [{"record": recording_name(name, w), "expr": error_ratio(serving_sel, w)} for w in WINDOWS]
    return [
        {"name": f"modelplane.{name}.slo", "rules": recording},
        {"name": f"modelplane.{name}.alerts", "rules": _rules(resolved, alerts.quality)},
    ]


def freshness_groups(resolved: Resolved, alerts: AlertSet | None = None) -> list[dict[str, Any]]:
    """The not-reported alerts, when the spec bounds any quality metric."""
    alerts = alerts or alert_set(resolved)
    if not alerts.freshness:
        return []
    name = resolved.model.metadata.name
    return [{"name": f"modelplane.{name}.freshness", "rules": _rules(resolved, alerts.freshness)}]


def render_monitoring(resolved: Resolved, alerts: AlertSet | None = None) -> list[Output]:
    alerts = alerts or alert_set(resolved)
    groups = rule_groups(resolved, alerts) + freshness_groups(resolved, alerts)
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
        Output(RULES_FILE, text=dump_document({"groups": groups})),
        Output("monitoring.test.yaml", text=dump_document(promtool_tests(resolved, alerts))),
    ]
