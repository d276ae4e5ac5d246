"""How many worker processes a job over many items gets, and the shares it is split into.

Workers are forked (Linux), one per core, and only for jobs large enough to pay for starting
them; each worker takes a few shares in turn, so a slow share does not hold up the end.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TypeVar

PARALLEL_FROM = 256  # fewer pairs render (or are judged) faster than worker processes start
SHARES_PER_WORKER = 4  # more shares: finer progress; fewer: fewer helm processes and requests

T = TypeVar("T")
R = TypeVar("R")


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


def forked_map(function: Callable[[T], R], items: Iterable[T], count: int) -> Generator[R, None, None]:
    """`function` over `items`, results in order, in `count` forked worker processes that inherit
    all the caller holds (none: here). Leaving the iteration early (close it, as `contextlib.closing`
    does) cancels what has not started; no worker runs on once it has ended."""
    if not count:
        yield from map(function, items)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Frozen, the collector neither scans what the workers inherit nor touches its pages (which
    # would copy every page into every worker).
    gc.freeze()
    # A worker that dies (killed, out of memory) breaks the pool: an error, never a hang.
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
    try:
        yield from pool.map(function, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
