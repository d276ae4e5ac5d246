"""Real headless Chromium (Debian's `chromium`), driven over the DevTools protocol on loopback.

One browser per `chromium()` block with its own profile folder; it is stopped by PID at the end.
No browser is downloaded: a missing `chromium` fails the test (run `make setup`).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websocket

from tests.conftest import require_tool

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def dump_dom(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, as Chromium's `--dump-dom` prints it."""
    done = subprocess.run(
        [require_tool("chromium"), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Page:
    def __init__(self, socket: websocket.WebSocket):
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return dict(message.get("result") or {})
            self.events.append(message)

    def _wait_for(self, event: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == event for e in self.events):
                self.events = []
                return
            self.events.append(json.loads(self.socket.recv()))
        raise AssertionError(f"no {event} within {timeout} s")

    def goto(self, url: str) -> None:
        self.events = []
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """Click a link and wait for the page it opens (or the jump within the page)."""
        self.events = []
        href = self.js(f"document.querySelector({json.dumps(selector)}).getAttribute('href')")
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        if not str(href).startswith("#"):
            self._wait_for("Page.loadEventFired")
        else:
            time.sleep(0.2)

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data


@contextmanager
def chromium(profile: Path) -> Iterator[Page]:
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            require_tool("chromium"),
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its renderer and helper processes share our process group id
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            assert process.poll() is None, "chromium exited before it listened"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        target = next(t for t in targets if t.get("type") == "page")
        socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        try:
            page = Page(socket)
            page.call("Page.enable")
            yield page
        finally:
            socket.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
