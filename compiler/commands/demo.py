"""`modelplane demo` (being written)."""

from __future__ import annotations

import argparse

from compiler.problems import ModelplaneError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise ModelplaneError("demo is not available yet")
