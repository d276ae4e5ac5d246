"""The render targets: each turns resolved pairs into the outputs it owns, every output carrying
its own path and `synced` flag. Adding a target is one module and one line in `PER_PAIR`.

A target renders a list of pairs at once. Most are a pure function of one pair (`EachPair`);
serving hands the whole list to helm, which renders many releases per process (`Serving`).
After every target, delivery (`argocd.py`) adds the pair's Application, which syncs exactly the
outputs that say `synced`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modelplane.render.alert_routing import render_alert_routing
from modelplane.render.alerts import AlertSet, alert_set
from modelplane.render.base import Output
from modelplane.render.card import render_card
from modelplane.render.dashboard import render_dashboard
from modelplane.render.monitor_job import render_monitor_job
from modelplane.render.monitoring import render_monitoring
from modelplane.render.retrain_events import render_retrain_events
from modelplane.render.serving import HelmRenderer
from modelplane.render.training import render_training
from modelplane.resolve import Resolved

PairKey = tuple[str, str]


@dataclass(frozen=True)
class Pair:
    """One (model, environment) to render, and what its targets share."""

    resolved: Resolved
    registry: dict[str, Any]  # the lock's facts for the pinned version
    lock: dict[str, Any] = field(default_factory=dict)  # modelplane.lock's data, shared by every pair
    config_root: Path | None = None  # the config repository, whose templates/ may override the card

    @property
    def key(self) -> PairKey:
        return self.resolved.key

    @functools.cached_property
    def alerts(self) -> AlertSet:
        """The alert model, computed once for the rules and their tests."""
        return alert_set(self.resolved)


class Target(Protocol):
    @property
    def name(self) -> str: ...

    def render(self, pairs: Sequence[Pair]) -> dict[PairKey, list[Output]]: ...


@dataclass(frozen=True)
class EachPair:
    """A target that is a pure function of one pair."""

    name: str
    render_pair: Callable[[Pair], list[Output]]

    def render(self, pairs: Sequence[Pair]) -> dict[PairKey, list[Output]]:
        return {p.key: self.render_pair(p) for p in pairs}


@dataclass(frozen=True)
class Serving:
    """The serving release of every pair, rendered by helm a batch of releases per process."""

    helm: HelmRenderer
    name: str = "serving"

    def render(self, pairs: Sequence[Pair]) -> dict[PairKey, list[Output]]:
        lock = pairs[0].lock if pairs else {}  # one lock for the whole compile
        return {key: [output] for key, output in self.helm.render_many([p.resolved for p in pairs], lock).items()}


def _optional(output: Output | None) -> list[Output]:
    return [] if output is None else [output]


PER_PAIR: tuple[EachPair, ...] = (
    EachPair("monitoring", lambda p: render_monitoring(p.resolved, p.alerts)),
    EachPair("training", lambda p: _optional(render_training(p.resolved))),
    EachPair("monitor-job", lambda p: render_monitor_job(p.resolved)),
    EachPair("alert-routing", lambda p: render_alert_routing(p.resolved)),
    EachPair("retrain-events", lambda p: render_retrain_events(p.resolved)),
    EachPair("dashboard", lambda p: render_dashboard(p.resolved)),
    EachPair("card", lambda p: [render_card(p.resolved, p.registry, p.config_root)]),
)


def targets(helm: HelmRenderer) -> list[Target]:
    """Every target, serving first."""
    return [Serving(helm), *PER_PAIR]
