"""The model card in Markdown, per (model, environment); missing fields are shown as gaps.

The card is the Jinja2 template `templates/model-card.md.j2` beside this module; a config
repository replaces it with its own `templates/model-card.md.j2`. Every value is escaped for
Markdown (see `modelplane.templating`), so no spec text can add markup to the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelplane.binding import artifact
from modelplane.render.base import Output
from modelplane.resolve import Resolved
from modelplane.templating import MISSING, Md, markdown_environment, render

BUILTIN = Path(__file__).with_name("templates")
CARD_TEMPLATE = "model-card.md.j2"
OVERRIDE_DIR = "templates"  # in the config repository

__all__ = ["CARD_TEMPLATE", "MISSING", "OVERRIDE_DIR", "render_card"]


def _signals(resolved: Resolved) -> list[tuple[str, str]]:
    mon = resolved.model.monitoring
    rows = [
        ("p99 latency", f"≤ {mon.latency_p99_ms} ms"),
        ("error rate", f"≤ {mon.error_rate:g}"),
        ("availability target", f"{mon.availability_target:g}"),
    ]
    if mon.drift:
        rows.append((f"drift ({mon.drift.metric})", f"≤ {mon.drift.threshold:g}"))
    if mon.accuracy:
        bound = f"≥ {mon.accuracy.min:g}" if mon.accuracy.min is not None else f"≤ {mon.accuracy.max:g}"
        rows.append((mon.accuracy.metric, bound))
    if mon.fairness:
        f = mon.fairness
        bounds = " and ".join(
            x for x in (f"≥ {f.min:g}" if f.min is not None else "", f"≤ {f.max:g}" if f.max is not None else "") if x
        )
        rows.append((f"fairness ({f.metric})", bounds))
    return rows


_NO_FACTS = {"found": False, "approved": False, "runId": "", "source": "", "status": ""}


def card_context(resolved: Resolved, registry_facts: dict[str, Any] | None) -> dict[str, Any]:
    model = resolved.model
    return {
        "model": model,
        "env": resolved.env,
        "card": model.card,
        "data": model.data,
        "serving": model.serving,
        "training": model.training,
        "registry": None if registry_facts is None else {**_NO_FACTS, **registry_facts},
        "artifact": artifact(resolved, registry_facts or {}),
        "signals": _signals(resolved),
        "missing": Md(MISSING),
    }


def render_card(
    resolved: Resolved, registry_facts: dict[str, Any] | None = None, config_root: Path | None = None
) -> Output:
    """The card; `config_root` is the config repository, whose `templates/` may override the template."""
    override = config_root / OVERRIDE_DIR if config_root is not None else None
    if override is not None and not (override / CARD_TEMPLATE).is_file():
        override = None
    env = markdown_environment(override, BUILTIN)
    where = str(override / CARD_TEMPLATE) if override is not None else CARD_TEMPLATE
    return Output("MODEL_CARD.md", text=render(env, CARD_TEMPLATE, where, **card_context(resolved, registry_facts)))
