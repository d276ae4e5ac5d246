"""Many releases of the model-serving chart in one `helm template` process, one template run.

Starting helm costs 40-60 ms a process, rendering a release a few milliseconds, so one process
per release spends nearly all its time starting. Here a throw-away wrapper chart holds the
model-serving chart's templates, each file's text as a named template (`define`), and one
template of its own that ranges over the releases: for each it runs every file with the
release's values as `.Values`, splits the text into documents, parses each (`fromYaml`) and
writes the release's objects as one JSON document. Python then reads JSON, not YAML: reading
helm's YAML back was a fifth of a full compile.

The chart is written so that this gives the same objects as `helm template <model> <chart>`:
its templates read only `.Values` and `.Chart.Version`, never `.Release`, `.Capabilities` or
`.Files` (the wrapper passes those two alone), and each release's values are coalesced with the
chart's `values.yaml` the way helm does (`coalesce`). `tests/test_helm_batch.py` compares both
on every example release.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml
from pyhelm3 import Command

from modelplane.problems import ModelplaneError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
WRAPPER = "modelplane-batch"

# Every release: each file's documents parsed by helm itself (numbers come back as JSON numbers),
# a YAML error stops the run naming the release and file, and the objects go out as one JSON line
# in a comment, so that helm does not parse them a second time (it reads every manifest it
# writes; a comment it skips). JSON has no line breaks, and Go writes map keys sorted. The batch
# comes in as one JSON string (`--set-file`) that `fromJson` reads: helm reading it as values
# (YAML) was a quarter of its time.
_BATCH_TEMPLATE = r"""
{{- $batch := fromJson .Values.batch }}
{{- range $index, $values := $batch.releases }}
{{- $context := dict "Values" $values "Chart" $batch.chart }}
{{- $objects := list }}
{{- range $file := $batch.files }}
{{- range $text := regexSplit "(?m)^---[ \\t]*$" (include (printf "%s/%s" $batch.prefix $file) $context) -1 }}
{{- $object := fromYaml $text }}
{{- if and (hasKey $object "Error") (eq (len $object) 1) }}
{{- fail (printf "release %d, templates/%s: %s" $index $file $object.Error) }}
{{- end }}
{{- if $object }}
{{- $objects = append $objects $object }}
{{- end }}
{{- end }}
{{- end }}
---
# {{ dict "release" $index "objects" $objects | toJson }}
{{- end }}
"""


def coalesce(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`values` over the chart's defaults as helm merges them: maps merge key by key, any other
    value replaces the default, and a null removes the key."""
    out = dict(values)
    for key, default in defaults.items():
        if key not in out:
            out[key] = default
        elif isinstance(out[key], Mapping) and isinstance(default, Mapping):
            out[key] = coalesce(out[key], default)
    return {k: v for k, v in out.items() if v is not None}


def _read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)


def _wrapper_chart(folder: Path, chart_dir: Path) -> dict[str, Any]:
    """Write the wrapper chart into `folder`; return the values every release shares."""
    chart = _read_yaml(chart_dir / "Chart.yaml")
    templates = chart_dir / "templates"
    files = sorted(p.name for p in templates.glob("*.yaml"))
    (folder / "templates").mkdir()
    meta = {"apiVersion": "v2", "name": WRAPPER, "version": "0.0.0"}
    (folder / "Chart.yaml").write_text(json.dumps(meta), encoding="utf-8")
    for helper in sorted(templates.glob("_*.tpl")):
        (folder / "templates" / helper.name).write_text(helper.read_text(encoding="utf-8"), encoding="utf-8")
    named = "".join(
        f'{{{{- define "{WRAPPER}/{name}" -}}}}\n{(templates / name).read_text(encoding="utf-8")}\n{{{{- end }}}}\n'
        for name in files
    )
    (folder / "templates" / f"_{WRAPPER}-files.tpl").write_text(named, encoding="utf-8")
    (folder / "templates" / "releases.yaml").write_text(_BATCH_TEMPLATE, encoding="utf-8")
    return {
        "prefix": WRAPPER,
        "files": files,
        "chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart.get("appVersion")},
    }


def split_by_release(text: str, count: int) -> list[list[dict[str, Any]]]:
    """helm's output -> the objects of each release (keys sorted), in the order its files wrote them."""
    out: list[list[dict[str, Any]] | None] = [None] * count
    for line in text.splitlines():
        if not line.startswith("# {"):
            if line.strip() and line != "---" and not line.startswith("# Source: "):
                raise ModelplaneError(f"helm output has a line that is not a release: {line.strip()[:80]}")
            continue
        try:
            release = orjson.loads(line[2:])  # twice the stdlib's speed; Go writes no lone surrogates
            index, objects = release["release"], release["objects"]
            out[index] = [o for o in objects if o]
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # orjson's JSONDecodeError is a ValueError
            raise ModelplaneError(f"helm output has a document that is not a release: {line[:80]}") from exc
    missing = [i for i, objects in enumerate(out) if objects is None]
    if missing:
        raise ModelplaneError(f"helm output has no documents for release {missing[0]}")
    return [objects or [] for objects in out]


async def template_batch(
    helm: Command, chart_dir: Path, values: Sequence[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Render one release per entry of `values` in a single helm process; objects per release.

    Raises helm's own error (pyhelm3's `Error`, with `stderr`) when the batch does not render.
    """
    if not values:
        return []
    defaults = _read_yaml(chart_dir / "values.yaml") or {}
    with tempfile.TemporaryDirectory(prefix=".modelplane-helm-") as tmp:
        folder = Path(tmp) / "chart"
        folder.mkdir()
        shared = _wrapper_chart(folder, chart_dir)
        batch = {**shared, "releases": [coalesce(v, defaults) for v in values]}
        batch_file = Path(tmp) / "batch.json"  # beside the chart, not in it: helm would load it as a chart file
        batch_file.write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
        if "," in str(batch_file):  # --set-file reads a comma as the start of another value
            raise ModelplaneError(f"the temporary folder {tmp} has a comma in its path; set TMPDIR to another")
        output = await helm.run(["template", WRAPPER, str(folder), "--skip-crds", "--set-file", f"batch={batch_file}"])
    return split_by_release(output.decode(), len(values))
