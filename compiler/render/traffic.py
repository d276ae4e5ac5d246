"""The traffic plan: which version gets what share of requests at each step, per strategy.

Computed once from the resolved spec. `serving.py` hands its pieces to the chart as data: the
Argo Rollouts strategy (canary steps with `setWeight`, `setMirrorRoute` and `setCanaryScale`, or
blue/green's Services and analyses), the Istio VirtualService and DestinationRule the Rollout
manages, and the A/B Experiment. Tests read the shares back from the rendered objects.

With Istio (`trafficRouting`) the shares are exact: Argo Rollouts writes the weights into the
VirtualService's `primary` route and the ReplicaSets' pod-template hashes into the
DestinationRule's `stable` and `canary` subsets. Without it a canary's weight is its share of
the pods, which is all Kubernetes can do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelplane.render import analysis as an
from modelplane.resolve import Resolved
from modelplane.spec.delivery import ROLLOUT_STRATEGIES, ROUTED

PRIMARY_ROUTE, TESTER_ROUTE, MIRROR_ROUTE = "primary", "testers", "shadow"
STABLE_SUBSET, CANARY_SUBSET = "stable", "canary"
MATCH_ALL = [{"path": {"prefix": "/"}}]
# Every name derived from a model's name, by suffix; the longest must fit 63 with the longest
# model name (tests/test_render_delivery.py checks it). `-ab-v` carries variant B's version.
SUFFIXES = {"preview": "-preview", "compare": "-compare", "ab": "-ab", "b": "-b", "experiment": "-ab-v"}
AB_VERSION_DIGITS = 9


@dataclass(frozen=True)
class Share:
    """Requests at one step: `stable` + `new` = 100 %; `mirror` % are copied to the new version,
    whose answers are discarded. `hold` is how long the step lasts (None: until a person acts)."""

    stable: int
    new: int
    mirror: int = 0
    hold: str | None = None


@dataclass(frozen=True)
class TrafficPlan:
    strategy: str
    exact: bool  # Istio sets the weights; otherwise they are shares of pods
    shares: tuple[Share, ...]
    current: int | None = None  # KServe: the step its InferenceService is at (index into shares)


def names(resolved: Resolved) -> dict[str, str]:
    model = resolved.model.metadata.name
    out = {"service": model, "analysis": model, "virtualService": model, "destinationRule": model}
    out.update({key: model + suffix for key, suffix in SUFFIXES.items()})
    ab = resolved.model.serving.rollout.ab_test
    if ab is not None and ab.version is not None:
        out["experiment"] += str(ab.version)
    return out


def is_routed(resolved: Resolved) -> bool:
    serving = resolved.model.serving
    return (
        serving.backend == "kubernetes"
        and serving.rollout.strategy in ROUTED
        and serving.rollout.traffic_routing is not None
    )


def workload_kind(resolved: Resolved) -> str:
    """The kind that runs the model's pods on the kubernetes backend."""
    return "Rollout" if resolved.model.serving.rollout.strategy in ROLLOUT_STRATEGIES else "Deployment"


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match is not None  # a Duration is checked by the spec
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def plan(resolved: Resolved) -> TrafficPlan:
    serving = resolved.model.serving
    rollout = serving.rollout
    strategy, exact = rollout.strategy, is_routed(resolved)
    shadow = rollout.shadow if strategy in ("canary", "shadow") and exact else None
    shares: list[Share] = []
    if shadow is not None:
        shares.append(Share(100, 0, shadow.mirror_percent, shadow.duration))
    if strategy == "canary":
        shares += [Share(100 - s.weight, s.weight, 0, s.pause) for s in rollout.steps]
        if serving.backend == "kserve" and serving.kserve is not None:
            return TrafficPlan(strategy, True, tuple(shares), serving.kserve.canary_step - 1)
    elif strategy == "shadow":
        shares.append(Share(100, 0))  # the window is over: no mirror, held until the spec changes
    elif strategy == "blueGreen":
        shares += [Share(100, 0), Share(0, 100)]  # the preview answers only on <model>-preview
    elif strategy == "abTest":
        ab = rollout.ab_test
        assert ab is not None and ab.split is not None
        shares.append(Share(100 - ab.split, ab.split, 0, ab.duration))
    else:
        shares.append(Share(0, 100))
    return TrafficPlan(strategy, exact or strategy in ("blueGreen", "rolling"), tuple(shares))


def canary_steps(resolved: Resolved) -> list[dict[str, Any]]:
    """Argo Rollouts canary steps: the shadow phase (if any), then one setWeight and pause per step."""
    rollout = resolved.model.serving.rollout
    steps: list[dict[str, Any]] = []
    if rollout.shadow is not None and is_routed(resolved):
        mirror = rollout.shadow.mirror_percent
        steps += [
            {"setCanaryScale": {"weight": mirror}},  # pods in proportion to the mirrored share
            {"setMirrorRoute": {"name": MIRROR_ROUTE, "percentage": mirror, "match": MATCH_ALL}},
            {"pause": {"duration": rollout.shadow.duration}},
            {"setMirrorRoute": {"name": MIRROR_ROUTE}},  # no match: Argo removes the mirror route
        ]
        if rollout.strategy == "shadow":
            return [*steps, {"pause": {}}]  # never a weight: the new version serves nobody
        steps.append({"setCanaryScale": {"matchTrafficWeight": True}})
    for step in rollout.steps:
        steps += [{"setWeight": step.weight}, {"pause": {"duration": step.pause}}]
    return steps


def _analysis_block(templates: list[str], args: list[dict[str, Any]]) -> dict[str, Any]:
    return {"templates": [{"templateName": t} for t in templates], "args": args}


def _template_names(resolved: Resolved) -> list[str]:
    return [t["name"] for t in an.rollout_templates(resolved, names(resolved))]


def canary_strategy(resolved: Resolved) -> dict[str, Any]:
    """`spec.strategy.canary` of the Rollout for canary and shadow."""
    n, rollout, namespace = names(resolved), resolved.model.serving.rollout, resolved.env.namespace
    out: dict[str, Any] = {"maxUnavailable": 0, "steps": canary_steps(resolved)}
    templates = _template_names(resolved)
    if templates:
        stable = n["service"] if len(templates) > 1 else None
        block = _analysis_block(templates, an.run_args(namespace, n["service"], stable_service=stable))
        # The first step that measures: after the first weight, or once the mirror is in place.
        block["startingStep"] = 2 if rollout.shadow is not None and is_routed(resolved) else 1
        out["analysis"] = block
    if is_routed(resolved):
        istio = {
            "virtualService": {"name": n["virtualService"], "routes": [PRIMARY_ROUTE]},
            "destinationRule": {
                "name": n["destinationRule"],
                "canarySubsetName": CANARY_SUBSET,
                "stableSubsetName": STABLE_SUBSET,
            },
        }
        out["trafficRouting"] = {"istio": istio}
        if rollout.shadow is not None:
            out["trafficRouting"]["managedRoutes"] = [{"name": MIRROR_ROUTE}]
    return out


def blue_green_strategy(resolved: Resolved) -> dict[str, Any]:
    """`spec.strategy.blueGreen`: the preview is analysed against the active version before the
    switch (pre-promotion), the new active version on its own after it (post-promotion)."""
    n, namespace = names(resolved), resolved.env.namespace
    bg = resolved.model.serving.rollout.blue_green
    assert bg is not None
    out: dict[str, Any] = {
        "activeService": n["service"],
        "previewService": n["preview"],
        "autoPromotionEnabled": bg.auto_promotion,
        "scaleDownDelaySeconds": seconds(bg.scale_down_delay),
    }
    if bg.auto_promotion_after is not None:
        out["autoPromotionSeconds"] = seconds(bg.auto_promotion_after)
    if bg.preview_replicas is not None:
        out["previewReplicaCount"] = bg.preview_replicas
    templates = _template_names(resolved)
    if templates:
        stable = n["service"] if len(templates) > 1 else None
        out["prePromotionAnalysis"] = _analysis_block(
            templates, an.run_args(namespace, n["preview"], stable_service=stable)
        )
        out["postPromotionAnalysis"] = _analysis_block(templates[:1], an.run_args(namespace, n["service"]))
    return out


def _tester_route(resolved: Resolved, destination: dict[str, Any]) -> list[dict[str, Any]]:
    routing = resolved.model.serving.rollout.traffic_routing
    if routing is None or routing.tester_header is None:
        return []
    header = routing.tester_header
    return [
        {
            "name": TESTER_ROUTE,
            "match": [{"headers": {header.name: {"exact": header.value}}}],
            "route": [{"destination": destination, "weight": 100}],
        }
    ]


def virtual_service(resolved: Resolved) -> dict[str, Any] | None:
    """The VirtualService's spec: clients' host and the Service's own name, so callers inside the
    mesh get the same exact shares; testers' header first, then the weighted `primary` route."""
    if not is_routed(resolved):
        return None
    n, rollout = names(resolved), resolved.model.serving.rollout
    routing = rollout.traffic_routing
    assert routing is not None and routing.host is not None
    spec: dict[str, Any] = {"hosts": sorted({routing.host, n["service"]})}
    if routing.gateway is not None:
        spec["gateways"] = [routing.gateway, "mesh"]
    if rollout.strategy == "abTest":
        ab = rollout.ab_test
        assert ab is not None and ab.split is not None
        http = _tester_route(resolved, {"host": n["b"]})
        primary = [
            {"destination": {"host": n["service"]}, "weight": 100 - ab.split},
            {"destination": {"host": n["b"]}, "weight": ab.split},
        ]
    else:
        http = _tester_route(resolved, {"host": n["service"], "subset": CANARY_SUBSET})
        primary = [
            {"destination": {"host": n["service"], "subset": STABLE_SUBSET}, "weight": 100},
            {"destination": {"host": n["service"], "subset": CANARY_SUBSET}, "weight": 0},
        ]
    spec["http"] = [*http, {"name": PRIMARY_ROUTE, "route": primary}]
    return spec


def destination_rule(resolved: Resolved) -> dict[str, Any] | None:
    """The host and subset names; the chart gives each subset the pods' selector labels and Argo
    Rollouts adds each ReplicaSet's pod-template hash. An A/B routes by Service (variant A and B
    each have one) and needs none."""
    if not is_routed(resolved) or resolved.model.serving.rollout.strategy == "abTest":
        return None
    return {"host": names(resolved)["service"], "subsets": [CANARY_SUBSET, STABLE_SUBSET]}


def experiment(resolved: Resolved) -> dict[str, Any] | None:
    """The A/B's Experiment: it runs `<model>-ab` for the stated duration and records the verdict.
    Both variants are long-lived Deployments (the split stays until the spec changes), so its one
    template runs no pods: Argo Rollouts requires a template, and a pod here would take a share of
    variant B's traffic."""
    ab = resolved.model.serving.rollout.ab_test
    if resolved.model.serving.rollout.strategy != "abTest" or ab is None:
        return None
    n = names(resolved)
    args = an.run_args(resolved.env.namespace, n["b"], stable_service=n["service"], hashes=False)
    return {
        "name": n["experiment"],
        "duration": ab.duration,
        "analyses": [{"name": "ab", "templateName": n["ab"], "args": args}],
    }


def analysis_templates(resolved: Resolved) -> list[dict[str, Any]]:
    if resolved.model.serving.backend != "kubernetes":
        return []
    n = names(resolved)
    strategy = resolved.model.serving.rollout.strategy
    if strategy == "abTest":
        return [an.ab_template(resolved, n)]
    if strategy in ROLLOUT_STRATEGIES:
        return an.rollout_templates(resolved, n)
    return []


def rollouts_managed_fields(resolved: Resolved) -> list[dict[str, Any]]:
    """What Argo Rollouts rewrites while a rollout runs, for Argo CD's `ignoreDifferences`: the
    VirtualService's weights and mirror route, the subsets' hashes, blue/green's Service selectors."""
    serving, n, namespace = resolved.model.serving, names(resolved), resolved.env.namespace
    out: list[dict[str, Any]] = []
    if is_routed(resolved) and serving.rollout.strategy != "abTest":
        out.append(
            {
                "group": "networking.istio.io",
                "kind": "VirtualService",
                "name": n["virtualService"],
                "namespace": namespace,
                "jqPathExpressions": [
                    ".spec.http[].route[].weight",
                    f'.spec.http[] | select(.name == "{MIRROR_ROUTE}")',
                ],
            }
        )
        out.append(
            {
                "group": "networking.istio.io",
                "kind": "DestinationRule",
                "name": n["destinationRule"],
                "namespace": namespace,
                "jqPathExpressions": ['.spec.subsets[].labels["rollouts-pod-template-hash"]'],
            }
        )
    if serving.backend == "kubernetes" and serving.rollout.strategy == "blueGreen":
        for service in (n["service"], n["preview"]):
            out.append(
                {
                    "kind": "Service",
                    "name": service,
                    "namespace": namespace,
                    "jsonPointers": ["/spec/selector/rollouts-pod-template-hash"],
                }
            )
    return out


def autoscaled_workloads(resolved: Resolved) -> list[dict[str, str]]:
    """The workloads whose replica count the chart's HPA owns (min != max): group, kind, name."""
    serving = resolved.model.serving
    if serving.backend != "kubernetes" or serving.replicas.min == serving.replicas.max:
        return []
    kind = workload_kind(resolved)
    group = "argoproj.io" if kind == "Rollout" else "apps"
    out = [{"group": group, "kind": kind, "name": names(resolved)["service"]}]
    if serving.rollout.strategy == "abTest":
        out.append({"group": "apps", "kind": "Deployment", "name": names(resolved)["b"]})
    return out
