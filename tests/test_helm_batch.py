"""Batched helm rendering: many releases per helm process give exactly what one release alone gives."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from modelplane.problems import ModelplaneError
from modelplane.render.serving import CHART_DIR, HelmRenderer
from modelplane.repo import Repo
from tests.conftest import require_tool


def test_batched_output_equals_each_release_rendered_alone(example_repo: Repo) -> None:
    helm = HelmRenderer(require_tool("helm"))
    pairs = [r for _, r in sorted(example_repo.resolved.items())]
    batched = helm.render_many(pairs)

    async def one_by_one() -> list[list[dict[str, object]]]:
        return [await helm.template_one(r) for r in pairs]

    alone = asyncio.run(one_by_one())
    assert len(pairs) == 9
    for resolved, objects in zip(pairs, alone, strict=True):
        assert objects, resolved.key
        assert batched[resolved.key].objects == objects, resolved.key
        assert batched[resolved.key].content() == batched[resolved.key].content()


def test_a_release_that_breaks_the_batch_is_named(example_repo: Repo, tmp_path: Path) -> None:
    chart = tmp_path / "model-serving"
    shutil.copytree(CHART_DIR, chart)
    (chart / "templates" / "boom.yaml").write_text(
        '{{- if eq .Values.name "fraud-detection" }}{{ fail "no fraud today" }}{{- end }}\n', encoding="utf-8"
    )
    helm = HelmRenderer(require_tool("helm"), chart_dir=chart)
    pairs = [r for _, r in sorted(example_repo.resolved.items())]
    # Which environment's batch fails first depends on timing; the message names the release.
    named = r"helm template failed for (dev|staging|prod)/fraud-detection: .*no fraud today"
    with pytest.raises(ModelplaneError, match=named):
        helm.render_many(pairs)
