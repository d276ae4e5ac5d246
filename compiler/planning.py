"""`modelplane plan`: what the work tree changes, per environment, against a base commit.

The base is read from git (the specs, policies, lock and `rendered/` of that commit, written into
a temporary folder with two git processes), loaded and resolved like the work tree, and every
(model, environment) is compared: the resolved specs key by key (classified and marked breaking
by `modelplane.changes`), the versions each environment runs, the recorded gate decisions, and
the rendered files object by object. No cluster is involved.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.changes import Change, classify, outcome_change, refine_versions, spec_data
from modelplane.decisions import read_decisions
from modelplane.gitread import default_branch, merge_base, require_repository, resolve_commit, snapshot
from modelplane.history import NoHistory, env_history
from modelplane.objdiff import ObjectDiff, pair_diff
from modelplane.problems import ModelplaneError, Problem
from modelplane.repo import Repo, load_repo

SNAPSHOT_PATHS = ["models", "environments", "policies", "rendered", "modelplane.lock", "templates"]
RENDERED = "rendered"


@dataclass
class PairPlan:
    env: str
    model: str
    status: str  # added | removed | changed
    before: int | None  # registry version
    after: int | None
    changes: list[Change] = field(default_factory=list)
    objects: list[ObjectDiff] = field(default_factory=list)

    @property
    def breaking(self) -> list[str]:
        return [c.breaking for c in self.changes if c.breaking] + [o.breaking for o in self.objects if o.breaking]


@dataclass
class Plan:
    base_ref: str
    base: str  # commit id
    envs: list[str]
    pairs: list[PairPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def in_env(self, env: str) -> list[PairPlan]:
        return [p for p in self.pairs if p.env == env]

    @property
    def breaking(self) -> int:
        return sum(len(p.breaking) for p in self.pairs)


class HeadProblems(ModelplaneError):
    """The work tree's specs do not load (exit 1, like validate)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]):
        super().__init__(f"plan stopped: {len(problems)} problem(s) in the specs; run `modelplane validate`")
        self.problems = problems


def pick_base(root: Path, base: str | None) -> tuple[str, str]:
    """(the ref as shown, its commit): --base, else the merge base with the default branch."""
    require_repository(root, "plan")
    if base is not None:
        return base, resolve_commit(root, base)
    branch = default_branch(root)
    if branch is None:
        raise ModelplaneError("no default branch to compare with (origin/HEAD, main, master); pass --base REF")
    return f"merge base with {branch}", merge_base(root, branch)


def _load_base(root: Path, commit: str, dest: Path, notes: list[str]) -> Repo | None:
    snapshot(root, commit, dest, SNAPSHOT_PATHS)
    if not (dest / "environments").is_dir():
        notes.append("the base has no environments/: everything is new")
        return None
    repo, problems = load_repo(dest)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        notes.append(
            f"the base's specs have {len(errors)} problem(s) (first: {errors[0].render()}); pairs that "
            "did not resolve there count as added"
        )
    return repo


def _files(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _is_prod(head: Repo, base: Repo | None, env: str) -> bool:
    source = head if env in head.environments else base
    return source is not None and env in source.environments and source.env(env).policy_profile == "prod"


def _version(repo: Repo | None, key: tuple[str, str]) -> int | None:
    resolved = repo.resolved.get(key) if repo is not None else None
    return resolved.model.registry.version if resolved is not None else None


def _ran_before(root: Path, env: str, commit: str) -> dict[str, set[int]]:
    try:
        history = env_history(root, RENDERED, env, commit)
    except NoHistory:
        return {}
    return {model: {r.version for r in runs} for model, runs in history.runs.items()}


def _outcome(decisions: dict[str, Any], model: str) -> str | None:
    decision = decisions.get(model)
    return decision.outcome if decision is not None else None


def pair_plan(
    key: tuple[str, str], head: Repo, base: Repo | None, folders: tuple[Path, Path], context: dict[str, Any]
) -> PairPlan | None:
    """The plan of one (environment, model), or None when nothing about it changes."""
    env, model = key
    prod = _is_prod(head, base, env)
    before = spec_data(base.resolved[key]) if base is not None and key in base.resolved else None
    after = spec_data(head.resolved[key]) if key in head.resolved else None
    upstream = head.env(env).promotes_from if env in head.environments else None
    upstream_version = _version(head, (upstream, model)) if upstream else None
    changes = refine_versions(
        classify(before, after, prod=prod), upstream_version, context["ran"].get(env, {}).get(model, set())
    )
    moved = outcome_change(
        _outcome(context["base_decisions"].get(env, {}), model),
        _outcome(context["head_decisions"].get(env, {}), model),
        prod=prod,
    )
    if moved is not None and before is not None and after is not None:  # an addition or removal says it all
        changes.append(moved)
    base_files = _files(folders[0] / env / model)
    head_files = _files(folders[1] / env / model)
    # A removed model is breaking once, as a removal; its objects go with it.
    objects = pair_diff(base_files, head_files, f"{env}/{model}", prod=prod and after is not None)
    if not changes and not objects:
        return None
    status = "added" if before is None and after is not None else "removed" if after is None else "changed"
    if before is None and after is None:  # only rendered/ differs: a model the specs no longer resolve
        status = "changed"
    return PairPlan(env, model, status, _version(base, key), _version(head, key), changes, objects)


def build_plan(root: Path, base: str | None) -> Plan:
    base_ref, commit = pick_base(root, base)
    head, problems = load_repo(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise HeadProblems(errors)
    with tempfile.TemporaryDirectory(prefix="modelplane-plan-") as tmp:
        plan = Plan(base_ref, commit, [])
        base_repo = _load_base(root, commit, Path(tmp), plan.notes)
        envs = head.env_order() + sorted(set(base_repo.environments if base_repo else ()) - set(head.environments))
        plan.envs = envs
        context = {
            "ran": {env: _ran_before(root, env, commit) for env in envs},
            "base_decisions": {env: read_decisions(Path(tmp) / RENDERED, env) for env in envs},
            "head_decisions": {env: read_decisions(root / RENDERED, env) for env in envs},
        }
        folders = (Path(tmp) / RENDERED, root / RENDERED)
        keys = set(head.resolved) | set(base_repo.resolved if base_repo else ())
        for env in envs:
            for model in sorted({m for e, m in keys if e == env}):
                found = pair_plan((env, model), head, base_repo, folders, context)
                if found is not None:
                    plan.pairs.append(found)
    return plan
