"""Promotion through real git repositories, a real sqlite MLflow registry, real helm and OPA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelplane.demo_registry import seed
from modelplane.history import env_history, promotion_facts
from modelplane.pins import set_pin
from modelplane.repo import load_repo
from tests.conftest import ROOT, require_tool
from tests.promotion_repo import commit_all, git, mp


@pytest.fixture()
def repo_dev_ahead(tmp_path: Path) -> Path:
    """A config repo in git where dev runs churn v8 and staging and prod pin v7 of their own."""
    require_tool("helm")
    root = tmp_path / "config"
    root.mkdir()
    for name in ("models", "environments", "policies", "rendered"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "modelplane.lock", root / "modelplane.lock")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "initial: everything on v7", "2026-11-01T10:00:00Z")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    model = root / "models" / "churn" / "model.yaml"
    text = model.read_text(encoding="utf-8")
    for env in ("staging", "prod"):
        text = set_pin(text, "models/churn/model.yaml", env, 7)
    model.write_text(text.replace("  name: churn\n  version: 7\n", "  name: churn\n  version: 8\n"), encoding="utf-8")
    repo, problems = load_repo(root)
    assert problems == []
    seed(repo, uri)
    assert mp(root, "lock", "--tracking-uri", uri) == 0
    assert mp(root, "compile") == 0
    commit_all(root, "dev runs churn v8", "2026-11-02T10:00:00Z")
    (tmp_path / "mlflow-uri").write_text(uri, encoding="utf-8")
    return root


def test_history_reads_what_each_environment_ran(repo_dev_ahead: Path) -> None:
    dev = env_history(repo_dev_ahead, "rendered", "dev")
    staging = env_history(repo_dev_ahead, "rendered", "staging")
    assert [r.version for r in dev.runs["churn"]] == [7, 8]
    assert dev.current["churn"] == 8 and staging.current["churn"] == 7
    facts = promotion_facts("staging", "dev", "churn", 8, {"dev": dev, "staging": staging}, now=1_762_300_000)
    assert facts["ranUpstream"] is True and facts["ranHereBefore"] is False
    assert facts["upstreamVersion"] == 8
    assert facts["soakedHours"] == round((1_762_300_000 - dev.runs["churn"][1].since) / 3600, 2)


def test_dry_run_shows_the_one_pin_and_writes_nothing(repo_dev_ahead: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = (repo_dev_ahead.parent / "mlflow-uri").read_text()
    capsys.readouterr()
    assert mp(repo_dev_ahead, "promote", "churn", "--to", "staging", "--dry-run", "--tracking-uri", uri) == 0
    out = capsys.readouterr().out
    added = [line for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in out.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert added == ["+      version: 8"] and removed == ["-      version: 7"]
    assert git(repo_dev_ahead, "status", "--porcelain", "--untracked-files=no") == ""


def test_promote_in_order_makes_a_branch_commit_and_pr_body(repo_dev_ahead: Path, tmp_path: Path) -> None:
    uri = (repo_dev_ahead.parent / "mlflow-uri").read_text()
    body = tmp_path / "body.md"
    code = mp(
        repo_dev_ahead, "promote", "churn", "--to", "staging", "--git", "--pr-body", str(body), "--tracking-uri", uri
    )
    assert code == 0
    assert git(repo_dev_ahead, "branch", "--show-current").strip() == "promote/churn-staging-v8"
    changed = git(repo_dev_ahead, "show", "--stat", "--format=%s", "HEAD")
    assert changed.startswith("Promote churn v8 to staging (from dev)")
    assert "models/churn/model.yaml" in changed and "rendered/staging/churn/serving.yaml" in changed
    diff = git(repo_dev_ahead, "show", "HEAD", "--", "models/churn/model.yaml")
    assert [ln for ln in diff.splitlines() if ln and ln[0] in "+-" and ln[:3] not in ("+++", "---")] == [
        "-      version: 7",
        "+      version: 8",
    ]
    staging = env_history(repo_dev_ahead, "rendered", "staging")
    assert staging.current["churn"] == 8
    text = body.read_text(encoding="utf-8")
    assert "## Promote churn v8 to staging" in text
    assert "| staging | v7 → **v8** |" in text and "| prod | v7 |" in text
    assert "approved: yes" in text
    # The branch carries current recorded decisions, so CI's `check --record --check` passes on it.
    assert "rendered/staging/decisions.json" in changed
    assert mp(repo_dev_ahead, "check", "--record", "--check") == 0


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (["churn", "--to", "prod", "--version", "8"], 1, "churn v8 never ran in staging"),
        (["churn", "--to", "staging", "--version", "5"], 1, "churn v5 never ran in dev"),
        (["churn", "--to", "dev"], 1, "dev promotes from no environment"),
        (["nope", "--to", "staging"], 1, "no model named 'nope'"),
        (["churn", "--to", "qa"], 1, "--to qa: no such environment"),
    ],
)
def test_promotions_that_are_refused(
    repo_dev_ahead: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, said: str
) -> None:
    before = git(repo_dev_ahead, "rev-parse", "HEAD")
    assert mp(repo_dev_ahead, "promote", *argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
    assert git(repo_dev_ahead, "rev-parse", "HEAD") == before
    assert git(repo_dev_ahead, "status", "--porcelain") == ""


def test_dirty_tree_and_no_git_are_one_line_errors(
    repo_dev_ahead: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = repo_dev_ahead / "environments" / "dev.yaml"
    readme.write_text(readme.read_text() + "# edited\n")
    assert mp(repo_dev_ahead, "promote", "churn", "--to", "staging", "--git") == 2
    assert "uncommitted changes" in capsys.readouterr().err
    tarball = tmp_path / "tarball"
    shutil.copytree(repo_dev_ahead, tarball, ignore=shutil.ignore_patterns(".git"))
    assert mp(tarball, "promote", "churn", "--to", "staging") == 2
    assert "not a git repository" in capsys.readouterr().err


def test_registry_sync_sets_environment_aliases_and_is_idempotent(
    repo_dev_ahead: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    uri = (repo_dev_ahead.parent / "mlflow-uri").read_text()
    head = git(repo_dev_ahead, "rev-parse", "HEAD").strip()
    assert mp(repo_dev_ahead, "registry", "sync", "--tracking-uri", uri, "--dry-run") == 0
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert "dev" not in (client.get_model_version("churn", "8").aliases or [])
    capsys.readouterr()
    assert mp(repo_dev_ahead, "registry", "sync", "--tracking-uri", uri) == 0
    assert "registry sync: 9 version(s) changed" in capsys.readouterr().out
    assert str(client.get_model_version_by_alias("churn", "dev").version) == "8"
    assert str(client.get_model_version_by_alias("churn", "prod").version) == "7"
    assert client.get_model_version("churn", "7").tags["modelplane.prod.commit"] == head
    assert mp(repo_dev_ahead, "registry", "sync", "--tracking-uri", uri) == 0
    assert "registry sync: 0 version(s) changed; 9 already current" in capsys.readouterr().out
    # What sync wrote (aliases dev/staging/prod, modelplane.<env>.commit tags) leaves the lock current.
    assert mp(repo_dev_ahead, "lock", "--check", "--tracking-uri", uri) == 0
    assert mp(repo_dev_ahead, "registry", "sync", "--tracking-uri", uri, "--env", "prod", "--dry-run") == 0
    assert "registry sync: 0 version(s) would change; 3 already current" in capsys.readouterr().out
