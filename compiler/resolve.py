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


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


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

    merged = deep_merge(deep_merge(base, defaults), overrides)
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
