"""One driver and database, and how statements run on them: the only module that imports ``neo4j``.

Every statement is a catalog file (:func:`fundgraph.cypher.catalog.query`), run with its values as
``$parameters``. Driver errors that mean "the database cannot be reached" become :class:`BackendUnavailable`
(HTTP 503); the driver reconnects by itself on the next call once Neo4j is back.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """

    def __init__(self, driver: Any, database: str = "neo4j", *, owns_driver: bool = False,
                 on_unavailable: Callable[[], None] | None = None) -> None:
        self.driver = driver
        self.database = database
        self.owns_driver = owns_driver
        self.on_unavailable = on_unavailable

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
        driver = neo4j.GraphDatabase.driver(
            settings.neo4j_uri,
            auth=auth,
            connection_timeout=5.0,
            max_transaction_retry_time=2.0,
            connection_acquisition_timeout=10.0,
            # No notifications: a statement naming a property no node has (title_en in a corpus without English
            # titles) made the driver log a warning with the whole statement on every request.
            notifications_min_severity="OFF",
        )
        return cls(driver, settings.neo4j_database, owns_driver=True)

    def close(self) -> None:
        """Close the driver if this connection opened it."""
        if self.owns_driver:
            self.driver.close()

    def _guard(self, fn: Callable[[], T]) -> T:
        """``fn()``, with driver errors turned into FundgraphErrors."""
        try:
            return fn()
        except FundgraphError:
            raise
        except _unavailable_errors() as e:
            if self.on_unavailable is not None:
                self.on_unavailable()
            raise BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"}) from e
        except neo4j_errors.Neo4jError as e:
            raise FundgraphError(f"Neo4j error: {e}", detail={"backend": "neo4j", "code": e.code}) from e

    def transaction(self, work: Callable[[Run], T], *, write: bool = False) -> T:
        """``work(run)`` as one managed transaction (retried by the driver on transient errors)."""

        def tx_fn(tx: Any) -> T:
            return work(lambda name, **params: _rows(tx.run(query(name), params)))

        def go() -> T:
            with self.driver.session(database=self.database) as session:
                if write:
                    return session.execute_write(tx_fn)
                return session.execute_read(tx_fn)

        return self._guard(go)

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name`` in a read transaction."""
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


def _rows(result: Any) -> list[dict[str, Any]]:
    """A result's records as dicts of their values as the driver decoded them.

    Every catalog statement returns maps, lists and scalars, never nodes or relationships, so ``Record.data()``'s
    recursive export (which walks every list item in Python) has nothing to convert: it was most of the 191 s of
    reading the ranking inputs of 20,000 directions.
    """
    keys = result.keys()
    return [dict(zip(keys, r, strict=True)) for r in result]
