"""The closed loop end to end, with the real Prometheus, Alertmanager and Pushgateway on loopback.

The rendered files of the example repository (`rendered/prod/churn/`) are used as they are, but for
three test-speed edits: every alert's `for` becomes 2s, the staleness limit 15 s, and the
notifiers' secrets and URLs point at a webhook receiver in this test (standing in for Slack,
PagerDuty and the Argo Events webhook). The monitor runs with the rendered CronWorkflow's own
arguments, its data set URIs replaced by small generated files.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelplane.cli import main
from modelplane.render.base import parse_objects
from tests.conftest import ROOT, require_tool
from tests.monitor_data import feedback, population, write

RENDERED = ROOT / "rendered" / "prod" / "churn"
STALE_AFTER = 15
WAIT = 45.0  # seconds any one expectation may take


@dataclass
class Receiver:
    """What the webhook receiver got: (path, JSON body), in order."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def got(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for p, body in self.messages if p == path]

    def slack(self) -> list[str]:
        """Each Slack message's attachments (title and text) as one string."""
        return [
            " ".join(f"{a.get('title', '')} {a.get('text', '')}" for a in body["attachments"])
            for body in self.got("/slack")
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            with receiver.lock:
                receiver.messages.append((self.path, body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} not ready in 30 s: {log.read_text()[-2000:]}")


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"not within {WAIT:g} s: {what}")


def _rules(folder: Path) -> Path:
    text = (RENDERED / "monitoring.rules.yaml").read_text(encoding="utf-8")
    assert text.count("> 7200))") == 3  # the three staleness alerts, limit two hours
    groups = yaml.safe_load(text.replace("> 7200))", f"> {STALE_AFTER}))"))
    for group in groups["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "2s"
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(groups), encoding="utf-8")
    return path


def _alertmanager_config(folder: Path, hook: str) -> Path:
    config = yaml.safe_load((RENDERED / "alertmanager.yml").read_text(encoding="utf-8"))
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            del slack["api_url_file"]
            slack["api_url"] = f"{hook}/slack"
        for pagerduty in receiver.get("pagerduty_configs", []):
            del pagerduty["routing_key_file"]
            pagerduty["routing_key"] = "test-routing-key"
            pagerduty["url"] = f"{hook}/pagerduty"
        for webhook in receiver.get("webhook_configs", []):
            assert webhook["url"].endswith(".svc:12000/churn")
            webhook["url"] = f"{hook}/retrain"
    model_route = config["route"]["routes"][0]
    model_route.update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class Stack:
    prometheus: str
    pushgateway: str
    receiver: Receiver
    data: Path

    def firing(self) -> dict[str, dict[str, str]]:
        alerts = _get(f"{self.prometheus}/api/v1/alerts")["data"]["alerts"]
        return {a["labels"]["alertname"]: a["labels"] for a in alerts if a["state"] == "firing"}

    def monitor(self, current: str, feedback_file: str) -> None:
        """`modelplane monitor run` with the rendered CronWorkflow's arguments, local data, local gateway."""
        [cron] = parse_objects((RENDERED / "monitor.yaml").read_text(encoding="utf-8"))
        args = list(cron["spec"]["workflowSpec"]["templates"][0]["container"]["args"])
        local = {
            "--reference": str(self.data / "reference.csv"),
            "--current": str(self.data / current),
            "--feedback": str(self.data / feedback_file),
            "--pushgateway": self.pushgateway,
        }
        for flag, value in local.items():
            args[args.index(flag) + 1] = value
        assert main(args) == 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binaries = {name: require_tool(name) for name in ("prometheus", "alertmanager", "pushgateway")}
    folder = tmp_path_factory.mktemp("monitoring-stack")
    data = folder / "data"
    data.mkdir()
    write(population(1), data / "reference.csv")
    write(population(2), data / "current.csv")
    write(population(3, shift=1.0), data / "shifted.csv")
    write(feedback(4), data / "feedback.csv")
    write(feedback(5, skill=0.6, favoured="18-34"), data / "poor-feedback.csv")
    receiver = Receiver()
    server = _start_receiver(receiver)
    hook = f"http://127.0.0.1:{server.server_address[1]}"
    ports = {name: _free_port() for name in binaries}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    prometheus_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(_rules(folder))],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}]},
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{ports['pushgateway']}"]}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config), encoding="utf-8")
    commands = {
        "pushgateway": [f"--web.listen-address=127.0.0.1:{ports['pushgateway']}"],
        "alertmanager": [
            f"--config.file={_alertmanager_config(folder, hook)}",
            f"--storage.path={folder / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
            "--cluster.listen-address=",
        ],
        "prometheus": [
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ],
    }
    processes: list[subprocess.Popen[bytes]] = []
    result = Stack(urls["prometheus"], urls["pushgateway"], receiver, data)
    try:
        for name in ("pushgateway", "alertmanager"):
            log = folder / f"{name}.log"
            processes.append(
                subprocess.Popen([binaries[name], *commands[name]], stdout=log.open("wb"), stderr=subprocess.STDOUT)
            )
            _wait_ready(f"{urls[name]}/-/ready", processes[-1], log)
        result.monitor("current.csv", "feedback.csv")  # first report before Prometheus starts evaluating
        log = folder / "prometheus.log"
        processes.append(
            subprocess.Popen(
                [binaries["prometheus"], *commands["prometheus"]], stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
        )
        _wait_ready(f"{urls['prometheus']}/-/ready", processes[-1], log)
        yield result
    finally:
        for process in reversed(processes):  # stopped by PID, ours only
            process.terminate()
            process.wait(timeout=30)
        server.shutdown()


def _query(stack: Stack, promql: str) -> list[dict[str, Any]]:
    url = f"{stack.prometheus}/api/v1/query?query={urllib.parse.quote(promql)}"
    return list(_get(url)["data"]["result"])


def test_unshifted_data_is_measured_and_fires_nothing(stack: Stack) -> None:
    series = _until(lambda: _query(stack, 'modelplane_drift_score{model="churn",metric="psi"}'), "drift scraped")
    assert {s["metric"]["feature"] for s in series} == {"tenure_months", "monthly_spend", "plan"}
    assert all(float(s["value"][1]) < 0.2 for s in series)
    time.sleep(5)  # several evaluation rounds
    assert stack.firing() == {}
    assert stack.receiver.messages == []


def _sensor_accepts(body: dict[str, Any]) -> bool:
    """The rendered Sensor's data filters, applied to what Alertmanager posted."""
    [_, sensor] = parse_objects((RENDERED / "retrain-events.yaml").read_text(encoding="utf-8"))
    for condition in sensor["spec"]["dependencies"][0]["filters"]["data"]:
        value: Any = {"body": body}
        for part in condition["path"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in condition["value"]:
            return False
    return True


def test_shifted_data_fires_drift_and_alertmanager_routes_it_to_slack_and_the_retrain_webhook(stack: Stack) -> None:
    stack.monitor("shifted.csv", "feedback.csv")
    labels = _until(lambda: stack.firing().get("ChurnDataDrift"), "ChurnDataDrift firing in Prometheus")
    assert labels["retrain"] == "true"
    [retrain] = _until(lambda: stack.receiver.got("/retrain"), "the retrain webhook called")
    assert retrain["status"] == "firing"
    common = retrain["commonLabels"]
    assert (common["alertname"], common["model"], common["environment"]) == ("ChurnDataDrift", "churn", "prod")
    assert common["workflow_template"] == "churn-retrain"
    assert _sensor_accepts(retrain)
    text = _until(lambda: [t for t in stack.receiver.slack() if "ChurnDataDrift" in t], "the drift alert in Slack")[0]
    assert stack.receiver.got("/slack")[0]["channel"] == "#growth-ml-alerts"
    assert "(model churn, environment prod, retrain template churn-retrain)" in text
    assert stack.receiver.got("/pagerduty") == []  # drift is a ticket, not a page


def test_poor_and_unfair_feedback_fires_accuracy_and_fairness(stack: Stack) -> None:
    stack.monitor("current.csv", "poor-feedback.csv")
    firing = _until(
        lambda: {"ChurnAccuracyBelowMinimum", "ChurnFairnessBelowMinimum"} <= set(stack.firing()) and stack.firing(),
        "accuracy and fairness alerts firing",
    )
    assert firing["ChurnFairnessBelowMinimum"]["slack_channel"] == "#growth-ml-alerts"
    texts = _until(lambda: " ".join(t for t in stack.receiver.slack() if "auc below" in t), "accuracy in Slack")
    assert "churn: auc below 0.8 (model churn, environment prod)" in texts
    _until(lambda: any("disparate_impact below" in t for t in stack.receiver.slack()), "fairness in Slack")
    assert "ChurnDataDrift" not in stack.firing()  # unshifted inputs again: drift resolved


def test_stopped_monitor_fires_the_not_reported_alerts(stack: Stack) -> None:
    firing = _until(
        lambda: {"ChurnDriftNotReported", "ChurnAccuracyNotReported"} <= set(stack.firing()) and stack.firing(),
        f"not-reported alerts after {STALE_AFTER} s without a report",
    )
    assert firing["ChurnDriftNotReported"]["check"] == "drift"
    _until(lambda: any("drift (psi) not reported" in t for t in stack.receiver.slack()), "not reported in Slack")
