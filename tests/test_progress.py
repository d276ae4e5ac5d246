"""Progress of a compile: a rich bar on a terminal, plain lines in CI, nothing with --quiet."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from modelplane.cli import main
from modelplane.progress import Lines, Progress, progress_for
from tests.conftest import require_tool
from tests.example_copy import copy_example


def test_lines_report_each_stage_every_tenth_and_the_rate() -> None:
    stream = io.StringIO()
    progress = Lines(stream, "modelplane compile")
    progress.stage("render", 1000)
    for _ in range(100):
        progress.advance(10)
    progress.stage("write")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "modelplane compile: render: 1000 pairs"
    assert [line.split(" (")[0] for line in lines[1:10]] == [
        f"modelplane compile: render: {n}/1000 pairs" for n in range(100, 1000, 100)
    ]
    assert lines[10].startswith("modelplane compile: render: 1000/1000 pairs in ") and lines[10].endswith("/s)")
    assert lines[11] == "modelplane compile: write"
    assert lines[12].startswith("modelplane compile: write: done in ") and len(lines) == 13


def test_a_small_stage_is_two_lines() -> None:
    stream = io.StringIO()
    progress = Lines(stream, "x")
    progress.stage("render", 9)
    progress.advance(9)
    progress.close()
    assert len(stream.getvalue().splitlines()) == 2


def test_quiet_is_silent_and_a_pipe_gets_lines() -> None:
    assert type(progress_for("compile", quiet=True)) is Progress
    assert isinstance(progress_for("compile", quiet=False, stream=io.StringIO()), Lines)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    require_tool("helm")
    return copy_example(tmp_path / "repo", history=False)


def test_compile_prints_progress_on_stderr_unless_quiet(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(repo), "compile", "--full"]) == 0
    captured = capsys.readouterr()
    assert "modelplane compile: load and render: 3 models" in captured.err
    assert "modelplane compile: load" not in captured.out, "stdout keeps only the result"
    assert main(["--root", str(repo), "compile", "--full", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_progress_bar(repo: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "modelplane", "--root", str(repo), "compile", "--full"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the compile ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    text = shown.decode(errors="replace")
    assert "render" in text and "━" in text, text[-2000:]
    assert "modelplane compile: render" not in text, "a terminal gets the bar, not the lines"
