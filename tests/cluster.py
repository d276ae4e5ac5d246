"""A real etcd + kube-apiserver on loopback for the tests, started once per session.

Both binaries come from `.ci/bootstrap` (etcd from Debian, kube-apiserver built from
`.ci/kube-apiserver`). The server gets the upstream CRDs from `../shared/reference/crds/` and the
namespaces that the example repository renders into; it is stopped by PID at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelplane.render.crd_schemas import _CrdLoader

TEST_FIELD_MANAGER = "modelplane-tests"


@dataclass
class ApiServer:
    url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    folder: Path
    pids: list[int] = field(default_factory=list)

    def dynamic_client(self) -> Any:
        from kubernetes import client, config
        from kubernetes.dynamic import DynamicClient

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        return DynamicClient(client.ApiClient(configuration), cache_file=str(self.folder / "discovery.json"))

    def write_kubeconfig(self, path: Path, *, server: str | None = None, token: str | None = None) -> Path:
        """A kubeconfig for this server (or, for bad-input tests, another address or token)."""
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "test", "cluster": {"server": server or self.url, "certificate-authority": str(self.ca_file)}}
            ],
            "users": [{"name": "admin", "user": {"token": token or self.token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
            "current-context": "test",
        }
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_ready(url: str, token: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the server's self-signed certificate does not exist yet
    request = urllib.request.Request(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"})
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(request, context=context, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{proc.args[0]} not ready after {deadline_s:.0f}s:\n{log.read_text()[-3000:]}")


def stop(pids: list[int]) -> None:
    """Terminate our own processes by PID, newest first; kill what does not stop."""
    for pid in reversed(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
    for pid in reversed(pids):
        for _ in range(50):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


@contextlib.contextmanager
def api_server(folder: Path, etcd: str, kube_apiserver: str, openssl: str) -> Iterator[ApiServer]:
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    certs = folder / "certs"
    certs.mkdir()
    sa_key, sa_pub = folder / "sa.key", folder / "sa.pub"
    subprocess.run([openssl, "genrsa", "-out", str(sa_key), "2048"], check=True, capture_output=True)
    public = [openssl, "rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub)]
    subprocess.run(public, check=True, capture_output=True)
    (folder / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n', encoding="utf-8")
    pids: list[int] = []
    try:
        etcd_proc = _spawn(
            [
                etcd,
                "--name=test",
                f"--data-dir={folder / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=test=http://127.0.0.1:{peer_port}",
            ],
            folder / "etcd.log",
        )
        pids.append(etcd_proc.pid)
        api_proc = _spawn(
            [
                kube_apiserver,
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={certs}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                f"--token-auth-file={folder / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--endpoint-reconciler-type=none",  # required on loopback
            ],
            folder / "kube-apiserver.log",
        )
        pids.append(api_proc.pid)
        url = f"https://127.0.0.1:{api_port}"
        _wait_ready(url, token, api_proc, folder / "kube-apiserver.log", deadline_s=120)
        server = ApiServer(url, token, certs / "apiserver.crt", folder / "kubeconfig", folder, pids)
        server.write_kubeconfig(server.kubeconfig)
        yield server
    finally:
        stop(pids)


def install_crds(client: Any, crd_dir: Path, timeout_s: float = 120) -> list[str]:
    """Server-side apply every CRD as published (client-side apply would hit the 256 KiB
    annotation limit of the Argo Workflows CRDs), then wait until each is Established."""
    crds = client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    names = []
    for path in sorted(crd_dir.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for doc in yaml.load_all(handle, Loader=_CrdLoader):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    name = doc["metadata"]["name"]
                    crds.server_side_apply(body=doc, name=name, field_manager=TEST_FIELD_MANAGER)
                    names.append(name)
    end = time.monotonic() + timeout_s
    pending = set(names)
    while pending and time.monotonic() < end:
        for name in sorted(pending):
            conditions = crds.get(name=name).to_dict().get("status", {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.3)
    if pending:
        raise RuntimeError(f"CRDs not Established after {timeout_s:.0f}s: {', '.join(sorted(pending))}")
    return names


def create_namespaces(client: Any, names: set[str]) -> None:
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    for name in sorted(names):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        namespaces.server_side_apply(body=body, name=name, field_manager=TEST_FIELD_MANAGER)
