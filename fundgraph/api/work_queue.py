"""A bounded queue for expensive requests (searches): few at a time, a few waiting, the rest told to come back.

Encoding a search text is CPU-bound Python (tokenising, a model): two of them already use both cores, and every
request beyond that only waits, holding a connection, while cheap requests (served from memory on the event
loop) compete with them for the GIL. So at most ``workers`` run at once, at most ``waiting`` more wait, and the
next one is answered 503 ``overloaded`` with ``Retry-After`` at once. A request that has not been answered after
``timeout`` seconds (waiting and running) is answered 503 too; its computation, which a thread cannot be made to
stop, still counts against the queue until it ends, so the work in progress stays bounded whatever happens.

Threads share the GIL with the event loop, and a search holds it in long C calls (one regular-expression pass over
a 20,000-character text holds it ~185 ms), during which no cheap request is answered. So ``fundgraph serve`` runs
searches in worker processes (:class:`SearchProcesses`) that open the same store: cheap requests never wait
behind a search, at the cost of one more copy of the graph in memory. A dead worker is replaced; its request is
answered 503. A short text (:data:`INLINE_TEXT_CHARS`) over an in-memory store skips the queue and is searched on
the event loop, as an in-memory store's other queries are.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread

from fundgraph.core.errors import FundgraphError, Overloaded

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.read import models

logger = logging.getLogger(__name__)

T = TypeVar("T")


#: Texts up to this many characters are searched on the event loop (an in-memory store only); longer ones go
#: through the queue. Measured at 100,000 directions, one thread: 2.9 ms of CPU for 40 characters, 5.3 ms for 256,
#: 6.4 ms for 1,024; the 20,000 allowed hold the GIL for ~185 ms in one regular-expression pass.
INLINE_TEXT_CHARS = 256


class WorkQueue:
    """At most ``workers`` calls run in threads, at most ``waiting`` wait; the rest get :class:`Overloaded`.

    Args:
        what: what the calls are, for messages ("search").
        workers: calls running at once.
        waiting: calls admitted to wait for a worker.
        timeout: seconds a call may wait and run before its request is answered 503.
    """

    def __init__(self, what: str, workers: int = 1, waiting: int = 8, timeout: float = 5.0) -> None:
        self.what = what
        self.capacity = workers + waiting
        self.timeout = timeout
        self._workers = threading.BoundedSemaphore(workers)
        self._admitted = 0
        self._count = threading.Lock()

    @property
    def admitted(self) -> int:
        """Calls waiting or running (including those whose request already timed out)."""
        return self._admitted

    def _retry_after(self) -> int:
        return max(1, math.ceil(self.timeout))

    def admit(self) -> None:
        """Count one more call in progress.

        Raises:
            Overloaded: the queue is full.
        """
        with self._count:
            if self._admitted >= self.capacity:
                raise Overloaded(f"too many {self.what} requests in progress ({self._admitted}): retry shortly",
                                 retry_after=self._retry_after(), detail={"in_progress": self._admitted})
            self._admitted += 1

    def release(self) -> None:
        """One call fewer in progress (called when its computation ends, not when its request is answered)."""
        with self._count:
            self._admitted -= 1

    def too_slow(self) -> Overloaded:
        """The error of a call over its time."""
        return Overloaded(f"the {self.what} did not finish within {self.timeout:g} s (the server is busy): "
                          "retry shortly, or send a shorter text", retry_after=self._retry_after(),
                          detail={"timeout_s": self.timeout})

    async def search(self, store: Any, text: str, k: int, programs: list[str] | None) -> models.SimilarList:
        """``store.search`` in a worker thread of this queue (an answer the store has kept: at once, on the loop)."""
        kept = getattr(store, "cached_search", None)
        hit = kept(text, k, programs) if kept is not None else None
        if hit is not None:  # no thread hop: at 32 clients the hop's GIL hand-overs were most of its p99
            return hit
        if len(text) <= INLINE_TEXT_CHARS and getattr(store, "in_memory", False):
            # A short text costs what a live /similar ranking costs (2-5 ms at 100,000 directions), and like it
            # runs on the event loop: through a thread it cost 1.5 times the CPU at 32 clients (the GIL passed
            # back and forth with the loop), and its p99 was that queue.
            return store.search(text, k, programs)
        return await self.run(store.search, text, k, programs)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, within the queue's bounds.

        Raises:
            Overloaded: the queue is full, or the call did not finish within ``timeout`` seconds.
        """
        self.admit()
        deadline = time.monotonic() + self.timeout

        def job() -> tuple[bool, Any]:
            try:
                if not self._workers.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False, None
                try:
                    return True, fn(*args)
                finally:
                    self._workers.release()
            finally:
                self.release()

        done: tuple[bool, Any] | None = None
        with anyio.move_on_after(self.timeout + 0.05):
            done = await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
        if done is None or not done[0]:
            raise self.too_slow()
        return done[1]


# -- searches in worker processes ------------------------------------------------------------------------------
_worker_store: Any = None
_worker_registry: Any = None


def _open_worker_store(settings: Settings) -> None:
    """In a worker process: die with the server, open the store the settings select and load its graph.

    The worker works under the entity types of the settings' vocabulary directory, as the server's app does.
    """
    global _worker_store, _worker_registry
    with contextlib.suppress(OSError, AttributeError):  # Linux: SIGKILL when the server dies, however it dies
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    from fundgraph.core.schema import using_registry
    from fundgraph.graph.stores.factory import open_store
    from fundgraph.loaders.vocab import vocabulary_registry

    _worker_registry = vocabulary_registry(settings.vocab_dir)
    with using_registry(_worker_registry):
        _worker_store = open_store(settings)
        with contextlib.suppress(FundgraphError):  # no graph yet, or a damaged one: each search says so
            _worker_store.warm()


def _search_in_worker(text: str, k: int, programs: list[str] | None) -> models.SimilarList:
    from fundgraph.core.schema import using_registry

    with using_registry(_worker_registry):
        return _worker_store.search(text, k, programs)


class SearchProcesses:
    """Searches run by ``workers`` processes, each with its own copy of the store (re-read when it changes).

    Args:
        settings: the store to open (each process opens it as the server does).
        queue: the bounds (``waiting``, ``timeout``) the searches go through.
    """

    def __init__(self, settings: Settings, queue: WorkQueue, workers: int = 1) -> None:
        self.settings = settings
        self.queue = queue
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the processes (they load the graph in the background while the server starts answering)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_open_worker_store, initargs=(self.settings,))
                for _ in range(self.workers):  # spawn them now, not at the first search
                    self._pool.submit(time.sleep, 0)

    def close(self, *, wait: bool = True) -> None:
        """Stop the processes.

        Args:
            wait: wait for the pool's management thread and processes to end (the server's shutdown does: with
                ``wait=False`` the thread may still be closing its wake-up pipe when the interpreter exits, and
                Python 3.11's exit hook then writes to the closed pipe and prints a traceback). A broken pool being
                replaced is not waited for.
        """
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=True)
                self._pool = None

    async def search(self, store: Any, text: str, k: int, programs: list[str] | None) -> models.SimilarList:
        """The store's search (the same store, opened by the worker), in a worker process, within the bounds."""
        q = self.queue
        q.admit()
        try:
            self.start()
            future: Future = self._pool.submit(_search_in_worker, text, k, programs)
        except (BrokenProcessPool, RuntimeError):
            q.release()
            self._restart()
            raise Overloaded("the search worker is restarting: retry shortly", retry_after=q._retry_after()) from None
        future.add_done_callback(lambda _: q.release())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), q.timeout)
        except TimeoutError:
            raise q.too_slow() from None
        except BrokenProcessPool:
            logger.warning("a search worker process died: starting another")
            self._restart()
            raise Overloaded("the search worker stopped: retry shortly", retry_after=q._retry_after()) from None

    def _restart(self) -> None:
        self.close(wait=False)
        self.start()
