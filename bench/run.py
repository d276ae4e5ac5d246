"""Benchmark: a generated config repository of N models × 3 environments through every stage.

Prints wall time per stage, per-pair figures and peak memory. Goals (checked, exit 1 if missed):
validate+resolve 1,000 models in under 15 s; a full compile of 1,000 models in under 10 minutes
on this 2-core machine; policy check of 3,000 pairs in under 60 s; peak RSS under 2 GiB.

    python bench/run.py [--models N] [--skip-helm]
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

GOALS = {"validate": 15.0, "compile": 600.0, "check": 60.0, "rss_mib": 2048.0}


def make_repo(target: Path, count: int) -> None:
    """Copy the example environments and policies; write `count` variations of the example models."""
    shutil.copytree(ROOT / "environments", target / "environments")
    shutil.copytree(ROOT / "policies", target / "policies")
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--skip-helm", action="store_true", help="leave out the helm-rendered serving stage")
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
        if not args.skip_helm:
            files, problems = timed(
                "compile", results, lambda: compile_repo(repo, Selection(), HelmRenderer(), checker)
            )
            assert not problems, problems[:3]
            results["files"] = len(files)
        report, _ = timed(
            "check",
            results,
            lambda: run_gate(
                repo, Selection(), GateOptions(policy_dir=root / "policies", rendered_dir=root / "rendered")
            ),
        )

    rss = peak_rss_mib()
    print(f"modelplane benchmark: {args.models} models x 3 environments = {pairs} pairs")
    print(f"  validate + resolve : {results['validate']:8.2f} s  ({results['validate'] / pairs * 1000:6.2f} ms/pair)")
    print(f"  load CRD schemas   : {results['load schemas']:8.2f} s")
    if "compile" in results:
        per_pair = results["compile"] / pairs * 1000
        print(f"  compile ({int(results['files'])} files): {results['compile']:8.2f} s  ({per_pair:6.2f} ms/pair)")
    per_pair = results["check"] / pairs * 1000
    findings = len(report.findings)
    print(f"  policy check (OPA) : {results['check']:8.2f} s  ({per_pair:6.2f} ms/pair, {findings} findings)")
    print(f"  peak RSS           : {rss:8.1f} MiB")
    missed = [k for k in ("validate", "compile", "check") if k in results and results[k] > GOALS[k]]
    if rss > GOALS["rss_mib"]:
        missed.append("rss")
    print("goals: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
