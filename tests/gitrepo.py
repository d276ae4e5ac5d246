"""Real git repositories for plan, audit and catalog tests: a one-model copy of the example
config repository, commits by several authors at given dates, branches and merge commits."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

from modelplane.cli import main
from modelplane.decisions import DECISIONS, document
from modelplane.pins import set_pin
from tests.example_copy import copy_example

PEOPLE = {
    "ana": ("Ana Ruiz", "ana@acme.example"),
    "bob": ("Bob Chen", "bob@acme.example"),
    "carol": ("Carol Okafor", "carol@acme.example"),
    "mallory": ("Mallory Direct", "mallory@acme.example"),
    "eve": ("=HYPERLINK(1) | *Eve* `x`", "eve@acme.example"),  # untrusted text in every format
}
MODEL = "models/churn/model.yaml"
# The line that opens churn's prod rollout override (a canary with Istio); tests add keys under it.
ROLLOUT = "      rollout:                                  # canary with Istio: exact 5/25/50 % weights\n"


class GitRepo:
    def __init__(self, root: Path):
        self.root = root

    def git(self, *args: str, who: str = "ana", when: str = "2026-11-01T10:00:00Z") -> str:
        name, email = PEOPLE[who]
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        done = subprocess.run(["git", "-C", str(self.root), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
        return done.stdout

    def commit(self, message: str, who: str, when: str) -> str:
        self.git("add", "-A", who=who, when=when)
        self.git("commit", "-q", "--allow-empty", "-m", message, who=who, when=when)
        return self.git("rev-parse", "HEAD").strip()

    def merge(self, branch: str, message: str, who: str, when: str) -> str:
        self.git("merge", "-q", "--no-ff", branch, "-m", message, who=who, when=when)
        return self.git("rev-parse", "HEAD").strip()

    def mp(self, *argv: str) -> tuple[int, str]:
        """Run modelplane in-process on this repository: exit code and everything it printed."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(["--root", str(self.root), *argv])
        return code, out.getvalue()

    def render(self, *, record: bool = True, today: str = "2026-11-01") -> None:
        """What `make render` does: compile, then record the gate's decisions."""
        code, said = self.mp("compile")
        assert code == 0, said
        if record:
            code, said = self.mp("check", "--record", "--today", today)
            assert code in (0, 1), said

    def edit(self, path: str, old: str, new: str) -> None:
        file = self.root / path
        text = file.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1), encoding="utf-8")

    def pin(self, env: str, version: int) -> None:
        file = self.root / MODEL
        file.write_text(set_pin(file.read_text(encoding="utf-8"), MODEL, env, version), encoding="utf-8")

    def write(self, path: str, text: str) -> None:
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        (self.root / path).write_text(text, encoding="utf-8")


def one_model_repo(dest: Path, keep: tuple[str, ...] = ("churn",)) -> GitRepo:
    """The example repository with only `keep` models, no waivers, churn v8 (approved) in the lock,
    in a fresh git repository with no commits yet."""
    copy_example(dest, history=False)
    for folder in (dest / "models").iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder)
    for env in (e for e in (dest / "rendered").iterdir() if e.is_dir()):
        for folder in env.iterdir():
            if folder.is_dir() and folder.name not in keep:
                shutil.rmtree(folder)
    (dest / "policies/waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    for recorded in (dest / "rendered").glob(f"*/{DECISIONS}"):
        data = json.loads(recorded.read_text(encoding="utf-8"))
        kept = {m: e for m, e in data["models"].items() if m in keep}
        recorded.write_text(document(data["environment"], kept), encoding="utf-8")
    lock = json.loads((dest / "modelplane.lock").read_text(encoding="utf-8"))
    lock["models"]["churn"]["8"] = {**lock["models"]["churn"]["7"], "source": "s3://acme-models/churn/8"}
    (dest / "modelplane.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    repo = GitRepo(dest)
    repo.git("init", "-q", "-b", "main")
    return repo
