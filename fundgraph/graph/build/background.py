"""One build step run in a forked process while the build's own process goes on with another.

After parsing, the build runs on one core; where two steps do not depend on each other (the ranking's second
half, the lineage of series editions, Louvain over the similarity graph), the second core can take one. The step
runs in a process forked from the build (it reads the build's objects as they are, nothing is pickled to it) and only
its result comes back pickled, so it should be small (lists of ids, not graphs).

The forked process ends as soon as its result is sent: a thread of the build's process receives it meanwhile.
A fork shares the build's pages until one side writes to them, and the build's process goes on writing (adding
edges, reference counts, its allocator's reuse of freed blocks): every page it writes while the fork lives is
then held twice. A pool's worker waiting to be asked for its result kept its step's pages and gathered those
copies; at 100,000 directions lineage's worker grew from 0.2 to 1.6 GB private this way after its step was done.

A step that runs long beside a build writing to most of its pages is better started ``fresh``: a new
interpreter (``python -m`` this module) that receives the step pickled, so it should be a module-level function
with small arguments (``functools.partial``). It shares nothing with the build, so it holds only what it reads
and makes. Not multiprocessing's spawn: that runs the caller's main script again in the new interpreter, all of
it where the script does not guard its top level (a user's script calling the build would parse its corpus
twice, and then fail).

Where fork is not available (a forked step), a fresh interpreter cannot be started or be given the step (a fresh
one), or the build is told to use one process, the step runs inline when its result is asked for: the output is the
same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: What a fresh process runs (``python -m``): this module, :func:`_receive_and_run`.
_MODULE = "fundgraph.graph.build.background"


def _run_and_send(step: Callable[[], Any], conn: Connection) -> None:
    """The step's process (forked or fresh): its result (or its error) pickled into ``conn``, then the process ends."""
    try:
        payload = pickle.dumps((True, step()), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as err:  # handed to the build's process, which raises it
        try:
            payload = pickle.dumps((False, err), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an error that does not pickle: its text
            payload = pickle.dumps((False, RuntimeError(f"{type(err).__name__}: {err}")))
    conn.send_bytes(payload)
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # not the interpreter's teardown of everything the step made: its result is sent


def _receive_and_run(job_fd: int, result_fd: int) -> None:
    """The fresh process: the step read from ``job_fd`` (sent by the build's thread once this runs), then run."""
    jobs, results = Connection(job_fd, writable=False), Connection(result_fd, readable=False)
    try:
        step = pickle.loads(jobs.recv_bytes())
    except Exception:  # the build is gone, or the step does not load here: the build runs it itself
        os._exit(1)
    jobs.close()
    _run_and_send(step, results)


class Background(Generic[T]):
    """``step()`` started now in another process (``parallel``), its result taken with :meth:`result`.

    Used as ``job = Background(step, parallel=True)`` … other work … ``value = job.result()``. ``fresh``: in a
    new interpreter, ``step`` pickled to it, rather than a fork of this process.
    """

    def __init__(self, step: Callable[[], T], *, parallel: bool, fresh: bool = False) -> None:
        self._step: Callable[[], T] | None = step
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._payload: bytes | None = None
        if not parallel or not (fresh or "fork" in multiprocessing.get_all_start_methods()):
            return
        job: bytes | None = None
        send: Connection | None = None
        if fresh:
            # Given through a pipe once the new interpreter runs: handed over at start, the build would wait for it
            # to import what unpickling the step needs (~1.5 s).
            try:
                job = pickle.dumps(step, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a step that does not pickle (a lambda, say) runs here when asked for
                return
            job_in, job_out = os.pipe()
            result_in, result_out = os.pipe()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # this one's imports
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", _MODULE, str(job_in), str(result_out)], pass_fds=(job_in, result_out),
                    env=env, stdin=subprocess.DEVNULL)
            except OSError:  # no interpreter to start: the step runs here when asked for
                for fd in (job_in, job_out, result_in, result_out):
                    os.close(fd)
                return
            os.close(job_in)
            os.close(result_out)  # the reader sees end-of-file if the child dies without sending
            send, receive = Connection(job_out, readable=False), Connection(result_in, writable=False)
        else:
            context = multiprocessing.get_context("fork")
            receive, theirs = context.Pipe(duplex=False)
            self._process = context.Process(target=_run_and_send, args=(step, theirs), name="fundgraph-step")
            self._process.start()  # forked here: the step is not pickled
            theirs.close()  # the reader sees end-of-file if the child dies without sending
        self._reader = threading.Thread(target=self._exchange, args=(send, receive, [job]), daemon=True)
        self._reader.start()

    def _exchange(self, send: Connection | None, receive: Connection, box: list[bytes | None]) -> None:
        """The thread: the step sent to a fresh process, then the result received as soon as it comes."""
        try:
            job = box.pop()  # the only reference once taken: freed when sent (the thread's args live on)
            if send is not None and job is not None:
                send.send_bytes(job)
                send.close()
            del job
            self._payload = receive.recv_bytes()
        except (EOFError, OSError):  # the child died before sending (killed for memory, say)
            self._payload = None
        finally:
            receive.close()
            if send is not None and not send.closed:
                send.close()

    def ready(self) -> bool:
        """Whether :meth:`result` answers without waiting for another process (its result is in, or it runs here)."""
        return self._reader is None or not self._reader.is_alive()

    def result(self) -> T:
        """The step's result (computed here if it was not started in the background, or its process died)."""
        step = self._step
        assert step is not None, "result() is taken once"
        self._step = None
        if self._process is None:
            return step()
        assert self._reader is not None
        self._reader.join()
        if isinstance(self._process, subprocess.Popen):
            self._process.wait()
        else:
            self._process.join()
        payload, self._payload, self._process = self._payload, None, None
        if payload is None:  # the same step, here
            return step()
        ok, value = pickle.loads(payload)
        if not ok:
            raise value
        return value


class InTurn(Generic[T]):
    """Steps run one after another, each in a forked process of its own (``parallel``), their results in order.

    A fork's private memory grows with the work it does (every page it writes, free blocks of the shared heap
    included, is copied) and with the pages the build writes while it lives (their old copies stay with it), so a
    long step cut into short parts holds little at any time. The next part is started by the build's own process
    when it calls :meth:`poll` (at points of its own work where forking is safe: no thread of it is inside a
    step); a process that waited for the parts and started them itself grew to ~0.85 GB at 100,000 directions,
    holding what the build wrote meanwhile. Without ``parallel`` the steps run in :meth:`results`; without fork,
    each runs in this process where it would have been started.
    """

    def __init__(self, steps: Sequence[Callable[[], T]], *, parallel: bool) -> None:
        self._todo = list(reversed(steps))
        self._done: list[T] = []
        self._job: Background[T] | None = None
        self._parallel = parallel
        self.poll()

    def poll(self) -> None:
        """Take the running part's result if it is in, and start the next part when none is running."""
        if not self._parallel:
            return
        if self._job is not None and self._job.ready():
            self._done.append(self._job.result())
            self._job = None
        if self._job is None and self._todo:
            self._job = Background(self._todo.pop(), parallel=True)

    def results(self) -> list[T]:
        """Every step's result, in the steps' order (waiting for the parts still to run, one after another)."""
        while self._job is not None or self._todo:
            if self._job is None:
                self._job = Background(self._todo.pop(), parallel=self._parallel)
            self._done.append(self._job.result())
            self._job = None
        return self._done


def can_fork(workers: int) -> bool:
    """Whether a build allowed ``workers`` processes (0: one per core) may run a step beside its own."""
    return (workers or os.cpu_count() or 1) > 1


if __name__ == "__main__":  # a fresh process of Background(fresh=True)
    _receive_and_run(int(sys.argv[1]), int(sys.argv[2]))
