"""The `Environment` spec: one YAML file per environment, `environments/<name>.yaml`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from modelplane.spec.delivery import TrafficClass
from modelplane.spec.model import DataClass
from modelplane.spec.types import CpuQuantity, MemoryQuantity, Name, Ratio, SpecModel, Url

# Kubernetes minor versions whose schemas kubernetes-validate bundles.
SUPPORTED_KUBERNETES = tuple(f"1.{minor}" for minor in range(25, 38))
# An owner GitHub's CODEOWNERS accepts: @user, @org/team or an e-mail address.
OWNER = r"^(@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?|[^@\s]+@[^@\s]+\.[^@\s]+)$"


class EnvMetadata(SpecModel):
    name: Name
    description: str = ""


class Cluster(SpecModel):
    name: Name
    server: Url


class Destination(SpecModel):
    server: Url = "https://kubernetes.default.svc"


class ArgoCD(SpecModel):
    project: Name
    repo_url: Url = Field(alias="repoURL", description="the git repository that holds rendered/")
    target_revision: str = "main"
    namespace: Name = Field(default="argocd", description="where the Application objects live")
    destination: Destination = Field(default_factory=Destination)
    automated: bool = True
    prune: bool = True
    self_heal: bool = True


class Budget(SpecModel):
    """The most one model may use at max replicas (requests × max replicas)."""

    cpu: CpuQuantity
    memory: MemoryQuantity


class Limits(SpecModel):
    min_acceptance: Ratio = 0.0
    budget: Budget | None = None
    allow_spot_training: bool = True
    max_waiver_days: int | None = Field(
        default=None, ge=1, description="longest a policy waiver may run from today (default 365 days)"
    )
    min_soak_hours: int = Field(
        default=0, ge=0, le=8760, description="hours a version must run upstream before it reaches this environment"
    )


class Delivery(SpecModel):
    """What the delivery policies (policies/rollout.rego) require in this environment."""

    require_analysis_from: TrafficClass | None = Field(
        default=None,
        description="in a prod-profile environment, models of this serving.trafficClass and above need a "
        "progressive strategy with analysis (default: every model)",
    )
    shadow_first: list[DataClass] = Field(
        default_factory=list,
        description="data classes whose canaries start with a shadow phase (serving.rollout.shadow)",
    )


class Environment(SpecModel):
    api_version: Literal["modelplane.dev/v1"]
    kind: Literal["Environment"]
    metadata: EnvMetadata
    kubernetes_version: str = Field(description=f"one of {', '.join(SUPPORTED_KUBERNETES)}")
    cluster: Cluster
    namespace: Name
    argocd: ArgoCD
    promotes_from: Name | None = None
    policy_profile: Literal["dev", "staging", "prod"]
    limits: Limits = Field(default_factory=Limits)
    prometheus_url: Url = "http://prometheus-operated.monitoring.svc:9090"
    owners: list[Annotated[str, Field(pattern=OWNER)]] = Field(
        default_factory=list,
        description="who must review what reaches this environment (CODEOWNERS of its file and rendered/<env>/):"
        " @user, @org/team or an e-mail address",
    )
    delivery: Delivery = Field(default_factory=Delivery)
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="partial model spec (serving, training, monitoring, ...) for every model here",
    )

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _known_version(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError(
                f"write the Kubernetes version in quotes, like '1.31': YAML reads an unquoted {value} as a number"
            )
        if value not in SUPPORTED_KUBERNETES:
            raise ValueError(
                f"Kubernetes version '{value}' is not supported; use one of {', '.join(SUPPORTED_KUBERNETES)}"
            )
        return value
