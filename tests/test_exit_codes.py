"""README's exit-code table, command by command: 0 clean, 1 problems found, 2 usage/internal/gate could not run.

One table of cases, each a small change to a copy of the example repository and a command line;
every case runs the real tools (OPA, helm, MLflow's sqlite store), nothing is stubbed.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import CRDS, ROOT, require_tool
from tests.example_copy import copy_example

Edit = Callable[[Path], None]


def _nothing(repo: Path) -> None:
    pass


def _bad_spec(repo: Path) -> None:
    spec = repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("  team: growth-ds", "  teem: growth-ds"))


def _unpinned_prod_image(repo: Path) -> None:
    spec = repo / "models/churn/model.yaml"
    text = spec.read_text()
    pinned = next(line for line in text.splitlines() if line.startswith("  image: ghcr.io/acme/churn-serving@"))
    spec.write_text(text.replace(pinned, "  image: ghcr.io/acme/churn-serving:7.0.1"))


def _stale_render(repo: Path) -> None:
    card = repo / "rendered/dev/churn/MODEL_CARD.md"
    card.write_text(card.read_text() + "edited by hand\n")


def _expired_waiver(repo: Path) -> None:
    waivers = repo / "policies/waivers.yaml"
    waivers.write_text(waivers.read_text().replace("expires: 2027-06-30", "expires: 2025-01-31"))


def _no_policies(repo: Path) -> None:
    shutil.rmtree(repo / "policies")
    (repo / "policies").mkdir()


def _bad_rego(repo: Path) -> None:
    (repo / "policies/broken.rego").write_text("package modelplane.broken\n\ndeny contains v if {\n")


def _stale_lock(repo: Path) -> None:
    (repo / "modelplane.lock").write_text('{"models": {}, "version": 1}\n')


def _codeowners(repo: Path) -> None:
    (repo / ".github").mkdir()
    shutil.copy(ROOT / ".github/CODEOWNERS", repo / ".github/CODEOWNERS")


def _new_owner(repo: Path) -> None:
    _codeowners(repo)
    spec = repo / "models/churn/model.yaml"
    text = spec.read_text().replace('owners: ["@acme/growth-ds"', 'owners: ["@acme/retention", "@acme/growth-ds"')
    spec.write_text(text)


def _dirty(repo: Path) -> None:
    (repo / "environments/dev.yaml").write_text((repo / "environments/dev.yaml").read_text() + "# edited\n")


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield int(silent.getsockname()[1])


SQLITE = "sqlite:///{root}/.modelplane/mlflow.db"
SILENT = "http://127.0.0.1:{port}"

# (command line after --root, edit, expected exit code)
CASES: list[tuple[str, Edit, int]] = [
    ("validate", _nothing, 0),
    ("validate", _bad_spec, 1),
    ("validate models/nope.yaml", _nothing, 2),
    ("validate --format yaml", _nothing, 2),
    ("compile --check --crds {crds}", _nothing, 0),
    ("compile --check --crds {crds}", _stale_render, 1),
    ("compile", _bad_spec, 1),
    ("compile --env nope", _nothing, 2),
    ("check --today 2026-11-24", _nothing, 0),
    ("check --today 2026-11-24", _unpinned_prod_image, 1),
    ("check --today 2026-11-24 --format sarif", _bad_spec, 1),
    ("check --today 2026-11-24", _expired_waiver, 1),
    ("check --today 2026-11-24 --format junit", _no_policies, 2),
    ("check --today 2026-11-24", _bad_rego, 2),
    ("check --opa-url " + SILENT + " --timeout 1", _nothing, 2),
    ("check --env nope", _nothing, 2),
    ("lock --tracking-uri " + SQLITE + " --check", _stale_lock, 1),
    ("lock --tracking-uri " + SQLITE, _bad_spec, 1),
    ("lock --tracking-uri " + SILENT + " --timeout 1", _nothing, 2),
    ("lock --tracking-uri foo://bar", _nothing, 2),
    ("schemas --check --out {root}/schemas", _nothing, 1),
    ("demo --tracking-uri " + SQLITE, _bad_spec, 1),
    ("codeowners --check", _codeowners, 0),
    ("codeowners --check", _new_owner, 1),
    ("codeowners", _bad_spec, 1),
    ("promote churn --to dev", _nothing, 1),
    ("promote nope --to staging", _nothing, 1),
    ("promote demand-forecast --to staging --tracking-uri " + SQLITE, _nothing, 1),  # not in the (empty) registry
    ("promote demand-forecast --to staging --tracking-uri " + SILENT + " --timeout 1", _nothing, 2),
    ("promote demand-forecast --to staging --git", _dirty, 2),
    ("registry sync --tracking-uri " + SILENT + " --timeout 1", _nothing, 2),
    ("lock --check --changed-since no-such-ref --tracking-uri " + SQLITE, _nothing, 2),
    ("check --record --check", _nothing, 0),
    ("check --record --check", _unpinned_prod_image, 1),
    ("plan --base HEAD", _nothing, 0),
    ("plan --base HEAD", _bad_spec, 1),
    ("plan --base nope", _nothing, 2),
    ("audit", _nothing, 0),
    ("audit --until nope", _nothing, 2),
    ("docs build --out {root}/site", _nothing, 0),
    ("docs build --out {root}/site", _bad_spec, 1),
    ("docs build --out {root}", _nothing, 2),
    ("", _nothing, 2),
    ("frobnicate", _nothing, 2),
]


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "command,edit,expected", CASES, ids=[f"{c[0].split(' ')[0] or 'none'}-{c[1].__name__}-{c[2]}" for c in CASES]
)
def test_exit_code(
    tmp_path: Path,
    silent_port: int,
    capsys: pytest.CaptureFixture[str],
    command: str,
    edit: Edit,
    expected: int,
) -> None:
    require_tool("opa")
    require_tool("helm")
    copy_example(tmp_path)
    edit(tmp_path)
    line = command.format(root=tmp_path, crds=CRDS, port=silent_port)
    code = _code(["--root", str(tmp_path), *line.split()])
    out, err = capsys.readouterr()
    assert code == expected, f"modelplane {line}: exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    if expected == 2 and command:
        assert err.strip(), "exit 2 always says why on stderr"


@pytest.mark.parametrize("given", [None, "150"])
def test_the_go_tools_a_command_runs_get_a_slower_collector_unless_the_caller_set_one(
    monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    import os

    from modelplane.cli import GO_COLLECTOR

    monkeypatch.setenv("GOGC", given or "")  # restored (or removed) after the test
    if given is None:
        monkeypatch.delenv("GOGC")
    assert main(["--root", str(ROOT), "validate"]) == 0
    assert os.environ["GOGC"] == (given or GO_COLLECTOR)
