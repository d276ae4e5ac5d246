"""`modelplane audit` on a real git history the test builds: several authors, pull-request merges,
a squash merge, a direct push to prod without a decision, a rollback, a waiver that expires and
a commit whose spec does not parse. Real git, helm and OPA throughout."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from modelplane.audit import Audit, Entry, Filters, parse_day, walk
from tests.conftest import require_tool
from tests.gitrepo import MODEL, ROLLOUT, GitRepo, one_model_repo

WAIVER = """waivers:
  - rule: MP-ROLL-001
    model: churn
    environment: prod
    reason: Rolling update while the canary analysis is rebuilt; tracked in PLAT-9.
    approver: "@acme/ml-platform"
    expires: 2026-11-10
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    for tool in ("helm", "opa", "git"):
        require_tool(tool)
    repo = one_model_repo(tmp_path_factory.mktemp("audit") / "config")
    repo.render(record=False)  # the copied decisions cover the copied rendered/ already
    repo.commit("Initial config: churn v7 everywhere", "ana", "2026-11-01T10:00:00Z")

    repo.git("checkout", "-q", "-b", "dev-v8")
    repo.pin("staging", 7)
    repo.pin("prod", 7)
    repo.edit(MODEL, "  name: churn\n  version: 7\n", "  name: churn\n  version: 8\n")
    repo.render(today="2026-11-02")
    repo.commit("Run churn v8 in dev", "bob", "2026-11-02T09:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.merge("dev-v8", "Merge pull request #11 from acme/dev-v8", "carol", "2026-11-02T12:00:00Z")

    repo.pin("staging", 8)
    repo.render(today="2026-11-03")
    repo.commit("Promote churn v8 to staging (#12)", "bob", "2026-11-03T10:00:00Z")

    repo.pin("prod", 8)
    repo.render(record=False)  # a hand edit pushed straight to main: no decision recorded
    repo.commit("hotfix: prod on v8", "mallory", "2026-11-04T22:00:00Z")

    repo.git("checkout", "-q", "-b", "rollback")
    repo.pin("prod", 7)
    repo.render(today="2026-11-05")
    repo.commit("Roll prod back to churn v7", "carol", "2026-11-05T08:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.merge("rollback", "Merge pull request #13 from acme/rollback", "ana", "2026-11-05T09:00:00Z")

    repo.git("checkout", "-q", "-b", "rolling")
    repo.edit(MODEL, ROLLOUT, ROLLOUT + "        strategy: rolling\n")
    repo.write("policies/waivers.yaml", WAIVER)
    repo.render(today="2026-11-06")
    repo.commit("prod: rolling update under a waiver", "ana", "2026-11-06T10:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.merge("rolling", "Merge pull request #14 from acme/rolling", "carol", "2026-11-07T10:00:00Z")

    repo.git("checkout", "-q", "-b", "scale")
    repo.edit(MODEL, "      replicas: {min: 3, max: 12}\n", "      replicas: {min: 3, max: 14}\n")
    repo.render(today="2026-11-09")  # decided while the waiver held
    repo.commit("prod: up to 14 replicas", "bob", "2026-11-09T10:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.merge("scale", "Merge pull request #15 from acme/scale", "carol", "2026-11-12T10:00:00Z")  # after expiry

    good = (repo.root / MODEL).read_text(encoding="utf-8")
    repo.write(MODEL, good + "  broken: [unclosed\n")
    repo.commit("=SUM(A1) tweak churn", "eve", "2026-11-13T10:00:00Z")
    repo.write(MODEL, good)
    repo.commit("Fix churn spec", "ana", "2026-11-14T10:00:00Z")
    record = (repo.root / "rendered/dev/manifest.json").read_text(encoding="utf-8")
    repo.write("rendered/dev/manifest.json", "{not json")
    repo.commit("Hand-edited dev record", "mallory", "2026-11-15T10:00:00Z")
    repo.write("rendered/dev/manifest.json", record)
    repo.commit("Restore dev record", "ana", "2026-11-16T10:00:00Z")
    return repo


def _audit(repo: GitRepo, **filters: object) -> Audit:
    return walk(repo.root, Filters(**filters))  # type: ignore[arg-type]


def _timeline(audit: Audit, env: str) -> list[Entry]:
    return next(t.entries for t in audit.timelines if (t.env, t.model) == (env, "churn"))


def _categories(entry: Entry) -> list[str]:
    return [c.category for c in entry.changes]


def test_prod_timeline_classifies_each_change_and_flags_the_direct_push(history: GitRepo) -> None:
    prod = {e.subject: e for e in _timeline(_audit(history), "prod")}
    first = prod["Initial config: churn v7 everywhere"]
    assert _categories(first) == ["added"] and first.decision and first.decision["outcome"] == "pass"
    assert first.flags == []

    push = prod["hotfix: prod on v8"]
    assert (push.author, push.landed, push.pr) == ("Mallory Direct", "direct", None)
    assert (push.version_before, push.version_after) == (7, 8)
    assert "promotion" in _categories(push)  # prod now runs what staging runs
    assert push.runs_changed and "serving.yaml" in push.runs_changed
    assert push.flags == ["changed what prod runs; the recorded decision is for other rendered output (direct push)"]

    rollback = prod["Merge pull request #13 from acme/rollback"]
    assert (rollback.pr, rollback.landed, rollback.author) == (13, "merge", "Ana Ruiz")
    assert (rollback.version_before, rollback.version_after) == (7 + 1, 7)
    assert "rollback" in _categories(rollback)
    assert rollback.decision == {**rollback.decision, "outcome": "pass", "current": True} and rollback.flags == []


def test_a_waiver_in_force_then_expired_under_a_late_merge(history: GitRepo) -> None:
    prod = {e.subject: e for e in _timeline(_audit(history), "prod")}
    rolling = prod["Merge pull request #14 from acme/rolling"]
    strategy = next(c for c in rolling.changes if c.category == "rollout strategy")
    assert (strategy.before, strategy.after, strategy.breaking) == (
        "canary",
        "rolling",
        "prod loses its canary rollout",
    )
    assert "waivers" in _categories(rolling)
    assert [(w["rule"], w["approver"], w["expires"]) for w in rolling.waivers] == [
        ("MP-ROLL-001", "@acme/ml-platform", "2026-11-10")
    ]
    assert rolling.decision is not None and rolling.decision["outcome"] == "pass" and rolling.decision["current"]
    assert [w["rule"] for w in rolling.decision["waivers"]] == ["MP-ROLL-001"] and rolling.flags == []

    late = prod["Merge pull request #15 from acme/scale"]
    assert _categories(late) == ["scaling"] and late.waivers == []  # expired on the day it landed
    assert late.flags == ["the recorded decision relies on waiver MP-ROLL-001 that expired on 2026-11-10"]


def test_staging_and_dev_name_the_pull_requests(history: GitRepo) -> None:
    audit = _audit(history)
    staging = {e.subject: e for e in _timeline(audit, "staging")}
    promoted = staging["Promote churn v8 to staging (#12)"]
    assert (promoted.pr, promoted.landed, promoted.author) == (12, "squash", "Bob Chen")
    assert _categories(promoted)[0] == "promotion" and (promoted.version_before, promoted.version_after) == (7, 8)
    dev = {e.subject: e for e in _timeline(audit, "dev")}
    merged = dev["Merge pull request #11 from acme/dev-v8"]
    assert merged.pr == 11 and merged.author == "Carol Okafor" and "registry version" in _categories(merged)
    assert all(not e.flags for e in [*staging.values(), *dev.values()])  # flags are for prod


def test_a_commit_that_does_not_parse_is_noted_and_the_walk_goes_on(history: GitRepo) -> None:
    prod = _timeline(_audit(history), "prod")
    broken = next(e for e in prod if e.subject.startswith("=SUM"))
    (note,) = broken.unreadable
    assert note.startswith("unreadable at this commit (prod): models/churn/model.yaml:") and "YAML syntax error" in note
    assert broken.flags == [] and not broken.runs_changed
    assert prod[-1] is broken  # the fix restores the same spec: nothing to report
    dev = _timeline(_audit(history), "dev")
    hand = dev[-1]
    assert hand.subject == "Hand-edited dev record" and (hand.version_before, hand.version_after) == (8, 8)
    assert hand.unreadable == [
        "rendered/dev/manifest.json: unreadable at this commit: not JSON (Expecting "
        "property name enclosed in double quotes: line 1 column 2 (char 1))"
    ]


def test_filters_and_exit_codes(history: GitRepo) -> None:
    since, until = parse_day("2026-11-05", "--since"), parse_day("2026-11-08", "--until", end=True)
    window = _audit(history, envs=frozenset({"prod"}), since=since, until=until)
    assert [t.env for t in window.timelines] == ["prod"]
    assert [e.pr for e in window.timelines[0].entries] == [13, 14]
    code, out = history.mp("audit")
    assert code == 1 and "FLAG: changed what prod runs" in out  # flagged commits: exit 1
    code, out = history.mp("audit", "--env", "staging", "--since", "2026-11-03", "--until", "2026-11-03")
    assert code == 0 and "PR #12" in out and "Initial config" not in out
    code, out = history.mp("audit", "--since", "yesterday")
    assert code == 2 and out.strip() == "modelplane audit: error: --since yesterday: expected a date, YYYY-MM-DD"


def test_formats_keep_untrusted_text_inert(history: GitRepo) -> None:
    code, out = history.mp("audit", "--env", "prod", "--format", "json")
    data = json.loads(out[: out.rindex("}") + 1])
    assert data["flagged"] == 2 and data["timelines"][0]["model"] == "churn"
    code, out = history.mp("audit", "--env", "prod", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out[: out.index("audit: ")])))
    eve = next(r for r in rows if r["email"] == "eve@acme.example")
    assert eve["author"] == "'=HYPERLINK(1) | *Eve* `x`" and eve["subject"] == "'=SUM(A1) tweak churn"
    code, out = history.mp("audit", "--env", "prod", "--format", "markdown")
    row = next(line for line in out.splitlines() if "Eve" in line)
    assert "=HYPERLINK(1) \\| \\*Eve\\* \\`x\\`" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 10  # nine cells: the author's pipe adds no column


def test_not_a_repository_and_shallow_clone_are_one_line(history: GitRepo, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, out = GitRepo(plain).mp("audit")
    assert (
        code == 2
        and out == f"modelplane audit: error: {plain}: not a git repository; audit reads the history git keeps\n"
    )
    shallow = tmp_path / "shallow"
    GitRepo(tmp_path).git("clone", "-q", "--depth", "2", f"file://{history.root}", str(shallow))
    code, out = GitRepo(shallow).mp("audit")
    assert code == 2 and "shallow clone" in out and "git fetch --unshallow" in out and "Traceback" not in out
