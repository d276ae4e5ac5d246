"""The catalog in real headless Chromium: untrusted text shows as text and runs nothing, the index
links to a model page and its audit timeline, the search filters by name, a phone-sized screen
needs no sideways scrolling, and the README's screenshot is taken here."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.browser import chromium, dump_dom
from tests.conftest import ROOT, require_tool
from tests.gitrepo import MODEL, one_model_repo

PAYLOAD = "<script>document.title='pwned'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
PNG = b"\x89PNG\r\n\x1a\n"
SEARCH = "(() => { const q = document.getElementById('q'); q.value = %s; q.dispatchEvent(new Event('input')); })()"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("helm", "opa", "git", "chromium"):
        require_tool(tool)
    base = tmp_path_factory.mktemp("catalog")
    repo = one_model_repo(base / "config", keep=("churn", "fraud-detection"))
    summary = "Gradient-boosted classifier that scores 30-day churn risk for active subscribers."
    repo.edit(MODEL, f"  summary: {summary}", f"  summary: {json.dumps(PAYLOAD + ' ' + summary)}")
    repo.render(today="2026-11-01")
    repo.commit("Churn card", "ana", "2026-11-01T10:00:00Z")
    repo.git("checkout", "-q", "-b", "scale")
    repo.edit(MODEL, "      replicas: {min: 3, max: 12}\n", "      replicas: {min: 3, max: 14}\n")
    repo.render(today="2026-11-02")
    repo.commit("More prod replicas", "bob", "2026-11-02T10:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.merge(
        "scale", "Merge pull request #21 from acme/scale <img src=x onerror=alert(3)>", "eve", "2026-11-03T10:00:00Z"
    )
    code, said = repo.mp("docs", "build", "--out", str(base / "site"))
    assert code == 0, said
    return base / "site"


def test_untrusted_text_shows_as_text_and_runs_nothing(site: Path, tmp_path: Path) -> None:
    dom = dump_dom((site / "models/churn.html").as_uri(), tmp_path / "profile")
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror=" in dom
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # the onerror never ran
    assert "<title>churn · Modelplane catalog</title>" in dom
    assert dom.count("<script>") == 1  # the catalog's own search script, nothing else
    assert "acme/scale &lt;img src=x onerror=alert(3)&gt;</small>" in dom  # the commit subject, in the timeline


def test_navigation_search_and_the_audit_timeline(site: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as page:
        page.goto((site / "index.html").as_uri())
        assert page.js("document.querySelectorAll('#models tbody tr').length") == 2
        assert page.js("document.getElementById('count').textContent") == "2 of 2 model(s)"
        page.js(SEARCH % json.dumps("fra"))
        visible = page.js(
            "[...document.querySelectorAll('#models tbody tr')].filter(r => !r.hidden).map(r => r.dataset.model)"
        )
        assert visible == ["fraud-detection"]
        assert page.js("document.getElementById('count').textContent") == "1 of 2 model(s)"
        page.js(SEARCH % json.dumps(""))

        page.click('a[href="models/churn.html"]')
        assert page.js("location.pathname").endswith("/models/churn.html")
        assert page.js("document.querySelector('h1').textContent") == "churn"
        summary = page.js("document.querySelector('#card + h3 + p').textContent")
        assert summary.startswith(PAYLOAD)  # the payload, verbatim, as text
        assert page.js("document.querySelectorAll('main script, main img').length") == 0
        assert page.js("document.title") == "churn · Modelplane catalog"
        assert page.js("document.body.hasAttribute('data-pwned')") is False

        page.click('a[href="#timeline"]')
        assert page.js("location.hash") == "#timeline"
        assert -5 <= page.js("document.getElementById('timeline').getBoundingClientRect().top") <= 60
        rows = page.js(
            "[...document.querySelectorAll('#timeline-prod + .scroll tbody tr')]"
            ".map(r => r.innerText.replace(/\\s+/g, ' '))"
        )
        assert rows[0].startswith("2026-11-03") and "PR #21" in rows[0] and "scaling" in rows[0]
        assert "=HYPERLINK(1) | *Eve* `x`" in rows[0] and "<img src=x onerror=alert(3)>" in rows[0]
        assert "pass" in rows[0]
        assert any("Churn card" in r and "Ana Ruiz" in r for r in rows)

        page.click('a[href="../environments/prod.html"]')
        assert page.js("document.querySelector('h1').textContent") == "prod"
        page.click('a[href="../policies.html"]')
        assert page.js("document.querySelector('#MP-ROLL-001 code').textContent") == "MP-ROLL-001"


def test_a_phone_needs_no_sideways_scrolling(site: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as page:
        page.viewport(390, 844, mobile=True)
        for path in ("index.html", "models/churn.html", "environments/prod.html", "policies.html"):
            page.goto((site / path).as_uri())
            assert page.js("document.documentElement.scrollWidth") <= 390, path
        assert page.screenshot(tmp_path / "phone.png").startswith(PNG)


def test_the_example_catalog_screenshot(tmp_path: Path) -> None:
    """The README's picture: the example repository's own catalog. MODELPLANE_SCREENSHOT=<path>
    keeps a copy (`.github/catalog.png` is made this way)."""
    from modelplane.cli import main

    require_tool("chromium")
    assert main(["--root", str(ROOT), "docs", "build", "--out", str(tmp_path / "site")]) == 0
    with chromium(tmp_path / "profile") as page:
        page.viewport(1200, 640)
        page.goto((tmp_path / "site/index.html").as_uri())
        assert page.js("document.querySelectorAll('#models tbody tr').length") == 3
        shot = page.screenshot(tmp_path / "catalog.png")
    assert shot.startswith(PNG) and len(shot) > 20_000
    if os.environ.get("MODELPLANE_SCREENSHOT"):
        shutil.copy(tmp_path / "catalog.png", os.environ["MODELPLANE_SCREENSHOT"])
