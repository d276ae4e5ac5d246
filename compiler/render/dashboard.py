"""A Grafana dashboard per (model, environment), as a ConfigMap that Grafana's sidecar picks up
(label `grafana_dashboard: "1"`): latency, errors, traffic, drift per feature, accuracy, fairness.

The queries are the ones the alerts read, so the panels show what the alerts compare.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from modelplane.render.alerts import error_ratio, selectors
from modelplane.render.base import Output, common_annotations, common_labels
from modelplane.resolve import Resolved

SIDECAR_LABEL = "grafana_dashboard"
WIDTH, HEIGHT = 12, 8


def _panel(index: int, title: str, expr: str, legend: str, unit: str, threshold: float | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": (index % 2) * WIDTH, "y": (index // 2) * HEIGHT, "w": WIDTH, "h": HEIGHT},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
    }


def panels(resolved: Resolved) -> list[dict[str, Any]]:
    mon = resolved.model.monitoring
    serving_sel, model_sel = selectors(resolved)
    rows: list[tuple[str, str, str, str, float | None]] = [
        (
            "Latency p99",
            f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{serving_sel}}}[5m])))",
            "p99",
            "s",
            mon.latency_p99_ms / 1000,
        ),
        ("Error ratio", error_ratio(serving_sel, "5m"), "errors", "percentunit", mon.error_rate),
        ("Traffic", f"sum(rate(http_requests_total{{{serving_sel}}}[5m]))", "requests/s", "reqps", None),
    ]
    drift_metric = mon.drift.metric if mon.drift else "psi"
    rows.append(
        (
            f"Drift per feature ({drift_metric})",
            f'modelplane_drift_score{{{model_sel},metric="{drift_metric}"}}',
            "{{feature}}",
            "short",
            mon.drift.threshold if mon.drift else None,
        )
    )
    accuracy_threshold = mon.accuracy.min if mon.accuracy else None
    rows.append(("Accuracy", f"modelplane_model_accuracy{{{model_sel}}}", "{{metric}}", "short", accuracy_threshold))
    fairness_threshold = mon.fairness.min if mon.fairness else None
    rows.append(
        (
            "Fairness per protected attribute",
            f"modelplane_fairness_ratio{{{model_sel}}}",
            "{{metric}} {{attribute}}",
            "short",
            fairness_threshold,
        )
    )
    return [_panel(i, *row) for i, row in enumerate(rows)]


def dashboard(resolved: Resolved) -> dict[str, Any]:
    name, env = resolved.model.metadata.name, resolved.env.metadata.name
    return {
        "uid": f"modelplane-{env}-{name}"[:40],
        "title": f"{name} ({env})",
        "tags": ["modelplane", resolved.model.metadata.team, env],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
        },
        "panels": panels(resolved),
    }


def dashboard_json(data: dict[str, Any]) -> str:
    """Indented JSON with sorted keys, as `json.dumps(indent=2)` writes it but with UTF-8 as it is
    and floats as plain decimals (`0.00001`), ten times faster: a full compile writes thousands.
    A string that is not valid UTF-8 (a lone surrogate) falls back to `json`, which escapes it."""
    try:
        options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(data, option=options).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_dashboard(resolved: Resolved) -> list[Output]:
    name, env = resolved.model.metadata.name, resolved.env.metadata.name
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-dashboard",
            "namespace": resolved.env.namespace,
            "labels": {**common_labels(resolved), SIDECAR_LABEL: "1"},
            "annotations": common_annotations(resolved),
        },
        "data": {f"{name}-{env}.json": dashboard_json(dashboard(resolved))},
    }
    return [Output("dashboard.yaml", objects=[config_map], synced=True)]
