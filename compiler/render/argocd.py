"""Argo CD: an `Application` per (model, environment), and an app-of-apps root per environment.

Each model's Application syncs only the outputs that say they are cluster objects (`synced`);
the model card, the promtool files, the plain Alertmanager fragment and the Application itself
are not (the root syncs the Applications).
Sync waves order the child Applications under the root: models holding pii/phi data sync
first (wave 1) so their access controls and alerts are in place before the rest (wave 2);
within a wave Argo CD orders by name. The root itself is wave 0.

A workload scaled by a HorizontalPodAutoscaler has its `spec.replicas` owned by the autoscaler:
the Application ignores that field (`ignoreDifferences`) and keeps it out of syncs
(`RespectIgnoreDifferences=true`), so self-heal and the autoscaler do not fight. The same holds
for what Argo Rollouts rewrites during a rollout (Istio weights and subsets, blue/green selectors).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from modelplane.render.base import Output, common_labels, dump_objects
from modelplane.render.traffic import autoscaled_workloads, rollouts_managed_fields
from modelplane.resolve import Resolved
from modelplane.spec.environment import Environment

SENSITIVE = {"pii", "phi"}


def sync_wave(resolved: Resolved) -> int:
    return 1 if SENSITIVE & set(resolved.model.data.classification) else 2


def _ignore_differences(resolved: Resolved) -> list[dict[str, Any]]:
    namespace = resolved.env.namespace
    scaled = [
        {**workload, "namespace": namespace, "jsonPointers": ["/spec/replicas"]}
        for workload in autoscaled_workloads(resolved)
    ]
    return scaled + rollouts_managed_fields(resolved)


def _sync_policy(env: Environment, *, respect_ignored: bool = False) -> dict[str, Any]:
    options = ["CreateNamespace=true", "ServerSideApply=true"]
    if respect_ignored:
        options.append("RespectIgnoreDifferences=true")
    policy: dict[str, Any] = {"syncOptions": options}
    if env.argocd.automated:
        policy["automated"] = {"prune": env.argocd.prune, "selfHeal": env.argocd.self_heal}
    return policy


def include_glob(paths: Sequence[str]) -> str:
    """Argo CD's `directory.include` for exactly these files, e.g. `{serving,training}.yaml`."""
    names = sorted(paths)
    if names and all(n.endswith(".yaml") for n in names):
        return "{" + ",".join(n.removesuffix(".yaml") for n in names) + "}.yaml"
    return "{" + ",".join(names) + "}"


def application(resolved: Resolved, synced: Sequence[str]) -> dict[str, Any]:
    env, name = resolved.env, resolved.model.metadata.name
    ignored = _ignore_differences(resolved)
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"{env.metadata.name}-{name}",
            "namespace": env.argocd.namespace,
            "labels": common_labels(resolved),
            "annotations": {"argocd.argoproj.io/sync-wave": str(sync_wave(resolved))},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": env.argocd.project,
            "source": {
                "repoURL": env.argocd.repo_url,
                "targetRevision": env.argocd.target_revision,
                "path": f"rendered/{env.metadata.name}/{name}",
                "directory": {"recurse": False, "include": include_glob(synced)},
            },
            "destination": {"server": env.argocd.destination.server, "namespace": env.namespace},
            "syncPolicy": _sync_policy(env, respect_ignored=bool(ignored)),
        },
    }
    if ignored:
        app["spec"]["ignoreDifferences"] = ignored
    return app


def render_application(resolved: Resolved, synced: Sequence[str]) -> Output:
    return Output("application.yaml", objects=[application(resolved, synced)])


class Child(NamedTuple):
    """One model's entry in the root: its sync wave and name (the order) and its Application's text."""

    wave: int
    model: str
    text: str


def root_application(env: Environment, models: Iterable[str]) -> dict[str, Any]:
    """The app-of-apps root of an environment: it syncs every model's Application."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"modelplane-{env.metadata.name}",
            "namespace": env.argocd.namespace,
            "labels": {
                "app.kubernetes.io/part-of": "modelplane",
                "app.kubernetes.io/managed-by": "modelplane",
                "modelplane.dev/environment": env.metadata.name,
            },
            "annotations": {
                "argocd.argoproj.io/sync-wave": "0",
                "modelplane.dev/models": ",".join(sorted(models)),
            },
        },
        "spec": {
            "project": env.argocd.project,
            "source": {
                "repoURL": env.argocd.repo_url,
                "targetRevision": env.argocd.target_revision,
                "path": f"rendered/{env.metadata.name}",
                "directory": {"recurse": True, "include": "*/application.yaml"},
            },
            # Application objects live in Argo CD's own namespace on the cluster running Argo CD.
            "destination": {"server": "https://kubernetes.default.svc", "namespace": env.argocd.namespace},
            "syncPolicy": _sync_policy(env),
        },
    }


def render_root(env: Environment, children: Sequence[Child]) -> Output:
    """`rendered/<env>/apps.yaml`: the root Application, then each model's Application document as
    its own `application.yaml` holds it, wave by wave and by name within a wave. Taking the
    children's text keeps the root current without re-rendering the models that did not change."""
    root = root_application(env, (c.model for c in children))
    ordered = sorted(children, key=lambda c: (c.wave, c.model))
    return Output("apps.yaml", objects=[root], text=dump_objects([root]) + "".join(c.text for c in ordered))
