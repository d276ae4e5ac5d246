"""The OPA sandbox: policies get no network, no environment and no non-deterministic built-ins.

`capabilities.json` (next to this file) is OPA's own capabilities list for the pinned OPA with
those built-ins removed and `allow_net` empty. `check`, `opa check` and `opa test` all read it,
so a policy that calls one is refused with its file and line wherever it runs. "Today" comes in
the input (`input.today`) instead of `time.now_ns()`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from modelplane.problems import ModelplaneError

CAPABILITIES = Path(__file__).with_name("capabilities.json")
FORBIDDEN = frozenset({"http.send", "opa.runtime", "time.now_ns"})
FORBIDDEN_NAMESPACES = ("net.", "rand.", "uuid.")


def forbidden(builtin: str) -> bool:
    return builtin in FORBIDDEN or builtin.startswith(FORBIDDEN_NAMESPACES)


def sandboxed(capabilities: dict[str, Any]) -> dict[str, Any]:
    """OPA's capabilities document without the forbidden built-ins and with no network hosts."""
    kept = [b for b in capabilities.get("builtins", []) if not forbidden(str(b.get("name")))]
    return {**capabilities, "builtins": sorted(kept, key=lambda b: str(b.get("name"))), "allow_net": []}


def capabilities_text(capabilities: dict[str, Any]) -> str:
    return json.dumps(sandboxed(capabilities), indent=1, sort_keys=True) + "\n"


def explain(error: dict[str, Any], display: dict[str, str]) -> str:
    """One OPA compile error as `file:line: message`, naming a forbidden built-in plainly."""
    loc = error.get("location") or {}
    file = str(loc.get("file", ""))
    where = f"{display.get(file, file)}:{loc.get('row', '?')}"
    message = str(error.get("message", "")).strip()
    name = message.removeprefix("undefined function ").strip()
    if message.startswith("undefined function ") and forbidden(name):
        return (
            f"{where}: {name} is not allowed in Modelplane policies "
            "(the sandbox has no network, environment or non-deterministic built-ins; use input.today for dates)"
        )
    return f"{where}: {message.splitlines()[0] if message else 'OPA rejected the policy'}"


def check_policies(opa: str, paths: list[Path], display: dict[str, str], timeout: float = 60.0) -> None:
    """`opa check` with the sandbox's capabilities; the first error is a `ModelplaneError` (exit 2)."""
    try:
        done = subprocess.run(
            [opa, "check", "--format", "json", "--capabilities", str(CAPABILITIES), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={},
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelplaneError(f"opa check did not finish within {timeout:.0f}s") from exc
    if done.returncode == 0:
        return
    try:
        errors = json.loads(done.stdout or done.stderr).get("errors") or []
    except ValueError:
        errors = []
    if not errors:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ModelplaneError(f"the policies do not compile: {lines[0] if lines else done.returncode}")
    raise ModelplaneError(explain(errors[0], display))
