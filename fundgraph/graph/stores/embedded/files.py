"""The on-disk layout of a built graph, written and read back without computing anything.

Layout of a graph directory::

    graph.json      node-link JSON of the MultiDiGraph
    vectors.npy     float32 direction vectors, rows in direction_ids order
    index.json      direction_ids, encoder_state, meta
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.home import reading

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
    """Read a graph directory written by :func:`save_built` (a damaged file raises StoreDamaged naming it)."""
    with reading(source / GRAPH_FILE), (source / GRAPH_FILE).open(encoding="utf-8") as fh:
        g = nx.node_link_graph(json.load(fh), directed=True, multigraph=True, edges="edges")
    # node-link JSON keeps the node key under "id" and drops the attribute of the same name: restore it.
    for n, d in g.nodes(data=True):
        d.setdefault("id", n)
    with reading(source / VECTORS_FILE):
        vectors = np.load(source / VECTORS_FILE, allow_pickle=False)
    with reading(source / INDEX_FILE), (source / INDEX_FILE).open(encoding="utf-8") as fh:
        index = json.load(fh)
        return BuiltGraph(graph=g, direction_ids=index["direction_ids"], vectors=vectors,
                          encoder_state=index["encoder_state"], meta=index["meta"])
