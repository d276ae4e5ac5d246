"""JSON Schemas for the spec, generated from the pydantic models (editors complete and check YAML)."""

from __future__ import annotations

import json
from typing import Any

from modelplane.spec.environment import Environment
from modelplane.spec.model import Model

SCHEMA_FILES: dict[str, type[Model] | type[Environment]] = {
    "model.schema.json": Model,
    "environment.schema.json": Environment,
}


def schema_for(model_cls: type[Model] | type[Environment]) -> dict[str, Any]:
    schema = model_cls.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://modelplane.dev/schemas/v1/{model_cls.__name__.lower()}.schema.json",
        **schema,
    }


def generate() -> dict[str, str]:
    """File name -> file text, byte-stable."""
    return {name: json.dumps(schema_for(cls), indent=2, sort_keys=True) + "\n" for name, cls in SCHEMA_FILES.items()}
