"""Argo Rollouts AnalysisTemplates: the Prometheus checks that promote or abort a new version.

Three templates, built here as data and printed by the chart:

- `<model>`: the new version's own error rate and p99 latency against the spec's maxima;
- `<model>-compare`: the quality gates, the new version against the stable one on the metric
  names the monitor publishes (`modelplane_model_accuracy`, `modelplane_fairness_ratio`) and on
  the error rate; each measures a regression (positive = worse) and fails beyond its tolerance;
- `<model>-ab`: the A/B experiment, variant B against variant A on the experiment's metric, plus
  the same gates.

Which pods a side means comes from the arguments the Rollout or Experiment passes: a Service
name and, for Rollouts, a ReplicaSet's pod-template hash (Argo Rollouts' `podTemplateHashValue`
`Latest` for the new version, `Stable` for the stable one), which the ServiceMonitor copies onto
every series as `rollouts_pod_template_hash`. A measurement with no data on either side (an
empty result or NaN) meets neither condition: Inconclusive, the rollout pauses for a human.
"""

from __future__ import annotations

from typing import Any

from modelplane.render.alerts import label_value
from modelplane.resolve import Resolved
from modelplane.spec.delivery import Analysis, accuracy_direction, fairness_target, parity

HAS_DATA = "len(result) > 0 && !isNaN(result[0])"
ARG_NAMESPACE, ARG_SERVICE, ARG_CANARY_HASH = "namespace", "service", "canary-hash"
ARG_STABLE_SERVICE, ARG_STABLE_HASH = "stable-service", "stable-hash"
HASH_LABEL = "rollouts_pod_template_hash"


def _arg(name: str) -> str:
    return "{{args." + name + "}}"


def side(service_arg: str, hash_arg: str | None) -> str:
    """The matchers selecting one version's series: namespace, Service and (for Rollouts) hash."""
    parts = [f"namespace={label_value(_arg(ARG_NAMESPACE))}", f"service={label_value(_arg(service_arg))}"]
    if hash_arg is not None:
        parts.append(f"{HASH_LABEL}={label_value(_arg(hash_arg))}")
    return ",".join(parts)


def _num(value: float) -> str:
    return repr(float(value))


def _metric(name: str, query: str, limit: float, prometheus: str, timing: dict[str, Any]) -> dict[str, Any]:
    """One measurement that succeeds at or below `limit` and fails above it, never without data."""
    return {
        "name": name,
        **timing,
        "successCondition": f"{HAS_DATA} && result[0] <= {_num(limit)}",
        "failureCondition": f"{HAS_DATA} && result[0] > {_num(limit)}",
        "provider": {"prometheus": {"address": prometheus, "query": query}},
    }


def _timing(
    analysis: Analysis | None, *, interval: str | None = None, failure_limit: int | None = None
) -> dict[str, Any]:
    if analysis is None:
        return {"interval": interval, "failureLimit": failure_limit}
    return {"interval": analysis.interval, "count": analysis.count, "failureLimit": analysis.failure_limit}


def error_ratio(selector: str, window: str) -> str:
    """Failed share of requests; with traffic and no 5xx series it is 0 (`or vector(0)`), not "no data"."""
    return (
        f'(sum(rate(http_requests_total{{{selector},code=~"5.."}}[{window}])) or vector(0))'
        f" / sum(rate(http_requests_total{{{selector}}}[{window}]))"
    )


def absolute_metrics(analysis: Analysis, prometheus: str) -> list[dict[str, Any]]:
    """The new version's own error rate and latency, on its pods only."""
    pods, window, timing = side(ARG_SERVICE, ARG_CANARY_HASH), analysis.interval, _timing(analysis)
    out = [_metric("error-rate", error_ratio(pods, window), analysis.max_error_rate, prometheus, timing)]
    if analysis.max_latency_p99_ms:
        query = (
            f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{pods}}}[{window}])))"
        )
        out.append(_metric("latency-p99", query, analysis.max_latency_p99_ms / 1000, prometheus, timing))
    return out


def _regression(series: str, labels: str, new: str, old: str, *, higher_is_better: bool) -> str:
    """How much worse the new side is than the old one on a gauge (positive = worse)."""
    extra = f",{labels}" if labels else ""
    a, b = f"avg({series}{{{new}{extra}}})", f"avg({series}{{{old}{extra}}})"
    return f"{b} - {a}" if higher_is_better else f"{a} - {b}"


def comparison_metrics(
    resolved: Resolved, timing: dict[str, Any], new: str, old: str, suffix: str, window: str
) -> list[dict[str, Any]]:
    """The quality gates: the new side against the old, each a regression against its tolerance."""
    model, prometheus = resolved.model, resolved.env.prometheus_url
    analysis = model.serving.rollout.analysis
    gates = analysis.quality_gates if analysis is not None else None
    if gates is None:
        return []
    out = []
    if gates.accuracy is not None:
        found = accuracy_direction(model, gates.accuracy)
        assert found is not None  # the spec guarantees it (check_against_model)
        metric, higher = found
        labels = f"metric={label_value(metric)}"
        query = _regression("modelplane_model_accuracy", labels, new, old, higher_is_better=higher)
        out.append(_metric(f"accuracy-{suffix}", query, gates.accuracy.tolerance, prometheus, timing))
    if gates.error_rate is not None:
        query = f"({error_ratio(new, window)}) - ({error_ratio(old, window)})"
        out.append(_metric(f"error-rate-{suffix}", query, gates.error_rate.tolerance, prometheus, timing))
    if gates.fairness is not None:
        target = fairness_target(model, gates.fairness)
        assert target is not None
        metric, attributes = target
        labels = f"metric={label_value(metric)}"
        if attributes:
            labels += f",attribute=~{label_value('|'.join(sorted(attributes)))}"
        fair = _num(parity(metric))

        def distance(pods: str) -> str:
            return f"abs(avg by (attribute) (modelplane_fairness_ratio{{{pods},{labels}}}) - {fair})"

        query = f"max({distance(new)} - {distance(old)})"
        out.append(_metric(f"fairness-{suffix}", query, gates.fairness.tolerance, prometheus, timing))
    return out


def template(name: str, args: list[str], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "args": [{"name": a} for a in args], "metrics": metrics}


def rollout_templates(resolved: Resolved, names: dict[str, str]) -> list[dict[str, Any]]:
    """`<model>` and, with quality gates, `<model>-compare` for a Rollout (canary, shadow, blue/green)."""
    analysis = resolved.model.serving.rollout.analysis
    if analysis is None:
        return []
    out = [
        template(
            names["analysis"],
            [ARG_SERVICE, ARG_NAMESPACE, ARG_CANARY_HASH],
            absolute_metrics(analysis, resolved.env.prometheus_url),
        )
    ]
    new, old = side(ARG_SERVICE, ARG_CANARY_HASH), side(ARG_STABLE_SERVICE, ARG_STABLE_HASH)
    compare = comparison_metrics(resolved, _timing(analysis), new, old, "vs-stable", analysis.interval)
    if compare:
        args = [ARG_SERVICE, ARG_NAMESPACE, ARG_CANARY_HASH, ARG_STABLE_SERVICE, ARG_STABLE_HASH]
        out.append(template(names["compare"], args, compare))
    return out


def ab_template(resolved: Resolved, names: dict[str, str]) -> dict[str, Any]:
    """`<model>-ab`: variant B (`service`) against variant A (`stable-service`) for the experiment's
    duration; no count, so it measures until the Experiment ends it."""
    ab = resolved.model.serving.rollout.ab_test
    assert ab is not None and ab.metric is not None
    timing = _timing(None, interval=ab.interval, failure_limit=ab.failure_limit)
    new, old = side(ARG_SERVICE, None), side(ARG_STABLE_SERVICE, None)
    query = _regression(ab.metric.name, "", new, old, higher_is_better=ab.metric.higher_is_better)
    metrics = [_metric("experiment", query, ab.metric.tolerance, resolved.env.prometheus_url, timing)]
    metrics += comparison_metrics(resolved, timing, new, old, "b-vs-a", ab.interval)
    return template(names["ab"], [ARG_SERVICE, ARG_NAMESPACE, ARG_STABLE_SERVICE], metrics)


def run_args(
    namespace: str, service: str, *, stable_service: str | None = None, hashes: bool = True
) -> list[dict[str, Any]]:
    """The arguments a Rollout (or Experiment) passes to the templates above."""
    args: list[dict[str, Any]] = [{"name": ARG_SERVICE, "value": service}, {"name": ARG_NAMESPACE, "value": namespace}]
    if hashes:
        args.append({"name": ARG_CANARY_HASH, "valueFrom": {"podTemplateHashValue": "Latest"}})
    if stable_service is not None:
        args.append({"name": ARG_STABLE_SERVICE, "value": stable_service})
        if hashes:
            args.append({"name": ARG_STABLE_HASH, "valueFrom": {"podTemplateHashValue": "Stable"}})
    return args
