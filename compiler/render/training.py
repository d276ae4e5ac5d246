"""Continuous training as Argo Workflows objects, built with hera's Argo models.

- `WorkflowTemplate <model>-retrain`: the DAG snapshot -> train -> evaluate -> register, where
  `register` runs only when the evaluated metric meets the spec's acceptance minimum (the gate).
  A drift alert submits it with `reason=drift` (Argo Events or an Alertmanager webhook).
- `CronWorkflow <model>-train`: runs that template on the spec's schedule.

Spot training: pods get `nodeSelector modelplane.dev/capacity: spot`, a matching toleration,
and retries, because spot nodes are taken away without notice.
"""

from __future__ import annotations

from typing import Any

from hera.workflows import models as m

from modelplane.render.base import Output, common_annotations, common_labels
from modelplane.render.serving import kubernetes_resources
from modelplane.resolve import Resolved
from modelplane.spec.model import Step, Training

MLFLOW_CONFIG = "modelplane-mlflow"  # ConfigMap with MLFLOW_TRACKING_URI, one per namespace
REGISTER_IMAGE = "ghcr.io/mlflow/mlflow:v3.17.2"
SPOT_LABEL = "modelplane.dev/capacity"
METRIC_FILE = "/tmp/metric"


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


def _resources(training: Training) -> m.ResourceRequirements | None:
    shaped = kubernetes_resources(training.resources)
    if not shaped:
        return None
    return m.ResourceRequirements(
        requests={k: m.Quantity(str(v)) for k, v in shaped.get("requests", {}).items()} or None,
        limits={k: m.Quantity(str(v)) for k, v in shaped.get("limits", {}).items()} or None,
    )


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
            resources=_resources(training),
        ),
        outputs=outputs,
    )


def _register_template(resolved: Resolved) -> m.Template:
    model = resolved.model
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
            image=REGISTER_IMAGE,
            command=["python", "-c", script],
            env=[
                *_env(resolved),
                m.EnvVar(name="RUN_ID", value="{{inputs.parameters.run-id}}"),
                m.EnvVar(name="METRIC", value="{{inputs.parameters.metric}}"),
            ],
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
        service_account_name="modelplane-training",
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
            workflow_spec=m.WorkflowSpec(workflow_template_ref=m.WorkflowTemplateRef(name=f"{name}-retrain")),
        ),
    )
    return Output("training.yaml", objects=[_dump(cron), _dump(template)])
