"""The GitHub Actions: actionlint-clean, one required check that fails closed, the composite
action used everywhere, prod jobs in the `prod` GitHub environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, require_tool

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "modelplane" / "action.yml"


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _workflow(name: str) -> dict[Any, Any]:
    return _load(WORKFLOWS / name)


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_every_workflow_passes_actionlint() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert [Path(f).name for f in files] == ["modelplane.yml", "promote.yml", "registry-sync.yml"]
    done = subprocess.run([require_tool("actionlint"), *files], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_job_that_runs_modelplane_sets_it_up_with_the_composite_action() -> None:
    checked = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in _load(path)["jobs"].items():
            if not re.search(r"^\s*modelplane [a-z]", _runs(job), re.M):
                continue
            uses = [step.get("uses") for step in job["steps"]]
            assert "./.github/actions/modelplane" in uses, f"{path.name}: {name}"
            assert uses.index("./.github/actions/modelplane") == 1 and str(uses[0]).startswith("actions/checkout@")
            checked.append(name)
    assert sorted(checked) == ["plan", "policy", "promote", "registry", "render", "sync", "sync-prod", "validate"]


def test_the_action_builds_the_tool_versions_bootstrap_pins() -> None:
    bootstrap = (ROOT / ".ci" / "bootstrap").read_text(encoding="utf-8")
    inputs = _load(ACTION)["inputs"]
    for tool in ("OPA", "HELM"):
        pinned = re.search(rf"^{tool}_VERSION=(\S+)$", bootstrap, re.M)
        assert pinned and inputs[f"{tool.lower()}-version"]["default"] == pinned.group(1)
    assert _load(ACTION)["runs"]["using"] == "composite"


def test_the_pull_request_workflow_has_one_required_check_that_needs_every_job() -> None:
    flow = _workflow("modelplane.yml")
    jobs = flow["jobs"]
    gate = jobs["gate"]
    assert gate["name"] == "modelplane gate" and gate["if"] == "always()"
    assert sorted(gate["needs"]) == sorted(name for name in jobs if name != "gate")
    assert "modelplane lock --check --changed-since" in _runs(jobs["registry"])
    assert "modelplane codeowners --check" in _runs(jobs["validate"])
    assert "modelplane compile --check" in _runs(jobs["render"])
    assert all("--base" in line for line in _runs(jobs["policy"]).splitlines() if "modelplane check" in line)
    assert flow["env"]["BASE"] == "origin/${{ github.base_ref }}"
    checkout = jobs["policy"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0, "promotion facts need the whole history"


def _gate_script() -> str:
    [step] = _workflow("modelplane.yml")["jobs"]["gate"]["steps"]
    return str(step["run"])


@pytest.mark.parametrize(
    ("results", "code", "said"),
    [
        ({"validate": "success", "registry": "success", "policy": "success", "render": "success"}, 0, ""),
        (
            {"validate": "success", "registry": "failure", "policy": "success", "render": "cancelled"},
            1,
            "::error::modelplane gate: registry, render did not pass",
        ),
        ({"validate": "success", "registry": "skipped"}, 1, "::error::modelplane gate: registry did not pass"),
    ],
)
def test_the_gate_passes_only_when_every_job_passed(results: dict[str, str], code: int, said: str) -> None:
    require_tool("jq")
    needs = json.dumps({job: {"result": result, "outputs": {}} for job, result in results.items()})
    done = subprocess.run(
        ["bash", "-e", "-c", _gate_script()],
        env={**os.environ, "NEEDS": needs},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert said in done.stdout
    for job, result in results.items():
        assert f"{job}: {result}" in done.stdout


def test_prod_jobs_run_in_the_prod_environment() -> None:
    promote = _workflow("promote.yml")
    # PyYAML reads the bare key `on` as True.
    inputs = promote[True]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"model", "environment", "version"}
    assert inputs["environment"]["options"] == ["staging", "prod"]
    job = promote["jobs"]["promote"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert "modelplane promote" in _runs(job) and "--git" in _runs(job) and "--pr-body" in _runs(job)
    assert "gh pr create" in _runs(job) and "--body-file" in _runs(job)
    sync = _workflow("registry-sync.yml")
    assert sync[True]["push"]["branches"] == ["main"]
    assert sync["jobs"]["sync-prod"]["environment"] == "prod"
    assert "modelplane registry sync --env prod" in _runs(sync["jobs"]["sync-prod"])
    assert "environment" not in sync["jobs"]["sync"] and "--env prod" not in _runs(sync["jobs"]["sync"])
