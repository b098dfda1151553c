"""A progress-reporting map over a fork pool (the machine has 2 cores).

The function and its tasks reach the workers by ``fork`` (module globals set just
before the pool starts), so closures over loaded audio and the classifier need no
pickling; results come back in task order. Every task seeds its own randomness,
so the pool changes nothing in the output. Without ``fork`` (or with TensorFlow
loaded, whose threads make forking unsafe) the map runs in this process.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence

_FN: Callable | None = None
_TASKS: Sequence | None = None
#: Below this many tasks a pool costs more than it saves.
MIN_TASKS = 32


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _call(i: int):
    return _FN(_TASKS[i])  # type: ignore[misc,index]


def pmap(fn: Callable, tasks: Sequence, *, jobs: int, advance: Callable[[], None] | None = None) -> list:
    """``[fn(t) for t in tasks]``, in ``jobs`` forked processes when that is possible and worth it."""
    global _FN, _TASKS
    tasks = list(tasks)
    forkable = "fork" in mp.get_all_start_methods() and "tensorflow" not in sys.modules
    if jobs <= 1 or len(tasks) < MIN_TASKS or not forkable:
        out = []
        for t in tasks:
            out.append(fn(t))
            if advance:
                advance()
        return out
    _FN, _TASKS = fn, tasks
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
            out = []
            for r in pool.map(_call, range(len(tasks)), chunksize=max(1, min(16, len(tasks) // (8 * jobs)))):
                out.append(r)
                if advance:
                    advance()
            return out
    finally:
        _FN, _TASKS = None, None


__all__ = ["default_jobs", "pmap"]
