"""The one reader of compile's per-environment record, whichever shape it has.

Compile writes one record per environment: `rendered/<env>/manifest.json` (the build manifest:
per model its registry facts, input hashes and outputs, each with its sha256, its objects and
whether Argo CD syncs it) or, before that, `provenance.json` (registry facts per model, input
hashes per environment). Plan, audit, the catalog and the recorded decisions read records only
through this module, so a change of shape is one place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.history import RECORD_NAMES

# Files under rendered/<env>/<model>/ that hold no cluster object (checked by tools, read by people).
_NOT_SYNCED_SUFFIXES = (".test.yaml", ".rules.yaml", ".yml", ".md", ".json")


class RecordError(ValueError):
    """A record that is not the JSON document compile writes."""


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str
    name: str

    def label(self) -> str:
        return f"{self.kind}/{self.name}" + (f" ({self.namespace})" if self.namespace else "")


@dataclass(frozen=True)
class OutputRecord:
    path: str  # relative to rendered/<env>/<model>/
    sha256: str
    synced: bool
    objects: tuple[ObjectRef, ...] = ()


@dataclass(frozen=True)
class ModelRecord:
    name: str
    version: int | None
    registry: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, OutputRecord] | None = None  # None: the record does not list outputs (provenance)


@dataclass(frozen=True)
class EnvRecord:
    environment: str
    kind: str  # "Manifest", "Provenance", ...
    models: dict[str, ModelRecord] = field(default_factory=dict)

    def version(self, model: str) -> int | None:
        entry = self.models.get(model)
        return entry.version if entry else None


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (records are read, never trusted)."""
    return value if isinstance(value, dict) else {}


def _version(registry: Any) -> int | None:
    version = registry.get("version") if isinstance(registry, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _relative(path: str, env: str, model: str) -> str:
    for prefix in (f"rendered/{env}/{model}/", f"{env}/{model}/", f"{model}/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def _objects(raw: Any) -> tuple[ObjectRef, ...]:
    out = []
    for obj in raw if isinstance(raw, list) else []:
        if isinstance(obj, dict):
            out.append(
                ObjectRef(
                    str(obj.get("apiVersion", "")),
                    str(obj.get("kind", "")),
                    str(obj.get("namespace") or ""),
                    str(obj.get("name", "")),
                )
            )
    return tuple(out)


def _outputs(raw: Any, env: str, model: str) -> dict[str, OutputRecord] | None:
    if isinstance(raw, dict):  # keyed by path
        raw = [{"path": path, **entry} for path, entry in raw.items() if isinstance(entry, dict)]
    if not isinstance(raw, list):
        return None
    out = {}
    for entry in raw:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            path = _relative(entry["path"], env, model)
            out[path] = OutputRecord(
                path, str(entry.get("sha256", "")), bool(entry.get("synced")), _objects(entry.get("objects"))
            )
    return out


def parse_record(text: bytes | str, env: str) -> EnvRecord:
    """A record's content -> EnvRecord; RecordError when it is not a JSON object with models."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise RecordError("not a Modelplane record (expected an object with 'models')")
    models = {}
    for name, entry in (data.get("models") or {}).items():
        if not isinstance(entry, dict):
            continue
        registry, inputs = mapping(entry.get("registry")), mapping(entry.get("inputs"))
        models[str(name)] = ModelRecord(
            str(name),
            _version(registry),
            dict(registry),
            {str(k): str(v) for k, v in inputs.items()},
            _outputs(entry.get("outputs"), env, str(name)),
        )
    return EnvRecord(str(data.get("environment") or env), str(data.get("kind", "")), models)


def record_paths(rendered: str, env: str) -> list[str]:
    """Where an environment's record may be, newest shape first (paths relative to the repository)."""
    return [f"{rendered}/{env}/{name}" for name in RECORD_NAMES]


def pick_record(found: dict[str, bytes | None], rendered: str, env: str) -> tuple[str, bytes] | None:
    """The newest-shape record among `path -> content` (None where missing)."""
    for path in record_paths(rendered, env):
        content = found.get(path)
        if content is not None:
            return path, content
    return None


def read_record(rendered_dir: Path, env: str) -> EnvRecord | None:
    """The environment's record in a work tree, or None when compile has not written one."""
    for name in RECORD_NAMES:
        path = rendered_dir / env / name
        if path.is_file():
            return parse_record(path.read_bytes(), env)
    return None


def affects_cluster(path: str, model: ModelRecord | None = None) -> bool:
    """Whether a file under rendered/<env>/<model>/ changes what the cluster runs.

    The manifest says so per output (`synced`); the model's Application is applied by the
    environment's root. Without a manifest, every YAML file but the promtool and plain-rules
    files holds cluster objects.
    """
    if path == "application.yaml":
        return True
    if model is not None and model.outputs is not None and path in model.outputs:
        return model.outputs[path].synced
    return path.endswith(".yaml") and not path.endswith(_NOT_SYNCED_SUFFIXES)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def outputs_digest(hashes: Iterable[tuple[str, str]]) -> str:
    """One digest for a pair's files, from (path relative to its folder, "sha256:<hex>") pairs."""
    lines = "".join(f"{path}\0{sha}\n" for path, sha in sorted(hashes))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def folder_digest(folder: Path) -> str | None:
    """`outputs_digest` of every file in a pair's folder in a work tree; None when it is absent."""
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return outputs_digest((str(p.relative_to(folder)), sha256(p.read_bytes())) for p in files)
