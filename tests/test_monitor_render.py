"""The rendered closed loop: monitor CronWorkflow, Alertmanager routing, Argo Events retrain, dashboard."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from modelplane.cli import build_parser
from modelplane.manifests import ManifestChecker
from modelplane.render.alert_routing import plain_config, render_alert_routing
from modelplane.render.base import parse_objects
from modelplane.render.dashboard import dashboard, dashboard_json, render_dashboard
from modelplane.render.monitor_job import render_monitor_job
from modelplane.render.retrain_events import render_retrain_events
from modelplane.repo import Repo
from tests.conftest import CRDS, ROOT, require_tool

EVENTS_SCHEMA = ROOT.parent / "shared" / "reference" / "schemas" / "argo-events.schema.json"


def _events_validator(kind: str) -> Any:
    schema = json.loads(EVENTS_SCHEMA.read_text(encoding="utf-8"))
    del schema["oneOf"]
    schema["$ref"] = f"#/definitions/io.argoproj.events.v1alpha1.{kind}"
    return jsonschema_rs.validator_for(schema)


def test_monitor_job_runs_modelplane_monitor_with_arguments_the_cli_accepts(example_repo: Repo) -> None:
    churn = example_repo.resolved[("prod", "churn")]
    [output] = render_monitor_job(churn)
    [cron] = output.objects
    assert cron["kind"] == "CronWorkflow" and cron["metadata"]["name"] == "churn-monitor"
    assert cron["spec"]["schedules"] == ["15 * * * *"]
    [template] = cron["spec"]["workflowSpec"]["templates"]
    container = template["container"]
    assert container["command"] == ["modelplane"]
    args = build_parser().parse_args(container["args"])  # the real parser: a renamed flag fails here
    assert (args.model, args.environment, args.namespace) == ("churn", "prod", "ml-prod")
    assert args.reference == "s3://acme-ml/churn/reference/train-2026-06.parquet"
    assert args.feature == ["tenure_months", "monthly_spend", "plan"]
    assert (args.drift_metric, args.accuracy_metric, args.fairness_metric) == ("psi", ["auc"], "disparate_impact")
    assert args.protected_attribute == ["age_band", "gender"]
    assert args.pushgateway == "http://pushgateway.monitoring.svc:9091"
    # a model without a monitor section gets no job
    assert render_monitor_job(example_repo.resolved[("prod", "demand-forecast")]) == []


def test_alertmanager_config_is_valid_against_the_upstream_crd(example_repo: Repo) -> None:
    checker = ManifestChecker(CRDS)
    for resolved in example_repo.resolved.values():
        [cr_output, _] = render_alert_routing(resolved)
        [cr] = cr_output.objects
        assert checker.errors(cr, resolved.env.kubernetes_version) == []
    broken = copy.deepcopy(cr)
    broken["spec"]["route"]["groupWait"] = 30  # a number where the CRD wants a duration string
    assert checker.errors(broken, resolved.env.kubernetes_version) != []


def test_amtool_accepts_every_rendered_alertmanager_yml(example_repo: Repo, tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    for (env, model), resolved in sorted(example_repo.resolved.items()):
        path = tmp_path / f"{env}-{model}.yml"
        path.write_text(render_alert_routing(resolved)[1].content(), encoding="utf-8")
        result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    path.write_text(path.read_text().replace("receiver: ", "receiver: typo-", 1), encoding="utf-8")
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "undefined receiver" in result.stdout + result.stderr


def test_routes_send_pages_to_pagerduty_tickets_to_slack_and_email_and_drift_to_retrain(example_repo: Repo) -> None:
    config = plain_config(example_repo.resolved[("prod", "demand-forecast")])
    receivers = {r["name"]: sorted(k for k in r if k != "name") for r in config["receivers"]}
    assert receivers == {
        "demand-forecast-page": ["pagerduty_configs"],
        "demand-forecast-ticket": ["email_configs", "slack_configs"],
    }  # retrainOnDrift is false: no retrain receiver
    churn = plain_config(example_repo.resolved[("prod", "churn")])
    [model_route] = churn["route"]["routes"]
    assert model_route["matchers"] == ['namespace="ml-prod"', 'model="churn"']
    assert [(r["receiver"], r["matchers"]) for r in model_route["routes"]] == [
        ("churn-retrain", ['alertname="ChurnDataDrift"', 'retrain="true"']),
        ("churn-page", ['severity="page"']),
        ("churn-ticket", ['severity="ticket"']),
    ]
    [retrain] = [r for r in churn["receivers"] if r["name"] == "churn-retrain"]
    assert retrain["webhook_configs"][0]["url"] == "http://churn-drift-eventsource-svc.ml-prod.svc:12000/churn"


def test_eventsource_and_sensor_are_valid_against_argo_events_schema(example_repo: Repo) -> None:
    churn = example_repo.resolved[("prod", "churn")]
    [output] = render_retrain_events(churn)
    source, sensor = parse_objects(output.content())
    assert _events_validator("EventSource").is_valid(source)
    errors = list(_events_validator("Sensor").iter_errors(sensor))
    assert errors == [], [str(e) for e in errors]
    trigger = sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]
    assert trigger["operation"] == "submit"
    workflow = trigger["source"]["resource"]
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "churn-retrain"}
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "reason", "value": "drift"}]
    # the validator can fail: a dependency without its event source, a rate limit in words
    no_source, in_words = copy.deepcopy(sensor), copy.deepcopy(sensor)
    del no_source["spec"]["dependencies"][0]["eventSourceName"]
    in_words["spec"]["triggers"][0]["rateLimit"]["requestsPerUnit"] = "one"
    assert not _events_validator("Sensor").is_valid(no_source)
    assert not _events_validator("Sensor").is_valid(in_words)
    assert render_retrain_events(example_repo.resolved[("prod", "demand-forecast")]) == []


@pytest.mark.parametrize("model", ["churn", "fraud-detection", "demand-forecast"])
def test_dashboard_configmap_has_the_sidecar_label_and_six_panels(example_repo: Repo, model: str) -> None:
    resolved = example_repo.resolved[("prod", model)]
    [output] = render_dashboard(resolved)
    [config_map] = output.objects
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    [text] = config_map["data"].values()
    board = json.loads(text)
    titles = [p["title"] for p in board["panels"]]
    assert titles[:3] == ["Latency p99", "Error ratio", "Traffic"]
    assert titles[3].startswith("Drift per feature") and titles[4:] == ["Accuracy", "Fairness per protected attribute"]
    assert f'model="{model}"' in board["panels"][3]["targets"][0]["expr"]
    assert ManifestChecker(CRDS).errors(config_map, resolved.env.kubernetes_version) == []


def test_dashboard_json_is_the_stdlib_indented_json_with_utf_8_as_it_is(example_repo: Repo) -> None:
    for key in sorted(example_repo.resolved):
        board = dashboard(example_repo.resolved[key])
        assert dashboard_json(board) == json.dumps(board, indent=2, sort_keys=True) + "\n", key
    odd = {"title": "drift é 日本", "b": [1.5, 2, None, {}], "a": {"z": True, "y": []}}
    assert dashboard_json(odd) == json.dumps(odd, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tiny = {"threshold": 1e-05}  # floats in plain decimals, read back as the same number
    assert dashboard_json(tiny) == '{\n  "threshold": 0.00001\n}\n' and json.loads(dashboard_json(tiny)) == tiny
    surrogate = {"title": "x\ud800"}  # not valid UTF-8: the stdlib escapes it
    assert dashboard_json(surrogate) == json.dumps(surrogate, indent=2, sort_keys=True) + "\n"
