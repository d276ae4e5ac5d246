"""How many worker processes a job over many items gets, and the shares it is split into.

Workers are forked (Linux), one per core, and only for jobs large enough to pay for starting
them; each worker takes a few shares in turn, so a slow share does not hold up the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TypeVar

PARALLEL_FROM = 256  # fewer pairs render (or are judged) faster than worker processes start
SHARES_PER_WORKER = 4  # more shares: finer progress; fewer: fewer helm processes and requests

T = TypeVar("T")


def workers(pairs: int) -> int:
    """Worker processes for `pairs` (model, environment) pairs: one per core, or none."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if pairs < PARALLEL_FROM or cores < 2 or sys.platform != "linux":
        return 0
    return cores


def split(items: Sequence[T], pairs: int) -> tuple[list[list[T]], int]:
    """`items` (models, whose pairs number `pairs`) in shares, and the workers to take them."""
    count = workers(pairs)
    shares = count * SHARES_PER_WORKER or 1
    size = max(1, -(-len(items) // shares))
    return [list(items[i : i + size]) for i in range(0, len(items), size)], count
