"""Serving bound to the registry: the artifact each workload serves, from its pin and the lock.

Every serving container is told `MODEL_URI=models:/<registered model>/<version>` and, when the
lock knows it, `MODEL_SOURCE_URI=<the registry's source>`; KServe's `storageUri` is the lock's
source unless the spec gives one, and a spec `storageUri` that differs from the registry's source
is a problem at its line. Compile reports these problems (it is the stage that reads the lock).
Pure: the lock's facts come in as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelplane.problems import Problem, format_path
from modelplane.resolve import Resolved
from modelplane.spec.model import MODEL_SOURCE_URI_ENV, MODEL_URI_ENV, STORAGE_URI

_STORAGE = re.compile(STORAGE_URI)


def model_uri(name: str, version: int) -> str:
    return f"models:/{name}/{version}"


@dataclass(frozen=True)
class Artifact:
    uri: str  # models:/<name>/<version>
    source: str  # the registry's source for the version; "" when the lock does not know it
    storage_uri: str | None  # what KServe loads; None when neither the spec nor the lock gives one

    def container_env(self) -> list[dict[str, str]]:
        env = [{"name": MODEL_URI_ENV, "value": self.uri}]
        if self.source:
            env.append({"name": MODEL_SOURCE_URI_ENV, "value": self.source})
        return env


def _source(facts: dict[str, Any]) -> str:
    return str(facts.get("source") or "") if facts.get("found") else ""


def artifact(resolved: Resolved, facts: dict[str, Any]) -> Artifact:
    reg = resolved.model.registry
    source = _source(facts)
    kserve = resolved.model.serving.kserve
    storage = kserve.storage_uri if kserve is not None and kserve.storage_uri else None
    if storage is None and _STORAGE.match(source):
        storage = source
    return Artifact(model_uri(reg.name, reg.version), source, storage)


def version_artifact(name: str, version: int, facts: dict[str, Any]) -> Artifact:
    """Another version of the same registered model (an A/B test's variant B): no KServe storage."""
    return Artifact(model_uri(name, version), _source(facts), None)


def _at(resolved: Resolved, path: tuple[str | int, ...], message: str, hint: str, *, key: bool = False) -> Problem:
    pos = resolved.source.locate(path, at_key=key)
    shown = format_path(resolved.source.display_path(path))
    where = f"{resolved.env.metadata.name}/{resolved.model.metadata.name}"
    return Problem(pos.file, pos.line, pos.col, shown, f"{message} ({where})", hint, code="registry")


def binding_problems(resolved: Resolved, facts: dict[str, Any]) -> list[Problem]:
    """What keeps a KServe workload from naming the registry's artifact."""
    kserve = resolved.model.serving.kserve
    if resolved.model.serving.backend != "kserve" or kserve is None:
        return []
    reg = resolved.model.registry
    source = str(facts.get("source") or "") if facts.get("found") else ""
    if kserve.storage_uri:
        if source and kserve.storage_uri != source:
            return [
                _at(
                    resolved,
                    ("serving", "kserve", "storageUri"),
                    f"storageUri {kserve.storage_uri} is not what the registry holds for {reg.name} v{reg.version}"
                    f" ({source}, modelplane.lock)",
                    "remove storageUri to serve the registry's source, or pin the version it belongs to",
                )
            ]
        return []
    if not source:
        return [
            _at(
                resolved,
                ("registry", "version"),
                f"{reg.name} v{reg.version} has no source in modelplane.lock, so KServe has no storageUri",
                "register the version in MLflow and run `modelplane lock`, or set serving.kserve.storageUri",
            )
        ]
    if not _STORAGE.match(source):
        return [
            _at(
                resolved,
                ("serving", "kserve"),
                f"the registry's source for {reg.name} v{reg.version} ({source}) is not a storage URI KServe loads",
                "set serving.kserve.storageUri to where the artifact is stored (s3://, gs://, pvc://, https://, hf://, oci://)",
                key=True,
            )
        ]
    return []
