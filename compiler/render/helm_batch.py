"""Many releases of the model-serving chart in one `helm template` process.

Starting helm costs 40-60 ms a process, rendering a release well under 1 ms, so one process per
release spends nearly all its time starting. Here a throw-away wrapper chart lists the
model-serving chart as a dependency once per release, each under its own alias; helm renders
every alias in one process, and the output is split back per release by the `# Source:` comment
that helm writes before each document (`<wrapper>/charts/<alias>/templates/<file>`).

The chart is written so that this gives the same objects as `helm template <model> <chart>`:
its templates read the release's name and the chart label from values, never from `.Release`
or `.Chart.Name` (an aliased subchart sees the wrapper's release and its alias as chart name).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pyhelm3 import Command

from modelplane.problems import ModelplaneError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SOURCE = re.compile(r"^# Source: [^/]+/charts/(r\d+)/", re.MULTILINE)
WRAPPER = "modelplane-batch"


def _alias(index: int) -> str:
    return f"r{index:05d}"


def _wrapper_chart(folder: Path, chart_dir: Path, count: int) -> None:
    """A chart whose only content is `count` aliased copies of the chart at `chart_dir`."""
    chart = json.loads(json.dumps(yaml.load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"), Loader=_Loader)))
    dependencies = [
        {"name": chart["name"], "version": chart["version"], "alias": _alias(i)} for i in range(count)
    ]
    meta = {"apiVersion": "v2", "name": WRAPPER, "version": "0.0.0", "dependencies": dependencies}
    (folder / "Chart.yaml").write_text(json.dumps(meta), encoding="utf-8")
    shutil.copytree(chart_dir, folder / "charts" / chart["name"])


def split_by_release(text: str, count: int) -> list[list[dict[str, Any]]]:
    """helm's combined output -> the documents of each release, in the order helm wrote them."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for chunk in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        match = _SOURCE.search(chunk)
        if match is None:
            if chunk.strip():
                raise ModelplaneError(f"helm output has a document without a source: {chunk.strip()[:80]}")
            continue
        doc = yaml.load(chunk, Loader=_Loader)
        if doc:
            out[int(match.group(1)[1:])].append(doc)
    return out


async def template_batch(
    helm: Command, chart_dir: Path, values: Sequence[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Render one release per entry of `values` in a single helm process; documents per release.

    Raises helm's own error (pyhelm3's `Error`, with `stderr`) when the batch does not render.
    """
    if not values:
        return []
    with tempfile.TemporaryDirectory(prefix=".modelplane-helm-") as tmp:
        folder = Path(tmp)
        _wrapper_chart(folder, chart_dir, len(values))
        wrapper_values = {_alias(i): v for i, v in enumerate(values)}
        # Raw UTF-8, not \u escapes: helm reads values as YAML, which has no surrogate-pair escapes.
        values_text = json.dumps(wrapper_values, ensure_ascii=False).encode("utf-8")
        output = await helm.run(["template", WRAPPER, str(folder), "--skip-crds", "--values", "-"], values_text)
    return split_by_release(output.decode(), len(values))
