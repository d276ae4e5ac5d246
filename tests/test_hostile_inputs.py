"""What a hostile or careless pull request tries, each with the one line it gets and its exit code.

Every case runs the real CLI on a private copy of the example repository, then checks that no
file outside the output folder changed and that no traceback was printed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from modelplane.cli import main
from tests.conftest import ROOT

CHURN = "models/churn/model.yaml"


def _copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("models", "environments", "policies", "rendered"):
        shutil.copytree(ROOT / name, root / name, symlinks=True)
    shutil.copy(ROOT / "modelplane.lock", root / "modelplane.lock")
    return root


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file and link under `folder` (the output folder too) with a hash of its content."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _edit(old: str, new: str, file: str = CHURN) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    return apply


def _write(rel: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    return apply


def _rename_model(new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / "models/churn").rename(root / f"models/{new}")
        spec = root / f"models/{new}/model.yaml"
        spec.write_text(spec.read_text().replace("  name: churn\n  team", f"  name: {new}\n  team", 1))

    return apply


def _symlink(rel: str, target: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).symlink_to(target)


NESTED = "apiVersion: modelplane.dev/v1\nkind: Model\nmetadata: " + "[" * 30_000 + "]" * 30_000 + "\n"
BIG = "x" * 40_000
ALIASES = f"apiVersion: modelplane.dev/v1\nkind: Model\nbig: &b {BIG}\nlist: [" + ", ".join(["*b"] * 900) + "]\n"

# (id, set-up, command after `--root <repo>`, exit code, what the one line says)
CASES: list[tuple[str, Callable[[Path], None], list[str], int, str]] = [
    (
        "env-var-name-injects-hostPID",
        _edit("  secretEnv:", '  env: {"A\\n  hostPID: true\\n  hostNetwork: true": v}\n  secretEnv:'),
        ["validate"],
        1,
        "models/churn/model.yaml:43:9: serving.env: control character U+000A in a key",
    ),
    (
        "env-var-name-not-a-c-identifier",
        _edit("  secretEnv:", '  env: {"LOG-LEVEL": v}\n  secretEnv:'),
        ["validate"],
        1,
        "models/churn/model.yaml:43:9: serving.env.LOG-LEVEL: 'LOG-LEVEL' is not an environment variable name",
    ),
    (
        "kserve-runtime-injects-serviceAccountName",
        _edit(
            "modelFormat: xgboost",
            'modelFormat: xgboost\n    runtime: "x\\n  serviceAccountName: evil"',
            "models/fraud-detection/model.yaml",
        ),
        ["validate"],
        1,
        "serving.kserve.runtime: 'x\\u000a  serviceAccountName: evil' is not a valid Kubernetes name",
    ),
    (
        "probe-path-injects-host",
        _edit("readiness: {path: /v2/health/ready}", 'readiness: {path: "/ready\\n  host: 169.254.169.254"}'),
        ["validate"],
        1,
        "models/churn/model.yaml:31:23: serving.probes.readiness.path: '/ready\\n  host: 169.254.169.254' does not match",
    ),
    (
        "promql-metric-rewrites-the-alert",
        _edit("accuracy: {metric: auc,", "accuracy: {metric: 'auc\"}) or vector(1) #',"),
        ["validate"],
        1,
        "monitoring.accuracy.metric: 'auc\"}) or vector(1) #' is not a metric or attribute name",
    ),
    (
        "promql-lone-quote",
        _edit("fairness: {metric: disparate_impact,", "fairness: {metric: '\"',"),
        ["validate"],
        1,
        "monitoring.fairness.metric: '\"' is not a metric or attribute name",
    ),
    (
        "acceptance-min-nan",
        _edit("acceptance: {metric: auc, min: 0.85}", "acceptance: {metric: auc, min: .nan}"),
        ["validate"],
        1,
        "training.acceptance.min: must be a finite number, got nan (.nan and .inf are not allowed)",
    ),
    (
        "drift-threshold-inf",
        _edit("threshold: 0.2", "threshold: .inf"),
        ["validate"],
        1,
        "monitoring.drift.threshold: must be a finite number, got inf",
    ),
    (
        "fairness-nan-and-minus-inf-skip-min-max",
        _edit("min: 0.8, max: 1.25", "min: .nan, max: -.inf"),
        ["validate"],
        1,
        "monitoring.fairness.min: must be a finite number, got nan",
    ),
    (
        "model-name-starts-with-a-digit",
        _rename_model("1churn"),
        ["validate"],
        1,
        "metadata.name: '1churn' cannot name a model: Service and Rollout names (DNS-1035) must start with a letter",
    ),
    (
        "model-name-too-long-for-the-cronworkflow",
        _rename_model("c" * 47),
        ["validate"],
        1,
        f"metadata.name: '{'c' * 47}' is 47 characters; a model name may have at most 46",
    ),
    (
        "model-yaml-case-variant",
        lambda root: (root / CHURN).rename(root / "models/churn/Model.yaml"),
        ["validate"],
        1,
        "models/churn/Model.yaml:1:1: 'Model.yaml' is not read (rename it to 'model.yaml')",
    ),
    (
        "dangling-symlink",
        _symlink("models/ghost", "/nonexistent/ghost"),
        ["validate"],
        1,
        "models/ghost:1:1: broken symlink (dangling or looping)",
    ),
    (
        "looping-symlink-as-model-yaml",
        lambda root: ((root / CHURN).unlink(), (root / CHURN).symlink_to("model.yaml")),  # type: ignore[func-returns-value]
        ["validate"],
        1,
        "models/churn/model.yaml:1:1: broken symlink (dangling or looping)",
    ),
    (
        "unrecognised-file-in-environments",
        _write("environments/qa.json", "{}"),
        ["validate"],
        1,
        "environments/qa.json:1:1: not an environment file (environments/ holds only <name>.yaml files)",
    ),
    (
        "no-models-at-all",
        lambda root: shutil.rmtree(root / "models"),
        ["validate"],
        1,
        "models:1:1: no models: nothing to validate, gate or render (add models/<name>/model.yaml)",
    ),
    (
        "unrecognised-file-in-models",
        _write("models/README.md", "# models"),
        ["validate"],
        1,
        "models/README.md:1:1: not a model folder",
    ),
    (
        "model-folder-without-a-spec",
        _write("models/empty/notes.txt", "todo"),
        ["validate"],
        1,
        "models/empty:1:1: model folder without model.yaml",
    ),
    (
        "policy-with-an-upper-case-suffix",
        _write("policies/extra.REGO", "package modelplane.extra"),
        ["validate"],
        1,
        "policies/extra.REGO:1:1: 'extra.REGO' is not read (rename it to 'extra.rego')",
    ),
    (
        "unrecognised-file-in-policies",
        _write("policies/lib/notes.txt", "todo"),
        ["validate"],
        1,
        "policies/lib/notes.txt:1:1: not read by the gate",
    ),
    (
        "dangling-symlink-in-policies",
        _symlink("policies/gone.rego", "/nonexistent/gone.rego"),
        ["validate"],
        1,
        "policies/gone.rego:1:1: broken symlink (dangling or looping)",
    ),
    (
        "thirty-thousand-nested-brackets",
        _write("models/deep/model.yaml", NESTED),
        ["validate"],
        1,
        "models/deep/model.yaml:3:75: nesting is deeper than 64 levels",
    ),
    (
        "aliases-inflate-a-small-file",
        _write("models/bomb/model.yaml", ALIASES),
        ["validate"],
        1,
        "YAML aliases expand to more than 2 MiB of text",
    ),
    (
        "control-character-in-a-value",
        _edit("owner: data-governance@acme.example", 'owner: "data-governance@acme.example\\a"'),
        ["validate"],
        1,
        "data.owner: control character U+0007 in a value",
    ),
    ("root-does-not-exist", lambda root: None, ["--root", "{tmp}/nowhere", "validate"], 2, "no such folder"),
    (
        "root-without-environments",
        lambda root: shutil.rmtree(root / "environments"),
        ["validate"],
        2,
        "no environments/ folder",
    ),
    ("out-is-the-repository", lambda root: None, ["compile", "--out", "{root}"], 2, "is the config repository"),
    ("out-is-models", lambda root: None, ["compile", "--out", "{root}/models"], 2, "inside the input folder models/"),
    (
        "out-inside-environments",
        lambda root: None,
        ["compile", "--out", "{root}/environments/out"],
        2,
        "inside the input folder environments/",
    ),
    ("out-contains-the-repository", lambda root: None, ["compile", "--out", "{tmp}"], 2, "contains the config"),
    ("out-is-a-file", lambda root: None, ["compile", "--out", "{root}/modelplane.lock"], 2, "is not a folder"),
    (
        "out-holds-someone-elses-files",
        _write("docs/index.md", "# docs"),
        ["compile", "--out", "{root}/docs"],
        2,
        "holds files compile did not write (no .modelplane-output marker)",
    ),
    (
        "model-vanishes-through-a-case-variant",
        lambda root: (root / CHURN).rename(root / "models/churn/model.YAML"),
        ["compile"],
        1,
        "models/churn/model.YAML:1:1: 'model.YAML' is not read (rename it to 'model.yaml')",
    ),
]


@pytest.mark.parametrize(("setup", "argv", "code", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setup: Callable[[Path], None],
    argv: list[str],
    code: int,
    line: str,
) -> None:
    root = _copy_repo(tmp_path)
    setup(root)
    before = _snapshot(tmp_path)
    args = [a.format(root=root, tmp=tmp_path) for a in argv]
    if args[0] != "--root":
        args = ["--root", str(root), *args]
    assert main(args) == code
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    assert line in output, output
    assert any(line in row for row in output.splitlines()), "the message spans lines"
    assert _snapshot(tmp_path) == before, "a refused command changed files"
