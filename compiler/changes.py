"""What a change to a resolved (model, environment) does: each changed key classified, and marked
breaking by the rules README's "Plan" section lists. Pure: plain data in, plain data out.

Specs are compared in their JSON form (`spec_data`: the resolved spec with every default filled
in, camelCase keys), so plan (head vs base) and audit (commit vs parent) classify alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelplane.resolve import Resolved

_ABSENT = object()

# Longest prefix wins. Keys are the spec's camelCase JSON keys.
CATEGORIES: list[tuple[tuple[str, ...], str]] = [
    (("registry", "version"), "registry version"),
    (("registry",), "registry"),
    (("metadata", "owners"), "ownership"),
    (("metadata", "team"), "ownership"),
    (("metadata",), "metadata"),
    (("data",), "data"),
    (("serving", "replicas"), "scaling"),
    (("serving", "resources"), "resources"),
    (("training", "resources"), "resources"),
    (("serving", "rollout", "strategy"), "rollout strategy"),
    (("serving", "rollout", "steps"), "rollout steps"),
    (("serving", "rollout", "analysis"), "rollout analysis"),
    (("serving", "image"), "image"),
    (("training", "image"), "image"),
    (("serving", "probes"), "probes"),
    (("serving",), "serving"),
    (("training", "schedule"), "training schedule"),
    (("training", "timezone"), "training schedule"),
    (("training", "acceptance"), "training gate"),
    (("training",), "training"),
    (("monitoring", "alertRoutes"), "routes"),
    (("monitoring", "monitor"), "quality monitor"),
    (("monitoring", "runbookUrl"), "alerts"),
    (("monitoring",), "alert thresholds"),
    (("card",), "card"),
]


@dataclass(frozen=True)
class Change:
    category: str
    path: str  # dotted key path in the resolved spec; "" for the whole pair
    before: Any
    after: Any
    breaking: str = ""  # why the change is breaking; empty when it is not

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "breaking": bool(self.breaking),
            "why": self.breaking,
        }


def spec_data(resolved: Resolved) -> dict[str, Any]:
    """The resolved spec as plain JSON data, defaults included, overrides already applied."""
    data: dict[str, Any] = resolved.model.model_dump(mode="json", by_alias=True, exclude={"environments"})
    return data


def category_of(path: tuple[str, ...]) -> str:
    best: tuple[int, str] = (0, "spec")
    for prefix, name in CATEGORIES:
        if path[: len(prefix)] == prefix and len(prefix) > best[0]:
            best = (len(prefix), name)
    return best[1]


def _leaves(before: Any, after: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Every key path where `before` and `after` differ; lists and scalars are compared whole."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from _leaves(before.get(key, _ABSENT), after.get(key, _ABSENT), (*path, key))
        return
    yield path, None if before is _ABSENT else before, None if after is _ABSENT else after


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _lower(before: Any, after: Any) -> bool:
    """A lower bound (a min) went down or away."""
    b, a = _num(before), _num(after)
    return b is not None and (a is None or a < b)


def _higher(before: Any, after: Any) -> bool:
    """An upper bound (a max) went up or away."""
    b, a = _num(before), _num(after)
    return b is not None and (a is None or a > b)


def _prod_rule(path: tuple[str, ...], before: Any, after: Any) -> str:
    """Why a change to a prod-profile environment is breaking, or ""."""
    key = ".".join(path)
    mins = {
        "training.acceptance.min": "lowers prod's acceptance bar for new versions",
        "monitoring.accuracy.min": "lowers prod's accuracy alert bound",
        "monitoring.fairness.min": "loosens prod's fairness bound",
    }
    maxes = {
        "monitoring.accuracy.max": "raises prod's tolerated error",
        "monitoring.fairness.max": "loosens prod's fairness bound",
        "serving.rollout.analysis.maxErrorRate": "loosens prod's canary analysis",
        "serving.rollout.analysis.maxLatencyP99Ms": "loosens prod's canary analysis",
    }
    if key in mins and _lower(before, after):
        return mins[key]
    if key in maxes and _higher(before, after):
        return maxes[key]
    whole = {
        "training.acceptance": "removes prod's acceptance gate",
        "training": "removes prod's continuous training and its acceptance gate",
        "monitoring.accuracy": "removes prod's accuracy alert",
        "monitoring.fairness": "removes prod's fairness bound",
        "serving.rollout.analysis": "removes prod's canary analysis",
    }
    if key in whole and before is not None and after is None:
        return whole[key]
    if key == "serving.rollout.strategy" and before == "canary" and after != "canary":
        return "prod loses its canary rollout"
    if key == "registry.name":
        return "prod serves a different registered model"
    return ""


def classify(before: dict[str, Any] | None, after: dict[str, Any] | None, *, prod: bool) -> list[Change]:
    """The changes from `before` to `after` (None: the model is not in the environment)."""
    if before is None and after is None:
        return []
    if before is None:
        return [Change("added", "", None, _get(after, "registry", "version"))]
    if after is None:
        why = "removes the model from a prod environment" if prod else ""
        return [Change("removed", "", _get(before, "registry", "version"), None, why)]
    out = []
    for path, old, new in _leaves(before, after, ()):
        out.append(Change(category_of(path), ".".join(path), old, new, _prod_rule(path, old, new) if prod else ""))
    return out


def version_category(before: int | None, after: int | None, upstream: int | None, ran_before: set[int]) -> str:
    """How a pinned version moved: promotion (now what upstream runs), rollback, or a new pin."""
    if before is None or after is None or before == after:
        return "registry version"
    if after < before or after in ran_before:
        return "rollback"
    if upstream is not None and after == upstream:
        return "promotion"
    return "registry version"


def refine_versions(changes: list[Change], upstream: int | None, ran_before: set[int]) -> list[Change]:
    """`registry version` changes named as promotion or rollback where they are one."""
    out = []
    for change in changes:
        if change.category == "registry version":
            name = version_category(change.before, change.after, upstream, ran_before)
            change = Change(name, change.path, change.before, change.after, change.breaking)
        out.append(change)
    return out


def outcome_change(before: str | None, after: str | None, *, prod: bool) -> Change | None:
    """The recorded policy outcome moved (pass / block / none)."""
    if before == after:
        return None
    why = "prod's recorded gate decision turns from pass to block" if prod and before == "pass" else ""
    return Change("policy outcome", "", before or "none", after or "none", why)
