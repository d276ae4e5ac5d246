"""`modelplane codeowners`: .github/CODEOWNERS from the specs' owners; `--check` names what differs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import ROOT
from tests.example_copy import copy_example

CODEOWNERS = ".github/CODEOWNERS"


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "config", ("models", "environments"), history=False)
    (root / ".github").mkdir()
    shutil.copy(ROOT / CODEOWNERS, root / CODEOWNERS)
    return root


def _run(root: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--root", str(root), "codeowners", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_committed_codeowners_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(ROOT, capsys, "--check")
    assert (code, out) == (0, ".github/CODEOWNERS: current (7 owned path(s))\n")
    text = (ROOT / CODEOWNERS).read_text(encoding="utf-8")
    generated = text[text.index("# BEGIN modelplane codeowners") :].splitlines()
    assert generated[1:-1] == [
        "/models/churn/                   @acme/growth-ds maria.lopez@acme.example",
        "/models/demand-forecast/         @acme/supply-chain-ds",
        "/models/fraud-detection/         @acme/risk-ml",
        "/environments/prod.yaml          @acme/ml-platform",
        "/rendered/prod/churn/            @acme/ml-platform",
        "/rendered/prod/demand-forecast/  @acme/ml-platform",
        "/rendered/prod/fraud-detection/  @acme/ml-platform",
    ]
    assert "/.github/                   @acme/ml-platform" in text, "the hand-written lines stay"


def test_check_names_the_difference_then_codeowners_writes_it(
    config_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = config_repo / "models/fraud-detection/model.yaml"
    text = spec.read_text().replace('owners: ["@acme/risk-ml"]', 'owners: ["@acme/risk-ml", "@acme/payments"]')
    spec.write_text(text)
    before = (config_repo / CODEOWNERS).read_text(encoding="utf-8")
    code, out = _run(config_repo, capsys, "--check")
    assert code == 1
    assert "-/models/fraud-detection/         @acme/risk-ml\n" in out
    assert "+/models/fraud-detection/         @acme/risk-ml @acme/payments\n" in out
    assert out.endswith(
        ".github/CODEOWNERS: differs from the specs' owners; run `modelplane codeowners` and commit it\n"
    )
    assert (config_repo / CODEOWNERS).read_text(encoding="utf-8") == before, "--check writes nothing"
    assert _run(config_repo, capsys) == (0, ".github/CODEOWNERS: written (7 owned path(s))\n")
    first = (config_repo / CODEOWNERS).read_bytes()
    assert _run(config_repo, capsys, "--check")[0] == 0
    assert _run(config_repo, capsys)[0] == 0 and (config_repo / CODEOWNERS).read_bytes() == first, "deterministic"
    changed = [line for line in first.decode().splitlines() if line not in before.splitlines()]
    assert changed == ["/models/fraud-detection/         @acme/risk-ml @acme/payments"]


def test_environment_owners_own_what_reaches_the_environment(
    config_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = config_repo / "environments/staging.yaml"
    staging.write_text(staging.read_text() + 'owners: ["@acme/ml-release", "release@acme.example"]\n')
    (config_repo / CODEOWNERS).unlink()
    assert _run(config_repo, capsys)[0] == 0
    text = (config_repo / CODEOWNERS).read_text(encoding="utf-8")
    assert text.startswith("# BEGIN modelplane codeowners"), "a new file holds only the generated block"
    rows = [line.split() for line in text.splitlines()[1:-1]]
    release = ["@acme/ml-release", "release@acme.example"]
    assert [p for p, *owners in rows if owners == release] == [
        "/environments/staging.yaml",
        "/rendered/staging/churn/",
        "/rendered/staging/demand-forecast/",
        "/rendered/staging/fraud-detection/",
    ]
    assert [p for p, *_ in rows].index("/rendered/staging/churn/") < [p for p, *_ in rows].index(
        "/environments/prod.yaml"
    ), "environments in promotion order"
    assert len({line.index("@") for line in text.splitlines()[1:-1]}) == 1, "owners line up in one column"


def test_an_owner_codeowners_cannot_hold_is_a_problem_at_its_line(
    config_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace('"maria.lopez@acme.example"', '"growth team\\n* @mallory"'))
    before = (config_repo / CODEOWNERS).read_text(encoding="utf-8")
    code, out = _run(config_repo, capsys)
    assert code == 1
    assert (
        "models/churn/model.yaml:9:31: metadata.owners[1]: 'growth team\\n* @mallory' cannot be a code owner"
        " (use @user, @org/team or an e-mail address)"
    ) in out
    assert (config_repo / CODEOWNERS).read_text(encoding="utf-8") == before, "nothing written"
    prod = config_repo / "environments/prod.yaml"
    prod.write_text(prod.read_text().replace('owners: ["@acme/ml-platform"]', 'owners: ["ml platform"]'))
    code, out = _run(config_repo, capsys)
    assert code == 1 and "environments/prod.yaml:" in out and "owners[0]" in out
