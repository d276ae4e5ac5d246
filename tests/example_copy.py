"""A copy of the example config repository in a temporary folder, for tests that change it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT

PARTS = ("models", "environments", "policies", "rendered")


def copy_example(dest: Path, parts: tuple[str, ...] = PARTS) -> Path:
    """Specs, policies, rendered/ and the lock, as committed; returns `dest`."""
    for name in parts:
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "modelplane.lock", dest / "modelplane.lock")
    return dest
