"""The installed wheel gates on its own: built from the sources, installed into a fresh venv, run
in a config repository in a temporary folder, far from this project.

The wheel is built with the pinned backend already in the dev venv (no build isolation, no index),
installed with `--no-deps`; its dependencies come from the dev venv through a path entry placed
after the fresh venv's own site-packages, so `modelplane` is imported from the wheel while the
test stays offline and takes seconds, not a full dependency install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CRDS, ROOT, require_tool
from tests.example_copy import commit_history


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv, the built wheel)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "compiler", source / "compiler", ignore=shutil.ignore_patterns("__pycache__"))
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)], work)
    (wheel,) = dist.glob("modelplane-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    python = venv / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)], work)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work).strip()
    (Path(purelib) / "zz_modelplane_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv, wheel


def test_the_wheel_holds_one_import_package_and_every_runtime_file(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("modelplane-")} == {"modelplane"}
    for needed in (
        "modelplane/gate/engine.rego",
        "modelplane/gate/capabilities.json",
        "modelplane/charts/model-serving/Chart.yaml",
        "modelplane/py.typed",
    ):
        assert needed in names


def test_modelplane_imports_from_the_wheel(installed: tuple[Path, Path], tmp_path: Path) -> None:
    venv, _ = installed
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import modelplane; print(modelplane.__file__)"], tmp_path).strip()
    assert where.startswith(str(venv)), where
    done = subprocess.run([python, "-c", "import compiler"], cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode != 0  # no generic top-level package that would collide with others


def test_validate_compile_check_and_demo_in_a_config_repository(installed: tuple[Path, Path], tmp_path: Path) -> None:
    venv, _ = installed
    tools = [require_tool(name) for name in ("opa", "helm", "promtool")]
    repo = tmp_path / "config"
    for name in ("models", "environments", "policies"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copy(ROOT / "modelplane.lock", repo / "modelplane.lock")
    env = {
        "PATH": os.pathsep.join([str(venv / "bin"), *{str(Path(t).parent) for t in tools}, "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
    }
    modelplane = str(venv / "bin" / "modelplane")
    assert "0 problem(s)" in _run([modelplane, "validate"], repo, env)
    _run([modelplane, "compile", "--crds", str(CRDS)], repo, env)
    assert (repo / "rendered/prod/churn/serving.yaml").is_file()
    commit_history(repo)  # the gate reads what each environment ran from git history
    assert "policy check passed" in _run([modelplane, "check"], repo, env)
    out = _run([modelplane, "demo", "--crds", str(CRDS)], repo, env)
    assert "demo finished: all steps passed" in out
    assert "site-packages" not in out  # no path into the install leaks into a message
