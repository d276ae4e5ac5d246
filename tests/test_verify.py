"""`modelplane verify` against a real kube-apiserver (tests/cluster.py): server-side dry-runs."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelplane.cli import main
from modelplane.cluster import FIELD_MANAGER, rendered_objects
from modelplane.render.base import dump_objects, parse_objects
from tests.cluster import ApiServer
from tests.conftest import ROOT

ENVS = ["dev", "staging", "prod"]


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    for name in ("models", "environments", "rendered"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def _verify(root: Path, *args: str) -> int:
    return main(["--root", str(root), "verify", *args])


def test_every_rendered_object_of_every_environment_is_accepted(
    api_server: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = rendered_objects(ROOT, ENVS)
    kinds = {o.kind for o in objects}
    assert {"Rollout", "Deployment", "Service", "CronWorkflow", "PrometheusRule", "Application"} <= kinds
    assert _verify(ROOT, "--kubeconfig", str(api_server.kubeconfig)) == 0
    out = capsys.readouterr().out
    assert f"verify: {len(objects)} object(s) of dev, staging, prod dry-run on {api_server.url}" in out
    assert f"{len(objects)} accepted, 0 rejected" in out
    assert "Kubernetes v1.37.2" in out


def test_dry_run_leaves_the_cluster_unchanged(api_server: ApiServer) -> None:
    assert _verify(ROOT, "--kubeconfig", str(api_server.kubeconfig), "--env", "prod") == 0
    client = api_server.dynamic_client()
    for api_version, kind in [("apps/v1", "Deployment"), ("v1", "Service"), ("argoproj.io/v1alpha1", "Rollout")]:
        items = client.resources.get(api_version=api_version, kind=kind).get(namespace="ml-prod").items
        assert items == [], f"{kind} objects were created: {[i.metadata.name for i in items]}"
    for namespace in client.resources.get(api_version="v1", kind="Namespace").get().items:
        managers = {m.manager for m in namespace.metadata.managedFields or []}
        assert FIELD_MANAGER not in managers


def _edit(root: Path, file: str, kind: str, change: Callable[[dict[str, Any]], None]) -> int:
    """Change the first object of `kind` in a rendered file; returns the line its document starts on."""
    path = root / file
    objects = parse_objects(path.read_text(encoding="utf-8"))
    index = next(i for i, o in enumerate(objects) if o["kind"] == kind)
    change(objects[index])
    text = dump_objects(objects)
    path.write_text(text, encoding="utf-8")
    separators = [n for n, line in enumerate(text.splitlines(), start=1) if line == "---"]
    return separators[index] + 1


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj["spec"]["template"]["spec"]["containers"][0])


def _set_replicas(obj: dict[str, Any]) -> None:
    obj["spec"]["replicas"] = "two"


def _misspell(obj: dict[str, Any]) -> None:
    obj["spec"]["replicass"] = 2


def _bad_cpu(obj: dict[str, Any]) -> None:
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "lots"}}


def _selector_mismatch(obj: dict[str, Any]) -> None:
    obj["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "someone-else"}}


def _bad_for(obj: dict[str, Any]) -> None:
    obj["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"


def _no_expr(obj: dict[str, Any]) -> None:
    del obj["spec"]["groups"][0]["rules"][0]["expr"]


def _deadline_text(obj: dict[str, Any]) -> None:
    obj["spec"]["activeDeadlineSeconds"] = "soon"


def _app_typo(obj: dict[str, Any]) -> None:
    obj["spec"]["destinaton"] = obj["spec"]["destination"]


def _bad_port(obj: dict[str, Any]) -> None:
    obj["spec"]["ports"][0]["port"] = 70000


FORECAST = "rendered/staging/demand-forecast/serving.yaml"  # a Deployment (prod's is a blue/green Rollout)
CHURN = "rendered/prod/churn"
# (rendered file, kind, change, part of the server's message, spec key the file comes from)
BROKEN = [
    (FORECAST, "Deployment", _set_replicas, "expected numeric", "serving"),
    (FORECAST, "Deployment", _misspell, ".spec.replicass: field not declared", "serving"),
    (FORECAST, "Deployment", _bad_cpu, "quantities must match", "serving"),
    (FORECAST, "Deployment", _selector_mismatch, "`selector` does not match template `labels`", "serving"),
    (FORECAST, "Service", _bad_port, "spec.ports[0].port: Invalid value: 70000", "serving"),
    (f"{CHURN}/serving.yaml", "Rollout", _misspell, ".spec.replicass: field not declared", "serving"),
    (f"{CHURN}/monitoring.yaml", "PrometheusRule", _bad_for, "rules[0].for in body should match", "monitoring"),
    (f"{CHURN}/monitoring.yaml", "PrometheusRule", _no_expr, "rules[0].expr: Required value", "monitoring"),
    (f"{CHURN}/training.yaml", "WorkflowTemplate", _deadline_text, "activeDeadlineSeconds", "training"),
    (f"{CHURN}/application.yaml", "Application", _app_typo, ".spec.destinaton: field not declared", ""),
]


@pytest.mark.parametrize(
    ("file", "kind", "change", "expected", "key"), BROKEN, ids=[f"{b[1]}-{b[2].__name__}" for b in BROKEN]
)
def test_a_broken_object_is_rejected_at_its_rendered_file(
    api_server: ApiServer,
    repo_copy: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    kind: str,
    change: Callable[[dict[str, Any]], None],
    expected: str,
    key: str,
) -> None:
    line = _edit(repo_copy, file, kind, change)
    env, model = file.split("/")[1:3]
    code = _verify(repo_copy, "--kubeconfig", str(api_server.kubeconfig), "--env", env, "--model", model)
    out = capsys.readouterr().out
    assert code == 1, out
    problems = [row for row in out.splitlines() if not row.startswith("verify: ")]
    assert len(problems) == 1, out
    namespace = "argocd" if kind == "Application" else f"ml-{env}"
    assert problems[0].startswith(f"{file}:{line}:1: {kind} {namespace}/"), problems[0]
    assert expected in problems[0]
    if key:
        assert f"(produced by models/{model}/model.yaml:" in problems[0] and f" ({key}))" in problems[0]
    assert "1 rejected" in out


def test_missing_namespaces_and_kinds_are_listed_first(
    api_server: ApiServer, repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def elsewhere(obj: dict[str, Any]) -> None:
        obj["metadata"]["namespace"] = "ml-nowhere"

    def unknown_kind(obj: dict[str, Any]) -> None:
        obj["apiVersion"], obj["kind"] = "widgets.example.com/v1", "Widget"

    _edit(repo_copy, "rendered/prod/churn/monitoring.yaml", "PrometheusRule", elsewhere)
    _edit(repo_copy, "rendered/prod/churn/serving.yaml", "Service", unknown_kind)
    code = _verify(repo_copy, "--kubeconfig", str(api_server.kubeconfig), "--env", "prod", "--model", "churn")
    out = capsys.readouterr().out
    assert code == 1
    assert "verify: cluster has no kind widgets.example.com/v1 Widget (needed by 1 object(s); install its" in out
    assert "verify: cluster has no namespace ml-nowhere (needed by 1 object(s); create it)" in out
    assert "0 rejected, 2 not tried (missing namespace or kind)" in out


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a server that times out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


def _one_line_exit_2(code: int, capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("modelplane verify: error: ")
    return lines[0]


def test_a_kubeconfig_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_exit_2(_verify(ROOT, "--kubeconfig", str(tmp_path / "nope")), capsys)
    assert line.endswith(f"kubeconfig {tmp_path / 'nope'}: no such file (pass --kubeconfig or set KUBECONFIG)")


def test_a_context_that_is_not_there(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(api_server.kubeconfig))
    line = _one_line_exit_2(_verify(ROOT, "--context", "staging-eu"), capsys)
    assert line.endswith(f"kubeconfig {api_server.kubeconfig}: no context 'staging-eu' (have: test)")


def test_a_cluster_that_refuses_the_credentials(
    api_server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubeconfig", token="not-the-token")
    line = _one_line_exit_2(_verify(ROOT, "--kubeconfig", str(kubeconfig)), capsys)
    assert line.endswith(f"cluster {api_server.url}: refused the credentials (401 Unauthorized)")


def test_a_server_that_times_out(
    api_server: ApiServer, silent_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubeconfig", server=silent_server)
    line = _one_line_exit_2(_verify(ROOT, "--kubeconfig", str(kubeconfig), "--timeout", "1"), capsys)
    assert line.endswith(f"cluster {silent_server}: no answer within 1s (timed out)")


def test_a_server_that_is_not_there(api_server: ApiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubeconfig", server=url)
    line = _one_line_exit_2(_verify(ROOT, "--kubeconfig", str(kubeconfig)), capsys)
    assert line.endswith(f"cluster {url}: cannot connect (Connection refused)")
