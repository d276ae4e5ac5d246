"""The build manifest: one versioned record per environment of what compile read and wrote.

`rendered/<env>/manifest.json` holds, for every model, the hashes of the inputs that shaped it
(`inputs`, combined into `inputHash`), the spec file it was resolved from (`sources`), the
registry facts it runs, and every output: its path, content hash, the objects in it (each with
the images it runs) and whether Argo CD syncs it; and the same for the environment's own
outputs (`apps.yaml`). Incremental compile, `check` and the history of what ran read it instead
of re-parsing `rendered/`. The README's "What compile writes" documents the schema.

Its text is JSON with sorted keys, indented down to each output, which sits on one line: a diff
shows the outputs that changed. `digest` is the SHA-256 of the text with the digest's own hex
digits set to zeros, so an edited manifest is recognised as one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_VERSION = "modelplane.dev/v1"
KIND = "BuildManifest"
SCHEMA_VERSION = 1
FILE = "manifest.json"
_ZEROS = "0" * 64
_DIGEST = re.compile(r'"digest": "sha256:([0-9a-f]{64})"')
_INDENTED_DEPTH = 4  # manifest > models > model > outputs; each output on one line
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode  # json.dumps' setup, once
_SCAN = json.JSONEncoder(ensure_ascii=False).encode  # key order does not matter when searching


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(data: Any) -> bytes:
    """The one JSON text of `data` that gets hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def images_in(obj: Any) -> list[str]:
    """Every container image an object runs: the string value of any `image` key, at any depth."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if type(value) is dict:
            for key, item in value.items():
                if key == "image" and type(item) is str:
                    found.add(item)
                elif type(item) in (dict, list):
                    walk(item)
        elif type(value) is list:
            for item in value:
                if type(item) in (dict, list):
                    walk(item)

    walk(obj)
    return sorted(found)


def object_refs(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the manifest records of each object: apiVersion, kind, namespace, name, images."""
    refs = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        refs.append(
            {
                "apiVersion": str(obj.get("apiVersion")),
                "kind": str(obj.get("kind")),
                "namespace": metadata.get("namespace"),
                "name": str(metadata.get("name")),
                "images": images_in(obj),
            }
        )
    return refs


def output_record(path: str, data: bytes, synced: bool, objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"path": path, "sha256": sha256(data), "synced": synced, "objects": objects}


def _layout(value: Any, depth: int, indent: str) -> str:
    """JSON with sorted keys, indented `depth` levels deep and compact below."""
    if depth == 0 or not isinstance(value, (dict, list)) or not value:
        return _ENCODE(value)
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{_ENCODE(k)}: {_layout(value[k], depth - 1, inner)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    items = [f"{inner}{_layout(v, depth - 1, inner)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]"


_MODEL_START = re.compile(r'^    ("(?:[^"\\]|\\.)*"): \{$')


def model_texts(text: str) -> dict[str, str]:
    """Each model entry's text in a manifest's text (what `_layout` wrote for it), by name."""
    out: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text[text.find('\n  "models": {\n') + 1 :].splitlines()[1:]:
        if name is None:
            match = _MODEL_START.match(line)
            if match is None:
                break  # the end of "models"
            name, lines = json.loads(match.group(1)), []
        elif line in ("    }", "    },"):
            out[name] = "{\n" + "\n".join(lines) + "\n    }"
            name = None
        else:
            lines.append(line)
    return out


def entry_text(entry: Mapping[str, Any]) -> str:
    """A model entry's text in the manifest, as `manifest_text` writes it (workers write their own)."""
    return _layout(entry, 2, "    ")


def manifest_text(data: Mapping[str, Any], known: Mapping[str, tuple[Any, str]] | None = None) -> str:
    """The manifest file's text, digest included (any `digest` in `data` is replaced). `known`:
    model entries already written out (entry, its text), reused when the entry is the same object."""
    known = known or {}
    models = data.get("models") or {}
    texts = [
        f"    {_ENCODE(name)}: "
        + (known[name][1] if name in known and known[name][0] is models[name] else entry_text(models[name]))
        for name in sorted(models)
    ]
    body = {k: v for k, v in data.items() if k != "models"} | {"digest": "sha256:" + _ZEROS, "models": {}}
    text = _layout(body, _INDENTED_DEPTH, "") + "\n"
    if texts:
        text = text.replace('\n  "models": {}', '\n  "models": {\n' + ",\n".join(texts) + "\n  }", 1)
    placeholder = f'"digest": "sha256:{_ZEROS}"'
    digest = hashlib.sha256(text.encode()).hexdigest()
    return text.replace(placeholder, f'"digest": "sha256:{digest}"', 1)


@dataclass(frozen=True)
class Manifest:
    """A manifest read back: its data and text, or why it cannot be used."""

    data: dict[str, Any] | None
    problem: str = ""
    text: str = ""

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return (self.data or {}).get("models") or {}


def _digest_ok(text: str) -> bool:
    match = _DIGEST.search(text)
    if match is None:
        return False
    blanked = text[: match.start(1)] + _ZEROS + text[match.end(1) :]
    return hashlib.sha256(blanked.encode()).hexdigest() == match.group(1)


def _output_ok(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("path"), str)
        and isinstance(record.get("sha256"), str)
        and isinstance(record.get("synced"), bool)
        and isinstance(record.get("objects"), list)
    )


def _model_ok(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("inputHash"), str)
        and isinstance(entry.get("inputs"), dict)
        and isinstance(entry.get("sources"), dict)
        and isinstance(entry.get("registry"), dict)
        and isinstance(entry.get("syncWave"), int)
        and isinstance(entry.get("application"), str)
        and isinstance(entry.get("outputs"), list)
        and all(_output_ok(o) for o in entry["outputs"])
        and any(o["path"] == entry["application"] for o in entry["outputs"])
    )


def parse_manifest(text: str) -> Manifest:
    """A manifest of this schema with an intact digest, or the reason it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Manifest(None, f"not JSON ({exc})")
    if not isinstance(data, dict) or data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        return Manifest(None, f"not a {API_VERSION} {KIND}")
    if data.get("schemaVersion") != SCHEMA_VERSION:
        return Manifest(None, f"schema version {data.get('schemaVersion')!r}, this Modelplane writes {SCHEMA_VERSION}")
    if not _digest_ok(text):
        return Manifest(None, "its digest does not match its content (edited by hand?)")
    models = data.get("models")
    if not isinstance(models, dict) or not all(_model_ok(e) for e in models.values()):
        return Manifest(None, "a model entry is malformed")
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not all(_output_ok(o) for o in outputs):
        return Manifest(None, "an environment output is malformed")
    return Manifest(data, text=text)


def read_manifest(env_folder: Path) -> Manifest:
    path = env_folder / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Manifest(None, "missing")
    except (OSError, UnicodeDecodeError) as exc:
        return Manifest(None, f"unreadable ({exc})")
    return parse_manifest(text)
