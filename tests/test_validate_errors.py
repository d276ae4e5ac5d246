"""`modelplane validate`: every kind of mistake, reported at the exact file, line, column and key."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.repo import load_repo
from tests.conftest import ROOT

# (id, file, text to replace, replacement, expected (file, line, col, key path, message, hint))
CASES = [
    pytest.param(
        "models/churn/model.yaml",
        "  version: 7",
        "  version: seven",
        [
            ("models/churn/model.yaml", 13, 12, "registry.version", "expected a whole number, got 'seven'", ""),
        ],
        id="string_for_int",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  replicas: {min: 2, max: 8, targetCPUUtilization: 70}",
        "  replicas: [2, 8]",
        [
            ("models/churn/model.yaml", 26, 13, "serving.replicas", "expected a mapping (key: value), got a list", ""),
        ],
        id="list_for_mapping",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  team: growth-ds",
        "  team: 42",
        [
            ("models/churn/model.yaml", 8, 9, "metadata.team", "expected a name (a string), got 42", ""),
        ],
        id="int_for_string",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "monitoring:\n  latencyP99Ms: 120",
        "monitorng:\n  latencyP99Ms: 120",
        [
            ("models/churn/model.yaml", 4, 1, "monitoring", "required key 'monitoring' is missing", ""),
            ("models/churn/model.yaml", 57, 1, "monitorng", "unknown key 'monitorng'", "did you mean 'monitoring'?"),
        ],
        id="unknown_top_key",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  replicas: {min: 2,",
        "  replicass: {min: 2,",
        [
            (
                "models/churn/model.yaml",
                26,
                3,
                "serving.replicass",
                "unknown key 'replicass'",
                "did you mean 'replicas'?",
            ),
        ],
        id="unknown_nested_key",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "      replicas: {min: 3, max: 12}",
        "      replica: {min: 3, max: 12}",
        [
            (
                "models/churn/model.yaml",
                83,
                7,
                "environments.prod.serving.replica",
                "unknown key 'replica'",
                "did you mean 'replicas'?",
            ),
        ],
        id="unknown_override_key",
    ),
    pytest.param(
        "environments/dev.yaml",
        "    replicas:\n      min: 1",
        "    replicas:\n      minimum: 1",
        [
            (
                "environments/dev.yaml",
                25,
                7,
                "defaults.serving.replicas.minimum",
                "unknown key 'minimum'",
                "did you mean 'min'?",
            ),
        ],
        id="unknown_env_default_key",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "kind: Model",
        "kind: Modle",
        [
            ("models/churn/model.yaml", 5, 7, "kind", "unknown kind 'Modle'", "did you mean 'Model'?"),
        ],
        id="kind_typo",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  team: growth-ds\n",
        "",
        [
            ("models/churn/model.yaml", 6, 1, "metadata.team", "required key 'team' is missing", ""),
        ],
        id="missing_team",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  version: 7\n",
        "",
        [
            ("models/churn/model.yaml", 11, 1, "registry.version", "required key 'version' is missing", ""),
        ],
        id="missing_registry_version",
    ),
    pytest.param(
        "models/churn/model.yaml",
        '  alertRoutes: {slack: "#growth-ml-alerts", pagerduty: growth-ml-oncall}\n',
        "",
        [
            ("models/churn/model.yaml", 57, 1, "monitoring.alertRoutes", "required key 'alertRoutes' is missing", ""),
        ],
        id="missing_alert_routes",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  port: 8080\n",
        "  port: 8080\n  port: 9090\n",
        [
            (
                "models/churn/model.yaml",
                26,
                3,
                "serving.port",
                "duplicate key 'port' (first defined on line 25)",
                "remove one of them; YAML would silently keep the last",
            ),
        ],
        id="duplicate_key",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  team: growth-ds",
        "  team: GrowthDS",
        [
            (
                "models/churn/model.yaml",
                8,
                9,
                "metadata.team",
                "'GrowthDS' is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
                "",
            ),
        ],
        id="upper_case_name",
    ),
    pytest.param(
        "environments/prod.yaml",
        "namespace: ml-prod",
        "namespace: ml_prod",
        [
            (
                "environments/prod.yaml",
                11,
                12,
                "namespace",
                "'ml_prod' is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
                "",
            ),
        ],
        id="underscore_name",
    ),
    pytest.param(
        "environments/prod.yaml",
        "namespace: ml-prod",
        "namespace: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        [
            (
                "environments/prod.yaml",
                11,
                12,
                "namespace",
                "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
                "",
            ),
        ],
        id="too_long_name",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "requests: {cpu: 500m,",
        "requests: {cpu: 500mc,",
        [
            (
                "models/churn/model.yaml",
                28,
                21,
                "serving.resources.requests.cpu",
                "'500mc' is not a CPU quantity: write cores like 1 or 0.5, or millicores like 500m",
                "",
            ),
        ],
        id="bad_cpu",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "requests: {cpu: 500m, memory: 1Gi}",
        "requests: {cpu: 500m, memory: 1GB}",
        [
            (
                "models/churn/model.yaml",
                28,
                35,
                "serving.resources.requests.memory",
                "'1GB' is not a memory quantity: write bytes with a unit, like 512Mi or 2Gi",
                "",
            ),
        ],
        id="bad_memory",
    ),
    pytest.param(
        "models/churn/model.yaml",
        'schedule: "0 2 * * 1"',
        'schedule: "0 0 2 * * 1"',
        [
            (
                "models/churn/model.yaml",
                46,
                13,
                "training.schedule",
                "'0 0 2 * * 1' is not a cron schedule: use five fields (minute hour day month weekday) like '0 2 * * *', or @daily / @hourly",
                "",
            ),
        ],
        id="six_field_cron",
    ),
    pytest.param(
        "models/churn/model.yaml",
        'schedule: "0 2 * * 1"',
        'schedule: "0 24 * * 1"',
        [
            (
                "models/churn/model.yaml",
                46,
                13,
                "training.schedule",
                "'0 24 * * 1' is not a cron schedule: use five fields (minute hour day month weekday) like '0 2 * * *', or @daily / @hourly",
                "",
            ),
        ],
        id="hour_out_of_range",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  prod:\n    serving:",
        "  prdo:\n    serving:",
        [
            # without its prod override churn's canary meets prod's default Istio routing, which has no host
            (
                "environments/prod.yaml",
                33,
                23,
                "defaults.serving.rollout.trafficRouting",
                "Istio routing without a host (churn runs a canary through Istio)",
                "set serving.rollout.trafficRouting.host for churn: the name clients call, e.g. churn.models.example",
            ),
            (
                "models/churn/model.yaml",
                81,
                3,
                "environments.prdo",
                "unknown environment 'prdo'",
                "did you mean 'prod'?",
            ),
        ],
        id="unknown_environment_override",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "      replicas: {min: 3, max: 12}",
        "      replicas: {min: -1, max: 12}",
        [
            (
                "models/churn/model.yaml",
                83,
                23,
                "environments.prod.serving.replicas.min",
                "must be greater than or equal to 0, got -1",
                "",
            ),
        ],
        id="invalid_override_value",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "replicas: {min: 2, max: 8,",
        "replicas: {min: 9, max: 8,",
        [
            ("models/churn/model.yaml", 26, 13, "serving.replicas", "max (8) must not be below min (9)", ""),
        ],
        id="max_below_min",
    ),
    pytest.param(
        "models/demand-forecast/model.yaml",
        "  rollout: {strategy: rolling}",
        "  rollout: {strategy: canary}",
        [
            (
                "models/demand-forecast/model.yaml",
                24,
                3,
                "serving.rollout.steps",
                "a canary rollout needs at least one step",
                "for example steps: [{weight: 5}]",
            ),
        ],
        id="canary_without_steps",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "      - {weight: 50, pause: 10m}",
        "      - {weight: 20, pause: 10m}",
        [
            (
                "models/churn/model.yaml",
                38,
                18,
                "serving.rollout.steps[2].weight",
                "canary step weights must rise strictly, got [5, 25, 20, 100]",
                "step 2 must send more than the 25 % of step 1",
            ),
        ],
        id="falling_canary_weights",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "      - {weight: 100, pause: 1m}",
        "      - {weight: 150, pause: 1m}",
        [
            (
                "models/churn/model.yaml",
                39,
                18,
                "serving.rollout.steps[3].weight",
                "a step cannot send 150 % of the traffic",
                "weights are 1 to 100",
            ),
        ],
        id="canary_weight_above_100",
    ),
    pytest.param(
        "models/demand-forecast/model.yaml",
        "blueGreen: {previewPort: 80, scaleDownDelay: 10m}",
        "blueGreen: {scaleDownDelay: 10m}",
        [
            (
                "models/demand-forecast/model.yaml",
                64,
                19,
                "environments.prod.serving.rollout.strategy",
                "a blue/green rollout needs a preview service port",
                "set serving.rollout.blueGreen.previewPort for demand-forecast (e.g. 80): the new version answers on <model>-preview before the switch",
            ),
        ],
        id="blue_green_without_preview_port",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "shadow: {mirrorPercent: 50, duration: 2h}",
        "shadow: {mirrorPercent: 0, duration: 2h}",
        [
            (
                "models/churn/model.yaml",
                108,
                33,
                "environments.staging.serving.rollout.shadow.mirrorPercent",
                "a shadow with 0 % mirrored traffic never sees a request",
                "mirror between 1 and 100 % of live requests",
            ),
        ],
        id="shadow_mirroring_nothing",
    ),
    pytest.param(
        "models/demand-forecast/model.yaml",
        "  rollout: {strategy: rolling}",
        "  rollout: {strategy: shadow, shadow: {mirrorPercent: 10, duration: 1h}}",
        [
            (
                "models/demand-forecast/model.yaml",
                24,
                23,
                "serving.rollout.strategy",
                "a shadow needs Istio traffic routing for its mirror",
                "add trafficRouting: {provider: istio, host: <host clients call>}",
            ),
        ],
        id="shadow_without_istio",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "        strategy: shadow\n",
        "        strategy: abTest\n        abTest:\n          split: 20\n          duration: 168h\n          metric: {name: retention_offer_accepted_ratio}\n",
        [
            (
                "models/churn/model.yaml",
                108,
                11,
                "environments.staging.serving.rollout.abTest",
                "an A/B test without a second version",
                "the registry version variant B serves (variant A serves registry.version)",
            ),
        ],
        id="ab_test_without_second_version",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "        strategy: shadow\n",
        "        strategy: abTest\n        abTest:\n          version: 8\n          split: 20\n          metric: {name: retention_offer_accepted_ratio}\n",
        [
            (
                "models/churn/model.yaml",
                108,
                11,
                "environments.staging.serving.rollout.abTest",
                "an A/B test without a duration",
                "how long the experiment measures, e.g. 168h",
            ),
        ],
        id="ab_test_without_duration",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "        strategy: shadow\n",
        "        strategy: abTest\n        abTest:\n          version: 7\n          split: 20\n          duration: 168h\n          metric: {name: retention_offer_accepted_ratio}\n",
        [
            (
                "models/churn/model.yaml",
                108,
                20,
                "environments.staging.serving.rollout.abTest.version",
                "variant B's version 7 is the version variant A serves",
                "compare two registry versions: pin the challenger here and the champion in registry.version",
            ),
        ],
        id="ab_test_against_itself",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "        trafficRouting: {host: churn.models.staging.acme.example, gateway: istio-ingress/models}",
        "        trafficRouting: {gateway: istio-ingress/staging}",
        [
            (
                "models/churn/model.yaml",
                107,
                25,
                "environments.staging.serving.rollout.trafficRouting",
                "Istio routing without a host (churn runs a shadow through Istio)",
                "set serving.rollout.trafficRouting.host for churn: the name clients call, e.g. churn.models.example",
            ),
        ],
        id="istio_without_host",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "host: churn.models.staging.acme.example",
        "host: Churn_Models",
        [
            (
                "models/churn/model.yaml",
                107,
                32,
                "environments.staging.serving.rollout.trafficRouting.host",
                "'Churn_Models' is not a host name: use lower-case DNS labels joined by dots, like churn.models.acme.example",
                "",
            ),
        ],
        id="istio_host_not_a_dns_name",
    ),
    pytest.param(
        "models/fraud-detection/model.yaml",
        "    protocolVersion: v2",
        "    protocolVersion: v2\n    canaryStep: 3",
        [
            (
                "models/fraud-detection/model.yaml",
                37,
                17,
                "serving.kserve.canaryStep",
                "canary step 3 of a 2-step schedule",
                "serving.rollout.steps has 2 step(s); count from 1",
            ),
        ],
        id="kserve_step_past_the_schedule",
    ),
    pytest.param(
        "models/fraud-detection/model.yaml",
        "    strategy: canary",
        "    strategy: blueGreen\n    blueGreen: {previewPort: 80}",
        [
            (
                "models/fraud-detection/model.yaml",
                27,
                15,
                "serving.rollout.strategy",
                "the kserve backend cannot run a blueGreen rollout",
                "KServe runs canary or rolling; use backend: kubernetes for blueGreen, shadow or abTest",
            ),
        ],
        id="kserve_blue_green",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "            accuracy: {tolerance: 0.01}  ",
        "            accuracy: {metric: lift_at_10, tolerance: 0.01}  ",
        [
            (
                "models/churn/model.yaml",
                91,
                23,
                "environments.prod.serving.rollout.analysis.qualityGates.accuracy",
                "which way is better for lift_at_10?",
                "set higherIsBetter: true or false",
            ),
        ],
        id="quality_gate_without_direction",
    ),
    pytest.param(
        "models/demand-forecast/model.yaml",
        "  image: ghcr.io/acme/demand-forecast-serving:3.2.0\n",
        "  backend: kserve\n",
        [
            (
                "models/demand-forecast/model.yaml",
                18,
                3,
                "serving",
                "the kserve backend needs a kserve section (modelFormat)",
                "",
            ),
        ],
        id="kserve_without_section",
    ),
    pytest.param(
        "models/demand-forecast/model.yaml",
        "  image: ghcr.io/acme/demand-forecast-serving:3.2.0",
        "  image: ghcr.io/acme/Demand Forecast:3.2.0",
        [
            (
                "models/demand-forecast/model.yaml",
                18,
                10,
                "serving.image",
                "'ghcr.io/acme/Demand Forecast:3.2.0' is not a container image reference: write registry/repository:tag or registry/repository@sha256:<64 hex digits>",
                "",
            ),
        ],
        id="bad_image",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  runbookUrl: https://runbooks.acme.example/ml/churn",
        "  runbookUrl: runbooks/churn",
        [
            ("models/churn/model.yaml", 65, 15, "monitoring.runbookUrl", "'runbooks/churn' is not an http(s) URL", ""),
        ],
        id="bad_url",
    ),
    pytest.param(
        "environments/prod.yaml",
        'kubernetesVersion: "1.31"',
        "kubernetesVersion: 1.30",
        [
            (
                "environments/prod.yaml",
                7,
                20,
                "kubernetesVersion",
                "write the Kubernetes version in quotes, like '1.31': YAML reads an unquoted 1.3 as a number",
                "",
            ),
        ],
        id="unquoted_k8s_version",
    ),
    pytest.param(
        "environments/prod.yaml",
        'kubernetesVersion: "1.31"',
        'kubernetesVersion: "1.19"',
        [
            (
                "environments/prod.yaml",
                7,
                20,
                "kubernetesVersion",
                "Kubernetes version '1.19' is not supported; use one of 1.25, 1.26, 1.27, 1.28, 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36, 1.37",
                "",
            ),
        ],
        id="unsupported_k8s_version",
    ),
    pytest.param(
        "environments/prod.yaml",
        "promotesFrom: staging",
        "promotesFrom: stagin",
        [
            (
                "environments/prod.yaml",
                18,
                15,
                "promotesFrom",
                "unknown environment 'stagin'",
                "did you mean 'staging'?",
            ),
        ],
        id="unknown_promotes_from",
    ),
    pytest.param(
        "environments/dev.yaml",
        "policyProfile: dev",
        "policyProfile: dev\npromotesFrom: prod",
        [
            ("environments/dev.yaml", 19, 15, "promotesFrom", "promotion cycle through 'dev'", ""),
            ("environments/prod.yaml", 18, 15, "promotesFrom", "promotion cycle through 'prod'", ""),
            ("environments/staging.yaml", 18, 15, "promotesFrom", "promotion cycle through 'staging'", ""),
        ],
        id="promotion_cycle",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  name: churn",
        "  name: churn-v2",
        [
            (
                "models/churn/model.yaml",
                7,
                9,
                "metadata.name",
                "name 'churn-v2' differs from its folder name 'churn'",
                "rename one so both read 'churn-v2'",
            ),
        ],
        id="name_differs_from_folder",
    ),
    pytest.param(
        "models/churn/model.yaml",
        '  owners: ["@acme/growth-ds", "maria.lopez@acme.example"]',
        '  owners: ["@acme/growth-ds", "maria.lopez@acme.example"',
        [
            ("models/churn/model.yaml", 10, 3, "", "YAML syntax error: did not find expected ',' or ']'", ""),
        ],
        id="unclosed_bracket",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  port: 8080",
        "\tport: 8080",
        [
            (
                "models/churn/model.yaml",
                25,
                1,
                "",
                "YAML syntax error: found a tab character that violates indentation",
                "",
            ),
        ],
        id="tab_indentation",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  port: 8080",
        "  <<: {port: 8080}",
        [
            (
                "models/churn/model.yaml",
                25,
                3,
                "serving",
                "YAML merge keys (<<) are not supported",
                "write the keys out",
            ),
        ],
        id="merge_key",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  port: 8080",
        "  port: !!python/object:os.system 8080",
        [
            (
                "models/churn/model.yaml",
                25,
                9,
                "serving.port",
                "unsupported YAML tag '!!python/object:os.system'",
                "remove the tag",
            ),
        ],
        id="python_tag",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "fairness: {metric: disparate_impact, min: 0.8, max: 1.25,",
        "fairness: {metric: disparate_impact,",
        [
            ("models/churn/model.yaml", 63, 13, "monitoring.fairness", "a fairness bound needs min, max or both", ""),
        ],
        id="fairness_without_bounds",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  errorRate: 0.01",
        "  errorRate: -0.01",
        [
            ("models/churn/model.yaml", 59, 14, "monitoring.errorRate", "must be greater than 0, got -0.01", ""),
        ],
        id="negative_error_rate",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  port: 8080",
        "  port: true",
        [
            ("models/churn/model.yaml", 25, 9, "serving.port", "expected a whole number, got true", ""),
        ],
        id="bool_for_int",
    ),
    pytest.param(
        "models/churn/model.yaml",
        "  classification: [pii]",
        "  classification: [secret]",
        [
            (
                "models/churn/model.yaml",
                15,
                20,
                "data.classification[0]",
                "'secret' is not allowed; use 'public', 'internal', 'confidential', 'pii' or 'phi'",
                "",
            ),
        ],
        id="unknown_data_class",
    ),
]


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    for name in ("models", "environments"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{file} no longer contains {old!r}; update the case"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("file,old,new,expected", CASES)
def test_bad_spec_is_reported_exactly(repo_copy: Path, file: str, old: str, new: str, expected: list[tuple]) -> None:
    _edit(repo_copy, file, old, new)
    _, problems = load_repo(repo_copy)
    assert [(p.file, p.line, p.col, p.path, p.message, p.hint) for p in problems] == expected


def test_cpu_as_a_plain_number_is_fine(repo_copy: Path) -> None:
    _edit(repo_copy, "models/churn/model.yaml", 'limits: {cpu: "1", memory: 2Gi}', "limits: {cpu: 2, memory: 2Gi}")
    repo, problems = load_repo(repo_copy)
    assert problems == []
    assert repo.resolved[("prod", "churn")].model.serving.resources.limits.cpu == "2"


def test_cron_descriptor_is_accepted(repo_copy: Path) -> None:
    _edit(repo_copy, "models/churn/model.yaml", 'schedule: "0 2 * * 1"', "schedule: '@daily'")
    assert load_repo(repo_copy)[1] == []


def _write(root: Path, data: bytes) -> None:
    (root / "models/churn/model.yaml").write_bytes(data)


FILE_CASES = [
    pytest.param(b"apiVersion: modelplane.dev/v1\x00\n", 1, 1, "binary file, not YAML text", id="binary"),
    pytest.param(b"kind: Model\nmetadata:\n  team: gr\xe9\n", 3, 11, "not valid UTF-8 (byte 0xe9)", id="latin-1"),
    pytest.param(b"", 1, 1, "file is empty", id="empty"),
    pytest.param(b"# only a comment\n", 1, 1, "file is empty", id="comment-only"),
    pytest.param(
        b"kind: Model\n---\nkind: Model\n", 3, 1, "expected one YAML document, found more than one", id="two-docs"
    ),
    pytest.param(
        b"a: " + b"[" * 200 + b"]" * 200 + b"\n", 1, 68, "nesting is deeper than 64 levels", id="deep-nesting"
    ),
]


@pytest.mark.parametrize("data,line,col,message", FILE_CASES)
def test_unreadable_files_are_one_clear_problem(
    repo_copy: Path, data: bytes, line: int, col: int, message: str
) -> None:
    _write(repo_copy, data)
    _, problems = load_repo(repo_copy)
    churn = [p for p in problems if p.file == "models/churn/model.yaml"]
    assert [(p.line, p.col, p.message) for p in churn] == [(line, col, message)]


def test_oversized_file(repo_copy: Path) -> None:
    _write(repo_copy, b"# padding\n" * 110_000)
    _, problems = load_repo(repo_copy)
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("models/churn/model.yaml", 1, "file is 1.0 MiB; the limit is 1 MiB")
    ]


def test_alias_bomb_is_refused_fast(repo_copy: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    _write(repo_copy, ("\n".join(lines) + "\n").encode())
    start = time.perf_counter()
    _, problems = load_repo(repo_copy)
    assert time.perf_counter() - start < 2
    churn = [p for p in problems if p.file == "models/churn/model.yaml"]
    assert len(churn) == 1
    assert churn[0].message == "YAML aliases expand to more than 10000 nodes"
    assert churn[0].hint.startswith("an alias bomb?")


def test_all_problems_of_all_files_in_one_run(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo_copy, "models/churn/model.yaml", "  team: growth-ds", "  teem: growth-ds")
    _edit(repo_copy, "models/fraud-detection/model.yaml", "  version: 12", "  version: twelve")
    _edit(repo_copy, "environments/staging.yaml", "namespace: ml-staging", "namespace: ML")
    assert main(["--root", str(repo_copy), "validate"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "environments/staging.yaml:11:12: namespace: 'ML' is not a valid Kubernetes name: use at most 63 lower-case"
        " letters, digits and '-', starting and ending with a letter or digit",
        "models/churn/model.yaml:6:1: metadata.team: required key 'team' is missing",
        "models/churn/model.yaml:8:3: metadata.teem: unknown key 'teem' (did you mean 'team'?)",
        "models/fraud-detection/model.yaml:13:12: registry.version: expected a whole number, got 'twelve'",
    ]
    assert out[-1].endswith("4 problem(s)")


def test_json_format(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _edit(repo_copy, "models/churn/model.yaml", "  port: 8080", "  port: eighty")
    assert main(["--root", str(repo_copy), "validate", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["problems"] == [
        {
            "file": "models/churn/model.yaml",
            "line": 25,
            "col": 9,
            "path": "serving.port",
            "message": "expected a whole number, got 'eighty'",
            "hint": "",
            "severity": "error",
            "code": "schema",
        }
    ]


def test_github_format(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo_copy, "models/churn/model.yaml", "  port: 8080", "  prot: 8080")
    assert main(["--root", str(repo_copy), "validate", "--format", "github"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "::error file=models/churn/model.yaml,line=25,col=3::serving.prot: unknown key 'prot' (did you mean 'port'?)"
    ]


def test_exit_codes_and_no_traceback(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(repo_copy), "validate"]) == 0
    assert main(["--root", str(repo_copy), "validate", "no/such/file.yaml"]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder: no/such/file.yaml" in err
    _write(repo_copy, b"\x00\x01")
    assert main(["--root", str(repo_copy), "validate"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_a_single_file_is_checked_against_the_repo_environments(
    repo_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo_copy)
    _edit(repo_copy, "models/churn/model.yaml", "  prod:\n    serving:", "  prdo:\n    serving:")
    assert main(["validate", "models/churn/model.yaml"]) == 1
    out = capsys.readouterr().out
    assert "models/churn/model.yaml:81:3: environments.prdo: unknown environment 'prdo' (did you mean 'prod'?)" in out
    assert "1 model(s), 3 environment(s)" in out
