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
from modelplane.render.yaml_writer import Unusual, nest, write_document
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


def _rule_text(rule: dict[str, Any], rules_text: str) -> str | None:
    """The PrometheusRule's YAML from the rules file's: `spec` sorts last and holds only `groups`,
    which the rules file holds too. None when the fast writer leaves the rest to PyYAML."""
    head = {k: v for k, v in rule.items() if k != "spec"}
    if max(head) > "spec":
        return None
    try:
        return "---\n" + write_document(head) + nest("spec", rules_text)
    except Unusual:
        return None


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
    # The rules are written once: a full compile writes millions of YAML nodes.
    try:
        rules_text = write_document({"groups": groups})
        rule_text = _rule_text(rule, rules_text)
    except Unusual:
        rules_text, rule_text = dump_document({"groups": groups}), None
    return [
        Output("monitoring.yaml", objects=[rule], text=rule_text, synced=True),
        Output(RULES_FILE, text=rules_text),
        Output("monitoring.test.yaml", text=dump_document(promtool_tests(resolved, alerts))),
    ]
