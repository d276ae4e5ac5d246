"""The `Model` spec: one YAML file per model, `models/<name>/model.yaml`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from modelplane.monitor.catalog import ACCURACY_DIRECTION, FAIRNESS_NEEDS_TARGET
from modelplane.spec.delivery import Rollout, TrafficClass, check_against_model
from modelplane.spec.errors import spec_error
from modelplane.spec.types import (
    CpuQuantity,
    Cron,
    Duration,
    EnvVarName,
    Identifier,
    Image,
    MemoryQuantity,
    ModelName,
    Name,
    Ratio,
    SpecModel,
    Url,
)

API_VERSION = "modelplane.dev/v1"
DataClass = Literal["public", "internal", "confidential", "pii", "phi"]
DATA_URI = r"^\S+\.(csv|parquet|pq)$"  # the quality monitor's data sets
# Where KServe's storage initializer can load a model from.
STORAGE_URI = r"^(s3|gs|pvc|https|hf|oci)://[!-~]+$"
# The compiler sets these in every serving container, from the pin and modelplane.lock.
MODEL_URI_ENV = "MODEL_URI"
MODEL_SOURCE_URI_ENV = "MODEL_SOURCE_URI"
RESERVED_ENV = (MODEL_URI_ENV, MODEL_SOURCE_URI_ENV)


def _not_reserved(name: str) -> str:
    if name in RESERVED_ENV:
        raise ValueError(f"{name} is set by Modelplane from the registry pin and modelplane.lock; use another name")
    return name


ServingEnvName = Annotated[EnvVarName, AfterValidator(_not_reserved)]


class Metadata(SpecModel):
    name: ModelName
    team: Name
    owners: list[str] = Field(min_length=1, description="GitHub handles (@org/team) or e-mail addresses")
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class RegistryRef(SpecModel):
    """The MLflow registered model and the version pinned for serving."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: int = Field(ge=1)


class Encryption(SpecModel):
    at_rest: bool = False
    in_transit: bool = False
    kms_key: str | None = None


def _internal() -> list[DataClass]:
    return ["internal"]


class DataSpec(SpecModel):
    classification: list[DataClass] = Field(default_factory=_internal)
    owner: str | None = Field(default=None, description="who answers for the data (e-mail or handle)")
    encryption: Encryption = Field(default_factory=Encryption)
    protected_attributes: list[Identifier] = Field(default_factory=list)
    retention_days: int | None = Field(default=None, ge=1)


class ResourceList(SpecModel):
    cpu: CpuQuantity | None = None
    memory: MemoryQuantity | None = None
    gpu: int | None = Field(default=None, ge=0)


class Resources(SpecModel):
    requests: ResourceList = Field(default_factory=ResourceList)
    limits: ResourceList = Field(default_factory=ResourceList)


class Replicas(SpecModel):
    min: int = Field(default=1, ge=0)
    max: int = Field(default=1, ge=1)
    target_cpu_utilization: int = Field(default=70, ge=1, le=100, alias="targetCPUUtilization")

    @model_validator(mode="after")
    def _max_not_below_min(self) -> Replicas:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must not be below min ({self.min})")
        return self


class Probe(SpecModel):
    path: str = Field(default="/healthz", pattern=r"^/[!-~]*$", description="an HTTP path: '/' then printable ASCII")
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=10, ge=1)
    timeout_seconds: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)


class Probes(SpecModel):
    readiness: Probe = Field(default_factory=lambda: Probe(path="/readyz"))
    liveness: Probe = Field(default_factory=lambda: Probe(path="/livez"))
    startup: Probe | None = Field(
        default=None,
        description="for slow model loading: liveness and readiness wait until it succeeds once "
        "(periodSeconds x failureThreshold is the time allowed to start)",
    )

    @model_validator(mode="after")
    def _liveness_is_not_readiness(self) -> Probes:
        if self.liveness == self.readiness:
            raise ValueError(
                "liveness and readiness are the same probe: a pod that is only busy would be restarted"
                " instead of taken out of rotation; give liveness its own path (e.g. /livez)"
            )
        return self


class SecretEnv(SpecModel):
    """An environment variable read from a Kubernetes Secret (never a value in git)."""

    name: ServingEnvName
    secret_name: Name
    key: str = Field(min_length=1)


class KServe(SpecModel):
    model_format: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]*$", description="sklearn, xgboost, pytorch, tensorflow, onnx, mlflow, ..."
    )
    storage_uri: str | None = Field(
        default=None,
        pattern=STORAGE_URI,
        description="default: the registry's source for the pinned version (modelplane.lock); if set, it must equal it",
    )
    runtime: Name | None = None
    protocol_version: Literal["v1", "v2"] = "v1"
    canary_step: int = Field(
        default=1,
        ge=1,
        description="which step of serving.rollout.steps the InferenceService is at: KServe takes one "
        "canaryTrafficPercent at a time, so each step is its own promotion (a one-line change)",
    )


class Serving(SpecModel):
    backend: Literal["kubernetes", "kserve"] = "kubernetes"
    image: Image | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    replicas: Replicas = Field(default_factory=Replicas)
    resources: Resources = Field(default_factory=Resources)
    probes: Probes = Field(default_factory=Probes)
    rollout: Rollout = Field(default_factory=Rollout)
    traffic_class: TrafficClass = Field(
        default="standard",
        description="how much traffic and risk the endpoint carries; an environment names the class "
        "from which a progressive strategy with analysis is required",
    )
    env: dict[ServingEnvName, str] = Field(default_factory=dict)
    secret_env: list[SecretEnv] = Field(default_factory=list)
    kserve: KServe | None = None

    @model_validator(mode="after")
    def _backend_needs(self) -> Serving:
        if self.backend == "kubernetes" and self.image is None:
            raise ValueError("the kubernetes backend needs an image")
        if self.backend == "kserve" and self.kserve is None:
            raise ValueError("the kserve backend needs a kserve section (modelFormat)")
        steps = len(self.rollout.steps)
        kserve_canary = self.backend == "kserve" and self.rollout.strategy == "canary"
        if kserve_canary and self.kserve is not None and self.kserve.canary_step > steps:
            raise spec_error(
                f"canary step {self.kserve.canary_step} of a {steps}-step schedule",
                ("kserve", "canaryStep"),
                f"serving.rollout.steps has {steps} step(s); count from 1",
            )
        return self


class Step(SpecModel):
    command: list[str] = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    image: Image | None = Field(default=None, description="defaults to training.image")


class TrainingSteps(SpecModel):
    snapshot: Step
    train: Step
    evaluate: Step


class Acceptance(SpecModel):
    metric: Identifier
    min: float


class Training(SpecModel):
    schedule: Cron
    timezone: str = "UTC"
    image: Image
    steps: TrainingSteps
    acceptance: Acceptance
    retrain_on_drift: bool = True
    spot: bool = Field(default=False, description="run on spot/preemptible nodes")
    resources: Resources = Field(default_factory=Resources)


class Drift(SpecModel):
    metric: Literal["psi", "kl", "js", "wasserstein", "ks"] = "psi"
    threshold: float = Field(gt=0)


class AccuracyBound(SpecModel):
    """`min` for a higher-is-better metric (accuracy, auc), `max` for a lower-is-better one (mae, rmse)."""

    metric: Identifier = "accuracy"
    min: Ratio | None = None
    max: float | None = Field(default=None, gt=0, description="the highest tolerable error (mae, rmse, mape, wape)")

    @model_validator(mode="after")
    def _one_bound_in_the_metric_direction(self) -> AccuracyBound:
        if (self.min is None) == (self.max is None):
            raise ValueError("an accuracy bound needs exactly one of min (higher is better) or max (lower is better)")
        direction = ACCURACY_DIRECTION.get(self.metric)
        # Reported at the metric: its name decides the direction the bound must take.
        if direction == "lower" and self.min is not None:
            raise spec_error(
                f"lower {self.metric} is better: bound it with max, not min",
                ("metric",),
            )
        if direction == "higher" and self.max is not None:
            raise spec_error(
                f"higher {self.metric} is better: bound it with min, not max",
                ("metric",),
            )
        return self


class Fairness(SpecModel):
    metric: Identifier = Field(description="disparate_impact, equal_opportunity_difference, ...")
    min: float | None = None
    max: float | None = None
    attributes: list[Identifier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_bound(self) -> Fairness:
        if self.min is None and self.max is None:
            raise ValueError("a fairness bound needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be above max ({self.max})")
        return self


class AlertRoutes(SpecModel):
    slack: str | None = Field(default=None, pattern=r"^#[a-z0-9_-]+$")
    pagerduty: str | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _some_route(self) -> AlertRoutes:
        if not (self.slack or self.pagerduty or self.email):
            raise ValueError("name at least one alert route (slack, pagerduty or email)")
        return self


class MonitorData(SpecModel):
    """Where the quality monitor reads its data sets: CSV or Parquet, a local path or an fsspec URI."""

    reference: str = Field(pattern=DATA_URI, description="the data the model was trained or validated on")
    current: str = Field(pattern=DATA_URI, description="recent production inputs, the reference's columns")
    feedback: str | None = Field(
        default=None, pattern=DATA_URI, description="labelled feedback: target, prediction, protected attributes"
    )


class QualityMonitor(SpecModel):
    """The scheduled model-quality monitor: `modelplane monitor run` in an Argo CronWorkflow."""

    schedule: Cron = "0 * * * *"
    data: MonitorData
    features: list[str] = Field(default_factory=list, description="default: every reference column but the rest")
    target: str = Field(default="label", min_length=1, description="the label column of the feedback data set")
    prediction: str = Field(default="prediction", min_length=1)
    image: Image | None = Field(default=None, description="default: the modelplane image of this compiler version")
    pushgateway: Url | None = Field(default=None, description="default: the Pushgateway in namespace monitoring")
    stale_after: Duration | None = Field(
        default=None, description="alert when no report is newer than this (default: twice the schedule's gap)"
    )


class Monitoring(SpecModel):
    latency_p99_ms: int = Field(ge=1)
    error_rate: float = Field(gt=0, lt=1, description="the highest tolerable share of failed requests")
    availability_target: float = Field(
        default=0.99,
        ge=0.95,
        lt=1,
        description="SLO for the burn-rate alerts (below 0.95 the fast-burn page could never fire)",
    )
    drift: Drift | None = None
    accuracy: AccuracyBound | None = None
    fairness: Fairness | None = None
    alert_routes: AlertRoutes
    runbook_url: Url | None = None
    monitor: QualityMonitor | None = None

    @model_validator(mode="after")
    def _monitor_knows_metrics(self) -> Monitoring:
        if self.monitor is None:
            return self
        if self.accuracy is not None and self.accuracy.metric not in ACCURACY_DIRECTION:
            known = ", ".join(sorted(ACCURACY_DIRECTION))
            raise spec_error(
                f"the monitor cannot measure accuracy metric '{self.accuracy.metric}'",
                ("accuracy", "metric"),
                f"known: {known}",
            )
        if self.fairness is not None and self.fairness.metric not in FAIRNESS_NEEDS_TARGET:
            known = ", ".join(sorted(FAIRNESS_NEEDS_TARGET))
            raise spec_error(
                f"the monitor cannot measure fairness metric '{self.fairness.metric}'",
                ("fairness", "metric"),
                f"known: {known}",
            )
        return self


class ModelCard(SpecModel):
    """Optional fields; policies decide which ones each environment requires."""

    summary: str | None = None
    intended_use: str | None = None
    out_of_scope_use: str | None = None
    limitations: str | None = None
    ethical_considerations: str | None = None
    training_data: str | None = None
    evaluation_data: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    caveats: str | None = None
    rollback_plan: str | None = None


OVERRIDABLE = ("registry", "data", "serving", "training", "monitoring", "card")


class Model(SpecModel):
    api_version: Literal["modelplane.dev/v1"]
    kind: Literal["Model"]
    metadata: Metadata
    registry: RegistryRef
    data: DataSpec = Field(default_factory=DataSpec)
    serving: Serving
    training: Training | None = None
    monitoring: Monitoring
    card: ModelCard = Field(default_factory=ModelCard)
    environments: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-environment overrides: environment name -> partial spec "
        "(registry, data, serving, training, monitoring, card) merged over the rest",
    )

    @model_validator(mode="after")
    def _delivery_fits_the_model(self) -> Model:
        problem = check_against_model(self)
        if problem is not None:
            raise problem
        return self
