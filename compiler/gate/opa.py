"""The real OPA: a local `opa run --server` for the command's lifetime, or a shared server by URL.

Everything fails closed: an unreachable server, Rego that does not compile, or a timeout is a
`ModelplaneError` (exit 2), never an empty result that would read as a pass.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import requests

from modelplane.gate.packages import ENGINE_PACKAGE, ENGINE_REGO
from modelplane.problems import ModelplaneError

POLICY_ID_PREFIX = "modelplane"


def opa_binary() -> str:
    path = os.environ.get("MODELPLANE_OPA") or shutil.which("opa")
    if not path:
        raise ModelplaneError("opa not found on PATH (set MODELPLANE_OPA, or run `make setup` to install it)")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Go's collector runs only once the heap reaches the limit: decoding each request's inputs makes
# most of OPA's garbage, and collecting it at the default pace was 30% of a large check's OPA time.
SERVER_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "384MiB"}


@contextmanager
def local_server(timeout: float = 15.0, policies: Sequence[Path] = ()) -> Iterator[str]:
    """Start `opa run --server` on a free loopback port, with the `policies` files loaded; yield its
    URL; stop it afterwards.

    The server gets an empty environment, so no policy can read the CI's secrets through
    `opa.runtime()` even on an OPA that still has it; the sandbox's capabilities refuse it first.
    Only Go's collector is set (`SERVER_RUNTIME`).
    """
    port = _free_port()
    process = subprocess.Popen(
        [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
        + ["--", *map(str, policies)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(SERVER_RUNTIME),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                err = (process.stderr.read() if process.stderr else b"").decode(errors="replace").strip()
                raise ModelplaneError(
                    f"the local OPA server exited at start: {err.splitlines()[0] if err else process.returncode}"
                )
            try:
                if requests.get(f"{url}/health", timeout=0.5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise ModelplaneError(f"the local OPA server did not become healthy within {timeout:.0f}s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Engine:
    """Uploads policies and evaluates all inputs in one request."""

    def __init__(self, url: str, timeout: float = 30.0, token: str | None = None):
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ModelplaneError(f"--opa-url {url}: expected http(s)://host:port")
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.url = url
        self.timeout = timeout
        self.token = token
        self.uploaded_files: dict[str, str] = {}  # policy id -> the file as the user names it
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The OPA client, made on first use (it imports aiohttp; evaluating needs only requests)."""
        if self._client is None:
            from opa_client import OpaClient

            parsed = urlparse(self.url)
            self._client = OpaClient(
                host=parsed.hostname,
                port=self.port,
                ssl=parsed.scheme == "https",
                timeout=self.timeout,
                retries=0,
                token=self.token,
            )
        return self._client

    def upload(self, policy_dir: Path) -> list[str]:
        """Put every policy module (not tests) and the engine driver on the server.

        OPA compiles each upload against what it already has, so a module that calls a helper
        uploaded later fails at first; we retry in passes until nothing more goes in.
        """
        modules = sorted(p for p in policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))
        pending = {f"{POLICY_ID_PREFIX}/{p.relative_to(policy_dir)}": p for p in modules}
        pending[f"{ENGINE_PACKAGE}/engine.rego"] = ENGINE_REGO
        self.uploaded_files = {policy_id: str(path) for policy_id, path in pending.items()}
        uploaded: list[str] = []
        while pending:
            failures: dict[str, str] = {}
            for policy_id, path in sorted(pending.items()):
                error = self._put_policy(policy_id, path.read_text(encoding="utf-8"))
                if error is None:
                    uploaded.append(policy_id)
                else:
                    failures[policy_id] = f"{path}: OPA rejected the policy: {error}"
            if len(failures) == len(pending):
                raise ModelplaneError(next(iter(sorted(failures.values()))))
            pending = {k: v for k, v in pending.items() if k in failures}
        return uploaded

    def _put_policy(self, policy_id: str, text: str) -> str | None:
        """Upload one module; the compile error's first line if OPA rejects it."""
        try:
            self.client.update_policy_from_string(text, policy_id, rego_compat=False)
        except requests.RequestException as exc:
            raise ModelplaneError(f"OPA at {self.url} is not reachable: {type(exc).__name__}") from exc
        except Exception as exc:  # the client raises its own types for compile errors
            errors = getattr(exc, "errors", None) or []
            if errors and isinstance(errors[0], dict):
                loc = errors[0].get("location") or {}
                return f"line {loc.get('row', '?')}: {errors[0].get('message', '')}"
            return _first_line(getattr(exc, "message", None) or str(exc))
        return None

    def evaluate(self, packages: list[list[str]], items: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """`{"results": {key: {"packages": {name: {"deny": shape, "warn": shape}}, "card": {...}}}}`.

        Built-in errors are strict: `to_number("500m")` fails the evaluation (exit 2) instead of
        quietly leaving its rule undefined for that model.
        """
        try:
            response = requests.post(
                f"{self.url.rstrip('/')}/v1/data/{ENGINE_PACKAGE}",
                params={"strict-builtin-errors": "true"},
                data=_json_body({"input": {"packages": packages, "items": items}}),
                headers={"Content-Type": "application/json"}
                | ({"Authorization": f"Bearer {self.token}"} if self.token else {}),
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise ModelplaneError(f"OPA at {self.url} timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ModelplaneError(f"OPA at {self.url} is not reachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            message = self.display(_opa_message(response.text))
            raise ModelplaneError(f"OPA at {self.url} failed to evaluate the policies: {_first_line(message)}")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ModelplaneError(f"OPA at {self.url} answered with something that is not JSON") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict) or "results" not in result:
            raise ModelplaneError(
                f"OPA at {self.url} has no '{ENGINE_PACKAGE}' package loaded; upload the policies or add "
                "the engine module (modelplane/gate/engine.rego in the installed package) to the server's bundle"
            )
        return result

    def display(self, message: str) -> str:
        """OPA names uploaded modules by policy id; show the file the user wrote instead."""
        for policy_id, path in sorted(self.uploaded_files.items(), key=lambda kv: -len(kv[0])):
            message = message.replace(policy_id, path)
        return message


def _json_body(document: Any) -> bytes:
    """The request body: orjson writes a large check's 20 MB ten times faster than the stdlib. A
    string that is not valid UTF-8 or an integer past 64 bits falls back to the stdlib's JSON."""
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return json.dumps(document, allow_nan=False).encode()


def _opa_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    errors = data.get("errors") or []
    if errors and isinstance(errors[0], dict):
        loc = errors[0].get("location", {})
        return f"{loc.get('file', '')}:{loc.get('row', '')}: {errors[0].get('message', '')}"
    return str(data.get("message", body))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no details"


def rule_annotations(policy_dir: Path) -> dict[str, dict[str, Any]]:
    """Rule id -> METADATA (title, description, custom.severity/remediation), read by `opa inspect`."""
    try:
        done = subprocess.run(
            [opa_binary(), "inspect", "-a", "--format", "json", str(policy_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelplaneError("opa inspect timed out reading the policies") from exc
    if done.returncode != 0:
        raise ModelplaneError(f"{policy_dir}: the policies do not compile: {_first_line(done.stderr)}")
    out: dict[str, dict[str, Any]] = {}
    for entry in json.loads(done.stdout or "{}").get("annotations") or []:
        notes = entry.get("annotations", {})
        rule_id = (notes.get("custom") or {}).get("id")
        if rule_id:
            out[str(rule_id)] = notes
    return out
