"""`modelplane plan` on real git repositories the test builds: a feature branch against main, the
changes classified and marked breaking, the Markdown comment unbreakable by spec text, and every
bad base a one-line error. Real git, helm and OPA."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from modelplane.objdiff import pair_diff
from modelplane.plan_format import _diff_block
from modelplane.planning import build_plan
from tests.conftest import require_tool
from tests.gitrepo import MODEL, ROLLOUT, GitRepo, one_model_repo

HOSTILE = "<script>alert(1)</script> | </details> ``` <img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    for tool in ("helm", "opa", "git"):
        require_tool(tool)
    repo = one_model_repo(tmp_path_factory.mktemp("plan") / "config", keep=("churn", "fraud-detection"))
    repo.render(record=False)
    repo.commit("Initial config", "ana", "2026-11-01T10:00:00Z")
    repo.git("checkout", "-q", "-b", "change")
    repo.pin("staging", 8)
    repo.pin("prod", 7)
    repo.edit(MODEL, "  name: churn\n  version: 7\n", "  name: churn\n  version: 8\n")
    repo.edit(MODEL, "      replicas: {min: 3, max: 12}\n", "      replicas: {min: 3, max: 16}\n")
    repo.edit(MODEL, ROLLOUT, ROLLOUT + "        strategy: rolling\n")
    monitor = "    monitoring:\n      monitor:\n"
    repo.edit(MODEL, monitor, "    training:\n      acceptance: {min: 0.8}\n" + monitor)
    summary = "Gradient-boosted classifier that scores 30-day churn risk for active subscribers."
    repo.edit(MODEL, f"  summary: {summary}", f"  summary: '{HOSTILE} {summary}'")
    shutil.rmtree(repo.root / "models/fraud-detection")
    repo.render(today="2026-11-02")
    repo.commit(
        "Churn v8 to dev and staging, prod resized and rolling; fraud-detection retired", "bob", "2026-11-02T10:00:00Z"
    )
    repo.git("checkout", "-q", "main")
    repo.commit("Unrelated work on main", "carol", "2026-11-03T10:00:00Z")
    repo.git("checkout", "-q", "change")
    return repo


def _pair(plan_data: dict, env: str, model: str) -> dict:  # type: ignore[type-arg]
    return next(p for p in plan_data["environments"][env] if p["model"] == model)


def test_changes_are_classified_per_environment_and_marked_breaking(branch: GitRepo) -> None:
    code, out = branch.mp("plan", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["base"]["ref"] == "merge base with main"
    prod = _pair(data, "prod", "churn")
    kinds = {(c["category"], c["path"]): c for c in prod["changes"]}
    assert kinds[("scaling", "serving.replicas.max")]["after"] == 16
    assert kinds[("rollout strategy", "serving.rollout.strategy")]["why"] == "prod loses its canary rollout"
    assert kinds[("training gate", "training.acceptance.min")]["why"] == "lowers prod's acceptance bar for new versions"
    assert kinds[("card", "card.summary")]["breaking"] is False
    outcome = kinds[("policy outcome", "")]
    assert (outcome["before"], outcome["after"], outcome["breaking"]) == ("pass", "block", True)
    objects = {(o["object"], o["status"]) for o in prod["objects"]}
    assert {
        ("Rollout/churn", "removed"),
        ("Deployment/churn", "added"),
        ("AnalysisTemplate/churn", "removed"),
    } <= objects
    assert "prod deletes Rollout/churn" in prod["breaking"]
    retired = _pair(data, "prod", "fraud-detection")
    assert retired["status"] == "removed" and retired["breaking"] == ["removes the model from a prod environment"]
    assert _pair(data, "dev", "fraud-detection")["breaking"] == []  # only prod's removal breaks
    dev, staging = _pair(data, "dev", "churn"), _pair(data, "staging", "churn")
    assert [(c["category"], c["before"], c["after"]) for c in dev["changes"] if c["path"] == "registry.version"] == [
        ("registry version", 7, 8)
    ]
    assert [
        (c["category"], c["before"], c["after"]) for c in staging["changes"] if c["path"] == "registry.version"
    ] == [
        ("promotion", 7, 8)  # staging now runs what dev runs
    ]
    assert staging["breaking"] == [] and dev["version"] == {"before": 7, "after": 8}


def test_markdown_cannot_break_out_of_tables_or_collapsed_sections(branch: GitRepo) -> None:
    code, out = branch.mp("plan", "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "<!-- modelplane-plan -->"
    assert lines.count("<details>") == lines.count("</details>") >= 3
    fence, inside = "", False
    for line in lines:  # every fence closes with its own length; HTML lines only outside fences
        if not inside and re.match(r"^`{3,}diff$", line):
            fence, inside = line[:-4], True
        elif inside and line == fence:
            inside = False
        elif not inside and line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 5, line  # four cells, whatever the values hold
        elif not inside:
            assert (
                "<script>" not in line and "<img" not in line and line.strip() != "</details>" or line == "</details>"
            )
    assert not inside
    assert "\\<script\\>alert(1)\\</script\\>" in out  # shown as text in the table
    assert "diff(s) left out: the comment is full" in out  # GitHub's 65,536-character limit is kept
    assert len(out) < 65_536


def test_a_diff_holding_backticks_gets_a_longer_fence() -> None:
    block = _diff_block("+ text: ```` four\n- x")
    assert block[0] == "`````diff" and block[-1] == "`````"


def test_text_format_and_an_unchanged_base(branch: GitRepo) -> None:
    code, out = branch.mp("plan")
    assert code == 0 and "BREAKING rollout strategy" in out and out.rstrip().endswith("breaking change(s)")
    code, out = branch.mp("plan", "--base", "HEAD")
    assert code == 0
    assert [line for line in out.splitlines() if line.endswith("no changes")] == [
        "dev: no changes",
        "staging: no changes",
        "prod: no changes",
    ]


def test_bad_bases_are_one_line(branch: GitRepo, tmp_path: Path) -> None:
    code, out = branch.mp("plan", "--base", "no-such-branch")
    assert code == 2
    assert out == "modelplane plan: error: --base no-such-branch: no such commit in this repository; fetch it first\n"
    code, out = branch.mp("plan", "--base=--output=/tmp/x")
    assert code == 2 and out == "modelplane plan: error: --base --output=/tmp/x: not a git ref\n"
    plain = tmp_path / "plain"
    shutil.copytree(branch.root, plain, ignore=shutil.ignore_patterns(".git"))
    code, out = GitRepo(plain).mp("plan")
    assert (
        code == 2
        and out == f"modelplane plan: error: {plain}: not a git repository; plan reads the history git keeps\n"
    )
    shallow = tmp_path / "shallow"
    GitRepo(tmp_path).git("clone", "-q", "--depth", "1", "--no-single-branch", f"file://{branch.root}", str(shallow))
    GitRepo(shallow).git("remote", "set-head", "origin", "main")  # as on a real remote
    code, out = GitRepo(shallow).mp("plan")
    assert code == 2 and "not in this shallow clone; git fetch --unshallow" in out and out.count("\n") == 1
    code, out = GitRepo(shallow).mp("plan", "--base", "origin/main~1")
    assert code == 2 and "(this is a shallow clone: git fetch --unshallow" in out


def test_invalid_head_specs_stop_with_their_lines(branch: GitRepo, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    GitRepo(tmp_path).git("clone", "-q", f"file://{branch.root}", str(broken))
    spec = broken / MODEL
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("  team: growth-ds", "  teem: growth-ds"), encoding="utf-8"
    )
    code, out = GitRepo(broken).mp("plan", "--base", "origin/main")
    assert code == 1 and "models/churn/model.yaml:8:3: metadata.teem" in out and "Traceback" not in out


def test_a_selector_change_is_breaking_everywhere() -> None:
    before = {"serving.yaml": "---\nkind: Service\nmetadata:\n  name: m\nspec:\n  selector:\n    app: web\n"}
    after = {"serving.yaml": "---\nkind: Service\nmetadata:\n  name: m\nspec:\n  selector:\n    app: api\n"}
    (diff,) = pair_diff(before, after, "dev/m", prod=False)
    assert diff.status == "changed" and diff.breaking.startswith("the selector of Service/m changes")
    assert "-    app: web\n+    app: api\n" in diff.diff


def test_plan_reads_the_base_with_a_constant_number_of_git_processes(branch: GitRepo) -> None:
    plan = build_plan(branch.root, "main")
    assert plan.base_ref == "main" and len(plan.base) == 40 and plan.breaking >= 5
