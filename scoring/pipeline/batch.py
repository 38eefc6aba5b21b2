"""Many bundles at once: a function mapped over items on every core, in order, with a progress line on a
terminal (none when standard error is not one). The function must be a module-level one taking and
returning plain, picklable data, or a functools.partial of one: what every item shares (a map of
reviews, a rubric's path) goes in the partial, which is sent once per chunk of items, not per item."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
CHUNK = 50  # items per job sent to a worker, at most


def run(func: Callable[[T], R], items: Sequence[T], what: str = "评分", serial_below: int = 2) -> list[R]:
    """`serial_below`: fewer items than this run in this process, because starting the workers (a fresh
    interpreter each, importing the package) would cost more than the items themselves."""
    workers = min(len(items), os.cpu_count() or 1)
    show = sys.stderr.isatty()
    results: list[R] = []
    if workers <= 1 or len(items) < serial_below:
        for item in items:
            results.append(func(item))
            _progress(show, what, len(results), len(items))
        return results
    # forkserver: workers start from a clean process, not a copy of a possibly threaded parent.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                             initializer=_worker) as pool:
        # Chunks small enough that neither core waits long for the other at the end.
        for result in pool.map(func, items, chunksize=max(1, min(CHUNK, len(items) // (workers * 8)))):
            results.append(result)
            _progress(show, what, len(results), len(items))
    return results


def _worker() -> None:
    """A worker keeps its modules (and, once loaded, a rubric) and makes many short-lived objects per
    bundle: collect the young generation less often and never scan what was there at the start."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _progress(show: bool, what: str, done: int, total: int) -> None:
    if show:
        end = "\n" if done == total else ""
        print(f"\r{what}：{done}/{total}", end=end, file=sys.stderr, flush=True)
