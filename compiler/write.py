"""Atomic writes: a file or a whole output tree is replaced in one rename, never half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(files: dict[str, str]) -> Path:
    """Write relative path -> text into a fresh temporary folder; the caller swaps it in."""
    staging = Path(tempfile.mkdtemp(prefix=".modelplane-render-"))
    for rel, text in files.items():
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
    return staging


def swap_in(staging: Path, destination: Path) -> None:
    """Replace `destination` with `staging`: rename the old one aside, rename the new one in.

    Both renames happen inside destination's parent, so each is atomic; a crash between them
    leaves `<destination>.old` complete, and the next run restores from it.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    final_staging = destination.parent / f".{destination.name}.new"
    backup = destination.parent / f".{destination.name}.old"
    if final_staging.exists():
        shutil.rmtree(final_staging)
    shutil.move(str(staging), final_staging)  # may cross filesystems; not yet visible
    if backup.exists():
        shutil.rmtree(backup)
    if destination.exists():
        os.replace(destination, backup)
    os.replace(final_staging, destination)
    if backup.exists():
        shutil.rmtree(backup)


def recover(destination: Path) -> None:
    """Undo an interrupted swap: if the output is missing but its backup is complete, restore it."""
    backup = destination.parent / f".{destination.name}.old"
    if backup.exists() and not destination.exists():
        os.replace(backup, destination)
