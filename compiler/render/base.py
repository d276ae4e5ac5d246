"""What every renderer returns, the labels every object carries, and stable YAML output."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from compiler import __version__
from compiler.resolve import Resolved


@dataclass(frozen=True)
class Output:
    """One file under rendered/<env>/<model>/: Kubernetes objects, or plain text."""

    path: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    text: str | None = None

    def content(self) -> str:
        return self.text if self.text is not None else dump_objects(self.objects)


def sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): sort_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold long strings (PromQL, commands): folding differs across versions
    yaml.allow_unicode = True
    return yaml


def dump_objects(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML with sorted keys: the same objects always give the same bytes."""
    yaml = _yaml()
    parts = []
    for obj in objects:
        buffer = io.StringIO()
        yaml.dump(sort_keys(obj), buffer)
        parts.append(buffer.getvalue())
    return "---\n" + "---\n".join(parts) if parts else ""


def dump_document(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    _yaml().dump(sort_keys(data), buffer)
    return buffer.getvalue()


def parse_objects(text: str) -> list[Any]:
    """Read back a multi-document YAML file written by `dump_objects`."""
    return [d for d in _yaml().load_all(text) if d is not None]


def common_labels(resolved: Resolved) -> dict[str, str]:
    model = resolved.model
    return {
        "app.kubernetes.io/name": model.metadata.name,
        "app.kubernetes.io/part-of": "modelplane",
        "app.kubernetes.io/managed-by": "modelplane",
        "app.kubernetes.io/version": str(model.registry.version),
        "modelplane.dev/team": model.metadata.team,
        "modelplane.dev/environment": resolved.env.metadata.name,
    }


def common_annotations(resolved: Resolved) -> dict[str, str]:
    model = resolved.model
    return {
        "modelplane.dev/source": resolved.model_file,
        "modelplane.dev/registry-model": model.registry.name,
        "modelplane.dev/registry-version": str(model.registry.version),
        "modelplane.dev/compiler-version": __version__,
    }
