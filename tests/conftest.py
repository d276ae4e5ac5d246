"""Shared fixtures: the example repository, loaded and resolved once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from modelplane.repo import Repo, load_repo
from modelplane.resolve import Resolved

if TYPE_CHECKING:
    from tests.cluster import ApiServer

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT.parent / "shared" / "reference" / "crds"


def compiled(tree: dict[str, str]) -> dict[str, str]:
    """A rendered/ tree less the recorded decisions (`check --record` writes them, not compile)."""
    return {path: text for path, text in tree.items() if not path.endswith("/decisions.json")}


def require_tool(name: str) -> str:
    """The path of a real tool; a missing tool fails the test loudly, never skips it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"required tool '{name}' is not on PATH; run `make setup` (installs into .tools/bin)")
    return path


def synced_paths(resolved: Resolved) -> list[str]:
    """The files a pair's Application syncs: the synced outputs of every target but helm's, whose
    one output (serving.yaml) is synced."""
    from modelplane.render.targets import PER_PAIR, Pair

    pair = Pair(resolved, {})
    outputs = [o for target in PER_PAIR for o in target.render_pair(pair)]
    return sorted(["serving.yaml", *(o.path for o in outputs if o.synced)])


@pytest.fixture(scope="session")
def example_repo() -> Repo:
    repo, problems = load_repo(ROOT)
    assert problems == [], "\n".join(p.render() for p in problems)
    return repo


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory, example_repo: Repo) -> Iterator[ApiServer]:
    """One real etcd + kube-apiserver for the whole session, with the upstream CRDs installed and
    the example repository's namespaces created; both processes are stopped by PID at the end."""
    from tests.cluster import api_server as start_api_server
    from tests.cluster import create_namespaces, install_crds

    tools = [require_tool(name) for name in ("etcd", "kube-apiserver", "openssl")]
    with start_api_server(tmp_path_factory.mktemp("apiserver"), *tools) as server:
        client = server.dynamic_client()
        install_crds(client, CRDS)
        envs = [example_repo.env(name) for name in example_repo.environments]
        create_namespaces(client, {e.namespace for e in envs} | {e.argocd.namespace for e in envs})
        yield server
