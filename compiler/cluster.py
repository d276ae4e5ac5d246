"""Server-side dry-runs of rendered objects against a real cluster (`modelplane verify`).

Every object goes to the API server as a server-side apply with `dryRun=All`, so the server runs
its whole admission chain (schemas of core kinds and CRDs, defaulting, validation, admission
webhooks) and persists nothing. Modelplane never applies anything for real: Argo CD does.

The official `kubernetes` client's dynamic client is used on purpose: the typed APIs validate
with their own models first, so a bad object would never reach the server.

Connection failures (no kubeconfig, unknown context, refused credentials, timeouts) become one
`ModelplaneError` line each (exit 2); a rejected object is a `Problem` at its rendered file.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml

from modelplane.problems import ModelplaneError, Problem

FIELD_MANAGER = "modelplane-verify"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RenderedObject:
    file: str  # as shown to the user, e.g. rendered/prod/churn/serving.yaml
    line: int  # first line of the object's YAML document
    env: str
    model: str | None  # None for the environment's apps.yaml
    body: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        ns = self.body.get("metadata", {}).get("namespace")
        return str(ns) if ns else None

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def read_documents(text: str, file: str, env: str, model: str | None) -> list[RenderedObject]:
    """The objects of one rendered file with the line each starts on. Compile writes every
    document after a `---` line of its own, and block-style YAML never has one inside a value."""
    starts = [i + 2 for i, line in enumerate(text.splitlines()) if line == "---"] or [1]
    docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    if len(docs) != len(starts):  # not written by compile (hand edits): fall back to the file's top
        starts = [1] * len(docs)
    return [
        RenderedObject(file, line, env, model, doc)
        for line, doc in zip(starts, docs, strict=True)
        if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc
    ]


def rendered_objects(root: Path, envs: list[str], models: set[str] | None = None) -> list[RenderedObject]:
    """Every cluster object that compile wrote for these environments, in a stable order."""
    objects: list[RenderedObject] = []
    for env in envs:
        folder = root / "rendered" / env
        if not folder.is_dir():
            raise ModelplaneError(f"rendered/{env}: not found; run `modelplane compile` first")
        # A file holds cluster objects when its documents say so (apiVersion and kind); the plain
        # Prometheus and Alertmanager files and the promtool tests have neither.
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*/*.yaml")]):
            model = path.parent.name if path.parent != folder else None
            if models and model is not None and model not in models:
                continue
            rel = path.relative_to(root).as_posix()
            objects.extend(read_documents(path.read_text(encoding="utf-8"), rel, env, model))
    return objects


# --- connecting ---------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A connected dynamic client and where it points."""

    client: Any  # kubernetes.dynamic.DynamicClient
    host: str
    server_version: str


def _contexts(kubeconfig: Path) -> tuple[list[str], str | None]:
    try:
        data = yaml.load(kubeconfig.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelplaneError(f"kubeconfig {kubeconfig}: cannot read it: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise ModelplaneError(f"kubeconfig {kubeconfig}: not a kubeconfig (expected a mapping)")
    names = [str(c.get("name")) for c in data.get("contexts") or [] if isinstance(c, dict)]
    current = data.get("current-context")
    return names, str(current) if current else None


def default_kubeconfig() -> Path:
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    return Path(first) if first else Path.home() / ".kube" / "config"


def _configuration(kubeconfig: Path, context: str | None) -> Any:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    if not kubeconfig.is_file():
        raise ModelplaneError(f"kubeconfig {kubeconfig}: no such file (pass --kubeconfig or set KUBECONFIG)")
    names, current = _contexts(kubeconfig)
    wanted = context or current
    if wanted is None:
        raise ModelplaneError(f"kubeconfig {kubeconfig}: no current-context; pass --context (have: {_have(names)})")
    if wanted not in names:
        raise ModelplaneError(f"kubeconfig {kubeconfig}: no context '{wanted}' (have: {_have(names)})")
    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=str(kubeconfig), context=wanted, client_configuration=configuration)
    except (ConfigException, OSError, ValueError) as exc:
        raise ModelplaneError(f"kubeconfig {kubeconfig}, context '{wanted}': {_first_line(exc)}") from exc
    configuration.retries = False  # one attempt: an unreachable cluster is reported at once
    return configuration


def _have(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _network_error(host: str, exc: BaseException, timeout: float) -> ModelplaneError:
    reason = getattr(exc, "reason", None) or exc
    # urllib3's NewConnectionError is a subclass of its ConnectTimeoutError: test it first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        cause = re.sub(r"^\[Errno -?\d+\] ", "", _first_line(reason).split(": ")[-1])
        return ModelplaneError(f"cluster {host}: cannot connect ({cause})")
    if isinstance(reason, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError):
        return ModelplaneError(f"cluster {host}: no answer within {timeout:g}s (timed out)")
    if isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
        return ModelplaneError(f"cluster {host}: TLS failed: {_first_line(reason)}")
    return ModelplaneError(f"cluster {host}: cannot reach it: {_first_line(reason)}")


def _api_status(exc: Any) -> tuple[int, str, str]:
    """(HTTP status, reason, the server's message) of an ApiException."""
    status = int(getattr(exc, "status", 0) or 0)
    reason = str(getattr(exc, "reason", "") or "")
    message = ""
    body = getattr(exc, "body", None)
    if body:
        try:
            parsed = json.loads(body)
            message = str(parsed.get("message", "")) if isinstance(parsed, dict) else ""
        except (ValueError, TypeError):
            message = str(body)
    return status, reason, " ".join(message.split()) or reason


def _refused(host: str, status: int, reason: str) -> ModelplaneError:
    what = "refused the credentials" if status == 401 else "denied access"
    return ModelplaneError(f"cluster {host}: {what} ({status} {reason})")


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Discovery requests take no timeout argument; urllib3 falls back to the socket default."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


@contextmanager
def connect(kubeconfig: Path | None, context: str | None, timeout: float) -> Iterator[Cluster]:
    """A dynamic client for the context, after one request proves the server answers and accepts
    the credentials. Every way of failing is one line (exit 2)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic import DynamicClient

    configuration = _configuration(kubeconfig or default_kubeconfig(), context)
    host = str(configuration.host)
    with _socket_timeout(timeout), tempfile.TemporaryDirectory(prefix="modelplane-verify-") as tmp:
        api = client.ApiClient(configuration)
        try:
            info = client.VersionApi(api).get_code(_request_timeout=timeout)
            # A fresh discovery cache per run: a shared one in /tmp could hide CRDs installed since.
            dynamic = DynamicClient(api, cache_file=os.path.join(tmp, "discovery.json"))
            yield Cluster(dynamic, host, str(info.git_version))
        except ApiException as exc:
            status, reason, message = _api_status(exc)
            if status in (401, 403):
                raise _refused(host, status, reason) from exc
            raise ModelplaneError(f"cluster {host}: {status} {reason}: {message}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _network_error(host, exc, timeout) from exc
        finally:
            api.close()


# --- dry-running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """Something the environment needs that the cluster does not have."""

    what: str  # "namespace" or "kind"
    name: str
    needed_by: int

    def render(self) -> str:
        fix = "create it" if self.what == "namespace" else "install its CustomResourceDefinition"
        return f"cluster has no {self.what} {self.name} (needed by {self.needed_by} object(s); {fix})"


def missing_prerequisites(cluster: Cluster, objects: list[RenderedObject]) -> list[Missing]:
    """Namespaces and kinds that the objects need and the cluster lacks, listed before any dry-run
    so that a cluster without Argo Rollouts reads as such, not as a pile of 404s."""
    from kubernetes.dynamic.exceptions import ForbiddenError, NotFoundError, ResourceNotFoundError

    missing: list[Missing] = []
    kinds: dict[tuple[str, str], int] = {}
    namespaces: dict[str, int] = {}
    for obj in objects:
        kinds[(obj.api_version, obj.kind)] = kinds.get((obj.api_version, obj.kind), 0) + 1
        if obj.namespace:
            namespaces[obj.namespace] = namespaces.get(obj.namespace, 0) + 1
    for (api_version, kind), count in sorted(kinds.items()):
        try:
            cluster.client.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            missing.append(Missing("kind", f"{api_version} {kind}", count))
    ns_api = cluster.client.resources.get(api_version="v1", kind="Namespace")
    for namespace, count in sorted(namespaces.items()):
        try:
            ns_api.get(name=namespace)
        except NotFoundError:
            missing.append(Missing("namespace", namespace, count))
        except ForbiddenError:  # may not read namespaces: the dry-runs will say what is missing
            continue
    return missing


def dry_run(cluster: Cluster, obj: RenderedObject, timeout: float) -> str | None:
    """None when the server accepts the object; otherwise the server's reason, in one line."""
    from kubernetes.client.exceptions import ApiException

    resource = cluster.client.resources.get(api_version=obj.api_version, kind=obj.kind)
    try:
        resource.server_side_apply(
            body=obj.body,
            name=obj.name,
            namespace=obj.namespace if resource.namespaced else None,
            field_manager=FIELD_MANAGER,
            # Objects that Argo CD already manages are owned by its field manager; taking them over
            # in a dry-run changes nothing and lets the server judge the whole object.
            force_conflicts=True,
            dry_run="All",
            _request_timeout=timeout,
        )
    except ApiException as exc:
        status, reason, message = _api_status(exc)
        if status in (401, 403):
            raise _refused(cluster.host, status, reason) from exc
        return f"rejected ({status} {reason}): {message}"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _network_error(cluster.host, exc, timeout) from exc
    return None


def rejection(obj: RenderedObject, message: str, source: str) -> Problem:
    return Problem(obj.file, obj.line, 1, obj.label(), message, f"produced by {source}" if source else "")
