"""Registry facts: what MLflow says about each pinned model version, kept in `modelplane.lock`.

`modelplane lock` asks MLflow once and writes the lock; compile and check read only the lock,
so they stay offline and reproducible, and a reviewer sees registry changes in the diff.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelplane.problems import ModelplaneError

LOCK_FILE = "modelplane.lock"
LOCK_VERSION = 1
APPROVAL_TAG = "approval"
APPROVED = "approved"
# Who approved and when: MLflow keeps no author per tag, so the approver records both with the approval.
APPROVED_BY_TAG = "approved_by"
APPROVED_AT_TAG = "approved_at"
# `registry sync` writes these after a merge (tags `modelplane.<env>.commit`, aliases named after
# environments); they follow from git, so the lock leaves them out and stays current across syncs.
SYNC_TAG_PREFIX = "modelplane."
DEFAULT_TRACKING_URI = "sqlite:///.modelplane/mlflow.db"


def tracking_uri(given: str | None) -> str:
    """`--tracking-uri`, else `MLFLOW_TRACKING_URI` (blank counts as unset), else the local sqlite registry."""
    return given or os.environ.get("MLFLOW_TRACKING_URI", "").strip() or DEFAULT_TRACKING_URI


def no_registry(given: str | None) -> str | None:
    """Why there is no registry to check against, or None when one is configured or present locally.

    Checking the lock against a registry that is not there must fail, never pass: an empty local
    registry would only say "stale" without saying why, and a skipped check would let a pull request
    approve its own version by editing the lock.
    """
    if tracking_uri(given) != DEFAULT_TRACKING_URI:
        return None
    local = Path(DEFAULT_TRACKING_URI.removeprefix("sqlite:///"))
    if local.exists():
        return None
    return (
        f"no MLflow registry to ask: MLFLOW_TRACKING_URI is not set and there is no local registry at {local}"
        " (in GitHub Actions set the repository variable MLFLOW_TRACKING_URI and the secret"
        ' MLFLOW_TRACKING_TOKEN; see README, "CI")'
    )


def quiet_mlflow() -> None:
    """MLflow logs database migrations at INFO on first use; users only need warnings."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load_lock(root: Path) -> dict[str, Any]:
    path = root / LOCK_FILE
    if not path.exists():
        return {"version": LOCK_VERSION, "models": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelplaneError(f"{LOCK_FILE}: cannot read it ({exc}); run `modelplane lock` to rewrite it") from exc
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        raise ModelplaneError(f"{LOCK_FILE}: unknown format; run `modelplane lock` to rewrite it")
    return data


def facts_for(lock: dict[str, Any], name: str, version: int) -> dict[str, Any]:
    """The facts the policies see as `input.registry`; `found` is false when MLflow had none."""
    entry = lock.get("models", {}).get(name, {}).get(str(version))
    if entry is None:
        return {
            "name": name,
            "version": version,
            "found": False,
            "approved": False,
            "approvedBy": "",
            "approvedAt": "",
            "tags": {},
            "aliases": [],
        }
    tags = dict(entry.get("tags", {}))
    approved = tags.get(APPROVAL_TAG) == APPROVED
    return {
        "name": name,
        "version": version,
        "found": True,
        "approved": approved,
        "approvedBy": str(tags.get(APPROVED_BY_TAG, "")) if approved else "",
        "approvedAt": str(tags.get(APPROVED_AT_TAG, "")) if approved else "",
        "status": entry.get("status", ""),
        "runId": entry.get("runId", ""),
        "source": entry.get("source", ""),
        "tags": tags,
        "aliases": sorted(entry.get("aliases", [])),
    }


def lock_text(entries: dict[str, dict[str, dict[str, Any]]]) -> str:
    return json.dumps({"version": LOCK_VERSION, "models": entries}, indent=2, sort_keys=True) + "\n"


DEFAULT_TIMEOUT = 30.0


@contextmanager
def bounded_requests(timeout: float) -> Iterator[None]:
    """MLflow's HTTP client retries with back-off for minutes by default; allow one try of `timeout`s."""
    wanted = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(timeout))), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _unreachable(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(sign in text for sign in ("Max retries exceeded", "Connection", "Timeout", "timed out", "Read timed"))


def fetch_versions(
    tracking_uri: str,
    refs: list[tuple[str, int]],
    timeout: float = DEFAULT_TIMEOUT,
    environments: frozenset[str] = frozenset(),
) -> dict[str, dict[str, dict[str, Any]]]:
    """Ask the MLflow registry for each (registered model, version). Missing ones are left out.

    Each request gets one try of at most `timeout` seconds, so an unreachable registry is one
    clear line (exit 2) within seconds, not minutes of silent retries. What `registry sync` wrote
    (aliases named after `environments`, `modelplane.*` tags) is left out.
    """
    with bounded_requests(timeout):
        return _fetch_versions(tracking_uri, refs, timeout, environments)


def lock_entry(
    status: str, run_id: str, source: str, tags: dict[str, str], aliases: list[str], environments: frozenset[str]
) -> dict[str, Any]:
    """One version's entry in the lock: the registry's facts, less what `registry sync` wrote."""
    return {
        "status": status,
        "runId": run_id,
        "source": source,
        "tags": dict(sorted((k, v) for k, v in tags.items() if not k.startswith(SYNC_TAG_PREFIX))),
        "aliases": sorted(a for a in aliases if a not in environments),
    }


def _fetch_versions(
    tracking_uri: str, refs: list[tuple[str, int]], timeout: float, environments: frozenset[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    quiet_mlflow()
    unreachable = f"MLflow registry at {tracking_uri} is not reachable (no answer within {timeout:g}s, one try)"
    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    except MlflowException as exc:
        raise ModelplaneError(f"--tracking-uri {tracking_uri}: {exc.message.strip().splitlines()[0]}") from exc
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, version in sorted(set(refs)):
        try:
            mv = client.get_model_version(name, str(version))
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                continue
            if _unreachable(exc):
                raise ModelplaneError(unreachable) from exc
            raise ModelplaneError(f"MLflow registry at {tracking_uri}: {exc.message.splitlines()[0]}") from exc
        except Exception as exc:  # connection refused, bad URI: fail closed with one line
            if _unreachable(exc):
                raise ModelplaneError(unreachable) from exc
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelplaneError(f"MLflow registry at {tracking_uri} failed: {first}") from exc
        out.setdefault(name, {})[str(version)] = lock_entry(
            str(mv.status),
            mv.run_id or "",
            mv.source or "",
            dict(mv.tags or {}),
            list(getattr(mv, "aliases", []) or []),
            environments,
        )
    return out
