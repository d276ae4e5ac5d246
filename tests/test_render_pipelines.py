"""Training workflows, Argo CD applications and model cards rendered from the spec."""

from __future__ import annotations

from typing import Any

import pytest

from modelplane.manifests import ManifestChecker
from modelplane.render.argocd import render_application, render_root
from modelplane.render.card import MISSING, render_card
from modelplane.render.training import render_training
from modelplane.repo import Repo
from tests.conftest import CRDS


@pytest.fixture(scope="module")
def checker() -> ManifestChecker:
    return ManifestChecker(CRDS)


def _training(repo: Repo, env: str, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    output = render_training(repo.resolved[(env, model)])
    assert output is not None
    cron, template = output.objects
    return cron, template


def test_cron_workflow_runs_the_template_on_the_spec_schedule(example_repo: Repo) -> None:
    cron, template = _training(example_repo, "prod", "churn")
    assert cron["kind"] == "CronWorkflow" and template["kind"] == "WorkflowTemplate"
    assert cron["spec"]["schedules"] == ["0 2 * * 1"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["workflowSpec"]["workflowTemplateRef"] == {"name": "churn-retrain"}
    assert template["metadata"]["name"] == "churn-retrain"


def test_the_gate_holds_the_acceptance_threshold(example_repo: Repo) -> None:
    _, template = _training(example_repo, "prod", "churn")
    dag = next(t for t in template["spec"]["templates"] if t["name"] == "pipeline")["dag"]["tasks"]
    order = {t["name"]: t.get("depends") for t in dag}
    assert order == {"snapshot": None, "train": "snapshot", "evaluate": "train", "register": "evaluate"}
    register = next(t for t in dag if t["name"] == "register")
    assert register["when"] == "{{tasks.evaluate.outputs.parameters.metric}} >= 0.85"
    evaluate = next(t for t in template["spec"]["templates"] if t["name"] == "evaluate")
    assert evaluate["outputs"]["parameters"][0]["description"] == "the evaluated auc"


def test_step_images_and_commands_come_from_the_spec(example_repo: Repo) -> None:
    _, template = _training(example_repo, "prod", "fraud-detection")
    snapshot = next(t for t in template["spec"]["templates"] if t["name"] == "snapshot")["container"]
    assert snapshot["command"] == ["python", "-m", "fraud.snapshot"]
    assert snapshot["args"] == ["--days", "30"]
    assert snapshot["image"].startswith("ghcr.io/acme/fraud-train@sha256:")
    assert snapshot["resources"] == {
        "limits": {"cpu": "8", "memory": "32Gi"},
        "requests": {"cpu": "4", "memory": "16Gi"},
    }


def test_spot_only_where_the_spec_asks(example_repo: Repo) -> None:
    _, staging = _training(example_repo, "staging", "demand-forecast")
    assert staging["spec"]["nodeSelector"] == {"modelplane.dev/capacity": "spot"}
    assert staging["spec"]["retryStrategy"]["limit"] == 3
    _, prod = _training(example_repo, "prod", "demand-forecast")  # prod override: spot false
    assert "nodeSelector" not in prod["spec"]
    _, churn = _training(example_repo, "prod", "churn")
    assert "tolerations" not in churn["spec"]


def test_training_objects_pass_their_crds(example_repo: Repo, checker: ManifestChecker) -> None:
    for resolved in example_repo.resolved.values():
        output = render_training(resolved)
        assert output is not None
        for obj in output.objects:
            assert checker.errors(obj, resolved.env.kubernetes_version) == [], obj["kind"]


def test_application_per_model_and_environment(example_repo: Repo, checker: ManifestChecker) -> None:
    for (env, model), resolved in example_repo.resolved.items():
        app = render_application(resolved).objects[0]
        environment = example_repo.env(env)
        assert app["metadata"]["name"] == f"{env}-{model}"
        assert app["spec"]["project"] == environment.argocd.project
        assert app["spec"]["destination"] == {
            "server": environment.argocd.destination.server,
            "namespace": environment.namespace,
        }
        assert app["spec"]["source"]["path"] == f"rendered/{env}/{model}"
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert checker.errors(app, environment.kubernetes_version) == []


def test_app_of_apps_lists_every_model_in_sync_wave_order(example_repo: Repo, checker: ManifestChecker) -> None:
    in_prod = [r for (env, _), r in sorted(example_repo.resolved.items()) if env == "prod"]
    root, *children = render_root(example_repo.env("prod"), in_prod).objects
    assert root["metadata"]["name"] == "modelplane-prod"
    assert root["spec"]["source"]["directory"] == {"include": "*/application.yaml", "recurse": True}
    waves = [(c["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], c["metadata"]["name"]) for c in children]
    # pii models first (churn, fraud-detection), then the rest
    assert waves == [("1", "prod-churn"), ("1", "prod-fraud-detection"), ("2", "prod-demand-forecast")]
    for obj in (root, *children):
        assert checker.errors(obj, "1.31") == []


def test_model_card_shows_the_spec_and_its_gaps(example_repo: Repo) -> None:
    card = render_card(
        example_repo.resolved[("prod", "churn")], {"found": True, "approved": True, "source": "s3://x/7"}
    ).content()
    assert card.startswith("# Model card: churn (prod)\n")
    assert "Prioritise retention outreach; a human reviews every offer above 50 EUR." in card
    assert "| auc | 0.89 |" in card
    assert "- Approved for promotion: yes" in card
    assert "- Canary steps: 5 % → 25 % → 50 % → 100 %" in card
    gaps = render_card(example_repo.resolved[("dev", "demand-forecast")]).content()
    assert f"## Out-of-scope use\n\n{MISSING}" in gaps


def test_renderers_are_deterministic(example_repo: Repo) -> None:
    for resolved in example_repo.resolved.values():
        training = render_training(resolved)
        assert training is not None and training.content() == render_training(resolved).content()  # type: ignore[union-attr]
        assert render_card(resolved).content() == render_card(resolved).content()
        assert render_application(resolved).content() == render_application(resolved).content()
