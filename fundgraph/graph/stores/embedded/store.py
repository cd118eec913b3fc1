"""The embedded default store: the graph as networkx, persisted on disk in ``home/current`` (see :mod:`.files`).

``replace`` writes a complete new directory beside ``current`` and swaps it in with renames, so a failed or
interrupted build never leaves a half-written graph: the previous one stays until the new one is complete.

The store owns the :class:`GraphQueries` of the graph it serves, and only that one: reading another graph (after
a ``replace``, or after another process rebuilt ``home``) drops the old graph and its indexes together.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fundgraph.core.errors import FundgraphError, GraphNotBuilt
from fundgraph.graph.read import models
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.embedded.files import INDEX_FILE, read_built, save_built
from fundgraph.graph.stores.embedded.queries import GraphQueries

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings


class EmbeddedStore(GraphStore):
    """networkx graph persisted on disk; reads are served from memory (loaded lazily, reloaded on change)."""

    backend = "embedded"
    in_memory = True

    def __init__(self, home: Path, **_: Any) -> None:
        self.home = Path(home)
        self.current = self.home / "current"
        self._lock = threading.Lock()
        #: (file stamp, generation, queries) of the graph being served; replaced as a whole.
        self._current: tuple[tuple[int, int, int], int, GraphQueries] | None = None
        self._generation = 0

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> EmbeddedStore:
        """The store at ``settings.home``."""
        return cls(settings.home, **kwargs)

    # -- writing -----------------------------------------------------------------------------------------
    def replace(self, built: BuiltGraph) -> None:
        """Write the new graph beside the current one, then swap it in with two renames."""
        self.home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.home))
        try:
            save_built(built, staging / "g")
            old = self.home / f".old-{os.getpid()}"
            if self.current.exists():
                os.replace(self.current, old)
            os.replace(staging / "g", self.current)
            shutil.rmtree(old, ignore_errors=True)
        except OSError as e:
            raise FundgraphError(f"could not write the graph to {self.home}: {e}") from e
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        with self._lock:
            self._current = None  # the old graph goes now, not at the next read

    # -- reading -----------------------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int, int]:
        """Identity of the stored graph's index file (a rebuild writes a new file: new inode, new mtime)."""
        try:
            st = (self.current / INDEX_FILE).stat()
        except FileNotFoundError as e:
            raise GraphNotBuilt(f"no graph in {self.home}: run `fundgraph build` first") from e
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _serving(self) -> tuple[tuple[int, int, int], int, GraphQueries]:
        """The graph being served: read on first use, and again when it changed on disk."""
        stamp = self._file_stamp()
        current = self._current
        if current is not None and current[0] == stamp:
            return current
        with self._lock:
            current = self._current
            if current is None or current[0] != stamp:
                self._current = current = None  # let the old graph go before reading the new one
                self._generation += 1
                self._current = current = (stamp, self._generation,
                                           GraphQueries(read_built(self.current), backend=self.backend))
            return current

    def load(self) -> BuiltGraph:
        """The stored graph, read on first use and again when it changed on disk."""
        return self._serving()[2].built

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
        """Read the graph and compute its indexes and similarity rankings now, not on the first request."""
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

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:  # noqa: D102
        return self.queries().search(text, k, programs)

    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:  # noqa: D102
        return self.queries().entities(entity_type, q)

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:  # noqa: D102
        return self.queries().entity(entity_type, entity_id)

    def overlaps(self, a: str, b: str) -> models.Overlap:  # noqa: D102
        return self.queries().overlaps(a, b)

    def matrix(self, by: str) -> models.Matrix:  # noqa: D102
        return self.queries().matrix(by)

    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:  # noqa: D102
        return self.queries().neighborhood(node, depth, limit)
