"""Benchmark: a generated config repository of N models × 3 environments through every stage.

Prints wall time per stage, per-pair figures, peak memory, and the speed-up against the way a
user would work without Modelplane (one `helm template` process per release, one `opa eval`
process per input), measured in the same run on a sample of pairs and scaled to all of them.
Goals (checked, exit 1 if missed): validate+resolve 1,000 models in under 15 s; policy check of
3,000 pairs in under 60 s; validate+compile+check at least 20x faster than the baseline; peak
RSS under 1 GiB.

    python bench/run.py [--models N] [--sample N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {"validate": 15.0, "check": 60.0, "ratio": 20.0, "rss_mib": 1024.0}


def make_repo(target: Path, count: int) -> None:
    """Copy the example environments, policies and lock; write `count` variations of the example models."""
    shutil.copytree(ROOT / "environments", target / "environments")
    shutil.copytree(ROOT / "policies", target / "policies")
    # The models keep their registry names, so the example's lock binds them (KServe needs a source).
    shutil.copy(ROOT / "modelplane.lock", target / "modelplane.lock")
    templates = sorted((ROOT / "models").glob("*/model.yaml"))
    for i in range(count):
        source = templates[i % len(templates)]
        base = source.parent.name
        name = f"{base}-{i:04d}"
        text = source.read_text(encoding="utf-8").replace(f"  name: {base}\n  team:", f"  name: {name}\n  team:", 1)
        folder = target / "models" / name
        folder.mkdir(parents=True)
        (folder / "model.yaml").write_text(text, encoding="utf-8")


def timed(label: str, results: dict[str, float], fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    return value


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline_per_pair(repo: Any, sample: int, policy_dir: Path) -> tuple[float, float]:
    """Seconds per pair the way a user would work without Modelplane, measured on `sample` pairs:
    one `helm template` process per release, one `opa eval` process per (model, environment) input."""
    import asyncio
    import json
    import subprocess

    from modelplane.gate.inputs import build_input
    from modelplane.registry import facts_for, load_lock
    from modelplane.render.serving import HelmRenderer

    keys = sorted(repo.resolved)
    step = max(1, len(keys) // sample)
    picked = [repo.resolved[k] for k in keys[::step][:sample]]
    helm = HelmRenderer()

    async def one_by_one() -> None:
        for resolved in picked:
            await helm.template_one(resolved)

    start = time.perf_counter()
    asyncio.run(one_by_one())
    helm_each = (time.perf_counter() - start) / len(picked)
    lock = load_lock(repo.root)
    opa = shutil.which("opa") or "opa"
    start = time.perf_counter()
    for resolved in picked:
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        document = json.dumps(build_input(resolved, facts, []))
        subprocess.run(
            [opa, "eval", "--stdin-input", "--data", str(policy_dir), "--format", "json", "data.modelplane"],
            input=document.encode(),
            capture_output=True,
            check=True,
        )
    opa_each = (time.perf_counter() - start) / len(picked)
    return helm_each, opa_each


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=60, help="pairs the per-process baseline is measured on")
    args = parser.parse_args()

    from modelplane.gate.check import GateOptions, run_gate
    from modelplane.manifests import ManifestChecker
    from modelplane.pipeline import compile_repo
    from modelplane.render.serving import HelmRenderer
    from modelplane.repo import Selection, load_repo

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="modelplane-bench-") as tmp:
        root = Path(tmp)
        make_repo(root, args.models)
        repo, problems = timed("validate", results, lambda: load_repo(root))
        assert not problems, problems[:3]
        pairs = len(repo.resolved)
        crds = ROOT.parent / "shared" / "reference" / "crds"
        checker = timed("load schemas", results, lambda: ManifestChecker(crds if crds.is_dir() else None))
        files, problems = timed("compile", results, lambda: compile_repo(repo, Selection(), HelmRenderer(), checker))
        assert not problems, problems[:3]
        report, _ = timed(
            "check",
            results,
            lambda: run_gate(
                repo, Selection(), GateOptions(policy_dir=root / "policies", rendered_dir=root / "rendered")
            ),
        )
        helm_each, opa_each = baseline_per_pair(repo, args.sample, root / "policies")

    rss = peak_rss_mib()
    ours = results["validate"] + results["compile"] + results["check"]
    baseline = (helm_each + opa_each) * pairs
    ratio = baseline / ours

    def stage(label: str, seconds: float, note: str = "") -> None:
        print(f"  {label:<20}: {seconds:8.2f} s  ({seconds / pairs * 1000:6.2f} ms/pair{note})")

    print(f"modelplane benchmark: {args.models} models x 3 environments = {pairs} pairs")
    stage("validate + resolve", results["validate"])
    print(f"  {'load CRD schemas':<20}: {results['load schemas']:8.2f} s")
    stage(f"compile ({len(files)} files)", results["compile"])
    stage("policy check (OPA)", results["check"], f", {len(report.findings)} findings")
    stage("modelplane total", ours, "; validate + compile + check")
    stage("per-process baseline", baseline, f"; helm {helm_each * 1000:.1f} + opa eval {opa_each * 1000:.1f}")
    print(f"  (baseline measured on {args.sample} pairs, one process each, scaled to {pairs})")
    print(f"  {'speed-up':<20}: {ratio:8.1f}x  (goal >= {GOALS['ratio']:.0f}x)")
    print(f"  {'peak RSS':<20}: {rss:8.1f} MiB  (goal <= {GOALS['rss_mib']:.0f} MiB)")
    missed = [k for k in ("validate", "check") if results[k] > GOALS[k]]
    if ratio < GOALS["ratio"]:
        missed.append("ratio")
    if rss > GOALS["rss_mib"]:
        missed.append("rss")
    print("goals: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
