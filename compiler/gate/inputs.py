"""The OPA input document for one (model, environment), and the way back from its paths to YAML."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import sys
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane.build_manifest import object_refs, read_manifest
from modelplane.incremental import hash_files
from modelplane.loader import Position
from modelplane.local_cache import FileHashes, Learned, stat_of
from modelplane.problems import KeyPath, ModelplaneError, format_path
from modelplane.render.base import parse_objects
from modelplane.repo import Repo
from modelplane.resolve import Resolved
from modelplane.spec.types import cpu_millicores, memory_bytes

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _max_usage(resolved: Resolved) -> tuple[int, int]:
    serving = resolved.model.serving
    req, lim = serving.resources.requests, serving.resources.limits
    cpu = req.cpu or lim.cpu
    memory = req.memory or lim.memory
    replicas = serving.replicas.max
    return (cpu_millicores(cpu) * replicas if cpu else 0, memory_bytes(memory) * replicas if memory else 0)


@dataclass
class RenderedTree:
    """What compile recorded under rendered/: each environment's manifest entries, and the cache
    of the files' hashes. Read once; `objects` then serves any share of the pairs."""

    root: Path
    models: dict[str, dict[str, Any]]  # environment -> model -> manifest entry
    hashes: FileHashes

    def objects(
        self, keys: Iterable[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], list[Learned]]:
        """What compile wrote for each (environment, model): every object (apiVersion, kind,
        namespace, name) and the images it runs, in file order; and what hashing the files the
        cache did not know taught it (for `hashes.remember`).

        The images include the ones the compiler adds itself (the pipeline's register step), so a
        policy can hold them to the same rules as the spec's own. A file that no longer has the
        content its manifest records (edited by hand) is read back instead, so the gate judges
        what Argo CD would sync; a file that is gone gives nothing.
        """
        keys = list(keys)
        wanted = [
            f"{env}/{o['path']}"
            for env, model in keys
            for o in (self.models.get(env, {}).get(model) or {}).get("outputs", [])
            if o["objects"]
        ]
        stats = {}
        for rel in wanted:
            with suppress(FileNotFoundError, NotADirectoryError):
                found = os.stat(self.root / rel, follow_symlinks=False)
                if stat.S_ISREG(found.st_mode):  # a link or a folder in its place is no file of compile's
                    stats[rel] = stat_of(found)
        disk, learned = self.hashes.lookup(stats.items(), hash_files, os.fspath(self.root))
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for env, model in keys:
            objects: list[dict[str, Any]] = []
            for output in (self.models.get(env, {}).get(model) or {}).get("outputs", []):
                rel = f"{env}/{output['path']}"
                if not output["objects"]:
                    continue
                if disk.get(rel) == output["sha256"]:
                    objects += output["objects"]
                elif rel in stats:
                    text = (self.root / rel).read_text(encoding="utf-8")
                    objects += object_refs(o for o in parse_objects(text) if isinstance(o, dict))
            out[(env, model)] = objects
        return out, learned


def read_rendered(rendered: Path, envs: Iterable[str]) -> RenderedTree:
    """The build manifests of `envs` under `rendered`. No manifest means nothing rendered; a
    manifest that cannot be trusted stops the gate."""
    models: dict[str, dict[str, Any]] = {}
    for env in sorted(set(envs)):
        manifest = read_manifest(rendered / env)
        if manifest.data is None and manifest.problem != "missing":
            raise ModelplaneError(f"{rendered / env / 'manifest.json'}: {manifest.problem}; run `modelplane compile`")
        if manifest.data is None and (rendered / env).is_dir():
            print(
                f"modelplane check: note: {rendered / env} has no manifest.json, so the gate sees no rendered"
                " objects there; run `modelplane compile`",
                file=sys.stderr,
            )
        models[env] = manifest.models
    return RenderedTree(rendered, models, FileHashes(rendered))


def environment_facts(resolved: Resolved) -> dict[str, Any]:
    env = resolved.env
    budget = env.limits.budget
    return {
        "name": env.metadata.name,
        "policyProfile": env.policy_profile,
        "namespace": env.namespace,
        "kubernetesVersion": env.kubernetes_version,
        "promotesFrom": env.promotes_from,
        "delivery": env.delivery.model_dump(mode="json", by_alias=True),
        "limits": {
            "minAcceptance": env.limits.min_acceptance,
            "allowSpotTraining": env.limits.allow_spot_training,
            "minSoakHours": env.limits.min_soak_hours,
            "budget": None
            if budget is None
            else {
                "cpu": budget.cpu,
                "memory": budget.memory,
                "cpuMillicores": cpu_millicores(budget.cpu),
                "memoryBytes": memory_bytes(budget.memory),
            },
        },
    }


def build_input(
    resolved: Resolved, registry: dict[str, Any], objects: list[dict[str, Any]], today: dt.date
) -> dict[str, Any]:
    """One policy input; `today` stands in for the clock, which the sandbox keeps from policies."""
    cpu, memory = _max_usage(resolved)
    return {
        "today": today.isoformat(),
        "model": resolved.model.model_dump(mode="json", by_alias=True),
        "environment": environment_facts(resolved),
        "registry": registry,
        "summary": {"maxCpuMillicores": cpu, "maxMemoryBytes": memory, "objects": objects, "rendered": bool(objects)},
    }


def parse_input_path(path: Any) -> KeyPath:
    """`"model.serving.steps[1].weight"` or `["model", "serving", ...]` -> a key path tuple."""
    if isinstance(path, list):
        return tuple(p if isinstance(p, int) else str(p) for p in path)
    if not isinstance(path, str):
        return ()
    return tuple(int(index) if index else name for name, index in _TOKEN.findall(path))


def locate(repo: Repo, resolved: Resolved, path: Any) -> tuple[Position, str]:
    """The YAML position and the key path as written, for an input path a rule returned."""
    parts = parse_input_path(path)
    head, rest = (parts[0], parts[1:]) if parts else ("", ())
    if head == "environment":
        doc = repo.environments[resolved.env.metadata.name].doc
        return doc.source.locate(rest), format_path(rest)
    if head == "registry":
        rest = ("registry",) + tuple(p for p in rest if p in ("name", "version"))
    elif head != "model":
        rest = ()
    source = resolved.source
    return source.locate(rest), format_path(source.display_path(rest))
