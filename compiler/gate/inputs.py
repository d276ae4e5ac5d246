"""The OPA input document for one (model, environment), and the way back from its paths to YAML."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from modelplane.loader import Position
from modelplane.problems import KeyPath, format_path
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


def images_in(node: Any) -> set[str]:
    """Every container image an object runs: the string value of any `image` key, at any depth."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                found.add(value)
            else:
                found |= images_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= images_in(item)
    return found


def rendered_objects(rendered: Path, env: str, model: str) -> list[dict[str, Any]]:
    """What `compile` wrote for this pair (kind, apiVersion, name, images), read back from rendered/.

    The images include the ones the compiler adds itself (the pipeline's register step), so a
    policy can hold them to the same rules as the spec's own.
    """
    folder = rendered / env / model
    objects = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        if path.name.endswith(".test.yaml") or path.name.endswith(".rules.yaml"):
            continue
        for obj in parse_objects(path.read_text(encoding="utf-8")):
            if isinstance(obj, dict) and "kind" in obj:
                objects.append(
                    {
                        "apiVersion": str(obj.get("apiVersion")),
                        "kind": str(obj["kind"]),
                        "name": str(obj.get("metadata", {}).get("name")),
                        "images": sorted(images_in(obj)),
                    }
                )
    return objects


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
