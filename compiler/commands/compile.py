"""`modelplane compile` (being written)."""

from __future__ import annotations

import argparse

from compiler.problems import ModelplaneError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise ModelplaneError("compile is not available yet")
