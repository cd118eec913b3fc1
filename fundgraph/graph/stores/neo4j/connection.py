"""One driver and database, and how statements run on them: the only module that imports ``neo4j``.

Every statement is a catalog file (:func:`fundgraph.cypher.catalog.query`), run with its values as
``$parameters``. Driver errors that mean "the database cannot be reached" become :class:`BackendUnavailable`
(HTTP 503); the driver reconnects by itself on the next call once Neo4j is back.

A read written as a :data:`Plan` (a generator yielding its statements and sent their rows) runs either on the
sync driver (:meth:`Connection.plan`) or, awaited on the running event loop, on an async driver of that loop's
(:meth:`Connection.plan_on_loop`): the same statements, post-processing, retries and errors either way.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from fundgraph.core.errors import BackendUnavailable, FundgraphError, MissingDependency
from fundgraph.cypher.catalog import query

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings

try:
    import neo4j
    from neo4j import exceptions as neo4j_errors
except ImportError:  # pragma: no cover - exercised only without the extra
    neo4j = None
    neo4j_errors = None

T = TypeVar("T")
#: ``run(name, **params)``: the rows (as dicts) of the catalog statement ``name`` in the current transaction.
Run = Callable[..., list[dict[str, Any]]]
#: A read as data: yields ``(statement name, parameters)``, is sent that statement's rows, returns the answer.
Plan = Generator[tuple[str, dict[str, Any]], list[dict[str, Any]], T]
#: How long a read or write is retried on transient errors and lost connections (the driver's
#: ``max_transaction_retry_time`` for writes, this module's loop for reads): short, so that with Neo4j down a request
#: gets its 503 in seconds rather than after the driver's default 30 s.
RETRY_S = 2.0


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    e = neo4j_errors
    return (e.ServiceUnavailable, e.SessionExpired, e.AuthError, e.TransientError, e.DriverError, OSError)


class Connection:
    """A driver and the database the store lives in.

    Args:
        driver: an open ``neo4j.Driver``.
        database: database name.
        owns_driver: close the driver in :meth:`close` (True when :meth:`open` created it).
        on_unavailable: called before a statement's "Neo4j is unavailable" error is raised (the store then stops
            trusting what it remembers of the database).
        async_driver: opens a ``neo4j.AsyncDriver`` to the same database (:meth:`plan_on_loop`: one per event
            loop); None (a connection given only a driver): plans run on the sync driver only.
    """

    def __init__(self, driver: Any, database: str = "neo4j", *, owns_driver: bool = False,
                 on_unavailable: Callable[[], None] | None = None,
                 async_driver: Callable[[], Any] | None = None) -> None:
        self.driver = driver
        self.database = database
        self.owns_driver = owns_driver
        self.on_unavailable = on_unavailable
        self.async_driver = async_driver
        self._loop_drivers: dict[asyncio.AbstractEventLoop, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> Connection:
        """Connect with ``FUNDGRAPH_NEO4J_URI``/``_USER``/``_PASSWORD``/``_DATABASE``.

        Raises:
            MissingDependency: when the ``neo4j`` driver is not installed.
        """
        if neo4j is None:
            raise MissingDependency("neo4j", "neo4j", "The Neo4j store")
        auth = (settings.neo4j_user, settings.neo4j_password) if settings.neo4j_user else None
        # Short timeouts: with Neo4j down, a request should get its 503 in seconds, not after 30 s of retries.
        options = dict(
            auth=auth,
            connection_timeout=5.0,
            max_transaction_retry_time=RETRY_S,
            connection_acquisition_timeout=10.0,
            # No notifications: a statement naming a property no node has (title_en in a corpus without English
            # titles) made the driver log a warning with the whole statement on every request.
            notifications_min_severity="OFF",
        )
        driver = neo4j.GraphDatabase.driver(settings.neo4j_uri, **options)
        return cls(driver, settings.neo4j_database, owns_driver=True,
                   async_driver=lambda: neo4j.AsyncGraphDatabase.driver(settings.neo4j_uri, **options))

    def close(self) -> None:
        """Close the driver if this connection opened it, and forget the loops' drivers (see :meth:`close_loop`)."""
        if self.owns_driver:
            self.driver.close()
        with self._lock:
            self._loop_drivers.clear()

    @property
    def reads_on_loop(self) -> bool:
        """Whether :meth:`plan_on_loop` can run (a connection opened from settings; one given a driver cannot)."""
        return self.async_driver is not None

    def _failure(self, e: Exception) -> FundgraphError | None:
        """The FundgraphError a driver error stands for (None: ``e`` is not one, raise it as it is)."""
        if isinstance(e, FundgraphError):
            return None
        if isinstance(e, _unavailable_errors()):
            if self.on_unavailable is not None:
                self.on_unavailable()
            return BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"})
        if isinstance(e, neo4j_errors.Neo4jError):
            return FundgraphError(f"Neo4j error: {e}", detail={"backend": "neo4j", "code": e.code})
        return None

    def _guard(self, fn: Callable[[], T]) -> T:
        """``fn()``, with driver errors turned into FundgraphErrors."""
        try:
            return fn()
        except Exception as e:
            failure = self._failure(e)
            if failure is None:
                raise
            raise failure from e

    def plan(self, make: Callable[[], Plan[T]]) -> T:
        """The answer of the plan ``make()``, its statements auto-commit reads on the sync driver (:meth:`_read`)."""
        return self.transaction(lambda run: _follow(make(), run))

    async def plan_on_loop(self, make: Callable[[], Plan[T]]) -> T:
        """:meth:`plan`, its statements awaited on the running event loop's async driver (the API's: no thread).

        Retried as :meth:`_read` retries, and its errors are the same FundgraphErrors.
        """
        try:
            return await self._read_on_loop(make)
        except Exception as e:
            failure = self._failure(e)
            if failure is None:
                raise
            raise failure from e

    async def _read_on_loop(self, make: Callable[[], Plan[T]]) -> T:
        driver = self._loop_driver()
        retry = _Retry()
        while True:
            try:
                async with driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                    plan = make()
                    try:
                        name, params = next(plan)
                        while True:
                            result = await session.run(query(name), params)
                            keys = result.keys()
                            name, params = plan.send([dict(zip(keys, r, strict=True)) async for r in result])
                    except StopIteration as done:
                        return done.value
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as e:
                pause = retry.pause(e)
                if pause is None:
                    raise
                await asyncio.sleep(pause)

    def _loop_driver(self) -> Any:
        """The running event loop's async driver, opened on its first read (a driver's connections are its loop's).

        One per loop: a server has one, each test client its own. Drivers of loops closed since are forgotten.
        """
        loop = asyncio.get_running_loop()
        driver = self._loop_drivers.get(loop)
        if driver is None:
            if self.async_driver is None:
                raise RuntimeError("this connection was given a driver: it has no async driver to read on a loop")
            with self._lock:
                for closed in [other for other in self._loop_drivers if other.is_closed()]:
                    del self._loop_drivers[closed]
                driver = self._loop_drivers[loop] = self.async_driver()
        return driver

    async def close_loop(self) -> None:
        """Close the running event loop's async driver, if it has one (the API's app does as it stops)."""
        with self._lock:
            driver = self._loop_drivers.pop(asyncio.get_running_loop(), None)
        if driver is not None:
            await driver.close()

    def transaction(self, work: Callable[[Run], T], *, write: bool = False) -> T:
        """``work(run)``: writes as one managed transaction, reads as auto-commit statements; both retried.

        A managed read transaction costs a BEGIN and a COMMIT around its statements (one more round trip and
        ~0.5 ms of Neo4j CPU a request, a third of a direction detail's at 100,000 directions: see
        :meth:`_read`); Neo4j reads at read-committed isolation, so the statements of one read transaction never
        saw a snapshot either. Writes keep the driver's managed transaction (all of a batch or none).
        """
        if not write:
            return self._guard(lambda: self._read(work))

        def tx_fn(tx: Any) -> T:
            return work(lambda name, **params: _rows(tx.run(query(name), params)))

        def go() -> T:
            with self.driver.session(database=self.database) as session:
                return session.execute_write(tx_fn)

        return self._guard(go)

    def _read(self, work: Callable[[Run], T]) -> T:
        """``work(run)`` with each statement an auto-commit read, retried whole as the driver retries a transaction.

        The driver retries an auto-commit statement only in narrow cases, so this does what ``execute_read`` did:
        on a retryable error (a lost or stale pooled connection, Neo4j restarting, a transient error) it runs the
        whole ``work`` again after 1 s, 2 s, ... (±20%), until :data:`RETRY_S` has passed since the first failure;
        ``work`` only reads, and returns nothing before its last statement has been read in full.
        """
        retry = _Retry()
        while True:
            try:
                with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                    return work(lambda name, **params: _rows(session.run(query(name), params)))
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as e:
                pause = retry.pause(e)
                if pause is None:
                    raise
                time.sleep(pause)

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name``, read as an auto-commit statement (retried)."""
        return self.transaction(lambda run: run(name, **params))

    def write(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name`` in a write transaction (its own)."""
        return self.transaction(lambda run: run(name, **params), write=True)

    def auto(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name`` in an auto-commit transaction (schema and index statements)."""

        def go() -> list[dict[str, Any]]:
            with self.driver.session(database=self.database) as session:
                return session.run(query(name), params).data()

        return self._guard(go)


class _Retry:
    """When a read that failed runs again: after 1 s, 2 s, ... (±20%), until :data:`RETRY_S` since the first failure."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.delay = 1.0

    def pause(self, e: Any) -> float | None:
        """Seconds to wait before running the read again after ``e``, or None (raise it)."""
        if not e.is_retryable():
            return None
        now = time.monotonic()
        self.started = now if self.started is None else self.started
        if now - self.started > RETRY_S:
            return None
        pause, self.delay = self.delay * random.uniform(0.8, 1.2), self.delay * 2
        return pause


def _follow(plan: Plan[T], run: Run) -> T:
    """Run ``plan``'s statements with ``run``, each sent its rows, to its answer."""
    try:
        name, params = next(plan)
        while True:
            name, params = plan.send(run(name, **params))
    except StopIteration as done:
        return done.value


def _rows(result: Any) -> list[dict[str, Any]]:
    """A result's records as dicts of their values as the driver decoded them.

    Every catalog statement returns maps, lists and scalars, never nodes or relationships, so ``Record.data()``'s
    recursive export (which walks every list item in Python) has nothing to convert: it was most of the 191 s of
    reading the ranking inputs of 20,000 directions.
    """
    keys = result.keys()
    return [dict(zip(keys, r, strict=True)) for r in result]
