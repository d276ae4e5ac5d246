"""Retrain on drift with Argo Events: a webhook `EventSource <model>-drift` that Alertmanager posts
the drift alert to, and a `Sensor <model>-retrain` that submits a Workflow from the model's
`<model>-retrain` WorkflowTemplate with `reason=drift` (its gate and registration are unchanged).

The Sensor only acts on firing drift alerts of this model that carry `retrain="true"`, and at most
once an hour, so a flapping alert cannot start a retraining storm. Rendered only when
`training.retrainOnDrift` is set and the spec has a drift bound.
"""

from __future__ import annotations

from typing import Any

from modelplane.render.alerts import camel
from modelplane.render.base import Output, common_annotations, common_labels
from modelplane.resolve import Resolved

PORT = 12000
EVENT = "alertmanager"


def wants_retrain(resolved: Resolved) -> bool:
    model = resolved.model
    return model.monitoring.drift is not None and model.training is not None and model.training.retrain_on_drift


def eventsource_name(resolved: Resolved) -> str:
    return f"{resolved.model.metadata.name}-drift"


def webhook_url(resolved: Resolved) -> str:
    """Where Alertmanager posts: the Service Argo Events creates for the EventSource."""
    name = resolved.model.metadata.name
    return f"http://{eventsource_name(resolved)}-eventsource-svc.{resolved.env.namespace}.svc:{PORT}/{name}"


def _metadata(resolved: Resolved, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": resolved.env.namespace,
        "labels": common_labels(resolved),
        "annotations": common_annotations(resolved),
    }


def event_source(resolved: Resolved) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "EventSource",
        "metadata": _metadata(resolved, eventsource_name(resolved)),
        "spec": {
            "service": {"ports": [{"port": PORT, "targetPort": PORT}]},
            "webhook": {
                EVENT: {
                    "endpoint": f"/{resolved.model.metadata.name}",
                    "method": "POST",
                    "port": str(PORT),
                    "url": webhook_url(resolved),
                }
            },
        },
    }


def _string_filter(path: str, value: str) -> dict[str, Any]:
    return {"path": path, "type": "string", "value": [value]}


def sensor(resolved: Resolved) -> dict[str, Any]:
    name = resolved.model.metadata.name
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{name}-retrain-drift-",
            "namespace": resolved.env.namespace,
            "labels": {**common_labels(resolved), "modelplane.dev/reason": "drift"},
        },
        "spec": {
            "workflowTemplateRef": {"name": f"{name}-retrain"},
            "arguments": {"parameters": [{"name": "reason", "value": "drift"}]},
        },
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Sensor",
        "metadata": _metadata(resolved, f"{name}-retrain"),
        "spec": {
            "template": {"serviceAccountName": "modelplane-retrain-sensor"},
            "dependencies": [
                {
                    "name": "drift",
                    "eventSourceName": eventsource_name(resolved),
                    "eventName": EVENT,
                    "filters": {
                        "data": [
                            _string_filter("body.status", "firing"),
                            _string_filter("body.commonLabels.model", name),
                            _string_filter("body.commonLabels.alertname", f"{camel(name)}DataDrift"),
                            _string_filter("body.commonLabels.retrain", "true"),
                        ]
                    },
                }
            ],
            "triggers": [
                {
                    "template": {
                        "name": f"{name}-retrain",
                        "argoWorkflow": {"operation": "submit", "source": {"resource": workflow}},
                    },
                    "rateLimit": {"unit": "Hour", "requestsPerUnit": 1},
                    "retryStrategy": {"steps": 3},
                }
            ],
        },
    }


def render_retrain_events(resolved: Resolved) -> list[Output]:
    if not wants_retrain(resolved):
        return []
    return [Output("retrain-events.yaml", objects=[event_source(resolved), sensor(resolved)], synced=True)]
