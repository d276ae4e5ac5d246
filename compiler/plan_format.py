"""`modelplane plan` output: text for a terminal, Markdown for the pull-request comment, JSON.

Every value in the Markdown goes through `md_cell` (tables) or is HTML-escaped (`<summary>`);
diffs sit in code fences longer than any backtick run they hold, so no spec text can close a
table, a collapsed section or a fence. The comment starts with `MARKER`, which the workflow
finds to update the one comment instead of adding another.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from modelplane.changes import Change
from modelplane.planning import PairPlan, Plan
from modelplane.report.escape import md_cell, md_code, one_line

MARKER = "<!-- modelplane-plan -->"
COMMENT_BUDGET = 60_000  # GitHub refuses comments over 65,536 characters
DIFF_LINES = 300  # per object, in the comment
SIGN = {"added": "+", "removed": "-", "changed": "~"}


def show(value: Any, limit: int = 120) -> str:
    if value is None:
        text = "—"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _version(pair: PairPlan) -> str:
    if pair.before == pair.after:
        return f"v{pair.after}" if pair.after is not None else "—"
    return f"{'v' + str(pair.before) if pair.before is not None else '—'} → " + (
        f"v{pair.after}" if pair.after is not None else "—"
    )


def _change_line(change: Change) -> str:
    where = f"{change.path}: " if change.path else ""
    text = f"{change.category:<18} {where}{show(change.before)} → {show(change.after)}"
    return f"BREAKING {text} — {change.breaking}" if change.breaking else text


def summary(plan: Plan) -> str:
    counts = {status: sum(1 for p in plan.pairs if p.status == status) for status in SIGN}
    return (
        f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed "
        f"(environment, model) pair(s); {plan.breaking} breaking change(s)"
    )


def _base(plan: Plan) -> str:
    return f"{one_line(plan.base_ref)} ({plan.base[:12]})"


def render_text(plan: Plan) -> str:
    lines = [f"plan: the work tree against {_base(plan)}"]
    lines += [f"note: {one_line(n)}" for n in plan.notes]
    for env in plan.envs:
        pairs = plan.in_env(env)
        lines.append(f"{env}: {'no changes' if not pairs else f'{len(pairs)} model(s)'}")
        for pair in pairs:
            lines.append(f"  {SIGN[pair.status]} {pair.model}  {_version(pair)}")
            lines += [f"      {_change_line(c)}" for c in pair.changes]
            for obj in pair.objects:
                mark = f"  BREAKING — {obj.breaking}" if obj.breaking else ""
                lines.append(f"      {SIGN[obj.status]} {obj.file}: {one_line(obj.label)}{mark}")
                lines += [f"          {one_line(line)}" for line in obj.diff.splitlines()]
    lines.append(f"plan: {summary(plan)}")
    return "\n".join(lines) + "\n"


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _diff_block(diff: str) -> list[str]:
    lines = [one_line(line) for line in diff.splitlines()]
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"… {len(lines) - DIFF_LINES} more line(s): run `modelplane plan` locally"]
    body = "\n".join(lines)
    fence = _fence(body)
    return [f"{fence}diff", body, fence]


def _pair_rows(pair: PairPlan) -> list[str]:
    rows = []
    for change in pair.changes or [Change("rendered", "", None, None)]:
        what = change.category + (f" {md_code(change.path)}" if change.path else "")
        moved = (
            f"{md_cell(show(change.before))} → {md_cell(show(change.after))}" if change.category != "rendered" else ""
        )
        breaking = f"⚠️ {md_cell(change.breaking)}" if change.breaking else ""
        rows.append(f"| {md_cell(pair.model)} | {what} | {moved} | {breaking} |")
    for obj in pair.objects:
        if obj.breaking:
            rows.append(
                f"| {md_cell(pair.model)} | rendered {md_cell(obj.label)} | {obj.status} | ⚠️ {md_cell(obj.breaking)} |"
            )
    return rows


def _details(env: str, pair: PairPlan, room: int) -> list[str]:
    """A collapsed section with the pair's diffs, as many as fit in `room` characters."""
    title = html.escape(f"{env}/{pair.model}: {_version(pair)}, {len(pair.objects)} rendered object(s) changed")
    lines = ["<details>", f"<summary>{one_line(title)}</summary>", ""]
    room -= sum(len(line) + 1 for line in lines) + len("</details>\n\n")
    left_out = 0
    for obj in pair.objects:
        head = [f"**{SIGN[obj.status]} {md_cell(obj.file)}: {md_cell(obj.label)}**", ""]
        block = [*_diff_block(obj.diff), ""]
        size = sum(len(line) + 1 for line in head + block)
        if size > room:
            left_out += 1
            continue
        room -= size
        lines += head + block
    if left_out:
        lines += [f"_{left_out} diff(s) left out: the comment is full; run `modelplane plan` locally._", ""]
    return [*lines, "</details>", ""]


def render_markdown(plan: Plan) -> str:
    lines = [MARKER, "## Modelplane plan", "", f"The work tree against {md_cell(_base(plan))}: {summary(plan)}.", ""]
    lines += [f"> {md_cell(n)}" for n in plan.notes]
    for env in plan.envs:
        pairs = plan.in_env(env)
        lines += [f"### {md_cell(env)}", ""]
        if not pairs:
            lines += ["No changes.", ""]
            continue
        lines += ["| model | change | before → after | breaking |", "|---|---|---|---|"]
        rows = [row for pair in pairs for row in _pair_rows(pair)]
        room = COMMENT_BUDGET // 2 - sum(len(line) + 1 for line in lines)
        while rows and room - len(rows[0]) - 1 > 0:
            room -= len(rows[0]) + 1
            lines.append(rows.pop(0))
        if rows:
            lines.append(f"| … | {len(rows)} more change(s): run `modelplane plan` locally | | |")
        lines.append("")
    # The tables first, whole; then the diffs, as many as the comment holds.
    used = sum(len(line) + 1 for line in lines)
    for pair in (p for p in plan.pairs if p.objects):
        section = _details(pair.env, pair, COMMENT_BUDGET - used - 200)
        used += sum(len(line) + 1 for line in section)
        lines += section
    return "\n".join(lines) + "\n"


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "base": {"ref": plan.base_ref, "commit": plan.base},
        "notes": plan.notes,
        "summary": {status: sum(1 for p in plan.pairs if p.status == status) for status in SIGN}
        | {"breaking": plan.breaking},
        "environments": {
            env: [
                {
                    "model": p.model,
                    "status": p.status,
                    "version": {"before": p.before, "after": p.after},
                    "changes": [c.as_dict() for c in p.changes],
                    "objects": [
                        {"file": o.file, "object": o.label, "status": o.status, "breaking": o.breaking, "diff": o.diff}
                        for o in p.objects
                    ],
                    "breaking": p.breaking,
                }
                for p in plan.in_env(env)
            ]
            for env in plan.envs
        },
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_data(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


FORMATS = {"text": render_text, "markdown": render_markdown, "json": render_json}
