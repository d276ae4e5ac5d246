"""`serving.rollout`: how a new version reaches traffic (canary, blue/green, shadow, A/B, rolling).

A mistake here is reported at the key to change, with a hint (`spec_error`), not at the section.
Checks that need the rest of the model (the registry version, the monitor's metrics) are in
`check_against_model`, called by the `Model` validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from modelplane.monitor.catalog import ACCURACY_DIRECTION
from modelplane.spec.errors import spec_error
from modelplane.spec.types import Duration, Gateway, HeaderName, HeaderValue, Host, Identifier, Ratio, SpecModel

if TYPE_CHECKING:
    from modelplane.spec.model import Model

Strategy = Literal["canary", "blueGreen", "shadow", "abTest", "rolling"]
TrafficClass = Literal["low", "standard", "high", "critical"]
# Strategies whose traffic Istio shapes: exact canary weights, the shadow's mirror, the A/B split.
ROUTED = ("canary", "shadow", "abTest")
ROLLOUT_STRATEGIES = ("canary", "blueGreen", "shadow")  # rendered as an Argo Rollout
KSERVE_STRATEGIES = ("canary", "rolling")


class CanaryStep(SpecModel):
    weight: int = Field(
        ge=1, json_schema_extra={"maximum": 100}, description="share of requests (%) the new version gets in this step"
    )
    pause: Duration = "5m"


class AccuracyGate(SpecModel):
    metric: Identifier | None = Field(default=None, description="default: monitoring.accuracy.metric")
    tolerance: float = Field(ge=0, description="largest tolerated worsening against the stable version")
    higher_is_better: bool | None = Field(
        default=None, description="needed only for a metric the monitor does not know"
    )


class ErrorRateGate(SpecModel):
    tolerance: Ratio = Field(description="largest tolerated rise of the share of failed requests")


class FairnessGate(SpecModel):
    metric: Identifier | None = Field(default=None, description="default: monitoring.fairness.metric")
    attributes: list[Identifier] | None = Field(default=None, description="default: monitoring.fairness.attributes")
    tolerance: float = Field(ge=0, description="largest tolerated move away from parity, per attribute")


class QualityGates(SpecModel):
    """The new version's quality against the stable version's, on the metric names the monitor
    publishes; a regression beyond a tolerance aborts the rollout."""

    accuracy: AccuracyGate | None = None
    error_rate: ErrorRateGate | None = None
    fairness: FairnessGate | None = None


class Analysis(SpecModel):
    """Prometheus checks run while the new version takes traffic; a failing check aborts and rolls back."""

    max_error_rate: Ratio = 0.05
    max_latency_p99_ms: int | None = Field(default=None, ge=1)
    interval: Duration = "1m"
    count: int = Field(default=5, ge=1)
    failure_limit: int = Field(default=1, ge=0)
    quality_gates: QualityGates | None = None


class TesterHeader(SpecModel):
    """Requests carrying this header reach the new version whatever the weights (internal testers)."""

    name: HeaderName
    value: HeaderValue = "true"


class TrafficRouting(SpecModel):
    provider: Literal["istio"] = "istio"
    host: Host | None = Field(default=None, description="the host clients call (VirtualService hosts)")
    gateway: Gateway | None = Field(default=None, description="Istio gateway for traffic from outside the mesh")
    tester_header: TesterHeader | None = None


class Shadow(SpecModel):
    mirror_percent: int = Field(ge=0, le=100, description="share of live requests copied to the new version")
    duration: Duration = Field(description="how long the new version receives the mirrored traffic")


class BlueGreen(SpecModel):
    preview_port: int | None = Field(default=None, ge=1, le=65535, description="port of the <model>-preview Service")
    auto_promotion: bool = Field(default=True, description="switch over without a human once the preview is ready")
    auto_promotion_after: Duration | None = Field(default=None, description="wait this long before switching")
    scale_down_delay: Duration = Field(default="30s", description="keep the old version this long for rollback")
    preview_replicas: int | None = Field(default=None, ge=1)


class ExperimentMetric(SpecModel):
    name: Identifier = Field(description="a Prometheus metric the serving pods export, e.g. a conversion ratio")
    higher_is_better: bool = True
    tolerance: float = Field(default=0.0, ge=0, description="how much worse B may be than A")


class ABTest(SpecModel):
    """Variant A runs registry.version, variant B this version, side by side with a fixed split."""

    version: int | None = Field(
        default=None, ge=1, le=999_999_999, description="variant B: a second version of the registered model"
    )
    split: int | None = Field(default=None, ge=0, le=100, description="share of requests (%) variant B gets")
    duration: Duration | None = Field(default=None, description="how long the experiment measures")
    metric: ExperimentMetric | None = None
    interval: Duration = "10m"
    failure_limit: int = Field(default=2, ge=0)


class Rollout(SpecModel):
    strategy: Strategy = "rolling"
    steps: list[CanaryStep] = Field(default_factory=list)
    analysis: Analysis | None = None
    traffic_routing: TrafficRouting | None = Field(default=None, description="used by canary, shadow and abTest")
    shadow: Shadow | None = Field(default=None, description="strategy shadow, or a shadow phase before a canary")
    blue_green: BlueGreen | None = None
    ab_test: ABTest | None = None

    @model_validator(mode="after")
    def _strategy_has_what_it_needs(self) -> Rollout:
        for problem in (
            _steps_problem(self),
            _routing_problem(self),
            _shadow_problem(self),
            _ab_test_problem(self),
        ):
            if problem is not None:
                raise problem
        return self


def _steps_problem(r: Rollout) -> PydanticCustomError | None:
    if r.strategy == "canary" and not r.steps:
        return spec_error("a canary rollout needs at least one step", ("steps",), "for example steps: [{weight: 5}]")
    for i, step in enumerate(r.steps):
        if step.weight > 100:
            return spec_error(
                f"a step cannot send {step.weight} % of the traffic", ("steps", i, "weight"), "weights are 1 to 100"
            )
    for i in range(1, len(r.steps)):
        if r.steps[i].weight <= r.steps[i - 1].weight:
            return spec_error(
                f"canary step weights must rise strictly, got {[s.weight for s in r.steps]}",
                ("steps", i, "weight"),
                f"step {i} must send more than the {r.steps[i - 1].weight} % of step {i - 1}",
            )
    return None


def _routing_problem(r: Rollout) -> PydanticCustomError | None:
    needs = {"shadow": "mirror", "abTest": "split"}.get(r.strategy)
    if needs and r.traffic_routing is None:
        return spec_error(
            f"a {r.strategy} needs Istio traffic routing for its {needs}",
            ("strategy",),
            "add trafficRouting: {provider: istio, host: <host clients call>}",
        )
    if r.shadow is not None and r.strategy == "canary" and r.traffic_routing is None:
        return spec_error(
            "a shadow phase needs Istio traffic routing for its mirror",
            ("shadow",),
            "add trafficRouting: {provider: istio, host: <host clients call>}",
        )
    return None


def _shadow_problem(r: Rollout) -> PydanticCustomError | None:
    if r.strategy == "shadow" and r.shadow is None:
        return spec_error(
            "a shadow rollout needs a shadow section", ("strategy",), "add shadow: {mirrorPercent: 10, duration: 1h}"
        )
    if r.strategy in ("shadow", "canary") and r.shadow is not None and r.shadow.mirror_percent == 0:
        return spec_error(
            "a shadow with 0 % mirrored traffic never sees a request",
            ("shadow", "mirrorPercent"),
            "mirror between 1 and 100 % of live requests",
        )
    return None


def _ab_test_problem(r: Rollout) -> PydanticCustomError | None:
    if r.strategy != "abTest":
        return None
    ab = r.ab_test
    if ab is None:
        return spec_error(
            "an A/B test needs an abTest section",
            ("strategy",),
            "add abTest: {version: <second registry version>, split: 20, duration: 168h, metric: {name: …}}",
        )
    missing = [
        (key, hint)
        for key, value, hint in (
            ("version", ab.version, "the registry version variant B serves (variant A serves registry.version)"),
            ("duration", ab.duration, "how long the experiment measures, e.g. 168h"),
            ("split", ab.split, "the share of requests variant B gets, e.g. 20"),
            ("metric", ab.metric, "the experiment's metric, e.g. {name: offer_acceptance_ratio}"),
        )
        if value is None
    ]
    if missing:
        key, hint = missing[0]
        return spec_error(f"an A/B test without a {'second version' if key == 'version' else key}", ("abTest",), hint)
    if ab.split in (0, 100):
        return spec_error(
            f"a {ab.split} % split is not an A/B test", ("abTest", "split"), "give variant B between 1 and 99 %"
        )
    return None


def second_version(model: Model) -> int | None:
    """The registry version an A/B test's variant B serves, beside registry.version (variant A)."""
    rollout = model.serving.rollout
    ab = rollout.ab_test
    if model.serving.backend != "kubernetes" or rollout.strategy != "abTest" or ab is None:
        return None
    return ab.version


def served_versions(model: Model) -> list[int]:
    """Every registry version the model serves: registry.version, and an A/B test's variant B."""
    second = second_version(model)
    return [model.registry.version] if second is None else [model.registry.version, second]


def accuracy_direction(model: Model, gate: AccuracyGate) -> tuple[str, bool] | None:
    """(metric, higher is better) for an accuracy gate, or None when it cannot be told."""
    mon = model.monitoring.accuracy
    metric = gate.metric or (mon.metric if mon is not None else None)
    if metric is None:
        return None
    if gate.higher_is_better is not None:
        return metric, gate.higher_is_better
    if metric in ACCURACY_DIRECTION:
        return metric, ACCURACY_DIRECTION[metric] == "higher"
    if mon is not None and mon.metric == metric:
        return metric, mon.min is not None
    return None


def fairness_target(model: Model, gate: FairnessGate) -> tuple[str, list[str]] | None:
    """(metric, attributes) a fairness gate compares, or None without a metric."""
    mon = model.monitoring.fairness
    metric = gate.metric or (mon.metric if mon is not None else None)
    if metric is None:
        return None
    attributes = gate.attributes if gate.attributes is not None else (list(mon.attributes) if mon else [])
    return metric, attributes


def parity(metric: str) -> float:
    """The fair value of a fairness metric: 0 for a difference, 1 for a ratio (disparate impact)."""
    return 0.0 if metric.endswith("_difference") else 1.0


def check_against_model(model: Model) -> PydanticCustomError | None:
    """What `serving.rollout` cannot know alone: the backend, the registry version, the monitor's metrics."""
    serving, rollout = model.serving, model.serving.rollout
    base = ("serving", "rollout")
    if serving.backend == "kserve" and rollout.strategy not in KSERVE_STRATEGIES:
        return spec_error(
            f"the kserve backend cannot run a {rollout.strategy} rollout",
            (*base, "strategy"),
            "KServe runs canary or rolling; use backend: kubernetes for blueGreen, shadow or abTest",
        )
    bg = rollout.blue_green
    if serving.backend == "kubernetes" and rollout.strategy == "blueGreen" and (bg is None or bg.preview_port is None):
        return spec_error(
            "a blue/green rollout needs a preview service port",
            (*base, "strategy"),
            f"set serving.rollout.blueGreen.previewPort for {model.metadata.name} (e.g. 80): "
            "the new version answers on <model>-preview before the switch",
        )
    routing = rollout.traffic_routing
    if serving.backend == "kubernetes" and rollout.strategy in ROUTED and routing is not None and routing.host is None:
        name = model.metadata.name
        return spec_error(
            f"Istio routing without a host ({name} runs a {rollout.strategy} through Istio)",
            (*base, "trafficRouting"),
            f"set serving.rollout.trafficRouting.host for {name}: the name clients call, e.g. {name}.models.example",
        )
    ab = rollout.ab_test
    if rollout.strategy == "abTest" and ab is not None and ab.version == model.registry.version:
        return spec_error(
            f"variant B's version {ab.version} is the version variant A serves",
            (*base, "abTest", "version"),
            "compare two registry versions: pin the challenger here and the champion in registry.version",
        )
    gates = rollout.analysis.quality_gates if rollout.analysis is not None else None
    if gates is None:
        return None
    at = (*base, "analysis", "qualityGates")
    if gates.accuracy is not None and accuracy_direction(model, gates.accuracy) is None:
        known = gates.accuracy.metric or (model.monitoring.accuracy.metric if model.monitoring.accuracy else None)
        return spec_error(
            "the accuracy gate has no metric it can compare" if known is None else f"which way is better for {known}?",
            (*at, "accuracy"),
            "set monitoring.accuracy or the gate's metric" if known is None else "set higherIsBetter: true or false",
        )
    if gates.fairness is not None and fairness_target(model, gates.fairness) is None:
        return spec_error(
            "the fairness gate has no metric it can compare",
            (*at, "fairness"),
            "set monitoring.fairness or the gate's metric",
        )
    return None
