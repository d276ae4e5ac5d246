"""The model-quality monitor as an Argo `CronWorkflow <model>-monitor`: `modelplane monitor run` on the
spec's schedule, with arguments derived from the spec's `monitoring` section.

Object-store credentials come from the optional Secret `modelplane-monitor-data` in the namespace
(for example AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); local paths need a volume the team adds.
"""

from __future__ import annotations

from hera.workflows import models as m

from modelplane import __version__
from modelplane.monitor.catalog import ACCURACY_DIRECTION, FAIRNESS_NEEDS_TARGET
from modelplane.render.base import Output, common_annotations, common_labels
from modelplane.resolve import Resolved

IMAGE = f"ghcr.io/modelplane/modelplane:{__version__}"
PUSHGATEWAY = "http://pushgateway.monitoring.svc:9091"
DATA_SECRET = "modelplane-monitor-data"


def monitor_arguments(resolved: Resolved) -> list[str]:
    """`modelplane monitor run` arguments for this (model, environment)."""
    mon = resolved.model.monitoring
    monitor = mon.monitor
    assert monitor is not None
    args = [
        "monitor",
        "run",
        "--model",
        resolved.model.metadata.name,
        "--environment",
        resolved.env.metadata.name,
        "--namespace",
        resolved.env.namespace,
        "--reference",
        monitor.data.reference,
        "--current",
        monitor.data.current,
    ]
    if monitor.data.feedback:
        args += ["--feedback", monitor.data.feedback]
    for feature in monitor.features:
        args += ["--feature", feature]
    args += ["--drift-metric", mon.drift.metric if mon.drift else "psi"]
    if mon.accuracy is not None and mon.accuracy.metric in ACCURACY_DIRECTION:
        args += ["--accuracy-metric", mon.accuracy.metric]
    if mon.fairness is not None and mon.fairness.metric in FAIRNESS_NEEDS_TARGET:
        args += ["--fairness-metric", mon.fairness.metric]
        for attribute in mon.fairness.attributes or resolved.model.data.protected_attributes:
            args += ["--protected-attribute", attribute]
    args += ["--target", monitor.target, "--prediction", monitor.prediction]
    return [*args, "--pushgateway", monitor.pushgateway or PUSHGATEWAY]


def render_monitor_job(resolved: Resolved) -> list[Output]:
    monitor = resolved.model.monitoring.monitor
    if monitor is None:
        return []
    name = f"{resolved.model.metadata.name}-monitor"
    labels = common_labels(resolved)
    container = m.Container(
        image=monitor.image or IMAGE,
        command=["modelplane"],
        args=monitor_arguments(resolved),
        env=[m.EnvVar(name="DO_NOT_TRACK", value="1")],
        env_from=[m.EnvFromSource(secret_ref=m.SecretEnvSource(name=DATA_SECRET, optional=True))],
        resources=m.ResourceRequirements(
            requests={"cpu": m.Quantity("250m"), "memory": m.Quantity("512Mi")},
            limits={"memory": m.Quantity("2Gi")},
        ),
    )
    cron = m.CronWorkflow(
        api_version="argoproj.io/v1alpha1",
        kind="CronWorkflow",
        metadata=m.ObjectMeta(
            name=name, namespace=resolved.env.namespace, labels=labels, annotations=common_annotations(resolved)
        ),
        spec=m.CronWorkflowSpec(
            schedules=[monitor.schedule],
            timezone="UTC",
            concurrency_policy="Forbid",
            starting_deadline_seconds=600,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            workflow_metadata=m.ObjectMeta(labels=labels),
            workflow_spec=m.WorkflowSpec(
                entrypoint="measure",
                service_account_name="modelplane-monitor",
                ttl_strategy=m.TTLStrategy(seconds_after_completion=24 * 3600),
                templates=[m.Template(name="measure", container=container)],
            ),
        ),
    )
    return [Output(
            "monitor.yaml", objects=[cron.model_dump(by_alias=True, exclude_none=True, mode="json")], synced=True
        )]
