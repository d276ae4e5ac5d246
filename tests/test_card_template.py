"""The model card is a Jinja2 template: spec text cannot add Markdown or HTML to it, and a config
repository can bring its own template. Real helm for the compiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.loader import parse_text
from modelplane.render.card import render_card
from modelplane.repo import load_repo
from modelplane.resolve import resolve
from modelplane.templating import md_inline, md_prose
from tests.conftest import ROOT, require_tool
from tests.example_copy import copy_example

HOSTILE = {
    "summary": "# Owned\n\n- item\n1. first\n> quote\n<script>alert(1)</script>",
    "intendedUse": "[click](javascript:alert(1)) ![x](http://evil/x.png) *bold* `code` &amp; ~~gone~~",
    "limitations": "| a | b |\n|---|---|\n| c | d |",
    "caveats": "```\nfenced\n```\n    indented code",
}


def _card_with(card: dict[str, str]) -> str:
    repo, problems = load_repo(ROOT)
    assert problems == []
    doc = repo.models["churn"].doc
    data = {**doc.data, "card": {**doc.data["card"], **card}}
    import json

    model_doc, found = parse_text(json.dumps(data), doc.file)
    assert model_doc is not None and found == []
    resolved, found = resolve(model_doc, repo.environments["prod"].doc, repo.env("prod"))
    assert resolved is not None, found
    return render_card(resolved).content()


def test_spec_text_adds_no_markup_to_the_card() -> None:
    card = _card_with(HOSTILE)
    headings = [line for line in card.splitlines() if line.startswith("#")]
    assert headings[0] == "# Model card: churn (prod)" and all(h.startswith(("# Model card", "## ")) for h in headings)
    assert "\\# Owned" in card and "\\- item 1. first \\> quote \\<script\\>alert(1)\\</script\\>" in card
    assert (
        "\\[click\\](javascript:alert(1)) !\\[x\\](http://evil/x.png) \\*bold\\* \\`code\\` \\&amp; \\~\\~gone\\~\\~"
        in card
    )
    assert "\\| a \\| b \\| \\|---\\|---\\| \\| c \\| d \\|" in card  # no table: one escaped line
    assert "\\`\\`\\` fenced \\`\\`\\` indented code" in card
    assert [line for line in card.splitlines() if line.startswith(("|", "- "))] == [
        line for line in _card_with({}).splitlines() if line.startswith(("|", "- "))
    ]  # the only list items and table rows are the template's own


def test_escaping_leaves_plain_words_alone() -> None:
    assert md_inline("precision_at_10pct and _start end_") == "precision_at_10pct and \\_start end\\_"
    assert md_prose("2024. A year\n\n\n+ more") == "2024\\. A year\n\n\\+ more"
    assert md_prose("  ") == "_Not provided._"


def test_a_config_repository_overrides_the_card_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("helm")
    repo = copy_example(tmp_path / "config", history=False)
    (repo / "templates").mkdir()
    (repo / "templates/model-card.md.j2").write_text(
        "# {{ model.metadata.name }} in {{ env.metadata.name }}\n\nOwners: {{ model.metadata.owners|join(', ') }}\n\n"
        "{{ card.summary|prose }}\n",
        encoding="utf-8",
    )
    spec = repo / "models/churn/model.yaml"
    spec.write_text(spec.read_text().replace("  summary: Gradient-boosted", "  summary: <b>Gradient-boosted</b>"))
    assert main(["--root", str(repo), "compile", "--model", "churn", "--env", "prod"]) == 0
    card = (repo / "rendered/prod/churn/MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith("# churn in prod\n\nOwners: @acme/growth-ds, maria.lopez@acme.example\n\n\\<b\\>Gradient")
    untouched = (repo / "rendered/dev/fraud-detection/MODEL_CARD.md").read_text(encoding="utf-8")
    assert untouched == (ROOT / "rendered/dev/fraud-detection/MODEL_CARD.md").read_text(encoding="utf-8")

    (repo / "templates/model-card.md.j2").write_text("# {{ model.metadata.name }\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--root", str(repo), "compile"]) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]  # after the progress lines a run without a terminal prints
    assert last.startswith(f"modelplane compile: error: {repo}/templates/model-card.md.j2:1: template syntax error: ")


def test_an_override_may_extend_the_built_in_card(tmp_path: Path) -> None:
    require_tool("helm")
    repo = copy_example(tmp_path / "config", history=False)
    (repo / "templates").mkdir()
    (repo / "templates/model-card.md.j2").write_text('{% extends "modelplane/model-card.md.j2" %}\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--root", str(repo), "compile", "--out", str(out)]) == 0
    cards = sorted(out.rglob("MODEL_CARD.md"))
    assert len(cards) == 9
    for card in cards:  # the same cards as the built-in template
        committed = ROOT / "rendered" / card.relative_to(out)
        assert card.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
