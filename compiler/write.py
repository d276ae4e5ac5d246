"""Safe writes: a file or a whole output tree is replaced in one rename, never half-written, and
only into a folder Modelplane owns.

An output folder is Modelplane's when it holds the marker file `MARKER` (compile writes it into
every tree), or when it is new or empty. It may never be the config repository, hold any of its
inputs, or sit inside an input folder. Writers serialise on an exclusive lock of the output's
parent folder, held from reading the current tree to swapping in the new one, so two compiles
of different environments into one folder cannot lose each other's update.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelplane.problems import ModelplaneError

MARKER = ".modelplane-output"
MARKER_TEXT = (
    "This folder is written by `modelplane compile`, which replaces everything in it.\n"
    "Edit the specs under models/ and environments/ instead, then compile again.\n"
)
INPUT_FOLDERS = ("models", "environments", "policies")


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


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_folder(out: Path, root: Path) -> None:
    """Refuse an output folder compile does not own; raises ModelplaneError (exit 2) saying why."""
    target, repo = out.resolve(), root.resolve()
    shown = f"--out {out}"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ModelplaneError(f"{shown} is not a folder; compile writes only into a folder it created")
    if _inside(repo, target):
        what = "is the config repository" if target == repo else "contains the config repository"
        raise ModelplaneError(f"{shown} {what}; compile would replace its inputs (use a folder such as rendered/)")
    for name in INPUT_FOLDERS:
        if _inside(target, repo / name):
            raise ModelplaneError(f"{shown} is inside the input folder {name}/; choose a folder outside it")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ModelplaneError(
            f"{shown} holds files compile did not write (no {MARKER} marker); choose a new or empty folder"
            f" (output of a Modelplane before 0.2? `touch {out / MARKER}` once)"
        )
    for folder in (target, target.parent):
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise ModelplaneError(f"{shown}: {folder} is read-only; nothing was written")


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out`'s parent folder (created if missing) for the block."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _staging_prefix(destination: Path) -> str:
    return f".{destination.name}.new-"


def _backup(destination: Path) -> Path:
    return destination.parent / f".{destination.name}.old"


def write_tree(files: dict[str, str], destination: Path) -> Path:
    """Write relative path -> text into a fresh folder beside `destination`; the caller swaps it in.

    The staging folder sits in destination's parent so the swap is a rename on one filesystem;
    it is removed if writing fails for any reason.
    """
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(destination), dir=destination.parent))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        os.chmod(staging, 0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def swap_in(staging: Path, destination: Path) -> None:
    """Replace `destination` with the complete `staging` tree: rename the old one aside, the new one in.

    Both renames happen inside destination's parent, so each is atomic; a kill between them
    leaves `.<destination>.old` complete, and `recover` restores it.
    """
    backup = _backup(destination)
    try:
        if backup.exists():
            shutil.rmtree(backup)
        if destination.exists():
            os.replace(destination, backup)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def recover(destination: Path) -> None:
    """Undo an interrupted write: restore a complete backup if the output is missing, and remove
    staging folders and backups a killed compile left behind."""
    backup = _backup(destination)
    if backup.exists() and not destination.exists():
        os.replace(backup, destination)
    if backup.exists():
        shutil.rmtree(backup)
    if destination.parent.is_dir():
        for leftover in destination.parent.glob(_staging_prefix(destination) + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
