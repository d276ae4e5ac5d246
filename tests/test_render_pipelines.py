"""Training workflows, Argo CD applications and model cards rendered from the spec."""

from __future__ import annotations

from typing import Any

import pytest

from modelplane.manifests import ManifestChecker
from modelplane.render.argocd import Child, render_application, render_root, sync_wave
from modelplane.render.base import parse_objects
from modelplane.render.card import MISSING, render_card
from modelplane.render.training import deadline_seconds, render_training, step_resources
from modelplane.repo import Repo
from modelplane.spec.model import Resources
from tests.conftest import CRDS, ROOT, synced_paths


@pytest.fixture(scope="module")
def checker() -> ManifestChecker:
    return ManifestChecker(CRDS)


def _training(repo: Repo, env: str, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    output = render_training(repo.resolved[(env, model)])
    assert output is not None
    cron, template, *_ = output.objects
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
        app = render_application(resolved, synced_paths(resolved)).objects[0]
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
    apps = [
        Child(sync_wave(r), r.model.metadata.name, render_application(r, synced_paths(r)).content()) for r in in_prod
    ]
    root, *children = parse_objects(render_root(example_repo.env("prod"), apps).content())
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
        assert (
            render_application(resolved, synced_paths(resolved)).content()
            == render_application(resolved, synced_paths(resolved)).content()
        )


def _containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t["container"] for t in template["spec"]["templates"] if "container" in t}


def test_every_training_step_is_hardened_and_bounded(example_repo: Repo) -> None:
    for (env, model), resolved in sorted(example_repo.resolved.items()):
        cron, template = _training(example_repo, env, model)
        containers = _containers(template)
        assert sorted(containers) == ["evaluate", "register", "snapshot", "train"]
        for step, container in containers.items():
            where = f"{env}/{model}/{step}"
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True and security["runAsUser"] >= 10000, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert container["volumeMounts"] == [{"mountPath": "/tmp", "name": "tmp"}], where  # outputs go there
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), where
        assert template["spec"]["volumes"] == [{"emptyDir": {}, "name": "tmp"}]
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True
        deadline = deadline_seconds(resolved.model.training.schedule)  # type: ignore[union-attr]
        assert template["spec"]["activeDeadlineSeconds"] == deadline
        assert cron["spec"]["workflowSpec"]["activeDeadlineSeconds"] == deadline


def test_register_runs_in_the_training_image_pinned_by_digest_in_prod(example_repo: Repo) -> None:
    for (env, model), resolved in sorted(example_repo.resolved.items()):
        _, template = _training(example_repo, env, model)
        register = _containers(template)["register"]
        assert register["image"] == resolved.model.training.image  # type: ignore[union-attr]
        assert register["resources"] == {
            "limits": {"cpu": "500m", "memory": "512Mi"},
            "requests": {"cpu": "100m", "memory": "256Mi"},
        }
        if env == "prod":
            assert "@sha256:" in register["image"], f"{env}/{model}: {register['image']}"


def test_a_run_never_outlasts_the_gap_to_the_next_scheduled_run() -> None:
    assert deadline_seconds("*/15 * * * *") == 900
    assert deadline_seconds("0 */6 * * *") == 6 * 3600
    assert deadline_seconds("0 2 * * 1") == 24 * 3600  # weekly: capped at a day
    assert deadline_seconds("0 9,10 * * *") == 3600  # the shortest gap counts


def test_steps_get_limits_even_when_the_spec_sets_none(example_repo: Repo) -> None:
    training = example_repo.resolved[("prod", "churn")].model.training
    assert training is not None
    bare = training.model_copy(update={"resources": Resources()})
    assert step_resources(bare) == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    only_requests = training.model_copy(update={"resources": Resources.model_validate({"requests": {"cpu": "3"}})})
    assert step_resources(only_requests) == {"requests": {"cpu": "3"}, "limits": {"cpu": "3"}}


def test_the_service_account_the_workflows_run_as_is_rendered(example_repo: Repo, checker: ManifestChecker) -> None:
    for (_, model), resolved in sorted(example_repo.resolved.items()):
        output = render_training(resolved)
        assert output is not None
        by_kind = {o["kind"]: o for o in output.objects}
        account = by_kind["ServiceAccount"]["metadata"]
        assert by_kind["WorkflowTemplate"]["spec"]["serviceAccountName"] == account["name"] == f"{model}-training"
        assert account["namespace"] == resolved.env.namespace
        binding = by_kind["RoleBinding"]
        subject = {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        assert binding["subjects"] == [subject]
        assert binding["roleRef"]["name"] == by_kind["Role"]["metadata"]["name"]
        assert by_kind["Role"]["rules"] == [
            {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}
        ]
        for obj in output.objects:
            assert checker.errors(obj, resolved.env.kubernetes_version) == [], obj["kind"]


def test_argo_cd_ignores_the_replicas_an_autoscaler_owns(example_repo: Repo) -> None:
    """Cross-checked against the committed serving output: an Application ignores `spec.replicas`
    of exactly the workload that the rendered HPA scales, and of nothing else."""
    seen_hpa = False
    for (env, model), resolved in sorted(example_repo.resolved.items()):
        serving = parse_objects((ROOT / "rendered" / env / model / "serving.yaml").read_text(encoding="utf-8"))
        hpas = [o for o in serving if o["kind"] == "HorizontalPodAutoscaler"]
        app = render_application(resolved, synced_paths(resolved)).objects[0]
        ignored = app["spec"].get("ignoreDifferences", [])
        replicas = [i for i in ignored if i.get("jsonPointers") == ["/spec/replicas"]]
        if not hpas:
            assert replicas == [], f"{env}/{model}"
            if not ignored:  # (what Argo Rollouts rewrites is ignored too: tests/test_render_delivery.py)
                assert "RespectIgnoreDifferences=true" not in app["spec"]["syncPolicy"]["syncOptions"]
            continue
        seen_hpa = True
        assert replicas == [
            {
                "group": hpa["spec"]["scaleTargetRef"]["apiVersion"].split("/")[0],
                "jsonPointers": ["/spec/replicas"],
                "kind": hpa["spec"]["scaleTargetRef"]["kind"],
                "name": hpa["spec"]["scaleTargetRef"]["name"],
                "namespace": resolved.env.namespace,
            }
            for hpa in hpas
        ], f"{env}/{model}"
        # without this option a sync would still write the ignored field back
        assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert seen_hpa


def test_every_cluster_object_is_synced_by_its_application() -> None:
    """Each model's Application includes exactly the rendered files that hold cluster objects."""
    import fnmatch

    import yaml

    for app_file in sorted(ROOT.glob("rendered/*/*/application.yaml")):
        folder = app_file.parent
        include = yaml.safe_load(app_file.read_text())["spec"]["source"]["directory"]["include"]
        names, ext = include.strip("{").split("}")
        globbed = {f"{n}{ext}" for n in names.split(",")}
        holding_objects = {
            p.name
            for p in folder.glob("*.yaml")
            if p.name != "application.yaml"
            and any(isinstance(d, dict) and "apiVersion" in d for d in yaml.safe_load_all(p.read_text()))
        }
        assert globbed == holding_objects, folder
        assert {"serving.yaml", "monitoring.yaml"} <= globbed
        assert not fnmatch.filter(["monitoring.rules.yaml", "alertmanager.yml", "MODEL_CARD.md"], include)
