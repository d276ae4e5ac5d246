"""Alert routing per (model, environment), rendered: a prometheus-operator `AlertmanagerConfig`
and the same routes as a plain `alertmanager.yml` (complete, so `amtool check-config` reads it
alone; merge its `route.routes` and `receivers` into a hand-run Alertmanager's config).

- severity `page` -> PagerDuty (else Slack, else e-mail);
- severity `ticket` -> Slack and e-mail (else PagerDuty);
- the drift alert, when it retrains (`retrain="true"`), also -> the model's Argo Events webhook.

Secrets stay out of git: the Slack webhook URL and the PagerDuty routing key are read from the
Secret `<model>-alerting` (keys `slack-webhook-url`, `pagerduty-routing-key`), which the
operator mounts at `/etc/alertmanager/secrets/<secret>/<key>` for the plain file's `*_file` keys.
"""

from __future__ import annotations

from typing import Any

from modelplane.render.alerts import camel
from modelplane.render.base import Output, common_annotations, common_labels, dump_document
from modelplane.render.retrain_events import wants_retrain, webhook_url
from modelplane.resolve import Resolved

SLACK_KEY = "slack-webhook-url"
PAGERDUTY_KEY = "pagerduty-routing-key"
SMARTHOST = "smtp.monitoring.svc:587"  # the cluster's mail relay; the real config's global section wins
SENDER = "alertmanager@modelplane.local"
TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
TITLE = (
    "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}: {{ .CommonLabels.model }}"
    " in {{ .CommonLabels.environment }}"
)
TEXT = (
    "{{ range .Alerts }}{{ .Annotations.summary }} (model {{ .Labels.model }}, environment {{ .Labels.environment }}"
    "{{ if .Labels.workflow_template }}, retrain template {{ .Labels.workflow_template }}{{ end }})\n"
    "{{ .Annotations.description }}\n{{ end }}"
)


def secret_name(resolved: Resolved) -> str:
    return f"{resolved.model.metadata.name}-alerting"


def receiver_kinds(resolved: Resolved) -> dict[str, list[str]]:
    """Receiver name -> the kinds of notifier it sends with."""
    routes, name = resolved.model.monitoring.alert_routes, resolved.model.metadata.name
    present = [kind for kind in ("pagerduty", "slack", "email") if getattr(routes, kind)]
    page = present[:1]  # pagerduty first, then slack, then email
    ticket: list[str] = [k for k in ("slack", "email") if k in present] or present[:1]
    out = {f"{name}-page": page, f"{name}-ticket": ticket}
    if wants_retrain(resolved):
        out[f"{name}-retrain"] = ["webhook"]
    return out


def _matchers(resolved: Resolved) -> list[tuple[str, str]]:
    return [("namespace", resolved.env.namespace), ("model", resolved.model.metadata.name)]


def _child_routes(resolved: Resolved) -> list[tuple[str, list[tuple[str, str]], bool]]:
    """(receiver, matchers, continue) in order."""
    name = resolved.model.metadata.name
    out = []
    if wants_retrain(resolved):
        drift = [("alertname", f"{camel(name)}DataDrift"), ("retrain", "true")]
        out.append((f"{name}-retrain", drift, True))
    out.append((f"{name}-page", [("severity", "page")], False))
    # Explicit: once a child route matched (the retrain one), the parent's receiver is not used.
    out.append((f"{name}-ticket", [("severity", "ticket")], False))
    return out


# --- plain alertmanager.yml ---------------------------------------------------------------------


def _plain_receiver(resolved: Resolved, name: str, kinds: list[str]) -> dict[str, Any]:
    routes = resolved.model.monitoring.alert_routes
    secrets = f"/etc/alertmanager/secrets/{secret_name(resolved)}"
    receiver: dict[str, Any] = {"name": name}
    for kind in kinds:
        if kind == "slack":
            receiver["slack_configs"] = [
                {
                    "channel": routes.slack,
                    "api_url_file": f"{secrets}/{SLACK_KEY}",
                    "send_resolved": True,
                    "title": TITLE,
                    "text": TEXT,
                }
            ]
        elif kind == "pagerduty":
            receiver["pagerduty_configs"] = [
                {
                    "routing_key_file": f"{secrets}/{PAGERDUTY_KEY}",
                    "description": TITLE,
                    "details": {"service": routes.pagerduty, "summary": TEXT},
                    "send_resolved": True,
                }
            ]
        elif kind == "email":
            receiver["email_configs"] = [
                {"to": routes.email, "from": SENDER, "smarthost": SMARTHOST, "send_resolved": True}
            ]
        else:
            receiver["webhook_configs"] = [{"url": webhook_url(resolved), "send_resolved": False}]
    return receiver


def plain_config(resolved: Resolved) -> dict[str, Any]:
    name = resolved.model.metadata.name
    children = [
        {"receiver": r, "matchers": [f'{k}="{v}"' for k, v in m], "continue": c} for r, m, c in _child_routes(resolved)
    ]
    model_route = {
        "receiver": f"{name}-ticket",
        "matchers": [f'{k}="{v}"' for k, v in _matchers(resolved)],
        "group_by": ["alertname", "namespace", "model"],
        **TIMING,
        "routes": children,
    }
    receivers = [_plain_receiver(resolved, r, kinds) for r, kinds in receiver_kinds(resolved).items()]
    return {
        "route": {"receiver": f"{name}-ticket", "routes": [model_route]},
        "receivers": receivers,
    }


# --- AlertmanagerConfig CR ------------------------------------------------------------------


def _cr_matchers(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v, "matchType": "="} for k, v in pairs]


def _cr_receiver(resolved: Resolved, name: str, kinds: list[str]) -> dict[str, Any]:
    routes, secret = resolved.model.monitoring.alert_routes, secret_name(resolved)
    receiver: dict[str, Any] = {"name": name}
    for kind in kinds:
        if kind == "slack":
            receiver["slackConfigs"] = [
                {
                    "channel": routes.slack,
                    "apiURL": {"name": secret, "key": SLACK_KEY},
                    "sendResolved": True,
                    "title": TITLE,
                    "text": TEXT,
                }
            ]
        elif kind == "pagerduty":
            receiver["pagerdutyConfigs"] = [
                {
                    "routingKey": {"name": secret, "key": PAGERDUTY_KEY},
                    "description": TITLE,
                    "details": [{"key": "service", "value": str(routes.pagerduty)}, {"key": "summary", "value": TEXT}],
                    "sendResolved": True,
                }
            ]
        elif kind == "email":
            receiver["emailConfigs"] = [
                {"to": routes.email, "from": SENDER, "smarthost": SMARTHOST, "sendResolved": True}
            ]
        else:
            receiver["webhookConfigs"] = [{"url": webhook_url(resolved), "sendResolved": False}]
    return receiver


def alertmanager_config(resolved: Resolved) -> dict[str, Any]:
    """The operator adds a `namespace` matcher to this route itself; ours names the model."""
    name = resolved.model.metadata.name
    children = [{"receiver": r, "matchers": _cr_matchers(m), "continue": c} for r, m, c in _child_routes(resolved)]
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {
            "name": name,
            "namespace": resolved.env.namespace,
            "labels": {**common_labels(resolved), "alertmanagerConfig": "modelplane"},
            "annotations": common_annotations(resolved),
        },
        "spec": {
            "route": {
                "receiver": f"{name}-ticket",
                "matchers": _cr_matchers(_matchers(resolved)[1:]),
                "groupBy": ["alertname", "namespace", "model"],
                "groupWait": TIMING["group_wait"],
                "groupInterval": TIMING["group_interval"],
                "repeatInterval": TIMING["repeat_interval"],
                "routes": children,
            },
            "receivers": [_cr_receiver(resolved, r, kinds) for r, kinds in receiver_kinds(resolved).items()],
        },
    }


def render_alert_routing(resolved: Resolved) -> list[Output]:
    return [
        Output("alertmanager-config.yaml", objects=[alertmanager_config(resolved)], synced=True),
        Output("alertmanager.yml", text=dump_document(plain_config(resolved))),
    ]
