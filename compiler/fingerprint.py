"""Hashes of everything that shapes a compiled pair: the resolved spec, the registry facts, the
chart, the compiler's own rendering code and the helm version.

Equal hashes mean equal output: incremental compile reuses a pair's files only when its
`inputHash` is unchanged. The compiler's code counts as well as its version, so an edited
renderer never reuses what the old one wrote (the parts of the package that cannot change what
compile writes — the other commands, the gate, the reports — are left out, so editing them does
not invalidate rendered/).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelplane import __version__
from modelplane.build_manifest import canonical, sha256
from modelplane.resolve import Resolved
from modelplane.spec.environment import Environment

PACKAGE = Path(__file__).resolve().parent
# Package parts that cannot change what compile writes; everything else is fingerprinted.
NOT_RENDERING = frozenset(
    {"commands", "gate", "report", "monitor", "charts", "cli.py", "cluster.py", "history.py", "pins.py",
     "demo_registry.py", "schemas.py", "progress.py", "local_cache.py", "__main__.py"}
)


def tree_hash(folder: Path, skip: Iterable[str] = ()) -> str:
    """One hash of every file under `folder` (names and contents), caches and hidden files aside."""
    skipped = set(skip)
    entries = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in skipped or "__pycache__" in rel.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        if any(part.startswith(".") and part != ".helmignore" for part in rel.parts):
            continue
        entries.append([rel.as_posix(), sha256(path.read_bytes())])
    return sha256(canonical(entries))


@functools.cache
def compiler_code() -> str:
    return tree_hash(PACKAGE, NOT_RENDERING)


def chart_hash(chart_dir: Path) -> str:
    return tree_hash(chart_dir)


def environment_hash(env: Environment, env_file: str) -> str:
    """The environment spec as resolved (defaults filled in), and the file it came from."""
    return sha256(canonical({"environment": env.model_dump(mode="json", by_alias=True), "file": env_file}))


def spec_hash(resolved: Resolved, env_hash: str) -> str:
    """The resolved model as it runs in the environment (`env_hash`: `environment_hash`)."""
    model = resolved.model.model_dump(mode="json", by_alias=True)
    return sha256(canonical({"model": model, "file": resolved.model_file, "environment": env_hash}))


def pair_inputs(spec: str, registry: dict[str, Any], chart: str, helm: str, card_template: str = "") -> dict[str, str]:
    """Every input of one (model, environment), each as a hash or a version (`card_template`: the
    config repository's own model-card template, "" when it has none)."""
    inputs = {
        "spec": spec,
        "registry": sha256(canonical(registry)),
        "chart": chart,
        "compiler": __version__,
        "compilerCode": compiler_code(),
        "helm": helm,
    }
    if card_template:
        inputs["cardTemplate"] = card_template
    return inputs


def combined(inputs: Any) -> str:
    """One hash of inputs (JSON data)."""
    return sha256(canonical(inputs))


def file_hash(path: Path) -> str:
    return sha256(path.read_bytes())
