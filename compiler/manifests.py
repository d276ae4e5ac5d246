"""Check rendered objects against the schemas a real cluster enforces.

Core Kubernetes kinds use the OpenAPI schemas bundled by `kubernetes-validate` for the
environment's Kubernetes version (strict variant: unknown fields are errors). Custom resources
use the `openAPIV3Schema` of their CRD from a folder given with `--crds`. Validation runs on
jsonschema-rs (about 5 us per object), and each validator is built once per process.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import kubernetes_validate

from modelplane.problems import ModelplaneError

_SCHEMA_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
_REF_PREFIX = "/api/_definitions.json#/$defs/"


def _schema_file(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    parts = [kind.lower()]
    if group:
        parts.append(group.split(".")[0])
    parts.append(version)
    return "-".join(parts) + ".json"


@cache
def _definitions(kube_version: str) -> dict[str, Any]:
    folder = _SCHEMA_ROOT / f"v{kube_version}.0-local-strict"
    text = (folder / "_definitions.json").read_text(encoding="utf-8").replace(_REF_PREFIX, "#/$defs/")
    return dict(json.loads(text)["$defs"])


@cache
def _core_validator(kube_version: str, api_version: str, kind: str) -> Any | None:
    path = _SCHEMA_ROOT / f"v{kube_version}.0-local-strict" / _schema_file(api_version, kind)
    if not path.exists():
        return None
    schema = json.loads(path.read_text(encoding="utf-8").replace(_REF_PREFIX, "#/$defs/"))
    schema.pop("$id", None)
    schema["$defs"] = _definitions(kube_version)
    return jsonschema_rs.validator_for(schema)


@cache
def _crd_schemas(crd_dir: Path) -> dict[tuple[str, str], Any]:
    from modelplane.render.crd_schemas import load_crd_schemas

    return load_crd_schemas(crd_dir)


@cache
def _crd_validator(crd_dir: Path, api_version: str, kind: str) -> Any | None:
    """Built on first use: a compile that renders a few pairs meets a few of the upstream kinds."""
    schema = _crd_schemas(crd_dir).get((api_version, kind))
    return None if schema is None else jsonschema_rs.validator_for(schema)


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.instance_path) or "(top)"


class ManifestChecker:
    """Validates rendered objects; unknown kinds are reported, never passed silently."""

    def __init__(self, crd_dir: Path | None):
        self.crd_root: Path | None = None
        if crd_dir is not None:
            if not crd_dir.is_dir():
                raise ModelplaneError(f"--crds: no such folder: {crd_dir}")
            self.crd_root = crd_dir.resolve()
            _crd_schemas(self.crd_root)  # read (and checked) now, not at the first custom resource
        self.crd_dir = crd_dir
        self._validators: dict[tuple[str, str, str], Any | None] = {}

    def _validator(self, kube_version: str, api_version: str, kind: str) -> Any | None:
        validator = _crd_validator(self.crd_root, api_version, kind) if self.crd_root is not None else None
        return validator if validator is not None else _core_validator(kube_version, api_version, kind)

    def errors(self, obj: dict[str, Any], kube_version: str) -> list[str]:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        key = (kube_version, api_version, kind)
        try:
            validator = self._validators[key]  # one lookup: a compile checks tens of thousands of objects
        except KeyError:
            validator = self._validators[key] = self._validator(*key)
        if validator is None:
            if "." in api_version.split("/")[0] and self.crd_dir is None:
                return []  # a custom resource, and no CRDs were given to check it against
            return [f"no schema for {api_version} {kind} (Kubernetes {kube_version}, CRDs: {self.crd_dir})"]
        if validator.is_valid(obj):  # a tenth of the time of listing no errors
            return []
        return [f"{_where(e)}: {e.message}" for e in validator.iter_errors(obj)]
