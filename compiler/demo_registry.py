"""A local MLflow registry (sqlite) holding the example models, so the demo runs with no servers."""

from __future__ import annotations

from pathlib import Path

from modelplane.registry import APPROVAL_TAG, APPROVED, APPROVED_AT_TAG, APPROVED_BY_TAG, quiet_mlflow
from modelplane.repo import Repo

# Who approves in the demo registry, and when (fixed, so the lock is the same on every run).
DEMO_APPROVER = "@acme/ml-platform"
DEMO_APPROVED_AT = "2026-10-01T09:00:00Z"


def seed(repo: Repo, tracking_uri: str) -> list[str]:
    """Register every pinned version (and the ones before it); mark the pinned ones approved, with
    who approved and when."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    quiet_mlflow()

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    pinned = sorted(
        {(r.model.registry.name, r.model.registry.version, r.model.metadata.team) for r in repo.resolved.values()}
    )
    done = []
    for name, version, team in pinned:
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(name, tags={"team": team})
        latest = max((int(v.version) for v in client.search_model_versions(f"name='{name}'")), default=0)
        for number in range(latest + 1, version + 1):
            client.create_model_version(
                name, source=f"s3://acme-models/{name}/{number}", description=f"{name} v{number}"
            )
        client.set_model_version_tag(name, str(version), APPROVAL_TAG, APPROVED)
        client.set_model_version_tag(name, str(version), APPROVED_BY_TAG, DEMO_APPROVER)
        client.set_model_version_tag(name, str(version), APPROVED_AT_TAG, DEMO_APPROVED_AT)
        client.set_registered_model_alias(name, "champion", str(version))
        done.append(f"{name} v{version}")
    return done
