"""Safe writes: a file is replaced in one rename, an output tree by a journaled update, never
half-written, and only into a folder Modelplane owns.

An output folder is Modelplane's when it holds the marker file `MARKER` (compile writes it into
every tree), or when it is new or empty. It may never be the config repository, hold any of its
inputs, or sit inside an input folder. Writers serialise on an exclusive lock of the output's
parent folder, held from reading the current tree to the end of the update, so two compiles of
different environments into one folder cannot lose each other's update.

An update replaces whole units — the folders two levels down (`<env>/<model>/`) and the files
above them — and leaves every other unit alone, so a compile that changed one model writes one
model's files. The new units are written into a staging folder beside the output; a journal
written last (one rename) commits them; then each unit is renamed into place, the old one aside.
A killed update is finished by `recover` when its journal was written, and dropped when not:
the output is always wholly the old tree or wholly the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelplane.local_cache import Stat, stat_of
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
    """Hold an exclusive lock on `out`'s parent folder (created if missing) for the block; a
    second compile into the same folder says that it waits, then waits its turn."""
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"modelplane: waiting for another compile into {out} to finish (lock on {parent})", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


JOURNAL = "journal.json"


def _staging_prefix(destination: Path) -> str:
    return f".{destination.name}.new-"


def _backup(destination: Path) -> Path:
    """Where a Modelplane before the journaled update kept the old tree during its swap."""
    return destination.parent / f".{destination.name}.old"


def unit_of(rel: str) -> str:
    """The unit an update replaces whole: `<env>/<model>` for a file below it, else the file."""
    parts = rel.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else rel


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


@dataclass(frozen=True)
class Content:
    """A file of the new tree: its hash, and its text — or None when the renderer already wrote
    it into the staging folder."""

    sha256: str
    text: str | None = None


class Staging:
    """The folder beside the output where an update's new files are written before it is
    committed; renderers may write into it directly (`write`), so a compile that renders much
    writes as it renders, from every worker."""

    def __init__(self, destination: Path):
        self.destination = destination
        self.path = Path(tempfile.mkdtemp(prefix=_staging_prefix(destination), dir=destination.parent))
        self.new = self.path / "new"
        self._folders: set[Path] = set()  # made already (by this process)
        self.staged: set[str] = set()  # the files written into it (here, or by workers that said so)

    def write(self, rel: str, text: str) -> Stat:
        """Write `text` at `rel`; the file's stat data right after (what the hash cache keys on)."""
        target = self.new / rel
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        # Three system calls and no text layer: a full compile writes tens of thousands of files.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data) :]
            self.staged.add(rel)
            return stat_of(os.fstat(fd))
        finally:
            os.close(fd)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def update_tree(
    staging: Staging, wanted: Mapping[str, Content | None], current: Collection[str]
) -> list[str]:
    """Make the staging folder's destination hold exactly the files in `wanted`; return the units
    replaced or removed. The staging folder is gone afterwards, whatever happens.

    `wanted` maps each relative path to its new content, or to None for a file that is already
    there with the right content; `current` lists the files there now. A unit is replaced when
    one of its files changes, is added or is not wanted, and removed when none of its files is.
    """
    destination = staging.destination
    try:
        if len(wanted) == len(current) and all(c is None and p in current for p, c in wanted.items()):
            staging.discard()
            return []  # nothing changed (the common case, decided without looking at units)
        units = {unit_of(p) for p in wanted}
        changed = {unit_of(p) for p, content in wanted.items() if content is not None or p not in current}
        removed: set[str] = set()
        for path in current:
            if path not in wanted:
                (changed if unit_of(path) in units else removed).add(unit_of(path))
        if not changed and not removed:
            staging.discard()
            return []
        for path, content in wanted.items():
            if unit_of(path) not in changed:
                continue
            target = staging.new / path
            if content is not None and content.text is not None:
                staging.write(path, content.text)
            elif path not in staging.staged:  # not written by a renderer: unchanged, kept as it is
                if content is not None:
                    raise FileNotFoundError(f"{target}: the renderer did not write it")
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(destination / path, target)
        journal = {"replace": sorted(changed), "remove": sorted(removed)}
        write_text_atomic(staging.path / JOURNAL, json.dumps(journal))  # the commit point
    except BaseException:
        staging.discard()
        raise
    _apply(staging.path, destination)
    return sorted(changed | removed)


def _move_aside(target: Path, old: Path) -> None:
    if os.path.lexists(target):
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, old)


def _apply(staging: Path, destination: Path) -> None:
    """Carry out a committed update; safe to run again after it was interrupted at any point."""
    journal = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))
    if not destination.exists():
        destination.mkdir()
        os.chmod(destination, 0o755)
    made: set[Path] = set()
    for unit in journal["replace"]:
        source, target = staging / "new" / unit, destination / unit
        if not os.path.lexists(source):
            continue  # already in place
        _move_aside(target, staging / "old" / unit)
        if target.parent not in made:  # an environment's folder, for its thousand models
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        os.replace(source, target)
    for unit in journal["remove"]:
        _move_aside(destination / unit, staging / "old" / unit)
        folder = (destination / unit).parent
        if folder != destination and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # an environment whose last file went
    shutil.rmtree(staging)


def recover(destination: Path) -> None:
    """Finish or drop what a killed compile left: a committed update is carried out, an
    uncommitted staging folder removed (and a Modelplane before 0.2's swap backup restored)."""
    backup = _backup(destination)
    if backup.exists() and not destination.exists():
        os.replace(backup, destination)
    if backup.exists():
        shutil.rmtree(backup)
    if not destination.parent.is_dir():
        return
    for leftover in sorted(destination.parent.glob(_staging_prefix(destination) + "*")):
        if (leftover / JOURNAL).is_file():
            _apply(leftover, destination)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
