"""Third-party linters over rendered/: kubeconform (strict, offline) and kube-score.

Neither tool looks inside Argo Rollouts or Argo Workflows, so their pods are shown to both as
what they become in a cluster: a Rollout's template as a Deployment, every Workflow step as a Pod
with the workflow's pod settings. Disabled checks and accepted findings live in one file,
`.ci/manifest-lint.yaml`, each with a reason.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from modelplane.cluster import RenderedObject, rendered_objects
from modelplane.render.base import dump_objects
from modelplane.render.crd_schemas import load_crd_schemas
from tests.conftest import CRDS, ROOT, require_tool

CONFIG = ROOT / ".ci" / "manifest-lint.yaml"
ENVS = ["dev", "staging", "prod"]
# Pod-level fields of an Argo WorkflowSpec that Argo copies into every step's pod.
_WORKFLOW_POD_FIELDS = ("affinity", "nodeSelector", "securityContext", "serviceAccountName", "tolerations", "volumes")


def _config() -> dict[str, Any]:
    return dict(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))


def _meta(obj: dict[str, Any], name: str) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"name": name, "namespace": meta.get("namespace"), "labels": dict(meta.get("labels", {}))}


def workload_pods(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods an Argo object runs, as objects the linters understand."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind == "Rollout":
        deployment_spec = {k: spec[k] for k in ("replicas", "selector", "template") if k in spec}
        meta = _meta(obj, obj["metadata"]["name"])
        return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": deployment_spec}]
    if kind not in ("WorkflowTemplate", "Workflow"):
        return []
    shared = {k: spec[k] for k in _WORKFLOW_POD_FIELDS if k in spec}
    pods = []
    for template in spec.get("templates", []):
        if "container" not in template:
            continue
        pod_spec = {**shared, "restartPolicy": "Never", "containers": [{"name": "main", **template["container"]}]}
        meta = _meta(obj, f"{obj['metadata']['name']}-{template['name']}")
        meta["labels"].update(template.get("metadata", {}).get("labels", {}))
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec})
    return pods


@pytest.fixture(scope="module")
def lint_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rendered/'s cluster objects, plus `<file>.pods.yaml` beside each file with Argo pods."""
    out = tmp_path_factory.mktemp("lint")
    by_file: dict[str, list[RenderedObject]] = {}
    for obj in rendered_objects(ROOT, ENVS):
        by_file.setdefault(obj.file, []).append(obj)
    for file, objects in by_file.items():
        target = out / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_objects([o.body for o in objects]), encoding="utf-8")
        pods = [pod for o in objects for pod in workload_pods(o.body)]
        if pods:
            target.with_suffix(".pods.yaml").write_text(dump_objects(pods), encoding="utf-8")
    return out


def _strict(node: Any) -> Any:
    """kubeconform's -strict relies on the schema: close every object schema that lists its
    properties, unless the CRD keeps unknown fields on purpose."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    open_on_purpose = out.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in out
    if "properties" in out and not open_on_purpose:
        out["additionalProperties"] = False
    return out


def _with_type_meta(schema: dict[str, Any]) -> dict[str, Any]:
    """Every object has apiVersion, kind and metadata whether its CRD lists them or not (Istio's
    list only spec and status); closing the schema must not reject them."""
    properties = dict(schema.get("properties", {}))
    for key, value in (
        ("apiVersion", {"type": "string"}),
        ("kind", {"type": "string"}),
        ("metadata", {"type": "object"}),
    ):
        properties.setdefault(key, value)
    return {**schema, "properties": properties}


def _core_schema(text: str) -> str:
    """kubernetes-validate's schemas carry `$id`s and absolute refs to `/api/_definitions.json`;
    kubeconform resolves refs against the file, so make them relative."""
    data = json.loads(text)
    data.pop("$id", None)
    if "$defs" in data:
        data["definitions"] = data.pop("$defs")
    raw = json.dumps(data)
    return raw.replace('"/api/_definitions.json#/$defs/', '"_definitions.json#/definitions/').replace(
        '"#/$defs/', '"#/definitions/'
    )


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in ("1.31",):
        name = f"v{version}.0-local-strict"
        (out / name).mkdir()
        for path in (bundled / name).glob("*.json"):
            (out / name / path.name).write_text(_core_schema(path.read_text(encoding="utf-8")), encoding="utf-8")
    for (api_version, kind), schema in load_crd_schemas(CRDS).items():
        group, version = api_version.split("/")
        target = out / "crds" / group / f"{kind.lower()}_{version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(_strict(_with_type_meta(schema))), encoding="utf-8")
    return out


def _files(tree: Path) -> list[str]:
    return sorted(str(p) for p in tree.rglob("*.yaml"))


def _kubeconform(schema_dir: Path, files: list[str], skip: list[str] | None = None) -> tuple[int, dict[str, Any]]:
    """Strict and offline: core kinds from the converted bundled schemas, custom resources from
    their CRDs; a kind with no schema is an error, never skipped."""
    core = "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    custom = "crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    argv = [require_tool("kubeconform"), "-strict", "-summary", "-output", "json", "-kubernetes-version", "1.31.0"]
    argv += ["-schema-location", f"{schema_dir}/{core}", "-schema-location", f"{schema_dir}/{custom}"]
    if skip:
        argv += ["-skip", ",".join(skip)]
    result = subprocess.run([*argv, *files], capture_output=True, text=True, check=False)
    return result.returncode, json.loads(result.stdout)


def test_kubeconform_strict_offline_finds_nothing(lint_tree: Path, schema_dir: Path) -> None:
    code, report = _kubeconform(schema_dir, _files(lint_tree), _config()["kubeconform"]["skip"])
    invalid = [r for r in report["resources"] if r["status"] != "statusValid"]
    bad = [f"{r['filename']}: {r['kind']} {r['name']}: {r['msg']}" for r in invalid]
    assert bad == [], "\n".join(bad)
    summary = report["summary"]
    assert summary["valid"] > 100 and summary["invalid"] == summary["errors"] == summary["skipped"] == 0, summary
    assert code == 0


def test_kubeconform_rejects_what_a_cluster_would(schema_dir: Path, tmp_path: Path) -> None:
    """The offline schemas are live: a typo in a core kind and in a custom resource is caught."""
    broken = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "automountToken": False},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "b"}, "spec": {"replicass": 2}},
    ]
    (tmp_path / "broken.yaml").write_text(dump_objects(broken), encoding="utf-8")
    code, report = _kubeconform(schema_dir, [str(tmp_path / "broken.yaml")])
    statuses = {r["kind"]: (r["status"], r["msg"]) for r in report["resources"]}
    assert statuses["ServiceAccount"][0] == "statusInvalid" and "automountToken" in statuses["ServiceAccount"][1]
    assert statuses["Rollout"][0] == "statusInvalid" and "replicass" in statuses["Rollout"][1]
    assert code == 1


def _kube_score(files: list[str], ignored: list[str]) -> list[dict[str, Any]]:
    kube_score = require_tool("kube-score")
    argv = [kube_score, "score", "--output-format", "json"]
    for check in ignored:
        argv += ["--ignore-test", check]
    result = subprocess.run([*argv, *files], capture_output=True, text=True, check=False)
    assert result.stdout.startswith("["), result.stderr
    return list(json.loads(result.stdout))


def _findings(report: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(check id, kind/namespace/name, what is wrong) for every check that did not pass."""
    out = []
    for obj in report:
        meta = obj.get("object_meta") or {}
        who = f"{obj['type_meta']['kind']}/{meta.get('namespace', '')}/{meta.get('name', '')}"
        for check in obj["checks"]:
            if check["skipped"] or check["grade"] >= 10:
                continue
            notes = check["comments"] or []
            comments = "; ".join(f"{c.get('path', '')} {c.get('summary', '')}".strip() for c in notes)
            out.append((check["check"]["id"], who, comments))
    return out


def test_kube_score_finds_nothing_outside_the_documented_exceptions(lint_tree: Path) -> None:
    config = _config()["kube-score"]
    for check, reason in config["ignore"].items():
        assert isinstance(reason, str) and len(reason) > 20, f"{check}: a disabled check needs a reason"
    exceptions = config["exceptions"] or []
    for entry in exceptions:
        assert entry.get("reason"), f"{entry}: an exception needs a reason"
    findings = _findings(_kube_score(_files(lint_tree), sorted(config["ignore"])))
    used: set[int] = set()
    unexplained = []
    for check, who, comments in findings:
        match = [
            i for i, e in enumerate(exceptions)
            if e["check"] == check and any(fnmatch.fnmatchcase(who, pattern) for pattern in e["objects"])
        ]  # fmt: skip
        used.update(match)
        if not match:
            unexplained.append(f"{check} {who}: {comments}")
    assert unexplained == [], "\n".join(unexplained)
    stale = [f"{e['check']} {e['objects']}" for i, e in enumerate(exceptions) if i not in used]
    assert stale == [], f"exceptions in {CONFIG.name} that match no finding any more; remove them: {stale}"


def test_pods_inside_argo_objects_are_linted(lint_tree: Path) -> None:
    """kube-score sees the training steps as pods and the Rollout as a Deployment: a step without
    limits or security context would be found."""
    pods = yaml.safe_load_all((lint_tree / "rendered/prod/churn/training.pods.yaml").read_text(encoding="utf-8"))
    names = sorted(p["metadata"]["name"] for p in pods)
    assert names == [f"churn-retrain-{step}" for step in ("evaluate", "register", "snapshot", "train")]
    assert (lint_tree / "rendered/prod/churn/serving.pods.yaml").is_file()
    bare = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "bare", "namespace": "ml-prod"},
        "spec": {"templates": [{"name": "step", "container": {"name": "main", "image": "python@sha256:" + "a" * 64}}]},
    }
    path = lint_tree.parent / "bare.pods.yaml"
    path.write_text(dump_objects(workload_pods(bare)), encoding="utf-8")
    found = {check for check, _, _ in _findings(_kube_score([str(path)], []))}
    assert {"container-resources", "container-security-context-readonlyrootfilesystem"} <= found
