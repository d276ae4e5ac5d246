"""Edit one environment's registry pin in a model file, keeping comments, order and layout.

The pin is `environments.<env>.registry.version` (the model's own `registry.version` is the
first environment's). ruamel.yaml's round-trip mode keeps comments and key order; it is used
only with an indentation that reproduces the untouched file byte for byte, so the diff a
reviewer sees is the pin and nothing else.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from modelplane.problems import ModelplaneError

# (mapping, sequence, offset) indentations tried in turn; the first that round-trips wins.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (2, 2, 2))


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _round_tripper(text: str, file: str) -> tuple[YAML, Any]:
    for indent in _INDENTS:
        yaml = _yaml(indent)
        data = yaml.load(text)
        if _dump(yaml, data) == text:
            return yaml, data
    raise ModelplaneError(f"{file}: cannot edit it without reformatting the file; set the pin by hand")


def current_pin(data: Any, env: str) -> int | None:
    """The version `env` pins itself, or None when it inherits the model's `registry.version`."""
    override = ((data.get("environments") or {}).get(env) or {}).get("registry") or {}
    version = override.get("version")
    return int(version) if isinstance(version, int) else None


def set_pin(text: str, file: str, env: str, version: int) -> str:
    """The model file's text with `environments.<env>.registry.version` set to `version`."""
    yaml, data = _round_tripper(text, file)
    if not isinstance(data, CommentedMap):
        raise ModelplaneError(f"{file}: not a mapping")
    environments = data.get("environments")
    if environments is None:
        environments = data["environments"] = CommentedMap()
    if not isinstance(environments, CommentedMap):
        raise ModelplaneError(f"{file}: environments: expected a mapping")
    override = environments.get(env)
    if override is None:
        override = environments[env] = CommentedMap()
    if not isinstance(override, CommentedMap):
        raise ModelplaneError(f"{file}: environments.{env}: expected a mapping")
    registry = override.get("registry")
    if registry is None:
        registry = CommentedMap()
        override.insert(0, "registry", registry)
    if not isinstance(registry, CommentedMap):
        raise ModelplaneError(f"{file}: environments.{env}.registry: expected a mapping")
    registry["version"] = version
    return _dump(yaml, data)
