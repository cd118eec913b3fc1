"""The embedded default store: the graph as networkx, persisted on disk in one directory.

Layout of ``home``::

    home/current/graph.json      node-link JSON of the MultiDiGraph
    home/current/vectors.npy     float32 direction vectors, rows in direction_ids order
    home/current/index.json      direction_ids, encoder_state, meta

``replace`` writes a complete new directory beside ``current`` and swaps it in with renames, so a
failed or interrupted build never leaves a half-written graph: the previous one stays until the new
one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from fundgraph.core.errors import FundgraphError, GraphNotBuilt
from fundgraph.graph.read import models
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.embedded.queries import GraphQueries, queries_for

GRAPH_FILE = "graph.json"
VECTORS_FILE = "vectors.npy"
INDEX_FILE = "index.json"


def _write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))


def save_built(built: BuiltGraph, target: Path) -> None:
    """Write ``built`` into the (new, empty) directory ``target``."""
    target.mkdir(parents=True, exist_ok=False)
    _write_json(target / GRAPH_FILE, nx.node_link_data(built.graph, edges="edges"))
    np.save(target / VECTORS_FILE, np.asarray(built.vectors, dtype=np.float32), allow_pickle=False)
    _write_json(target / INDEX_FILE, {
        "direction_ids": built.direction_ids,
        "encoder_state": built.encoder_state,
        "meta": built.meta,
    })


def read_built(source: Path) -> BuiltGraph:
    """Read a graph directory written by :func:`save_built`."""
    with (source / GRAPH_FILE).open(encoding="utf-8") as fh:
        g = nx.node_link_graph(json.load(fh), directed=True, multigraph=True, edges="edges")
    # node-link JSON keeps the node key under "id" and drops the attribute of the same name: restore it.
    for n, d in g.nodes(data=True):
        d.setdefault("id", n)
    vectors = np.load(source / VECTORS_FILE, allow_pickle=False)
    with (source / INDEX_FILE).open(encoding="utf-8") as fh:
        index = json.load(fh)
    return BuiltGraph(graph=g, direction_ids=index["direction_ids"], vectors=vectors,
                      encoder_state=index["encoder_state"], meta=index["meta"])


class EmbeddedStore(GraphStore):
    """networkx graph persisted on disk; reads are served from memory (loaded lazily, reloaded on change)."""

    backend = "embedded"

    def __init__(self, home: Path, **_: Any) -> None:
        self.home = Path(home)
        self.current = self.home / "current"
        self._lock = threading.Lock()
        self._cached: BuiltGraph | None = None
        self._cached_mtime: float | None = None
        self._queries: Any = None

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
            self._cached = None

    # -- reading -----------------------------------------------------------------------------------------
    def load(self) -> BuiltGraph:
        """The stored graph, cached in memory and reloaded when the directory changes."""
        index = self.current / INDEX_FILE
        if not index.exists():
            raise GraphNotBuilt(f"no graph in {self.home}: run `fundgraph build` first")
        mtime = index.stat().st_mtime
        with self._lock:
            if self._cached is None or self._cached_mtime != mtime:
                self._cached = read_built(self.current)
                self._cached_mtime = mtime
                self._queries = None
            return self._cached

    def health(self) -> models.Health:
        """Backend, counts, build time."""
        b = self.load()
        return models.Health(backend=self.backend, node_count=b.graph.number_of_nodes(),
                            edge_count=b.graph.number_of_edges(), built_at=b.meta.get("built_at"),
                            encoder=b.meta.get("encoder"))

    # The query methods delegate to graph/queries.py over the in-memory graph; its indexes are built once
    # per loaded graph (and rebuilt when `load` reads a new one).
    def queries(self) -> GraphQueries:
        """The precomputed queries of the currently stored graph."""
        return queries_for(self.load(), backend=self.backend)

    def programs(self) -> list[models.ProgramSummary]:  # noqa: D102
        return self.queries().programs()

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:  # noqa: D102
        return self.queries().directions(filters, limit, offset)

    def direction(self, direction_id: str) -> models.DirectionDetail:  # noqa: D102
        return self.queries().direction(direction_id)

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:  # noqa: D102
        return self.queries().similar(direction_id, k, scope)

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SimilarList:  # noqa: D102
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
