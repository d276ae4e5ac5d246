"""Registry facts: what MLflow says about each pinned model version, kept in `modelplane.lock`.

`modelplane lock` asks MLflow once and writes the lock; compile and check read only the lock,
so they stay offline and reproducible, and a reviewer sees registry changes in the diff.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from modelplane.problems import ModelplaneError

LOCK_FILE = "modelplane.lock"
LOCK_VERSION = 1
APPROVAL_TAG = "approval"
APPROVED = "approved"


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
        return {"name": name, "version": version, "found": False, "approved": False, "tags": {}, "aliases": []}
    tags = dict(entry.get("tags", {}))
    return {
        "name": name,
        "version": version,
        "found": True,
        "approved": tags.get(APPROVAL_TAG) == APPROVED,
        "status": entry.get("status", ""),
        "runId": entry.get("runId", ""),
        "source": entry.get("source", ""),
        "tags": tags,
        "aliases": sorted(entry.get("aliases", [])),
    }


def lock_text(entries: dict[str, dict[str, dict[str, Any]]]) -> str:
    return json.dumps({"version": LOCK_VERSION, "models": entries}, indent=2, sort_keys=True) + "\n"


def fetch_versions(tracking_uri: str, refs: list[tuple[str, int]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Ask the MLflow registry for each (registered model, version). Missing ones are left out."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    quiet_mlflow()
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
            if "Max retries exceeded" in exc.message or "Connection" in exc.message:
                raise ModelplaneError(f"MLflow registry at {tracking_uri} is not reachable") from exc
            raise ModelplaneError(f"MLflow registry at {tracking_uri}: {exc.message.splitlines()[0]}") from exc
        except Exception as exc:  # connection refused, bad URI: fail closed with one line
            raise ModelplaneError(f"MLflow registry at {tracking_uri} is not reachable: {exc}") from exc
        out.setdefault(name, {})[str(version)] = {
            "status": str(mv.status),
            "runId": mv.run_id or "",
            "source": mv.source or "",
            "tags": dict(sorted((mv.tags or {}).items())),
            "aliases": sorted(getattr(mv, "aliases", []) or []),
        }
    return out
