"""The model card in Markdown, per (model, environment); missing fields are shown as gaps."""

from __future__ import annotations

from typing import Any

from modelplane.render.base import Output
from modelplane.resolve import Resolved

MISSING = "_Not provided._"


def cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _text(value: str | None) -> str:
    return value.strip() if value and value.strip() else MISSING


def _section(title: str, value: str | None) -> list[str]:
    return [f"## {title}", "", _text(value), ""]


def _registry(resolved: Resolved, facts: dict[str, Any] | None) -> list[str]:
    reg = resolved.model.registry
    lines = [f"- Registered model: `{reg.name}`, version **{reg.version}**"]
    if facts and facts.get("found"):
        lines.append(f"- Approved for promotion: {'yes' if facts.get('approved') else 'no'}")
        if facts.get("runId"):
            lines.append(f"- Training run: `{facts['runId']}`")
        if facts.get("source"):
            lines.append(f"- Artifact: `{facts['source']}`")
    elif facts is not None:
        lines.append("- Registry facts: not in modelplane.lock (run `modelplane lock`)")
    return lines


def _serving(resolved: Resolved) -> list[str]:
    s = resolved.model.serving
    lines = [
        f"- Backend: {s.backend}" + (f" ({s.kserve.model_format})" if s.kserve else ""),
        f"- Image: `{s.image}`" if s.image else f"- Storage: `{s.kserve.storage_uri if s.kserve else ''}`",
        f"- Replicas: {s.replicas.min}–{s.replicas.max}",
        f"- Rollout: {s.rollout.strategy}",
    ]
    if s.rollout.strategy == "canary":
        lines.append("- Canary steps: " + " → ".join(f"{step.weight} %" for step in s.rollout.steps))
    return lines


def _monitoring(resolved: Resolved) -> list[str]:
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
    return ["| signal | bound |", "|---|---|", *(f"| {cell(a)} | {cell(b)} |" for a, b in rows)]


def render_card(resolved: Resolved, registry_facts: dict[str, Any] | None = None) -> Output:
    model, card, env = resolved.model, resolved.model.card, resolved.env
    data = model.data
    lines = [
        f"# Model card: {model.metadata.name} ({env.metadata.name})",
        "",
        f"{_text(card.summary)}",
        "",
        f"- Team: {model.metadata.team}; owners: {', '.join(model.metadata.owners)}",
        f"- Data classification: {', '.join(data.classification)}"
        + (f"; protected attributes: {', '.join(data.protected_attributes)}" if data.protected_attributes else ""),
        f"- Data owner: {data.owner or MISSING}",
        "",
        "## Registry",
        "",
        *_registry(resolved, registry_facts),
        "",
        *_section("Intended use", card.intended_use),
        *_section("Out-of-scope use", card.out_of_scope_use),
        *_section("Limitations", card.limitations),
        *_section("Ethical considerations", card.ethical_considerations),
        *_section("Training data", card.training_data),
        *_section("Evaluation data", card.evaluation_data),
        "## Metrics",
        "",
    ]
    if card.metrics:
        lines += [
            "| metric | value |",
            "|---|---|",
            *(f"| {cell(k)} | {v:g} |" for k, v in sorted(card.metrics.items())),
        ]
    else:
        lines.append(MISSING)
    lines += ["", *_section("Caveats", card.caveats), *_section("Rollback plan", card.rollback_plan)]
    lines += ["## Serving", "", *_serving(resolved), "", "## Monitoring", "", *_monitoring(resolved), ""]
    training = model.training
    lines += ["## Training", ""]
    if training is None:
        lines.append("No continuous training.")
    else:
        lines += [
            f"- Schedule: `{training.schedule}` ({training.timezone})",
            f"- Acceptance gate: {training.acceptance.metric} ≥ {training.acceptance.min:g}",
            f"- Retrain on drift: {'yes' if training.retrain_on_drift else 'no'}",
        ]
    return Output("MODEL_CARD.md", text="\n".join(lines) + "\n")
