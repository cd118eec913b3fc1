"""A bounded queue for expensive requests (searches): few at a time, a few waiting, the rest told to come back.

Encoding a search text is CPU-bound Python (tokenising, a model): two of them already use both cores, and every
request beyond that only waits, holding a connection, while cheap requests (served from memory on the event
loop) compete with them for the GIL. So at most ``workers`` run at once, at most ``waiting`` more wait, and the
next one is answered 503 ``overloaded`` with ``Retry-After`` at once. A request that has not been answered after
``timeout`` seconds (waiting and running) is answered 503 too; its computation, which a thread cannot be made to
stop, still counts against the queue until it ends, so the work in progress stays bounded whatever happens.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from fundgraph.core.errors import Overloaded

T = TypeVar("T")


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

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, within the queue's bounds.

        Raises:
            Overloaded: the queue is full, or the call did not finish within ``timeout`` seconds.
        """
        with self._count:
            if self._admitted >= self.capacity:
                raise Overloaded(f"too many {self.what} requests in progress ({self._admitted}): retry shortly",
                                 retry_after=self._retry_after(), detail={"in_progress": self._admitted})
            self._admitted += 1
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
                with self._count:
                    self._admitted -= 1

        done: tuple[bool, Any] | None = None
        with anyio.move_on_after(self.timeout + 0.05):
            done = await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
        if done is None or not done[0]:
            raise Overloaded(f"the {self.what} did not finish within {self.timeout:g} s (the server is busy): "
                             "retry shortly, or send a shorter text", retry_after=self._retry_after(),
                             detail={"timeout_s": self.timeout})
        return done[1]
