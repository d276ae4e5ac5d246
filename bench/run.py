"""Benchmark: a generated config repository of N models x 3 environments, through the real CLI.

Measures, side by side in one run, each as its own `modelplane` process (wall time and peak RSS):
a full compile into a fresh folder and the policy check; the same work done the way a user
would without Modelplane (one `helm template` process per release, one `opa eval` process per
(model, environment) input), measured on a sample of pairs and scaled to all of them; a no-op
re-compile, `compile --check` with nothing changed, and a compile after one model changed.
Prints every figure and ratio; exits 1 if a goal is missed.

    python bench/run.py [--models N] [--sample N] [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {"ratio": 20.0, "noop_s": 1.0, "one_model_s": 2.0, "check_noop_s": 1.0, "rss_mib": 1024.0}
CRDS = ROOT.parent / "shared" / "reference" / "crds"


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


def run_cli(root: Path, *args: str, env: dict[str, str]) -> tuple[float, float, int, str]:
    """One `modelplane` process: wall seconds, its peak RSS in MiB, exit code, last line of stdout."""
    command = [sys.executable, "-m", "modelplane", "--root", str(root), *args]
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env, text=True)
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        lines = (out + errors.read()).strip().splitlines()
    return seconds, usage.ru_maxrss / 1024, process.returncode, lines[-1] if lines else ""


def baseline_per_pair(root: Path, sample: int) -> tuple[float, float]:
    """Seconds per pair the way a user would work without Modelplane, measured on `sample` pairs:
    one `helm template` process per release, one `opa eval` process per (model, environment) input."""
    import asyncio

    from modelplane.gate.inputs import build_input
    from modelplane.registry import facts_for, load_lock
    from modelplane.render.serving import HelmRenderer
    from modelplane.repo import load_repo

    repo, problems = load_repo(root)
    assert not problems, problems[:3]
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
    opa = os.environ.get("MODELPLANE_OPA") or shutil.which("opa") or "opa"
    start = time.perf_counter()
    for resolved in picked:
        facts = facts_for(lock, resolved.model.registry.name, resolved.model.registry.version)
        document = json.dumps(build_input(resolved, facts, [], dt.date.today()))
        subprocess.run(
            [opa, "eval", "--stdin-input", "--data", str(root / "policies"), "--format", "json", "data.modelplane"],
            input=document.encode(),
            capture_output=True,
            check=True,
        )
    opa_each = (time.perf_counter() - start) / len(picked)
    return helm_each, opa_each


def repeated(times: int, once: Callable[[int], tuple[float, float, int, str]]) -> tuple[list[float], float]:
    """Wall times of `times` runs and their peak RSS."""
    runs = [once(i) for i in range(times)]
    for _, _, code, said in runs:
        assert code == 0, f"exit {code}: {said}"
    return [r[0] for r in runs], max(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=60, help="pairs the per-process baseline is measured on")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each incremental measurement (median)")
    args = parser.parse_args()
    crds = ["--crds", str(CRDS)] if CRDS.is_dir() else []
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="modelplane-bench-") as tmp:
        root = Path(tmp) / "repo"
        make_repo(root, args.models)
        # A cache of this run's own. Reading the upstream CRDs is a cost per machine, not per
        # model: it is measured on its own (a compile of one model), then the full compile runs.
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        one = Path(tmp) / "one"
        make_repo(one, 1)
        with_crds = run_cli(one, "compile", "--quiet", *crds, env=env)[0]
        crd_s = with_crds - run_cli(one, "compile", "--full", "--quiet", env=env)[0]
        compile_s, compile_rss, code, said = run_cli(root, "compile", "--quiet", *crds, env=env)
        assert code == 0, said
        files = sum(1 for p in (root / "rendered").rglob("*") if p.is_file())
        check_s, check_rss, code, said = run_cli(root, "check", env=env)
        assert code in (0, 1), said  # findings are fine here (no git history: MP-PROM-001)
        pairs = args.models * 3
        helm_each, opa_each = baseline_per_pair(root, args.sample)
        noop, noop_rss = repeated(args.repeat, lambda _: run_cli(root, "compile", "--quiet", *crds, env=env))
        check_noop, check_rss2 = repeated(
            args.repeat, lambda _: run_cli(root, "compile", "--check", "--quiet", *crds, env=env)
        )
        spec = root / "models" / "churn-0000" / "model.yaml"
        original = spec.read_text(encoding="utf-8")

        def one_model(i: int) -> tuple[float, float, int, str]:
            spec.write_text(original.replace("latencyP99Ms: 120\n", f"latencyP99Ms: {121 + i}\n", 1), encoding="utf-8")
            result = run_cli(root, "compile", "--quiet", *crds, env=env)
            assert "3 rendered" in result[3], result[3]
            return result

        one, one_rss = repeated(args.repeat, one_model)
        spec.write_text(original.replace("latencyP99Ms: 120\n", "latencyP99Ms: 200\n", 1), encoding="utf-8")
        check_one, _, code, _ = run_cli(root, "compile", "--check", "--quiet", *crds, env=env)
        assert code == 1, "compile --check finds the changed model stale"

    ours = compile_s + check_s
    baseline = (helm_each + opa_each) * pairs
    ratio = baseline / ours
    rss = max(compile_rss, check_rss, noop_rss, check_rss2, one_rss)
    med = statistics.median

    def spread(values: list[float]) -> str:
        return f"median of {len(values)}: " + ", ".join(f"{v:.2f}" for v in values)

    rows += [
        ("full compile (fresh folder)", f"{compile_s:.1f} s", f"{files} files, {compile_s / pairs * 1000:.1f} ms/pair"),
        ("policy check", f"{check_s:.1f} s", "a share of models per worker, one OPA server"),
        ("reading the CRDs", f"{crd_s:.1f} s", "once per machine (kept in its cache); not in the figures above"),
        ("compile + check", f"{ours:.1f} s", ""),
        (
            "per-process baseline",
            f"{baseline:.0f} s",
            f"helm {helm_each * 1000:.0f} ms + opa eval {opa_each * 1000:.0f} ms a pair (on {args.sample}) x {pairs}",
        ),
        ("speed-up", f"{ratio:.1f}x", f"goal >= {GOALS['ratio']:.0f}x"),
        ("no-op re-compile", f"{med(noop):.2f} s", f"{spread(noop)}; goal <= {GOALS['noop_s']:.0f} s"),
        (
            "compile --check, no-op",
            f"{med(check_noop):.2f} s",
            f"{spread(check_noop)}; goal <= {GOALS['check_noop_s']:.0f} s",
        ),
        (
            "one model changed",
            f"{med(one):.2f} s",
            f"{spread(one)}; 3 pairs rendered; goal <= {GOALS['one_model_s']:.0f} s",
        ),
        ("compile --check, one stale", f"{check_one:.2f} s", "exit 1, naming its files"),
        ("peak RSS", f"{rss:.0f} MiB", f"full compile {compile_rss:.0f}, check {check_rss:.0f}; goal <= 1 GiB"),
    ]
    print(
        f"modelplane benchmark, {dt.date.today()}: {args.models} models x 3 environments = {pairs} pairs,"
        f" {os.cpu_count()} cores, in {tempfile.gettempdir()}"
    )
    width = max(len(r[0]) for r in rows)
    for label, figure, note in rows:
        print(f"  {label:<{width}}  {figure:>9}  {note}")
    missed = []
    if ratio < GOALS["ratio"]:
        missed.append(f"speed-up {ratio:.1f}x < {GOALS['ratio']:.0f}x")
    if med(noop) > GOALS["noop_s"]:
        missed.append(f"no-op {med(noop):.2f} s > {GOALS['noop_s']:.0f} s")
    if med(check_noop) > GOALS["check_noop_s"]:
        missed.append(f"check no-op {med(check_noop):.2f} s > {GOALS['check_noop_s']:.0f} s")
    if med(one) > GOALS["one_model_s"]:
        missed.append(f"one model {med(one):.2f} s > {GOALS['one_model_s']:.0f} s")
    if rss > GOALS["rss_mib"]:
        missed.append(f"peak RSS {rss:.0f} MiB > {GOALS['rss_mib']:.0f} MiB")
    print("goals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
