"""Progress of a long run, by stage: a rich progress bar on a terminal (stage, items done, rate),
plain lines when the output is not a terminal (CI logs), nothing when asked to be quiet.

Progress goes to stderr, so what a command prints on stdout stays its result.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Says nothing: what `--quiet` gets, and the base of the two that speak."""

    def stage(self, name: str, total: int = 0, unit: str = "pairs") -> None:
        """Start a stage of `total` items (0: a stage without a count)."""

    def advance(self, count: int = 1) -> None:
        """`count` more items of the current stage are done."""

    def close(self) -> None:
        """End the last stage."""


class Lines(Progress):
    """One line when a stage starts, one at every tenth of it, one when it ends."""

    def __init__(self, stream: TextIO, prefix: str):
        self.stream, self.prefix = stream, prefix
        self.name, self.unit, self.total, self.done, self.started, self.next_report = "", "", 0, 0, 0.0, 0

    def _say(self, text: str) -> None:
        print(f"{self.prefix}: {text}", file=self.stream, flush=True)

    def _end(self) -> None:
        if not self.name:
            return
        seconds = time.perf_counter() - self.started
        if self.total:
            rate = self.done / seconds if seconds > 0 else 0.0
            self._say(f"{self.name}: {self.done}/{self.total} {self.unit} in {seconds:.1f} s ({rate:.0f}/s)")
        else:
            self._say(f"{self.name}: done in {seconds:.1f} s")
        self.name = ""

    def stage(self, name: str, total: int = 0, unit: str = "pairs") -> None:
        self._end()
        self.name, self.unit, self.total, self.done = name, unit, total, 0
        self.started, self.next_report = time.perf_counter(), max(1, total // 10) if total >= 100 else total
        self._say(f"{name}" + (f": {total} {unit}" if total else ""))

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.total and self.next_report <= self.done < self.total:
            seconds = time.perf_counter() - self.started
            rate = self.done / seconds if seconds > 0 else 0.0
            self._say(f"{self.name}: {self.done}/{self.total} {self.unit} ({rate:.0f}/s)")
            while self.next_report <= self.done:
                self.next_report += max(1, self.total // 10)

    def close(self) -> None:
        self._end()


class Bar(Progress):
    """A rich progress bar per stage; finished stages stay on screen, one line each."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
        )
        self.task: Any = None
        self.started = 0.0
        self.bar.start()

    def _rate(self) -> str:
        if self.task is None:
            return ""
        done = self.bar.tasks[-1].completed
        seconds = time.perf_counter() - self.started
        return f"{done / seconds:.0f}/s" if seconds > 0 and done else ""

    def stage(self, name: str, total: int = 0, unit: str = "pairs") -> None:
        self._finish()
        self.started = time.perf_counter()
        self.task = self.bar.add_task(name, total=total or 1, unit=unit if total else "", rate="")

    def advance(self, count: int = 1) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=count)
            self.bar.update(self.task, rate=self._rate())

    def _finish(self) -> None:
        if self.task is not None:
            task = self.bar.tasks[-1]
            self.bar.update(self.task, completed=task.total, rate=self._rate())
            self.task = None

    def close(self) -> None:
        self._finish()
        if self.bar.live.is_started:
            self.bar.stop()


def progress_for(command: str, *, quiet: bool, stream: TextIO | None = None) -> Progress:
    """The progress a run of `command` shows: none, a bar (terminal), or lines (anything else)."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return Progress()
    if stream.isatty():
        return Bar(stream)
    return Lines(stream, f"modelplane {command}")
