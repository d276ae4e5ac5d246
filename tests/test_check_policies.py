"""Every starter policy against the real OPA server: a passing spec, and a failing one that points at
the YAML line to change with the rule's id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import require_tool
from tests.example_copy import copy_example

CHURN = "models/churn/model.yaml"
FRAUD = "models/fraud-detection/model.yaml"
DEMAND = "models/demand-forecast/model.yaml"
PINNED = "churn-serving@sha256:4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10"

# churn's prod quality gates; with `analysis: null` instead, prod has no analysis at all.
PROD_ANALYSIS = """\
        analysis:
          qualityGates:                         # the canary against the stable version
            accuracy: {tolerance: 0.01}         # auc (monitoring.accuracy) may drop by 0.01 at most
            errorRate: {tolerance: 0.005}
            fairness: {metric: disparate_impact, tolerance: 0.05}   # 0.05 further from parity at most
"""
# (rule, file, old text, new text, environment, file reported, line holding `at`, column of `at` in it, key path)
# A version missing from the registry has never run upstream either, so prod's promotion rule fires with it.
ALSO_BLOCKING = {"MP-REG-001": ("MP-PROM-002",)}

CASES = [
    ("MP-REG-001", CHURN, "  version: 7", "  version: 8", "prod", CHURN, "  version: 8", "8", "registry.version"),
    (
        "MP-CARD-001",
        CHURN,
        "  rollbackPlan: Argo Rollouts aborts the canary on error-rate or latency breach;"
        " otherwise pin the previous registry version and merge.\n",
        "",
        "prod",
        CHURN,
        "card:",
        "card",
        "card.rollbackPlan",
    ),
    (
        "MP-ROLL-001",
        CHURN,
        "      rollout:                                  # canary with Istio: exact 5/25/50 % weights\n",
        "      rollout:\n        strategy: rolling\n",
        "prod",
        CHURN,
        "        strategy: rolling",
        "rolling",
        "environments.prod.serving.rollout.strategy",
    ),
    (
        "MP-ROLL-002",
        CHURN,
        PROD_ANALYSIS,
        "        analysis: null\n",
        "prod",
        CHURN,
        "    strategy: canary",
        "canary",
        "serving.rollout.strategy",
    ),
    (
        "MP-ROLL-003",
        CHURN,
        "        shadow: {mirrorPercent: 20, duration: 1h}",
        "        shadow: null",
        "prod",
        CHURN,
        "    strategy: canary",
        "canary",
        "serving.rollout.strategy",
    ),
    (
        "MP-RES-001",
        CHURN,
        '    limits: {cpu: "1", memory: 2Gi}\n',
        "",
        "prod",
        CHURN,
        "  resources:",
        "resources",
        "serving.resources.limits.cpu",
    ),
    (
        "MP-IMG-001",
        CHURN,
        PINNED,
        "churn-serving:7.0.1",
        "prod",
        CHURN,
        "  image: ghcr.io/acme/churn-serving:7.0.1",
        "ghcr.io",
        "serving.image",
    ),
    (
        "MP-OWN-002",
        FRAUD,
        ", pagerduty: payments-oncall}",
        "}",
        "prod",
        FRAUD,
        "  alertRoutes:",
        "{",
        "monitoring.alertRoutes",
    ),
    (
        "MP-DATA-001",
        CHURN,
        "    atRest: true",
        "    atRest: false",
        "dev",
        CHURN,
        "    atRest: false",
        "false",
        "data.encryption.atRest",
    ),
    (
        "MP-DATA-002",
        CHURN,
        "  owner: data-governance@acme.example\n",
        "",
        "dev",
        CHURN,
        "data:",
        "data",
        "data.owner",
    ),
    (
        "MP-FAIR-001",
        CHURN,
        "  fairness: {metric: disparate_impact, min: 0.8, max: 1.25, attributes: [age_band, gender]}\n",
        "",
        "prod",
        CHURN,
        "  protectedAttributes:",
        "[",
        "data.protectedAttributes",
    ),
    (
        "MP-ACC-001",
        CHURN,
        "  acceptance: {metric: auc, min: 0.85}",
        "  acceptance: {metric: auc, min: 0.7}",
        "prod",
        CHURN,
        "  acceptance: {metric: auc, min: 0.7}",
        "0.7",
        "training.acceptance.min",
    ),
    (
        "MP-SEC-001",
        DEMAND,
        '    FORECAST_HORIZON_DAYS: "14"',
        '    FORECAST_HORIZON_DAYS: "14"\n    DB_PASSWORD: hunter2',
        "dev",
        DEMAND,
        "    DB_PASSWORD: hunter2",
        "hunter2",
        "serving.env.DB_PASSWORD",
    ),
    (
        "MP-SEC-002",
        DEMAND,
        '    FORECAST_HORIZON_DAYS: "14"',
        '    FORECAST_HORIZON_DAYS: "14"\n    UPSTREAM: AKIAIOSFODNN7EXAMPLE',
        "dev",
        DEMAND,
        "    UPSTREAM: AKIA",
        "AKIA",
        "serving.env.UPSTREAM",
    ),
    (
        "MP-COST-001",
        FRAUD,
        "  replicas: {min: 4, max: 20, targetCPUUtilization: 60}",
        "  replicas: {min: 4, max: 70, targetCPUUtilization: 60}",
        "prod",
        FRAUD,
        "  replicas: {min: 4, max: 70",
        "70",
        "serving.replicas.max",
    ),
    (
        "MP-COST-002",
        FRAUD,
        '    requests: {cpu: "1", memory: 2Gi}',
        '    requests: {cpu: "1", memory: 14Gi}',
        "prod",
        FRAUD,
        "  replicas: {min: 4, max: 20",
        "20",
        "serving.replicas.max",
    ),
    (
        "MP-COST-003",
        DEMAND,
        "      spot: false",
        "      spot: true",
        "prod",
        DEMAND,
        "      spot: true",
        "true",
        "environments.prod.training.spot",
    ),
]


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path)


def _check(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["--root", str(root), "check", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _position(text: str, at: str, col_of: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(at):
            return number, line.index(col_of) + 1
    raise AssertionError(f"{at!r} not found")


def test_the_example_repository_passes_every_policy(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _check(config_repo, capsys)
    assert code == 0
    assert report["summary"]["errors"] == 0
    assert report["packages"] == [
        f"modelplane.{name}"
        for name in (
            "acceptance", "availability", "card", "cost", "fairness", "images", "ownership", "privacy",
            "promotion", "registry", "resources", "rollout", "secrets",
        )
    ]
    assert all(card["score"] == 100 for card in report["cards"] if card["env"] == "prod")


@pytest.mark.parametrize("rule,file,old,new,env,reported,at,col_of,path", CASES, ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_a_violation_points_at_the_line_to_change(
    config_repo: Path,
    capsys: pytest.CaptureFixture[str],
    rule: str,
    file: str,
    old: str,
    new: str,
    env: str,
    reported: str,
    at: str,
    col_of: str,
    path: str,
) -> None:
    spec = config_repo / file
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, report = _check(config_repo, capsys, "--env", env)
    assert code == 1
    blocking = [f for f in report["findings"] if f["blocking"]]
    assert {f["rule_id"] for f in blocking} == {rule, *ALSO_BLOCKING.get(rule, ())}
    line, col = _position((config_repo / reported).read_text(encoding="utf-8"), at, col_of)
    assert {(f["file"], f["line"], f["col"], f["path"]) for f in blocking} >= {(reported, line, col, path)}
    finding = blocking[0]
    assert finding["title"] and finding["remediation"], "METADATA title and remediation are shown"


def test_unapproved_registry_version_blocks_prod(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = json.loads((config_repo / "modelplane.lock").read_text())
    lock["models"]["churn"]["7"]["tags"]["approval"] = "pending"
    (config_repo / "modelplane.lock").write_text(json.dumps(lock))
    code, report = _check(config_repo, capsys, "--env", "prod")
    assert code == 1
    [finding] = [f for f in report["findings"] if f["blocking"]]
    assert (finding["rule_id"], finding["file"], finding["line"], finding["col"]) == ("MP-REG-002", CHURN, 13, 12)


def test_incomplete_card_scores_and_blocks_only_prod(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = config_repo / DEMAND
    spec.write_text(spec.read_text().replace("  rollbackPlan: Pin", "  caveats: Pin"))
    code, report = _check(config_repo, capsys)
    assert code == 1
    cards = {(c["env"], c["model"]): c for c in report["cards"]}
    assert cards[("prod", "demand-forecast")]["score"] == 87
    assert cards[("prod", "demand-forecast")]["missing"] == ["rollbackPlan"]
    assert cards[("staging", "demand-forecast")]["score"] == 100
    assert {(f["env"], f["rule_id"]) for f in report["findings"] if f["blocking"]} == {("prod", "MP-CARD-001")}


def test_waived_findings_are_reported_apart(config_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "fraud-detection")
    assert code == 0
    waived = {f["rule_id"]: f for f in report["findings"] if f["waiver"]}
    # MP-IMG-002: the compiler's own register-step image, waived until its digest pin lands.
    # MP-ROLL-003: a KServe canary of pii data cannot start with a shadow phase.
    assert set(waived) <= {"MP-ROLL-003", "MP-IMG-002"} and "MP-ROLL-003" in waived
    assert waived["MP-ROLL-003"]["blocking"] is False
    assert waived["MP-ROLL-003"]["waiver"]["approver"] == "@acme/ml-platform"
    (config_repo / "policies/waivers.yaml").write_text("waivers: []\n")
    code, report = _check(config_repo, capsys, "--env", "prod", "--model", "fraud-detection")
    assert code == 1
    assert sorted(f["rule_id"] for f in report["findings"] if f["blocking"]) == sorted(waived)


@pytest.mark.parametrize(
    "fmt,marker",
    [
        ("text", "error: [MP-IMG-001]"),
        ("github", "::error file=models/churn/model.yaml,line="),
        ("sarif", '"ruleId": "MP-IMG-001"'),
        ("junit", 'type="MP-IMG-001"'),
        ("markdown", "| prod | churn | `MP-IMG-001` |"),
    ],
)
def test_every_format_from_the_cli(
    config_repo: Path, capsys: pytest.CaptureFixture[str], fmt: str, marker: str
) -> None:
    spec = config_repo / CHURN
    spec.write_text(spec.read_text().replace(PINNED, "churn-serving:7.0.1"))
    capsys.readouterr()
    assert main(["--root", str(config_repo), "check", "--env", "prod", "--format", fmt]) == 1
    assert marker in capsys.readouterr().out
