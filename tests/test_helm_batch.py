"""Batched helm rendering: many releases per helm process give exactly what one release alone gives."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.problems import ModelplaneError
from modelplane.render.base import parse_objects
from modelplane.render.serving import CHART_DIR, HelmRenderer
from modelplane.repo import Repo
from tests.conftest import require_tool
from tests.example_copy import copy_example


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


def test_characters_outside_the_basic_plane_reach_helm_as_text(tmp_path: Path) -> None:
    """helm reads its values as YAML, which has no surrogate-pair escapes: values go to it as UTF-8."""
    require_tool("helm")
    root = copy_example(tmp_path / "repo", history=False)
    spec = root / "models/demand-forecast/model.yaml"
    text = spec.read_text(encoding="utf-8")
    assert '    FORECAST_HORIZON_DAYS: "14"\n' in text
    spec.write_text(text.replace('    FORECAST_HORIZON_DAYS: "14"\n', '    FORECAST_HORIZON_DAYS: "14 \U0001f4c8 é"\n'))
    assert main(["--root", str(root), "compile"]) == 0
    objects = parse_objects((root / "rendered/prod/demand-forecast/serving.yaml").read_text(encoding="utf-8"))
    env = [
        e
        for o in objects
        for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        for e in c.get("env", [])
    ]
    assert {"name": "FORECAST_HORIZON_DAYS", "value": "14 \U0001f4c8 é"} in env
