"""The storage interface (:class:`GraphStore`) and what a store persists (:class:`BuiltGraph`).

Two implementations, each in its own package: :mod:`fundgraph.graph.stores.embedded` (networkx on disk, the
default) and :mod:`fundgraph.graph.stores.neo4j`. :func:`fundgraph.graph.stores.factory.open_store` picks one
from the settings; this module imports neither.
"""

from __future__ import annotations

import gzip
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pydantic_core

from fundgraph.graph.read import models

if TYPE_CHECKING:
    import networkx as nx

    from fundgraph.core.settings import Settings


class GzipJSON(bytes):
    """JSON bytes a store keeps gzip-compressed (an answer written whole at load, such as Neo4j's ``fg_nb``).

    A ``<query>_json`` called with ``gzip=True`` (:attr:`GraphStore.gzip_answers`) may return one: the API sends it
    as it is, with ``Content-Encoding: gzip``, to a client that accepts gzip, and :meth:`json` to one that does not.
    """

    def json(self) -> bytes:
        """The JSON bytes."""
        return gzip.decompress(self)


@dataclass
class BuiltGraph:
    """What the build pipeline produces and a store persists.

    Attributes:
        graph: nodes and edges (see :mod:`graph.model`).
        direction_ids: row order of ``vectors``.
        vectors: L2-normalised direction vectors, shape (n_directions, dim), float32.
        encoder_state: what the encoder needs to encode a query later (name, fitted vocabulary…), JSON-able.
        meta: built_at (ISO), encoder, counts, timings.
        words: each direction's word TF-IDF row (rows in ``direction_ids`` order; the word mix's,
            :mod:`fundgraph.embeddings.words`), or None for a build that keeps none.
        pools: each direction's first-pass best across programs, the list the word mix re-orders: their rows
            (int32, -1 past a short list), scores (float64) and mixed order (positions into the pool, int16), or
            None (``similar`` then ranks every direction).
    """

    graph: nx.MultiDiGraph
    direction_ids: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    encoder_state: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    words: Any = None
    pools: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class GraphStore(ABC):
    """The storage interface. Every method raises a :class:`fundgraph.core.errors.FundgraphError` subclass on failure.

    Ids are the stable ids of :mod:`fundgraph.graph.model`. Query results are the read models of
    :mod:`fundgraph.graph.read.models`; both stores must return equal results for the same graph.

    Attributes:
        backend: the name the settings select this store by (shown by ``health``).
        in_memory: True when queries are answered from memory in microseconds (the API then calls them on its
            event loop); False when they wait on I/O (the API runs them in a worker thread).
        gzip_answers: see below.
    """

    backend: str = "abstract"
    in_memory: bool = False
    #: Queries whose ``<query>_json`` takes ``gzip=True`` and may then return :class:`GzipJSON` (their answers vary
    #: with the request's ``Accept-Encoding``).
    gzip_answers: frozenset[str] = frozenset()

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> GraphStore:
        """Open the store the settings describe (the factory calls this)."""

    # -- writing -----------------------------------------------------------------------------------------
    @abstractmethod
    def replace(self, built: BuiltGraph) -> None:
        """Replace the stored graph by ``built``: all or nothing (a failure leaves the previous graph)."""

    @abstractmethod
    def load(self) -> BuiltGraph:
        """Read the whole stored graph back (raises GraphNotBuilt when there is none)."""

    def load_for_update(self) -> BuiltGraph:
        """The stored graph to change and write back with :meth:`replace` (no serving indexes needed)."""
        return self.load()

    # -- reading -----------------------------------------------------------------------------------------
    @abstractmethod
    def health(self) -> models.Health:
        """Backend, node and edge counts, build time."""

    @abstractmethod
    def programs(self) -> list[models.ProgramSummary]:
        """Every program, in manifest order."""

    @abstractmethod
    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching all given filters, in (program manifest order, ordinal) order."""

    @abstractmethod
    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction with its entities and evidence (raises DirectionNotFound)."""

    def direction_json(self, direction_id: str) -> bytes:
        """:meth:`direction` as the API answers it: its JSON bytes (what ``GET /api/directions/{id}`` sends).

        By default the read model serialised; the Neo4j store reads the bytes it wrote at load (``fg_detail``).
        """
        return pydantic_core.to_json(self.direction(direction_id))

    @abstractmethod
    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions over all candidates; scope is 'cross-program' or 'all'."""

    def similar_json(self, direction_id: str, k: int, scope: str) -> bytes:
        """:meth:`similar` as the API answers it: its JSON bytes (by default the read model serialised)."""
        return pydantic_core.to_json(self.similar(direction_id, k, scope))

    @abstractmethod
    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:
        """Directions ranked against free text (Chinese or English)."""

    @abstractmethod
    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:
        """Entities with the number of directions and programs citing each."""

    @abstractmethod
    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:
        """One entity and its directions grouped by program (raises EntityNotFound)."""

    @abstractmethod
    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities two programs share, with directions on each side, and their similar pairs."""

    @abstractmethod
    def matrix(self, by: str) -> models.Matrix:
        """Program × entity counts for one entity type."""

    @abstractmethod
    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes and edges within ``depth`` hops of ``node`` (at most ``limit`` nodes)."""

    def neighborhood_json(self, node: str, depth: int, limit: int) -> bytes:
        """:meth:`neighborhood` as the API answers it: its JSON bytes (what the API's ``GET`` route sends).

        By default the read model serialised; a store holding each node's answer as JSON (Neo4j's ``fg_view``)
        makes the bytes without building the models: a neighbourhood has ~1,000 edges.
        """
        return pydantic_core.to_json(self.neighborhood(node, depth, limit))

    def answers_json(self, query: str) -> bool:
        """Whether this store keeps the answers of its method ``query`` as JSON: it overrides ``<query>_json``.

        The API then sends those bytes; otherwise it serialises the read model (and reuses the bytes of a model
        the store hands out again, as the embedded store does).
        """
        own = getattr(type(self), f"{query}_json", None)
        return own is not None and own is not getattr(GraphStore, f"{query}_json", None)

    def answer_on_loop(self, query: str) -> Callable[..., Awaitable[bytes]] | None:
        """A coroutine function giving ``<query>_json``'s bytes on the running event loop, or None (the default).

        The API awaits it where there is one (no worker thread: the Neo4j store's async driver); otherwise it
        calls the store in a worker thread (or inline, for a store answering from memory).
        """
        return None

    async def close_loop(self) -> None:  # noqa: B027 - optional hook
        """Release what the store opened for the running event loop (the API calls it as it stops); else nothing."""

    # -- serving -----------------------------------------------------------------------------------------
    def version(self) -> Hashable | None:
        """A token of the graph being served that changes whenever another graph is served, or None.

        None (the default) means answers can change without this process noticing (a shared database), so
        they must not be cached. A token must be small: holding it must not keep a graph alive.
        """
        return None

    def warm(self) -> None:  # noqa: B027 - optional hook
        """Prepare to answer (load and index the graph) before the first request; by default nothing.

        A remote store is not contacted here: it may be down, and the API must still start and answer 503.
        """

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Start, in the background, what the first read of this process will need; by default nothing."""

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise the error a read would raise now (no graph, damaged, unreachable), cheaply; by default nothing."""

    def writing(self) -> AbstractContextManager[None]:
        """Hold what a build needs before it starts (the embedded store: a writable home, its build lock)."""
        return nullcontext()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
