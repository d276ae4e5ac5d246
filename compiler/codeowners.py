"""`.github/CODEOWNERS` from the specs: who must review a change to a model or to what an environment runs.

Each model folder is owned by its `metadata.owners`. An environment that names `owners` owns
its file and each model's folder under `rendered/<env>/`: a pin that moves in that environment (a
promotion, a rollback, a hand edit) always changes `rendered/<env>/<model>/` (every serving object
names its version), so with "require review from Code Owners" such a pull request needs the
model's owners (the model file) and the environment's owners (the rendered folder). The
environment's shared files (`manifest.json`, which hashes every model file) stay unowned, so a
change that does not reach the environment does not need its owners. Lines outside the generated
block are kept as written. Pure: text in, text out.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from modelplane.problems import Problem, format_path
from modelplane.repo import Repo
from modelplane.spec.environment import OWNER

CODEOWNERS = ".github/CODEOWNERS"
BEGIN = "# BEGIN modelplane codeowners: written by `modelplane codeowners` from the specs; do not edit by hand"
END = "# END modelplane codeowners"
_OWNER = re.compile(OWNER)


def owner_problems(repo: Repo) -> list[Problem]:
    """Model owners CODEOWNERS cannot hold (environment owners are checked by the spec)."""
    problems = []
    for name in sorted(repo.models):
        doc = repo.models[name].doc
        for i, owner in enumerate(repo.model(name).metadata.owners):
            if not _OWNER.match(owner):
                path = ("metadata", "owners", i)
                pos = doc.source.locate(path)
                problems.append(
                    Problem(
                        pos.file,
                        pos.line,
                        pos.col,
                        format_path(path),
                        f"{owner!r} cannot be a code owner",
                        "use @user, @org/team or an e-mail address",
                        code="codeowners",
                    )
                )
    return problems


def owned_paths(repo: Repo) -> list[tuple[str, list[str]]]:
    """(CODEOWNERS pattern, owners) for every model folder and every environment that names owners."""
    rows = []
    for name in sorted(repo.models):
        folder = PurePosixPath(repo.models[name].doc.file).parent
        rows.append((f"/{folder}/", list(repo.model(name).metadata.owners)))
    for env in repo.env_order():
        owners = list(repo.env(env).owners)
        if owners:
            rows.append((f"/{repo.environments[env].doc.file}", owners))
            rows += [(f"/rendered/{env}/{model}/", owners) for model in sorted(repo.models)]
    return rows


def block(rows: list[tuple[str, list[str]]]) -> list[str]:
    width = max((len(pattern) for pattern, _ in rows), default=0) + 2
    return [BEGIN, *(f"{pattern.ljust(width)}{' '.join(owners)}" for pattern, owners in rows), END]


def codeowners_text(current: str | None, rows: list[tuple[str, list[str]]]) -> str:
    """`current` with its generated block replaced (or appended at the end, where it wins)."""
    generated = block(rows)
    lines = (current or "").splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN) :]:
        start = lines.index(BEGIN)
        end = lines.index(END, start)
        lines = lines[:start] + generated + lines[end + 1 :]
    else:
        lines = [*lines, *([""] if lines and lines[-1].strip() else []), *generated]
    return "\n".join(lines) + "\n"
