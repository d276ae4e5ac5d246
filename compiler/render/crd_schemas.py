"""Schemas of custom resources, taken from their CustomResourceDefinitions.

A CRD's `openAPIV3Schema` is OpenAPI, not plain JSON Schema: `x-kubernetes-int-or-string`
means "integer or string" and `nullable` allows null. We rewrite those two so that a JSON Schema
validator enforces what the API server would, and leave the other `x-kubernetes-*` notes alone.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml


class _CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading of upstream CRDs as published.

    YAML 1.1 gives a plain `=` the tag `tag:yaml.org,2002:value` (prometheus-operator's
    AlertmanagerConfig lists `=` as a matchType enum value); it is just the string "=".
    """


_CrdLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def load_crd_schemas(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, for every served version of every CRD in `folder`.

    Parsing the upstream set takes seconds, so it happens once per folder per process, and once
    per machine while the files stay the same (`local_cache.py`); callers get a fresh top-level
    dict and must not change the schemas inside it.
    """
    return dict(_load_crd_schemas(folder.resolve()))


@cache
def _load_crd_schemas(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    from modelplane.local_cache import crd_schemas

    return crd_schemas(folder, lambda: _parse_crd_schemas(folder), Path(__file__).read_bytes())


def _parse_crd_schemas(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for doc in yaml.load_all(handle, Loader=_CrdLoader):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec.get("versions", []):
                    schema = (version.get("schema") or {}).get("openAPIV3Schema")
                    if version.get("served") and schema:
                        key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                        schemas[key] = _to_json_schema(schema)
    return schemas
