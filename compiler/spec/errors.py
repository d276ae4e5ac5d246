"""Pydantic validation errors -> `Problem`s at the YAML line, in plain words, with did-you-mean."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from modelplane.loader import SourceMap
from modelplane.problems import KeyPath, Problem, format_path

_TYPE_WORDS = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "list_type": "expected a list",
}


def spec_error(message: str, at: KeyPath = (), hint: str = "") -> PydanticCustomError:
    """A validator's error at `at` (below the model that raises it), with a hint for the fix."""
    return PydanticCustomError("modelplane", "{message}", {"message": message, "at": at, "hint": hint})


def _unwrap(annotation: Any) -> Any:
    """Strip Optional / Annotated so we can see the model or container underneath."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def allowed_keys(model_cls: type[BaseModel], loc: KeyPath) -> list[str]:
    """The keys a mapping at `loc` (inside a `model_cls` document) may hold."""
    current: Any = model_cls
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = next(
                (f for name, f in current.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                return []
            current = field.annotation
        elif origin in (list, dict):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def did_you_mean(word: str, choices: list[str], noun: str = "allowed keys") -> str:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices:
        return f"{noun}: " + ", ".join(sorted(choices))
    return ""


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in _TYPE_WORDS:
        return f"{_TYPE_WORDS[kind]}, got {_describe(error.get('input'))}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "modelplane":
        return str(error["ctx"]["message"])
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{_describe(error.get('input'))} is not allowed; use {expected}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{error['msg'].removeprefix('Input should be ').replace('Input should be', '')}".join(
            ["must be ", f", got {_describe(error.get('input'))}"]
        )
    if kind == "finite_number":
        return f"must be a finite number, got {_describe(error.get('input'))} (.nan and .inf are not allowed)"
    if kind == "too_short":
        return f"must not be empty, got {_describe(error.get('input'))}"
    if kind == "string_pattern_mismatch":
        return f"{_describe(error.get('input'))} does not match the pattern {error['ctx']['pattern']}"
    return str(error["msg"])


def validation_problems(
    exc: ValidationError,
    model_cls: type[BaseModel],
    source: SourceMap,
    *,
    prefix: KeyPath = (),
) -> list[Problem]:
    """Turn each pydantic error into a Problem at the right file, line and column."""
    problems = []
    for error in exc.errors(include_url=False):
        loc: KeyPath = tuple(error["loc"])
        is_key = bool(loc) and loc[-1] == "[key]"  # a mapping key failed (e.g. an env var name)
        if is_key:
            loc = loc[:-1]
        kind = error["type"]
        hint = ""
        if kind == "modelplane":  # spec_error: the key to change lies below the model that found it
            loc += tuple(error["ctx"]["at"])
            hint = str(error["ctx"]["hint"])
        path = prefix + loc
        if is_key:
            pos = source.locate(path, at_key=True)
            message = _message(error)
        elif kind == "extra_forbidden":
            pos = source.locate(path, at_key=True)
            message = f"unknown key '{loc[-1]}'"
            hint = did_you_mean(str(loc[-1]), allowed_keys(model_cls, loc[:-1]))
        elif kind == "missing":
            pos = source.locate(path[:-1], at_key=True)
            message = f"required key '{loc[-1]}' is missing"
        else:
            pos = source.locate(path)
            message = _message(error)
        shown = source.display_path(path)
        problems.append(Problem(pos.file, pos.line, pos.col, format_path(shown), message, hint, code="schema"))
    return problems
