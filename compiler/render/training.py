"""Continuous training as Argo Workflows objects, built with hera's Argo models.

- `WorkflowTemplate <model>-retrain`: the DAG snapshot -> train -> evaluate -> register, where
  `register` runs only when the evaluated metric meets the spec's acceptance minimum (the gate).
  A drift alert submits it with `reason=drift` (Argo Events or an Alertmanager webhook).
- `CronWorkflow <model>-train`: runs that template on the spec's schedule.

Spot training: pods get `nodeSelector modelplane.dev/capacity: spot`, a matching toleration,
and retries, because spot nodes are taken away without notice.

Every step is hardened and bounded: a non-root, read-only container with no capabilities and the
runtime's seccomp profile (`/tmp` is an emptyDir, where the steps write their outputs), requests
and limits on every step, and `activeDeadlineSeconds` no longer than the gap between two scheduled
runs, so that with `concurrencyPolicy: Forbid` a hung run cannot block the next ones. `register`
runs in the training image (already pinned by digest in prod, policy MP-IMG-001), which has the
MLflow client the other steps use. Each model's training runs as its own ServiceAccount
`<model>-training`, rendered here with the Role Argo's executor needs.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from croniter import croniter
from hera.workflows import models as m

from modelplane.render.base import Output, common_annotations, common_labels
from modelplane.render.serving import kubernetes_resources
from modelplane.resolve import Resolved
from modelplane.spec.model import Step, Training

MLFLOW_CONFIG = "modelplane-mlflow"  # ConfigMap with MLFLOW_TRACKING_URI, one per namespace
SPOT_LABEL = "modelplane.dev/capacity"
METRIC_FILE = "/tmp/metric"
RUN_AS = 65532  # an unprivileged uid/gid, the "nonroot" user of distroless images
MAX_DEADLINE_SECONDS = 24 * 3600
# Used when the spec sets no training resources; a request without a limit gets the request as limit.
DEFAULT_REQUESTS = {"cpu": "1", "memory": "2Gi"}
# `register` only calls the MLflow API.
REGISTER_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
_CRON_BASE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a fixed start: the same schedule, the same deadline


def _env(resolved: Resolved) -> list[m.EnvVar]:
    model = resolved.model
    return [
        m.EnvVar(
            name="MLFLOW_TRACKING_URI",
            value_from=m.EnvVarSource(
                config_map_key_ref=m.ConfigMapKeySelector(name=MLFLOW_CONFIG, key="MLFLOW_TRACKING_URI")
            ),
        ),
        m.EnvVar(name="MODEL_NAME", value=model.metadata.name),
        m.EnvVar(name="REGISTRY_MODEL", value=model.registry.name),
        m.EnvVar(name="MODELPLANE_ENVIRONMENT", value=resolved.env.metadata.name),
        m.EnvVar(name="RETRAIN_REASON", value="{{workflow.parameters.reason}}"),
    ]


def service_account(resolved: Resolved) -> str:
    return f"{resolved.model.metadata.name}-training"


def _quantities(values: dict[str, Any]) -> dict[str, m.Quantity]:
    return {k: m.Quantity(str(v)) for k, v in sorted(values.items())}


def step_resources(training: Training) -> dict[str, dict[str, Any]]:
    """Requests and limits for a training step: the spec's, a default when it sets none, and a
    limit for everything requested (the request itself when the spec gives no limit)."""
    shaped = kubernetes_resources(training.resources)
    requests = shaped.get("requests") or ({} if shaped.get("limits") else dict(DEFAULT_REQUESTS))
    limits = {**requests, **shaped.get("limits", {})}
    return {"requests": requests, "limits": limits}


def _requirements(shaped: dict[str, dict[str, Any]]) -> m.ResourceRequirements:
    return m.ResourceRequirements(
        requests=_quantities(shaped["requests"]) or None, limits=_quantities(shaped["limits"]) or None
    )


@functools.cache  # croniter walks the calendar; compile asks for the same few schedules thousands of times
def deadline_seconds(schedule: str) -> int:
    """The shortest gap between two runs of the schedule, at most a day: the longest a run may take
    before Argo stops it, so that a hung run never holds back the next scheduled one."""
    times = croniter(schedule, _CRON_BASE)
    fires = [times.get_next(dt.datetime) for _ in range(32)]
    gap = min(int((b - a).total_seconds()) for a, b in zip(fires, fires[1:], strict=False))
    return min(gap, MAX_DEADLINE_SECONDS)


def _container_security() -> m.SecurityContext:
    return m.SecurityContext(
        allow_privilege_escalation=False,
        capabilities=m.Capabilities(drop=["ALL"]),
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=RUN_AS,
        run_as_group=RUN_AS,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def _pod_security() -> m.PodSecurityContext:
    return m.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=RUN_AS,
        run_as_group=RUN_AS,
        fs_group=RUN_AS,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


_TMP = m.VolumeMount(name="tmp", mount_path="/tmp")  # the steps' outputs; the root filesystem is read-only


def _step_template(name: str, step: Step, resolved: Resolved, outputs: m.Outputs | None = None) -> m.Template:
    training = resolved.model.training
    assert training is not None
    return m.Template(
        name=name,
        container=m.Container(
            image=step.image or training.image,
            command=list(step.command),
            args=list(step.args) or None,
            env=_env(resolved),
            resources=_requirements(step_resources(training)),
            security_context=_container_security(),
            volume_mounts=[_TMP],
        ),
        outputs=outputs,
    )


def _register_template(resolved: Resolved) -> m.Template:
    model, training = resolved.model, resolved.model.training
    assert training is not None
    script = (
        "import os, mlflow\n"
        "client = mlflow.tracking.MlflowClient()\n"
        "version = mlflow.register_model(f\"runs:/{os.environ['RUN_ID']}/model\", os.environ['REGISTRY_MODEL'])\n"
        "tag = lambda key, value: client.set_model_version_tag(version.name, version.version, key, value)\n"
        "tag('modelplane.dev/metric', os.environ['METRIC'])\n"
        "tag('modelplane.dev/reason', os.environ['RETRAIN_REASON'])\n"
    )
    return m.Template(
        name="register",
        inputs=m.Inputs(parameters=[m.Parameter(name="run-id"), m.Parameter(name="metric")]),
        container=m.Container(
            image=training.image,
            command=["python", "-c", script],
            env=[
                *_env(resolved),
                m.EnvVar(name="RUN_ID", value="{{inputs.parameters.run-id}}"),
                m.EnvVar(name="METRIC", value="{{inputs.parameters.metric}}"),
            ],
            resources=_requirements(REGISTER_RESOURCES),
            security_context=_container_security(),
            volume_mounts=[_TMP],
        ),
        metadata=m.Metadata(labels={"modelplane.dev/registry-model": model.registry.name}),
    )


def _dag(training: Training) -> m.Template:
    gate = f"{{{{tasks.evaluate.outputs.parameters.metric}}}} >= {training.acceptance.min}"
    return m.Template(
        name="pipeline",
        dag=m.DAGTemplate(
            tasks=[
                m.DAGTask(name="snapshot", template="snapshot"),
                m.DAGTask(name="train", template="train", depends="snapshot"),
                m.DAGTask(name="evaluate", template="evaluate", depends="train"),
                m.DAGTask(
                    name="register",
                    template="register",
                    depends="evaluate",
                    when=gate,
                    arguments=m.Arguments(
                        parameters=[
                            m.Parameter(name="run-id", value="{{tasks.evaluate.outputs.parameters.run-id}}"),
                            m.Parameter(name="metric", value="{{tasks.evaluate.outputs.parameters.metric}}"),
                        ]
                    ),
                ),
            ]
        ),
    )


def _workflow_spec(resolved: Resolved) -> m.WorkflowSpec:
    training = resolved.model.training
    assert training is not None
    evaluate_outputs = m.Outputs(
        parameters=[
            m.Parameter(
                name="metric",
                value_from=m.ValueFrom(path=METRIC_FILE),
                description=f"the evaluated {training.acceptance.metric}",
            ),
            m.Parameter(name="run-id", value_from=m.ValueFrom(path="/tmp/run-id")),
        ]
    )
    spot: dict[str, Any] = {}
    if training.spot:
        spot = {
            "node_selector": {SPOT_LABEL: "spot"},
            "tolerations": [m.Toleration(key=SPOT_LABEL, operator="Equal", value="spot", effect="NoSchedule")],
            "retry_strategy": m.RetryStrategy(limit=m.IntOrString(3), retry_policy="OnError"),
        }
    return m.WorkflowSpec(
        entrypoint="pipeline",
        service_account_name=service_account(resolved),
        active_deadline_seconds=deadline_seconds(training.schedule),
        security_context=_pod_security(),
        volumes=[m.Volume(name="tmp", empty_dir=m.EmptyDirVolumeSource())],
        arguments=m.Arguments(
            parameters=[
                m.Parameter(name="reason", value="schedule", description="schedule, drift or manual"),
                m.Parameter(name="drift-score", value="0"),
            ]
        ),
        templates=[
            _dag(training),
            _step_template("snapshot", training.steps.snapshot, resolved),
            _step_template("train", training.steps.train, resolved),
            _step_template("evaluate", training.steps.evaluate, resolved, evaluate_outputs),
            _register_template(resolved),
        ],
        ttl_strategy=m.TTLStrategy(seconds_after_completion=7 * 24 * 3600),
        **spot,
    )


def _metadata(resolved: Resolved, name: str) -> m.ObjectMeta:
    training = resolved.model.training
    assert training is not None
    annotations = {
        **common_annotations(resolved),
        "modelplane.dev/acceptance": f"{training.acceptance.metric} >= {training.acceptance.min}",
    }
    return m.ObjectMeta(
        name=name, namespace=resolved.env.namespace, labels=common_labels(resolved), annotations=annotations
    )


def _dump(obj: Any) -> dict[str, Any]:
    return dict(obj.model_dump(by_alias=True, exclude_none=True, mode="json"))


def render_training(resolved: Resolved) -> Output | None:
    training = resolved.model.training
    if training is None:
        return None
    name = resolved.model.metadata.name
    template = m.WorkflowTemplate(
        api_version="argoproj.io/v1alpha1",
        kind="WorkflowTemplate",
        metadata=_metadata(resolved, f"{name}-retrain"),
        spec=_workflow_spec(resolved),
    )
    cron = m.CronWorkflow(
        api_version="argoproj.io/v1alpha1",
        kind="CronWorkflow",
        metadata=_metadata(resolved, f"{name}-train"),
        spec=m.CronWorkflowSpec(
            schedules=[training.schedule],
            timezone=training.timezone,
            concurrency_policy="Forbid",
            starting_deadline_seconds=3600,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            workflow_metadata=m.ObjectMeta(labels=common_labels(resolved)),
            workflow_spec=m.WorkflowSpec(
                workflow_template_ref=m.WorkflowTemplateRef(name=f"{name}-retrain"),
                active_deadline_seconds=deadline_seconds(training.schedule),
            ),
        ),
    )
    return Output(
        "training.yaml", objects=[_dump(cron), _dump(template), *identity_objects(resolved)], synced=True
    )


def identity_objects(resolved: Resolved) -> list[dict[str, Any]]:
    """The ServiceAccount the training pods run as, and the Role Argo's executor needs to report
    step outputs (WorkflowTaskResults); nothing else, so a step gets no API access by default."""
    name, namespace = service_account(resolved), resolved.env.namespace
    def metadata() -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": common_labels(resolved)}

    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata()}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(),
        "rules": [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    return [account, role, binding]
