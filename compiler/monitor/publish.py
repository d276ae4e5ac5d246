"""Quality metrics as Prometheus samples, pushed to a Pushgateway with prometheus-client.

One Pushgateway group per (namespace, model), replaced whole on every run (HTTP PUT), so a
feature dropped from the spec disappears instead of keeping its last score. Prometheus scrapes
the Pushgateway with `honor_labels: true`, keeping the `namespace` and `model` labels pushed here.

Pushgateway keeps the last push forever, so "the monitor stopped" shows as an old
`modelplane_monitor_last_success_timestamp_seconds{check}`, not as a missing series: the staleness
alerts read that timestamp.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest, push_to_gateway

from modelplane.monitor.compute import Measurements

JOB = "modelplane-monitor"
DRIFT = "modelplane_drift_score"
ACCURACY = "modelplane_model_accuracy"
FAIRNESS = "modelplane_fairness_ratio"
LAST_SUCCESS = "modelplane_monitor_last_success_timestamp_seconds"


def registry_for(namespace: str, model: str, environment: str, result: Measurements, now: float) -> CollectorRegistry:
    """The samples of one run. A check with no measurement gets no timestamp, so it goes stale."""
    registry = CollectorRegistry()
    base = {"namespace": namespace, "model": model, "environment": environment}
    names = list(base)
    drift = Gauge(
        DRIFT, "Drift of a feature against the reference data set", [*names, "feature", "metric"], registry=registry
    )
    for (feature, metric), value in result.drift.items():
        drift.labels(**base, feature=feature, metric=metric).set(value)
    accuracy = Gauge(ACCURACY, "Model quality on labelled feedback", [*names, "metric"], registry=registry)
    for metric, value in result.accuracy.items():
        accuracy.labels(**base, metric=metric).set(value)
    fairness = Gauge(
        FAIRNESS,
        "Fairness of predictions across the groups of a protected attribute",
        [*names, "metric", "attribute"],
        registry=registry,
    )
    for (metric, attribute), value in result.fairness.items():
        fairness.labels(**base, metric=metric, attribute=attribute).set(value)
    last = Gauge(
        LAST_SUCCESS, "When the monitor last measured this check (Unix seconds)", [*names, "check"], registry=registry
    )
    for check, measured in (("drift", result.drift), ("accuracy", result.accuracy), ("fairness", result.fairness)):
        if measured:
            last.labels(**base, check=check).set(now)
    return registry


def exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def push(gateway: str, registry: CollectorRegistry, namespace: str, model: str) -> None:
    push_to_gateway(
        gateway, job=JOB, registry=registry, grouping_key={"namespace": namespace, "model": model}, timeout=30
    )
