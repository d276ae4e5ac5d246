"""`modelplane docs build` without a browser: byte-stable pages, a CSP that pins the page's own
script, escaping of every value, and the folders it refuses. Real git and OPA."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import require_tool
from tests.example_copy import copy_example


@pytest.fixture()
def config_repo(tmp_path: Path) -> Path:
    require_tool("opa")
    return copy_example(tmp_path / "config")


def _pages(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_the_same_inputs_give_the_same_site(config_repo: Path, tmp_path: Path) -> None:
    assert main(["--root", str(config_repo), "docs", "build", "--out", str(tmp_path / "a")]) == 0
    assert main(["--root", str(config_repo), "docs", "build", "--out", str(tmp_path / "b")]) == 0
    first = _pages(tmp_path / "a")
    assert first == _pages(tmp_path / "b")
    assert sorted(first) == [
        ".modelplane-output",
        "environments/dev.html",
        "environments/prod.html",
        "environments/staging.html",
        "index.html",
        "models/churn.html",
        "models/demand-forecast.html",
        "models/fraud-detection.html",
        "policies.html",
    ]
    assert main(["--root", str(config_repo), "docs", "build", "--out", str(tmp_path / "a")]) == 0  # replaces its own


def test_every_page_pins_its_only_script_by_hash(config_repo: Path, tmp_path: Path) -> None:
    assert main(["--root", str(config_repo), "docs", "build", "--out", str(tmp_path / "site")]) == 0
    for name, data in _pages(tmp_path / "site").items():
        if not name.endswith(".html"):
            continue
        html = data.decode()
        (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in html and "default-src 'none'" in html, name
        assert "http://" not in html.split("<main>")[0] and "<link" not in html  # no external assets


def test_spec_text_is_escaped_on_every_page(config_repo: Path, tmp_path: Path) -> None:
    spec = config_repo / "models/churn/model.yaml"
    spec.write_text(
        spec.read_text().replace("  description: Predicts", '  description: "<b onmouseover=alert(1)>x</b> Predicts'),
        encoding="utf-8",
    )
    spec.write_text(spec.read_text().replace("within 30 days.", 'within 30 days."'), encoding="utf-8")
    assert main(["--root", str(config_repo), "docs", "build", "--out", str(tmp_path / "site")]) == 0
    pages = _pages(tmp_path / "site")
    for name in ("index.html", "models/churn.html"):
        html = pages[name].decode()
        assert "&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt; Predicts" in html and "<b onmouseover" not in html


def test_refused_output_folders_are_one_line(
    config_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "someone-elses"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    cases = {
        str(config_repo): "is or contains the config repository",
        str(config_repo / "models" / "site"): "is inside models/",
        str(config_repo / "rendered"): "is inside rendered/",
        str(foreign): "holds files docs build did not write",
    }
    for out, why in cases.items():
        capsys.readouterr()
        assert main(["--root", str(config_repo), "docs", "build", "--out", out]) == 2
        err = capsys.readouterr().err
        assert err.startswith("modelplane docs: error: --out ") and why in err and err.count("\n") == 1
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_without_git_the_catalog_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("opa")
    repo = copy_example(tmp_path / "config", history=False)
    shutil.rmtree(repo / "rendered" / "prod")
    assert main(["--root", str(repo), "docs", "build"]) == 0
    index = (repo / ".modelplane/site/index.html").read_text()
    assert "not a git repository: no change history" in index
    assert "docs build: 8 page(s)" in capsys.readouterr().out
