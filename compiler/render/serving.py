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

from modelplane.binding import artifact, version_artifact
from modelplane.problems import ModelplaneError
from modelplane.registry import facts_for
from modelplane.render import traffic
from modelplane.render.base import Output, common_annotations, common_labels, sort_keys
from modelplane.render.helm_batch import template_batch
from modelplane.resolve import Resolved
from modelplane.spec.model import ResourceList, Resources

CHART_DIR = Path(__file__).resolve().parent.parent / "charts" / "model-serving"
# helm processes at once, each rendering a share of the releases (see helm_batch.py)
BATCHES = max(2, os.cpu_count() or 2)
KIND_ORDER = [
    "Service",
    "ServiceMonitor",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "AnalysisTemplate",
    "DestinationRule",
    "VirtualService",
]


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


def _kserve_values(resolved: Resolved, storage_uri: str | None) -> dict[str, Any] | None:
    """KServe takes one canaryTrafficPercent at a time: the spec's steps are the schedule and
    `kserve.canaryStep` the step this promotion is at (100 % is a full promotion)."""
    serving = resolved.model.serving
    if serving.kserve is None:
        return None
    k, plan = serving.kserve, traffic.plan(resolved)
    percent = plan.shares[plan.current].new if plan.current is not None else None
    return {
        "modelFormat": k.model_format,
        "storageUri": storage_uri,
        "runtime": k.runtime,
        "protocolVersion": k.protocol_version,
        "canaryTrafficPercent": percent if percent is not None and percent < 100 else None,
    }


def _annotations(resolved: Resolved) -> dict[str, str]:
    out = common_annotations(resolved)
    plan = traffic.plan(resolved)
    if resolved.model.serving.backend == "kserve" and plan.current is not None:
        out["modelplane.dev/canary-step"] = f"{plan.current + 1}/{len(plan.shares)}"
        out["modelplane.dev/canary-schedule"] = ",".join(str(s.new) for s in plan.shares)
    return out


def _delivery_values(resolved: Resolved) -> dict[str, Any]:
    """The strategy's objects as data: Rollout strategy, preview Service, analyses, Istio, Experiment."""
    serving, names = resolved.model.serving, traffic.names(resolved)
    strategy = serving.rollout.strategy
    kubernetes = serving.backend == "kubernetes"
    blue_green = kubernetes and strategy == "blueGreen"
    rollout = {
        "strategy": strategy,
        "canary": traffic.canary_strategy(resolved) if kubernetes and strategy in ("canary", "shadow") else None,
        "blueGreen": traffic.blue_green_strategy(resolved) if blue_green else None,
    }
    preview = None
    if blue_green and serving.rollout.blue_green is not None:
        preview = {"name": names["preview"], "port": serving.rollout.blue_green.preview_port}
    istio = None
    spec = traffic.virtual_service(resolved)
    if spec is not None:
        rule = traffic.destination_rule(resolved)
        istio = {
            "virtualService": {"name": names["virtualService"], "spec": spec},
            "destinationRule": None if rule is None else {"name": names["destinationRule"], **rule},
        }
    return {
        "workload": traffic.workload_kind(resolved),
        "rollout": rollout,
        "previewService": preview,
        "analysisTemplates": traffic.analysis_templates(resolved),
        "istio": istio,
        "experiment": traffic.experiment(resolved) if kubernetes else None,
    }


def serving_values(resolved: Resolved, lock: dict[str, Any] | None = None) -> dict[str, Any]:
    """The chart's values for one (model, environment). Pure; secrets appear only as references.

    The registry artifact (`MODEL_URI`, `MODEL_SOURCE_URI`, KServe's `storageUri`) comes from the
    pin and `lock` (modelplane.lock's data; None: the lock knows nothing).
    """
    model, serving = resolved.model, resolved.model.serving
    served = artifact(resolved, facts_for(lock or {}, model.registry.name, model.registry.version))
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
        "model": model.metadata.name,
        "namespace": resolved.env.namespace,
        "labels": common_labels(resolved),
        "annotations": _annotations(resolved),
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
        **_delivery_values(resolved),
        "env": [*served.container_env(), *_spec_env(resolved)],
        "secretEnv": [{"name": s.name, "secretName": s.secret_name, "key": s.key} for s in serving.secret_env],
        "prometheusUrl": resolved.env.prometheus_url,
        "kserve": _kserve_values(resolved, served.storage_uri),
    }


def _spec_env(resolved: Resolved) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in sorted(resolved.model.serving.env.items())]


def variant_b_values(
    resolved: Resolved, values: dict[str, Any], lock: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """An A/B test's variant B: a second release of the chart, `<model>-b`, serving the second
    registry version with a plain Deployment and its own Service (which variant A's selects none
    of), ServiceMonitor, autoscaler and disruption budget."""
    ab = resolved.model.serving.rollout.ab_test
    if resolved.model.serving.backend != "kubernetes" or resolved.model.serving.rollout.strategy != "abTest":
        return None
    assert ab is not None and ab.version is not None
    version = str(ab.version)
    reg = resolved.model.registry
    served = version_artifact(reg.name, ab.version, facts_for(lock or {}, reg.name, ab.version))
    return {
        **values,
        "env": [*served.container_env(), *_spec_env(resolved)],
        "name": traffic.names(resolved)["b"],
        "labels": {**values["labels"], "app.kubernetes.io/version": version},
        "annotations": {**values["annotations"], "modelplane.dev/registry-version": version},
        "workload": "Deployment",
        "rollout": {"strategy": "rolling", "canary": None, "blueGreen": None},
        "previewService": None,
        "analysisTemplates": [],
        "istio": None,
        "experiment": None,
    }


def releases(resolved: Resolved, lock: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart's releases for one pair: one, or two for an A/B test (variant A, variant B)."""
    values = serving_values(resolved, lock)
    b = variant_b_values(resolved, values, lock)
    return [values] if b is None else [values, b]


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
        self.processes = BATCHES  # helm processes at once; a worker process runs one (the workers are the parallelism)

    def version(self) -> str:
        if self._version is None:
            import subprocess

            done = subprocess.run([self.executable, "version", "--short"], capture_output=True, text=True, check=False)
            self._version = done.stdout.strip().split("+")[0] or "unknown"
        return self._version

    async def template_one(self, resolved: Resolved, lock: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The pair's releases, each in its own `helm template` process, as a user of the chart would run it."""
        if self._chart is None:
            self._chart = await self.client.get_chart(self.chart_dir)
        docs: list[dict[str, Any]] = []
        for values in releases(resolved, lock):
            try:
                docs += await self.client.template_resources(
                    self._chart, values["name"], values, namespace=resolved.env.namespace
                )
            except Exception as exc:
                detail = getattr(exc, "stderr", b"") or str(exc).encode()
                text = detail.decode(errors="replace").strip().splitlines()
                where = f"{resolved.env.metadata.name}/{values['name']}"
                raise ModelplaneError(f"helm template failed for {where}: {text[0] if text else exc}") from exc
        return sorted((sort_keys(d) for d in docs if d), key=_order)

    async def _batch(self, pairs: Sequence[Resolved], lock: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
        per_pair = [releases(r, lock) for r in pairs]
        try:
            batches = await template_batch(self.command, self.chart_dir, [v for values in per_pair for v in values])
        except Exception:
            # Find the release that breaks the batch, so the error names it; re-raise if none does.
            for resolved in pairs:
                await self.template_one(resolved, lock)
            raise
        out, at = [], 0
        for values in per_pair:
            docs = [d for batch in batches[at : at + len(values)] for d in batch]
            out.append(sorted(docs, key=_order))  # JSON from helm: keys already sorted
            at += len(values)
        return out

    def render_many(
        self, pairs: Sequence[Resolved], lock: dict[str, Any] | None = None
    ) -> dict[tuple[str, str], Output]:
        """Every release in a few helm processes (one per core), each rendering a batch of releases;
        `lock` is modelplane.lock's data (the registry artifact each workload serves)."""
        size = max(1, -(-len(pairs) // self.processes))
        chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]

        async def run_all() -> list[list[list[dict[str, Any]]] | BaseException]:
            # Every batch runs to its end: cancelling helm processes mid-flight (what a plain gather
            # does when one batch fails) can leave asyncio waiting forever on a reaped child.
            return await asyncio.gather(*(self._batch(chunk, lock) for chunk in chunks), return_exceptions=True)

        done = asyncio.run(run_all())
        failed = next((d for d in done if isinstance(d, BaseException)), None)
        if failed is not None:
            raise failed
        results = [docs for chunk in done if not isinstance(chunk, BaseException) for docs in chunk]
        return {
            r.key: Output("serving.yaml", objects=objs, synced=True) for r, objs in zip(pairs, results, strict=True)
        }


def render_many(
    pairs: Sequence[Resolved], helm: HelmRenderer, lock: dict[str, Any] | None = None
) -> dict[tuple[str, str], Output]:
    return helm.render_many(pairs, lock)
