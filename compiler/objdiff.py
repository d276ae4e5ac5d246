"""The rendered difference of one (model, environment), object by object.

YAML files are split into their Kubernetes objects (keyed by apiVersion, kind, namespace and
name) and each changed object gets its own unified diff; other files (the model card, the
plain Alertmanager fragment) are diffed as text. Pure: file texts in, diffs out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

from modelplane.records import mapping
from modelplane.render.base import dump_document, parse_objects

Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


@dataclass(frozen=True)
class ObjectDiff:
    file: str  # relative to rendered/<env>/<model>/
    label: str  # "Rollout/churn" or the file name for plain text
    status: str  # added | removed | changed
    diff: str
    breaking: str = ""


def _label(key: Key) -> str:
    return f"{key[1]}/{key[3]}"


def _objects(text: str | None) -> dict[Key, dict[str, Any]] | None:
    """The objects of a YAML file by identity; None when it is not a file of objects."""
    if text is None:
        return {}
    try:
        docs = parse_objects(text)
    except yaml.YAMLError:
        return None
    out: dict[Key, dict[str, Any]] = {}
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            return None
        meta = mapping(doc.get("metadata"))
        key = (
            str(doc.get("apiVersion", "")),
            str(doc["kind"]),
            str(meta.get("namespace") or ""),
            str(meta.get("name")),
        )
        out[key] = doc
    return out


def _unified(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}", n=3
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _selector(obj: dict[str, Any] | None) -> Any:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec.get("selector") if isinstance(spec, dict) else None


def _file_diffs(file: str, before: str | None, after: str | None, where: str, prod: bool) -> list[ObjectDiff]:
    old_objects, new_objects = _objects(before), _objects(after)
    if not file.endswith(".yaml") or old_objects is None or new_objects is None:
        status = "added" if before is None else "removed" if after is None else "changed"
        return [ObjectDiff(file, file, status, _unified(before or "", after or "", f"{where}/{file}"))]
    out = []
    for key in sorted(set(old_objects) | set(new_objects)):
        old, new = old_objects.get(key), new_objects.get(key)
        if old == new:
            continue
        old_text = dump_document(old) if old is not None else ""
        new_text = dump_document(new) if new is not None else ""
        status = "added" if old is None else "removed" if new is None else "changed"
        why = ""
        if old is not None and new is not None and _selector(old) != _selector(new):
            why = f"the selector of {_label(key)} changes (immutable on Deployments and Rollouts; Services lose pods)"
        elif status == "removed" and prod:
            why = f"prod deletes {_label(key)}"
        diff = _unified(old_text, new_text, f"{where}/{file} {_label(key)}")
        out.append(ObjectDiff(file, _label(key), status, diff, why))
    return out


def pair_diff(before: dict[str, str], after: dict[str, str], where: str, *, prod: bool) -> list[ObjectDiff]:
    """Per object (or text file), what changed between two sets of a pair's rendered files."""
    out = []
    for file in sorted(set(before) | set(after)):
        if before.get(file) != after.get(file):
            out += _file_diffs(file, before.get(file), after.get(file), where, prod)
    return out
