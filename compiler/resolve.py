"""Resolve a model for one environment: merge the layers, keep track of where each value came from.

Precedence, lowest first:
  1. the spec's built-in defaults (pydantic field defaults),
  2. the model's own spec (everything outside `environments:`),
  3. the environment's `defaults:`,
  4. the model's `environments.<env>:` override.
Mappings merge key by key; lists and scalars are replaced whole; `null` removes a key.
Pure: no files, no network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from modelplane.loader import Document, SourceMap
from modelplane.problems import Problem, format_path
from modelplane.spec.environment import Environment
from modelplane.spec.errors import did_you_mean, validation_problems
from modelplane.spec.model import OVERRIDABLE, Model


@dataclass(frozen=True)
class Resolved:
    """One model as it runs in one environment."""

    model: Model
    env: Environment
    source: SourceMap
    model_file: str
    env_file: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.env.metadata.name, self.model.metadata.name)


def _copy(value: Any) -> Any:
    """A copy of parsed YAML data (dicts, lists and scalars): `copy.deepcopy` at a fraction of its cost."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value if type(value) in (str, int, float, bool, type(None)) else copy.deepcopy(value)


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = _copy(value)
        return out
    return _copy(over)


def check_layer(layer: Any, source: SourceMap, prefix: tuple[str | int, ...], what: str) -> list[Problem]:
    """A layer (env defaults or a model override) may only hold the overridable sections."""
    if not isinstance(layer, dict):
        pos = source.locate(prefix)
        return [Problem(pos.file, pos.line, pos.col, format_path(prefix), f"{what} must be a mapping", code="schema")]
    problems = []
    for key in layer:
        if key not in OVERRIDABLE:
            pos = source.locate(prefix + (key,), at_key=True)
            problems.append(
                Problem(
                    pos.file,
                    pos.line,
                    pos.col,
                    format_path(prefix + (key,)),
                    f"'{key}' cannot be set in {what}",
                    did_you_mean(key, list(OVERRIDABLE)),
                    code="schema",
                )
            )
    return problems


_RANK = {"public": 0, "internal": 1, "confidential": 2, "pii": 3, "phi": 3}
_SENSITIVE = frozenset({"confidential", "pii", "phi"})


def classification(spec: Any) -> set[str]:
    """The data classes a (partial) spec declares; the spec's default is `internal`."""
    data = spec.get("data") if isinstance(spec, dict) else None
    found = data.get("classification") if isinstance(data, dict) else None
    if found is None:
        return {"internal"}
    return {str(c) for c in found} if isinstance(found, list) else set()


def _kept_classification(
    base: dict[str, Any], merged: dict[str, Any], doc: Document, at: tuple[str | int, ...], what: str
) -> list[Problem]:
    """A layer may add data classes, never drop one: `data: null` must not turn pii into internal."""
    kept = classification(merged)
    highest = max((_RANK.get(c, 0) for c in kept), default=0)
    dropped = sorted(c for c in classification(base) - kept if c in _SENSITIVE or _RANK.get(c, 0) > highest)
    if not dropped:
        return []
    where = at + ("classification",) if at + ("classification",) in doc.source.values else at
    pos = doc.source.locate(where)
    return [
        Problem(
            pos.file,
            pos.line,
            pos.col,
            format_path(where),
            f"{what} drops the data classification {', '.join(dropped)} that the model declares",
            "an override may add classes, never remove them; keep them and the controls they need",
            code="override",
        )
    ]


def resolve(model_doc: Document, env_doc: Document, env: Environment) -> tuple[Resolved | None, list[Problem]]:
    """Merge the layers for (model, env) and validate the result against the Model spec."""
    env_name = env.metadata.name
    base = {k: v for k, v in model_doc.data.items() if k != "environments"}
    defaults = env_doc.data.get("defaults") or {}
    overrides = (model_doc.data.get("environments") or {}).get(env_name) or {}

    problems = check_layer(defaults, env_doc.source, ("defaults",), "environment defaults")
    problems += check_layer(overrides, model_doc.source, ("environments", env_name), "an environment override")
    if problems:
        return None, problems

    with_defaults = deep_merge(base, defaults)
    merged = deep_merge(with_defaults, overrides)
    problems = _kept_classification(base, with_defaults, env_doc, ("defaults", "data"), "environment defaults")
    problems += _kept_classification(
        base, merged, model_doc, ("environments", env_name, "data"), f"the {env_name} override"
    )
    if problems:
        return None, problems
    source = SourceMap(root=model_doc.source.root)
    source.keys = dict(model_doc.source.keys)
    source.values = dict(model_doc.source.values)
    source.graft((), env_doc.source.subtree(("defaults",)))
    source.graft((), model_doc.source.subtree(("environments", env_name)))
    try:
        model = Model.model_validate(merged)
    except ValidationError as exc:
        return None, validation_problems(exc, Model, source)
    return Resolved(model, env, source, model_doc.file, env_doc.file), []
