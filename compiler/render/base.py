"""What every renderer returns, the labels every object carries, and stable YAML output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from modelplane import __version__
from modelplane.render.yaml_writer import dump_document
from modelplane.render.yaml_writer import sort_keys as sort_keys  # renderers import it from here
from modelplane.resolve import Resolved


@dataclass(frozen=True)
class Output:
    """One file under rendered/<env>/<model>/: Kubernetes objects, or plain text."""

    path: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    text: str | None = None
    synced: bool = False  # the model's Argo CD Application applies it to the cluster

    def content(self) -> str:
        return self.text if self.text is not None else dump_objects(self.objects)


def dump_objects(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML: the same objects always give the same bytes."""
    return "".join("---\n" + dump_document(obj) for obj in objects)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_objects(text: str) -> list[Any]:
    """Read back a multi-document YAML file written by `dump_objects`."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]


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
