"""Serving: chart values from the resolved spec, rendered to manifests by the real `helm` (pyhelm3).

The chart ships inside the package (`compiler/charts/model-serving`). `helm template` runs
offline; many releases render in one helm process (`helm_batch.py`), one process per core.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelplane.problems import ModelplaneError
from modelplane.render.base import Output, common_annotations, common_labels, sort_keys
from modelplane.render.helm_batch import template_batch
from modelplane.resolve import Resolved
from modelplane.spec.model import ResourceList, Resources

CHART_DIR = Path(__file__).resolve().parent.parent / "charts" / "model-serving"
# helm processes at once, each rendering a share of the releases (see helm_batch.py)
BATCHES = max(2, os.cpu_count() or 2)
KIND_ORDER = ["Service", "ServiceMonitor", "PodDisruptionBudget", "HorizontalPodAutoscaler", "AnalysisTemplate"]


def _resource_list(values: ResourceList) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values.cpu is not None:
        out["cpu"] = values.cpu
    if values.memory is not None:
        out["memory"] = values.memory
    if values.gpu:
        out["nvidia.com/gpu"] = values.gpu
    return out


def kubernetes_resources(resources: Resources) -> dict[str, Any]:
    """Requests and limits in Kubernetes' shape, only the keys that are set."""
    out = {"requests": _resource_list(resources.requests), "limits": _resource_list(resources.limits)}
    return {k: v for k, v in out.items() if v}


def serving_values(resolved: Resolved) -> dict[str, Any]:
    """The chart's values for one (model, environment). Pure; secrets appear only as references."""
    model, serving = resolved.model, resolved.model.serving
    rollout = serving.rollout
    analysis = None
    if rollout.analysis is not None:
        a = rollout.analysis
        analysis = {
            "maxErrorRate": a.max_error_rate,
            "maxLatencyP99Seconds": a.max_latency_p99_ms / 1000 if a.max_latency_p99_ms else None,
            "interval": a.interval,
            "count": a.count,
            "failureLimit": a.failure_limit,
        }
    kserve = None
    if serving.kserve is not None:
        k = serving.kserve
        first_weight = rollout.steps[0].weight if rollout.strategy == "canary" and rollout.steps else None
        kserve = {
            "modelFormat": k.model_format,
            "storageUri": k.storage_uri,
            "runtime": k.runtime,
            "protocolVersion": k.protocol_version,
            "canaryTrafficPercent": first_weight if first_weight and first_weight < 100 else None,
        }
    probes = serving.probes
    probe = {
        name: {
            "path": p.path,
            "initialDelaySeconds": p.initial_delay_seconds,
            "periodSeconds": p.period_seconds,
            "timeoutSeconds": p.timeout_seconds,
            "failureThreshold": p.failure_threshold,
        }
        for name, p in (("readiness", probes.readiness), ("liveness", probes.liveness), ("startup", probes.startup))
        if p is not None
    }
    return {
        "name": model.metadata.name,
        "namespace": resolved.env.namespace,
        "labels": common_labels(resolved),
        "annotations": common_annotations(resolved),
        "backend": serving.backend,
        "image": serving.image or "",
        "port": serving.port,
        "replicas": {
            "min": serving.replicas.min,
            "max": serving.replicas.max,
            "targetCPUUtilization": serving.replicas.target_cpu_utilization,
        },
        "resources": kubernetes_resources(serving.resources),
        "probes": probe,
        "rollout": {
            "strategy": rollout.strategy,
            "steps": [{"weight": s.weight, "pause": s.pause} for s in rollout.steps],
            "analysis": analysis,
        },
        "env": [{"name": k, "value": v} for k, v in sorted(serving.env.items())],
        "secretEnv": [{"name": s.name, "secretName": s.secret_name, "key": s.key} for s in serving.secret_env],
        "prometheusUrl": resolved.env.prometheus_url,
        "kserve": kserve,
    }


def _order(obj: dict[str, Any]) -> tuple[int, str, str]:
    kind = str(obj.get("kind", ""))
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (rank, kind, str(obj.get("metadata", {}).get("name", "")))


class HelmRenderer:
    """The real helm binary, driven through pyhelm3; the chart is loaded once."""

    def __init__(self, executable: str | None = None, chart_dir: Path = CHART_DIR):
        path = executable or os.environ.get("MODELPLANE_HELM") or shutil.which("helm")
        if not path:
            raise ModelplaneError("helm not found on PATH (set MODELPLANE_HELM, or run `make setup` to install it)")
        from pyhelm3 import Client, Command

        self.executable = path
        self.chart_dir = chart_dir
        self.command = Command(executable=path)
        try:
            self.client = Client(executable=path, command=self.command)
        except Exception as exc:
            raise ModelplaneError(f"helm at {path} does not run: {exc}") from exc
        self._chart: Any = None
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:
            import subprocess

            done = subprocess.run([self.executable, "version", "--short"], capture_output=True, text=True, check=False)
            self._version = done.stdout.strip().split("+")[0] or "unknown"
        return self._version

    async def template_one(self, resolved: Resolved) -> list[dict[str, Any]]:
        """One release in its own `helm template` process, as a user of the chart would run it."""
        if self._chart is None:
            self._chart = await self.client.get_chart(self.chart_dir)
        try:
            docs = await self.client.template_resources(
                self._chart, resolved.model.metadata.name, serving_values(resolved), namespace=resolved.env.namespace
            )
        except Exception as exc:
            detail = getattr(exc, "stderr", b"") or str(exc).encode()
            text = detail.decode(errors="replace").strip().splitlines()
            where = f"{resolved.env.metadata.name}/{resolved.model.metadata.name}"
            raise ModelplaneError(f"helm template failed for {where}: {text[0] if text else exc}") from exc
        return sorted((sort_keys(d) for d in docs if d), key=_order)

    async def _batch(self, pairs: Sequence[Resolved]) -> list[list[dict[str, Any]]]:
        try:
            batches = await template_batch(self.command, self.chart_dir, [serving_values(r) for r in pairs])
        except Exception:
            # Find the release that breaks the batch, so the error names it; re-raise if none does.
            for resolved in pairs:
                await self.template_one(resolved)
            raise
        return [sorted((sort_keys(d) for d in docs), key=_order) for docs in batches]

    def render_many(self, pairs: Sequence[Resolved]) -> dict[tuple[str, str], Output]:
        """Every release in a few helm processes (one per core), each rendering a batch of releases."""
        size = max(1, -(-len(pairs) // BATCHES))
        chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]

        async def run_all() -> list[list[list[dict[str, Any]]] | BaseException]:
            # Every batch runs to its end: cancelling helm processes mid-flight (what a plain gather
            # does when one batch fails) can leave asyncio waiting forever on a reaped child.
            return await asyncio.gather(*(self._batch(chunk) for chunk in chunks), return_exceptions=True)

        done = asyncio.run(run_all())
        failed = next((d for d in done if isinstance(d, BaseException)), None)
        if failed is not None:
            raise failed
        results = [docs for chunk in done if not isinstance(chunk, BaseException) for docs in chunk]
        return {
            r.key: Output("serving.yaml", objects=objs, synced=True) for r, objs in zip(pairs, results, strict=True)
        }


def render_many(pairs: Sequence[Resolved], helm: HelmRenderer) -> dict[tuple[str, str], Output]:
    return helm.render_many(pairs)
