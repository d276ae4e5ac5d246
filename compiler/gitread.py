"""Reading a config repository's git history in bulk: a constant number of git processes however
long the history is (`git log` for the changed paths, `git cat-file --batch` for every object).

Follows `modelplane.history`'s approach and reuses its runner and batch reader.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from modelplane.history import NoHistory, is_git_repo
from modelplane.history import _git as git
from modelplane.history import _read_blobs as read_objects
from modelplane.problems import ModelplaneError

__all__ = ["git", "read_objects"]

_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_ZERO = re.compile(r"^0+$")
UNSHALLOW = "git fetch --unshallow (in GitHub Actions: actions/checkout with fetch-depth: 0)"


class NotARepository(ModelplaneError):
    """The config repository is not a git work tree, or git is missing."""


@dataclass(frozen=True)
class Change:
    path: str
    old: str | None  # blob id before, None when added
    new: str | None  # blob id after, None when deleted
    mode: str = "100644"  # the new mode (the old one when deleted)


@dataclass
class Commit:
    sha: str
    changes: list[Change] = field(default_factory=list)
    parents: tuple[str, ...] = ()
    author: str = ""
    email: str = ""
    author_time: int = 0
    committer_time: int = 0
    message: str = ""

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


def require_repository(root: Path, what: str) -> None:
    if not is_git_repo(root):
        raise NotARepository(f"{root}: not a git repository; {what} reads the history git keeps")


def is_shallow(root: Path) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"


def resolve_commit(root: Path, ref: str, option: str = "--base") -> str:
    """The commit `ref` names, or one line saying it does not exist (and how to fetch it)."""
    if ref.startswith("-"):
        raise ModelplaneError(f"{option} {ref}: not a git ref")
    try:
        out = git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except NoHistory:
        out = b""
    sha = out.decode().strip()
    if not _HEX.match(sha):
        hint = " (this is a shallow clone: " + UNSHALLOW + ")" if is_shallow(root) else ""
        raise ModelplaneError(f"{option} {ref}: no such commit in this repository; fetch it first{hint}")
    return sha


def _ref_exists(root: Path, ref: str) -> bool:
    try:
        git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except NoHistory:
        return False
    return True


def default_branch(root: Path) -> str | None:
    """origin/HEAD's branch, else main or master (remote first), else None."""
    try:
        head = git(root, "symbolic-ref", "-q", "refs/remotes/origin/HEAD").decode().strip()
    except NoHistory:
        head = ""
    if head.startswith("refs/remotes/"):
        return head[len("refs/remotes/") :]
    for name in ("origin/main", "origin/master", "main", "master"):
        if _ref_exists(root, name):
            return name
    return None


def merge_base(root: Path, ref: str) -> str:
    try:
        return git(root, "merge-base", "HEAD", ref).decode().strip()
    except NoHistory as exc:
        if is_shallow(root):
            raise ModelplaneError(
                f"the merge base of HEAD and {ref} is not in this shallow clone; {UNSHALLOW}"
            ) from exc
        raise ModelplaneError(f"HEAD and {ref} have no common commit; pass --base REF") from exc


def tree_entries(root: Path, commit: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob id) for every file under `paths` at `commit`."""
    raw = git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths)
    out = {}
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, kind, sha = meta.decode().split(" ")
        if kind == "blob":
            out[path.decode(errors="surrogateescape")] = (mode, sha)
    return out


def snapshot(root: Path, commit: str, dest: Path, paths: list[str]) -> None:
    """Write the files under `paths` as they are at `commit` into `dest` (two git processes)."""
    entries = tree_entries(root, commit, paths)
    names = sorted(entries)
    contents = read_objects(root, [entries[name][1] for name in names])
    for name, content in zip(names, contents, strict=True):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if entries[name][0] == "120000":
            os.symlink(os.fsdecode(content or b""), target)
        else:
            target.write_bytes(content or b"")


def _blob(sha: str) -> str | None:
    return None if _ZERO.match(sha) else sha


def parse_raw_log(raw: bytes) -> list[Commit]:
    """`git log --raw -z --format=%H` output -> commits (in the order given)."""
    commits: list[Commit] = []
    tokens = raw.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n").decode(errors="surrogateescape")
        i += 1
        if not token:
            continue
        if token.startswith(":") and commits:
            old_mode, new_mode, old, new, status = token[1:].split(" ")
            path = tokens[i].decode(errors="surrogateescape")
            i += 1
            deleted = status.startswith("D")
            commits[-1].changes.append(Change(path, _blob(old), _blob(new), old_mode if deleted else new_mode))
        elif _HEX.match(token):
            commits.append(Commit(token))
    return commits


def first_parent_log(root: Path, ref: str, paths: list[str]) -> list[Commit]:
    """The first-parent line of `ref` (what landed on that branch), oldest first, each commit
    with the files under `paths` it changed against its first parent."""
    raw = git(
        root,
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--root",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "-z",
        "--format=%H",
        ref,
        "--",
        *paths,
    )
    return list(reversed(parse_raw_log(raw)))


def _person(value: str) -> tuple[str, str, int]:
    """`Name <email> 1700000000 +0000` -> (name, email, time)."""
    head, _, rest = value.rpartition(">")
    name, _, email = head.partition("<")
    when = rest.split()
    return name.strip(), email.strip(), int(when[0]) if when and when[0].lstrip("-").isdigit() else 0


def parse_commit(sha: str, raw: bytes) -> Commit:
    head, _, message = raw.partition(b"\n\n")
    commit = Commit(sha, message=message.decode(errors="replace"))
    parents = []
    for line in head.decode(errors="replace").split("\n"):
        key, _, value = line.partition(" ")
        if key == "parent":
            parents.append(value.strip())
        elif key == "author":
            commit.author, commit.email, commit.author_time = _person(value)
        elif key == "committer":
            commit.committer_time = _person(value)[2]
    commit.parents = tuple(parents)
    return commit


def fill_commits(root: Path, commits: list[Commit]) -> None:
    """Author, times, parents and message of every commit, from one `git cat-file --batch`."""
    raws = read_objects(root, [c.sha for c in commits])
    for commit, raw in zip(commits, raws, strict=True):
        info = parse_commit(commit.sha, raw or b"")
        commit.parents, commit.message = info.parents, info.message
        commit.author, commit.email = info.author, info.email
        commit.author_time, commit.committer_time = info.author_time, info.committer_time


class ObjectReader:
    """One `git cat-file --batch` process answering object requests one by one, as a walk needs
    them; each object is read once (cached by id). Use as a context manager."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, bytes | None] = {}
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ObjectReader:
        try:
            self._process = subprocess.Popen(
                ["git", "-C", str(self.root), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise NotARepository("git is not installed") from exc
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=30)
            self._process = None

    def read(self, sha: str) -> bytes | None:
        if sha in self.cache:
            return self.cache[sha]
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        process.stdin.write(f"{sha}\n".encode())
        process.stdin.flush()
        header = process.stdout.readline().split()
        content: bytes | None = None
        if len(header) == 3 and header[1] != b"missing":
            size = int(header[2])
            content = process.stdout.read(size + 1)[:size]
        self.cache[sha] = content
        return content
