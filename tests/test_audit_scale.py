"""`modelplane audit` over 1,000 commits, built in one `git fast-import`: every commit changes what
prod runs, every other one without a decision for it. The walk's time is printed, not bounded."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from modelplane.audit import Filters, walk
from modelplane.decisions import document
from modelplane.records import outputs_digest, sha256
from tests.conftest import ROOT, require_tool

COMMITS = 1_000


def _file(path: str, text: str) -> bytes:
    data = text.encode()
    return f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"


def _stream() -> bytes:
    spec = (ROOT / "models/churn/model.yaml").read_text(encoding="utf-8")
    env = (ROOT / "environments/prod.yaml").read_text(encoding="utf-8")
    decisions: dict[str, dict[str, object]] = {}
    out = []
    for i in range(COMMITS):
        version = 7 + i // 100
        serving = f"---\nkind: Deployment\nmetadata:\n  name: churn\nspec:\n  replicas: {12 + i}\n"
        record = {"kind": "Provenance", "environment": "prod", "models": {"churn": {"registry": {"version": version}}}}
        files = [
            _file("models/churn/model.yaml", spec.replace("{min: 3, max: 12}", f"{{min: 3, max: {12 + i}}}")),
            _file("rendered/prod/churn/serving.yaml", serving),
            _file("rendered/prod/manifest.json", json.dumps(record)),
        ]
        if i == 0:
            files.append(_file("environments/prod.yaml", env))
        if i % 2 == 0:  # a decision recorded for exactly this output
            digest = outputs_digest([("serving.yaml", sha256(serving.encode()))])
            decisions = {"churn": {"outcome": "pass", "outputsHash": digest, "registry": {"version": version}}}
            files.append(_file("rendered/prod/decisions.json", document("prod", decisions)))
        who = ("Ana", "ana@acme.example") if i % 3 else ("Bob", "bob@acme.example")
        when = 1_767_225_600 + i * 3_600
        subject = f"Merge pull request #{i} from acme/change-{i}" if i % 10 == 0 else f"change {i}"
        message = subject.encode()
        head = [
            "commit refs/heads/main",
            f"author {who[0]} <{who[1]}> {when} +0000",
            f"committer {who[0]} <{who[1]}> {when} +0000",
            f"data {len(message)}",
        ]
        out.append("\n".join(head).encode() + b"\n" + message + b"\n" + b"".join(files) + b"\n")
    return b"".join(out)


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    git = require_tool("git")
    root = tmp_path_factory.mktemp("long") / "config"
    subprocess.run([git, "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([git, "-C", str(root), "fast-import", "--quiet"], input=_stream(), check=True)
    subprocess.run([git, "-C", str(root), "reset", "-q", "--hard", "main"], check=True)
    return root


def test_a_thousand_commits_in_one_walk(long_history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    audit = walk(long_history, Filters())
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\naudit: {audit.commits} commits walked in {elapsed:.2f} s ({elapsed / audit.commits * 1000:.1f} ms each)"
        )
    assert audit.commits == COMMITS
    (timeline,) = audit.timelines
    assert (timeline.env, timeline.model) == ("prod", "churn") and len(timeline.entries) == COMMITS
    flagged = [e for e in timeline.entries if e.flags]
    assert len(flagged) == COMMITS // 2
    assert {e.pr for e in timeline.entries if e.pr is not None} == set(range(0, COMMITS, 10))
    bumps = [e for e in timeline.entries if e.version_before != e.version_after]
    assert [(e.version_before, e.version_after) for e in bumps[1:]] == [(v, v + 1) for v in range(7, 16)]
    scaling = timeline.entries[1].changes
    assert [(c.category, c.path, c.before, c.after) for c in scaling] == [("scaling", "serving.replicas.max", 12, 13)]
