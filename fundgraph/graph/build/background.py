"""One build step run in a forked process while the build's own process goes on with another.

After parsing, the build runs on one core; where two steps do not depend on each other (Louvain over the
similarity graph and the lineage of series editions), the second core can take one. The step runs in a
process forked from the build (it reads the build's objects as they are, nothing is pickled to it) and only
its result comes back pickled, so it should be small (lists of ids, not graphs).

Where fork is not available, or the build is told to use one process, the step runs inline when its result
is asked for: the output is the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The step a forked worker runs (set just before the fork, which copies it: never pickled).
_STEP: Callable[[], Any] | None = None


def _run_step() -> Any:
    assert _STEP is not None
    return _STEP()


class Background(Generic[T]):
    """``step()`` started now in a forked process (``parallel``), its result taken with :meth:`result`.

    Used as ``job = Background(step, parallel=True)`` … other work … ``value = job.result()``.
    """

    def __init__(self, step: Callable[[], T], *, parallel: bool) -> None:
        global _STEP
        self._step: Callable[[], T] | None = step
        self._future: Future[T] | None = None
        self._pool: ProcessPoolExecutor | None = None
        if parallel and "fork" in multiprocessing.get_all_start_methods():
            _STEP = step
            try:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
                self._future = self._pool.submit(_run_step)  # the worker is forked here, with _STEP set
            finally:
                _STEP = None

    def result(self) -> T:
        """The step's result (computed here if it was not started in the background)."""
        if self._future is None:
            assert self._step is not None
            return self._step()
        try:
            return self._future.result()
        except BrokenProcessPool:  # the worker died (killed for memory, say): the same step, here
            assert self._step is not None
            return self._step()
        finally:
            assert self._pool is not None
            self._pool.shutdown()
            self._pool = self._future = self._step = None


def can_fork(workers: int) -> bool:
    """Whether a build allowed ``workers`` processes (0: one per core) may run a step beside its own."""
    return (workers or os.cpu_count() or 1) > 1
