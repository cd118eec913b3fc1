"""The embedded default store: the graph as memory-mapped columns in ``home/current`` (see :mod:`.columns`).

``replace`` writes a complete new directory beside ``current`` and switches the ``current`` symlink to it in one
atomic step, so a failed or killed build never leaves a half-written graph nor none (see :mod:`.home`: the
manifest, the build lock, start-up recovery). A graph is verified against its manifest before it is read; a
running store that finds a damaged new graph keeps serving the one it has.

The store owns the :class:`GraphQueries` of the graph it serves, and only that one: reading another graph (after
a ``replace``, or after another process rebuilt ``home``) drops the old graph and its indexes together.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundgraph.core.errors import FundgraphError, GraphNotBuilt, StoreDamaged
from fundgraph.graph.read import models
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.embedded import home as safety
from fundgraph.graph.stores.embedded.files import CSR_FILES, INDEX_FILE, VECTORS_FILE, read_built, save_built
from fundgraph.graph.stores.embedded.queries import GraphQueries

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings

logger = logging.getLogger(__name__)


class EmbeddedStore(GraphStore):
    """The graph's columns persisted on disk; reads served from them (opened lazily, reopened on change)."""

    backend = "embedded"
    in_memory = True

    def __init__(self, home: Path, *, build_lock_wait: float = 5.0, **_: Any) -> None:
        self.home = Path(home)
        self.current = self.home / safety.CURRENT
        self._stamp_paths = tuple(str(self.current / name) for name in (safety.MANIFEST_FILE, INDEX_FILE))
        self._lock = threading.Lock()
        #: (file stamp, generation, queries) of the graph being served; replaced as a whole.
        self._current: tuple[tuple[int, ...], int, GraphQueries] | None = None
        self._generation = 0
        #: The stamp of a graph found damaged, and why (checked once, not on every request).
        self._damaged: tuple[tuple[int, ...], StoreDamaged] | None = None
        self._build_lock = safety.BuildLock(self.home, wait=build_lock_wait)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> EmbeddedStore:
        """The store at ``settings.home``."""
        return cls(settings.home, build_lock_wait=settings.build_lock_wait, **kwargs)

    # -- writing -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Check the home is writable and hold its build lock (one build at a time), before any work starts."""
        if self._build_lock.held:
            yield
            return
        safety.check_writable(self.home)
        self._build_lock.acquire()
        try:
            safety.fault_point("locked")
            safety.recover(self.home, self._build_lock)
            yield
        finally:
            self._build_lock.release()

    def replace(self, built: BuiltGraph) -> None:
        """Write the new graph beside the current one, then switch ``current`` to it atomically."""
        with self.writing():
            try:
                safety.install(self.home, lambda target: save_built(built, target))
            except OSError as e:
                raise FundgraphError(f"could not write the graph to {self.home}: {e}") from e
        with self._lock:
            self._current = None  # the old graph goes now, not at the next read

    # -- reading -----------------------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, ...]:
        """Identity of the stored graph: its manifest (written last, never rewritten), or its index file."""
        for path in self._stamp_paths:  # os.stat of a str: every request checks, pathlib's stat costs more
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        if safety.recover(self.home):  # a build died and left no `current`: relink the last complete graph
            return self._file_stamp()
        if safety.current_target(self.home) is not None:
            raise StoreDamaged(self.current, f"holds neither {safety.MANIFEST_FILE} nor {INDEX_FILE}")
        raise GraphNotBuilt(f"no graph in {self.home}: run `fundgraph build` first")

    def _read(self) -> BuiltGraph:
        """Read the graph ``current`` names (verified against its manifest by the caller) and check its shapes."""
        source = safety.current_target(self.home) or self.current
        if not safety.has_manifest(source):
            logger.warning("%s has no %s (written by an older fundgraph): checking shapes and keys only; "
                           "rebuild to add checksums", source, safety.MANIFEST_FILE)
        built = read_built(source)
        rows_file = CSR_FILES["indptr"] if (source / CSR_FILES["indptr"]).exists() else VECTORS_FILE
        safety.check_shapes(source, built, vectors_file=rows_file, index_file=INDEX_FILE)
        return built

    def _serving(self) -> tuple[tuple[int, ...], int, GraphQueries]:
        """The graph being served: read on first use, and again when it changed on disk.

        A new graph found damaged is not served: the previous one stays (and a warning says why); with no
        previous one, every read raises StoreDamaged (503 ``store_damaged``) until a good graph appears.
        """
        stamp = self._file_stamp()
        current = self._current
        if current is not None and current[0] == stamp:
            return current
        with self._lock:
            current = self._current
            if current is not None and current[0] == stamp:
                return current
            damaged = self._damaged
            source = safety.current_target(self.home) or self.current
            first = current is None and (damaged is None or damaged[0] != stamp)
            if first and safety.has_manifest(source):
                return self._first_read(stamp, source)
            if damaged is None or damaged[0] != stamp:
                try:
                    if safety.has_manifest(source):
                        safety.verify(source)  # before letting the served graph go
                    damaged = None
                except StoreDamaged as e:
                    damaged = self._damaged = (stamp, e)
                    if current is not None:
                        logger.warning("not switching to the new graph: %s; still serving the previous one",
                                       e.message)
            if damaged is not None:
                if current is not None:
                    return current
                raise damaged[1]
            self._current = current = None  # let the old graph go before reading the new one
            try:
                built = self._read()
            except StoreDamaged as e:
                self._damaged = (stamp, e)
                raise
            return self._serve(stamp, built)

    def _first_read(self, stamp: tuple[int, ...], source: Path) -> tuple[tuple[int, ...], int, GraphQueries]:
        """The first graph of this process: checksums verified while the graph is read (called under the lock).

        Hashing releases the GIL, so on two cores the SHA-256 of every file (~2.5 s for 1 GB) overlaps reading
        the columns and making the indexes, instead of adding to the start-up; nothing is served before both end.
        """
        try:
            built, queries = self._read_verified(source, lambda b: GraphQueries(b, backend=self.backend))
        except StoreDamaged as e:
            self._damaged = (stamp, e)
            raise
        return self._serve(stamp, built, queries)

    def _read_verified(self, source: Path, then: Callable[[BuiltGraph], Any] | None = None, *,
                       sizes_only: tuple[str, ...] = ()) -> tuple[BuiltGraph, Any]:
        """:meth:`_read` (and ``then`` of its result) while a thread verifies the checksums of ``source``.

        A damaged file raises StoreDamaged; the manifest's finding, which names the file, wins over the reader's.
        ``sizes_only``: files checked for their size only (see :meth:`load_for_update`).
        """
        failure: list[StoreDamaged] = []

        def check() -> None:
            try:
                safety.verify_awaiting(source, sizes_only=sizes_only)
            except StoreDamaged as e:
                failure.append(e)

        checker = threading.Thread(target=check, name="fundgraph-verify", daemon=True)
        checker.start()
        try:
            built = self._read()
            made = then(built) if then is not None else None
        except StoreDamaged as e:
            checker.join()
            raise (failure[0] if failure else e) from None
        finally:
            checker.join()
        if failure:
            raise failure[0]
        return built, made

    def _serve(self, stamp: tuple[int, ...], built: BuiltGraph,
               queries: GraphQueries | None = None) -> tuple[tuple[int, ...], int, GraphQueries]:
        """Make ``built`` the graph served (called under the lock)."""
        self._damaged = None
        self._generation += 1
        queries = queries if queries is not None else GraphQueries(built, backend=self.backend)
        self._current = current = (stamp, self._generation, queries)
        gc.unfreeze()  # the previous graph's objects back under the collector, to be freed
        if self._generation > 1:  # a previous graph's memory to give back (the first read: 0.4 s for nothing)
            _return_free_memory()
        # The graph's millions of long-lived objects out of the collector's scans: a full collection walked them
        # all, a 30–200 ms pause in the p99 of requests at 100,000 directions.
        gc.freeze()
        return current

    def check(self) -> None:
        """Raise GraphNotBuilt or StoreDamaged as a read would: every file there and of its size (nothing read).

        The checksums are left to the first read, which hashes in a thread while it reads (:meth:`_first_read`):
        hashed here too, ``fundgraph serve`` hashed 1.2 GB twice before its first answer at 100,000 directions.
        """
        self._file_stamp()
        source = safety.current_target(self.home) or self.current
        if safety.has_manifest(source):
            safety.verify(source, checksums=False)

    def prepare(self) -> None:
        """Start verifying the checksums of the graph ``current`` names, for the first read (``fundgraph serve``)."""
        source = safety.current_target(self.home)
        if source is not None and safety.has_manifest(source):
            safety.verify_ahead(source)

    def load(self) -> BuiltGraph:
        """The stored graph, read on first use and again when it changed on disk."""
        return self._serving()[2].built

    def load_for_update(self) -> BuiltGraph:
        """The stored graph verified against its manifest, read without the serving indexes (``fundgraph add``).

        At 100,000 directions the indexes (:class:`GraphQueries`) took 8.8 s of the 10.5 s ``load``; an addition
        reads the columns. The checksums are verified while the graph is read, as at a server's first read, except
        those of the files an addition carries over by hard link (the property and brief blobs and ``directions.json``;
        their manifest entries with them: the next full verification still finds damage there). The transposes
        are hashed: the addition writes its new rows into a copy of the text vectors' one (190 MB at 100,000
        directions, ~0.2 s of the verifying thread), and a damaged byte would otherwise be written under a new,
        matching checksum.
        """
        from fundgraph.graph.stores.embedded.columns import BLOBS, BRIEFS, DIRECTIONS_FILE

        self._file_stamp()
        source = safety.current_target(self.home) or self.current
        if not safety.has_manifest(source):
            return self._read()
        carried = (DIRECTIONS_FILE, *(f"{n}.npy" for n in (*BLOBS, BRIEFS)))
        return self._read_verified(source, sizes_only=carried)[0]

    def queries(self) -> GraphQueries:
        """The queries (and indexes) of the graph :meth:`load` gives (every read goes through ``load``)."""
        built = self.load()
        current = self._current
        if current is not None and current[2].built is built:
            return current[2]
        return self._serving()[2]

    def version(self) -> int:
        """A number that changes each time another graph is read (answers may be cached until then)."""
        return self._serving()[1]

    def warm(self) -> None:
        """Tidy what a dead build left, read the graph and compute its indexes and rankings now (start-up)."""
        safety.recover(self.home)
        self.queries().warm()

    def health(self) -> models.Health:  # noqa: D102
        return self.queries().health()

    def programs(self) -> list[models.ProgramSummary]:  # noqa: D102
        return self.queries().programs()

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:  # noqa: D102
        return self.queries().directions(filters, limit, offset)

    def direction(self, direction_id: str) -> models.DirectionDetail:  # noqa: D102
        return self.queries().direction(direction_id)

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:  # noqa: D102
        return self.queries().similar(direction_id, k, scope)

    def similar_json(self, direction_id: str, k: int, scope: str) -> bytes:  # noqa: D102
        return self.queries().similar_json(direction_id, k, scope)

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:  # noqa: D102
        return self.queries().search(text, k, programs)

    def cached_search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults | None:
        """The answer :meth:`search` gave to the same request on this graph, when it is still kept (else None)."""
        return self.queries().cached_search(text, k, programs)

    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:  # noqa: D102
        return self.queries().entities(entity_type, q)

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:  # noqa: D102
        return self.queries().entity(entity_type, entity_id)

    def overlaps(self, a: str, b: str) -> models.Overlap:  # noqa: D102
        return self.queries().overlaps(a, b)

    def matrix(self, by: str) -> models.Matrix:  # noqa: D102
        return self.queries().matrix(by)

    def matrix_json(self, by: str) -> bytes:  # noqa: D102
        return self.queries().matrix_json(by)

    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:  # noqa: D102
        return self.queries().neighborhood(node, depth, limit)


def _return_free_memory() -> None:
    """Give the memory the previous graph held back to the OS (glibc keeps freed blocks in its arenas otherwise).

    The API also caps glibc's arenas (``api/app.py``); see tests/reliability/test_reload_under_load.py.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to do
        return
    gc.collect()
    libc.malloc_trim(0)
