"""The on-disk layout of a built graph, written and read back without computing anything.

Layout of a graph directory::

    nodes.json, edges.*.npy, …
                    the graph as columns (see :mod:`.columns`): opened memory-mapped, no networkx graph made
    vectors.data.npy, vectors.indices.npy, vectors.indptr.npy
                    the direction vectors as CSR arrays (float32, int32, int64), rows in direction_ids order;
                    or vectors.npy (dense float32 rows) for a dense encoder
    words.data.npy, words.indices.npy, words.indptr.npy
                    each direction's word TF-IDF row (the word mix's, CSR as the vectors), when the build kept them
    pools.rows.npy, pools.scores.npy, pools.order.npy
                    each direction's first-pass best 30 across programs (rows, scores) and their order once mixed:
                    ``similar`` re-scores the k it returns instead of ranking every direction
    index.json      direction_ids, encoder_state, meta, and the vectors' and words' form and shape

The vector arrays are opened memory-mapped (``mmap_mode="r"``): opening reads no vector, a query's product pages
in what it touches, and every process serving the same files shares one copy in the page cache. A directory
written before the vectors became sparse (a dense ``vectors.npy`` and no ``vectors`` entry) still opens, and so
does one written before the columns (a node-link ``graph.json``: read into networkx and made into columns in memory,
as slowly as before).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from fundgraph.core.memory import collector_paused
from fundgraph.embeddings import vectors as vx
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.columns import DIRECTIONS_FILE, NODES_FILE, Columns, columns_from_built
from fundgraph.graph.stores.embedded.home import reading

if TYPE_CHECKING:
    import networkx as nx

GRAPH_FILE = "graph.json"
VECTORS_FILE = "vectors.npy"
CSR_FILES = {"data": "vectors.data.npy", "indices": "vectors.indices.npy", "indptr": "vectors.indptr.npy"}
#: Written by ``fundgraph add`` until it wrote the vectors whole (still read): the values of the rows it appended,
#: after those of ``CSR_FILES`` (hard-linked from the graph it added to). Served, the two were concatenated in
#: memory (190 MB of the server's RSS at 100,000 directions); written whole they stay mapped, for ~0.3 s of add.
CSR_TAIL_FILES = {"data": "vectors.tail.data.npy", "indices": "vectors.tail.indices.npy"}
#: The word rows (:mod:`fundgraph.embeddings.words`), written as the sparse vectors are.
WORD_FILES = {"data": "words.data.npy", "indices": "words.indices.npy", "indptr": "words.indptr.npy"}
#: Each direction's first-pass pool across programs (:attr:`BuiltGraph.pools`): rows (int32), scores (float64) and
#: their mixed order (int16).
POOL_FILES = ("pools.rows.npy", "pools.scores.npy", "pools.order.npy")
POOL_TYPES = (np.int32, np.float64, np.int16)
INDEX_FILE = "index.json"


def _write_json(path: Path, data: Any) -> None:
    """Compact UTF-8 JSON; with orjson when it is installed (the same document, ~10× faster to write)."""
    try:
        import orjson
    except ImportError:
        with path.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        return
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY))


def _read_json(path: Path) -> Any:
    """A JSON file; with orjson when it is installed (measured: 1.6× faster to parse the graph file)."""
    try:
        import orjson
    except ImportError:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    return orjson.loads(path.read_bytes())


def save_built(built: BuiltGraph, target: Path) -> dict[str, Any]:
    """Write ``built`` into the (new, empty) directory ``target``.

    Returns:
        The files carried over from the previous graph (hard-linked, see :func:`home.carried_entries`).
    """
    from fundgraph.graph.stores.embedded.home import carried_entries

    target.mkdir(parents=True, exist_ok=False)
    columns = getattr(built, "columns", None)
    with collector_paused():  # millions of property dicts and encoded blobs, no cycles (core.memory)
        if columns is None:
            columns = columns_from_built(built, target)
        columns.save(target)
    index = {
        "direction_ids": built.direction_ids,
        "encoder_state": built.encoder_state,
        "meta": built.meta,
        "vectors": save_vectors(built.vectors, target),
    }
    if built.words is not None:
        index["words"] = save_vectors(built.words, target, files=WORD_FILES)
    if built.pools is not None:
        for name, array, dtype in zip(POOL_FILES, built.pools, POOL_TYPES, strict=True):
            np.save(target / name, np.asarray(array, dtype=dtype), allow_pickle=False)
        index["pools"] = {"shape": [int(x) for x in built.pools[0].shape]}
    _write_json(target / INDEX_FILE, index)
    carried = {f"{name}.npy": path for name, path in columns.carried.items()}
    if columns.directions_file is not None:  # linked by Columns.save
        carried[DIRECTIONS_FILE] = columns.directions_file
    return carried_entries(target, carried)


def save_vectors(vectors: vx.TextMatrix, target: Path, *, files: dict[str, str] = CSR_FILES) -> dict[str, Any]:
    """Write the vector arrays into ``target``; their form and shape (for :func:`read_vectors`).

    ``files``: the names of a sparse matrix's arrays (:data:`CSR_FILES`; :data:`WORD_FILES` for the word rows).
    """
    m = vx.as_rows(vectors)
    if sp.issparse(m):
        if not (m.format == "csr" and m.dtype == np.float32 and m.has_canonical_format and m.data.all()):
            m = vx.to_csr(m)  # already canonical (the encoders' rows): written as they are, not copied first
        # np.asarray: no copy when the dtype is already the one written (astype copied ~130 MB at 100,000)
        arrays = {"data": np.asarray(m.data, dtype=np.float32), "indices": np.asarray(m.indices, dtype=np.int32),
                  "indptr": np.asarray(m.indptr, dtype=np.int64)}
        for part, name in files.items():
            np.save(target / name, arrays[part], allow_pickle=False)
        return {"form": "csr", "shape": [int(m.shape[0]), int(m.shape[1])]}
    np.save(target / VECTORS_FILE, np.asarray(m, dtype=np.float32), allow_pickle=False)
    return {"form": "dense", "shape": [int(m.shape[0]), int(m.shape[1])]}


def read_vectors(source: Path, spec: dict[str, Any] | None, *, files: dict[str, str] = CSR_FILES) -> vx.TextMatrix:
    """The vectors :func:`save_vectors` wrote, memory-mapped (no copy is read into memory).

    Raises:
        StoreDamaged: naming the vector file that is missing, pickled, truncated or inconsistent.
    """
    if spec and spec.get("form") == "csr":
        parts = {}
        for part, name in files.items():
            with reading(source / name):
                parts[part] = np.asarray(np.load(source / name, mmap_mode="r", allow_pickle=False))
                if parts[part].ndim != 1:
                    raise ValueError(f"not a 1-d array (shape {parts[part].shape})")
        if spec.get("tail") is not None:  # written by an earlier `fundgraph add`: appended rows in the tail files
            for part, name in CSR_TAIL_FILES.items():
                with reading(source / name):
                    tail = np.load(source / name, mmap_mode="r", allow_pickle=False)
                with reading(source / CSR_FILES[part]):
                    if parts[part].shape[0] != int(spec["tail"]):
                        raise ValueError(f"{parts[part].shape[0]} values where {spec['tail']} were written")
                parts[part] = np.concatenate([parts[part], tail])
        shape = tuple(spec["shape"])
        if shape[0] == 0 or parts["data"].size == 0:
            return sp.csr_matrix(shape, dtype=np.float32)
        with reading(source / files["indptr"]):  # the row pointers must agree with the shape and the data
            m = sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]), shape=shape, copy=False)
        m.has_sorted_indices = True  # written canonical by save_vectors
        m.has_canonical_format = True
        return m
    with reading(source / VECTORS_FILE):
        return np.asarray(np.load(source / VECTORS_FILE, mmap_mode="r", allow_pickle=False))


class StoredGraph(BuiltGraph):
    """A :class:`BuiltGraph` read from a graph directory: its :class:`Columns`, and the networkx graph on demand.

    Serving reads the columns only; ``graph`` is made (once, seconds at 100,000 directions) when something asks
    for it: exports, the notebook, a build starting from the stored graph.
    """

    def __init__(self, columns: Columns, **fields: Any) -> None:
        self.columns = columns
        self._graph: nx.MultiDiGraph | None = None
        super().__init__(graph=None, **fields)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph of the columns (made on first access)."""
        if self._graph is None:
            self._graph = self.columns.graph()
        return self._graph

    @graph.setter
    def graph(self, value: nx.MultiDiGraph | None) -> None:
        self._graph = value


def read_built(source: Path) -> BuiltGraph:
    """Read a graph directory written by :func:`save_built` (a damaged file raises StoreDamaged naming it)."""
    with reading(source / INDEX_FILE):
        index = _read_json(source / INDEX_FILE)
        spec, words_spec, pools_spec = index.get("vectors"), index.get("words"), index.get("pools")
        direction_ids, encoder_state, meta = index["direction_ids"], index["encoder_state"], index["meta"]
    vectors = read_vectors(source, spec)
    words = read_vectors(source, words_spec, files=WORD_FILES) if words_spec else None
    pools = None
    if pools_spec:  # the index names them: a missing one is damage (a store without pools ranks similar live)
        arrays = []
        for name in POOL_FILES:
            with reading(source / name):
                arrays.append(np.load(source / name, mmap_mode="r", allow_pickle=False))
                if list(arrays[-1].shape) != list(pools_spec["shape"]):
                    raise ValueError(f"shape {arrays[-1].shape}, not {pools_spec['shape']}")
        pools = (arrays[0], arrays[1], arrays[2])
    fields = {"direction_ids": direction_ids, "vectors": vectors, "encoder_state": encoder_state, "meta": meta,
              "words": words, "pools": pools}
    if (source / NODES_FILE).exists() or not (source / GRAPH_FILE).exists():
        return StoredGraph(Columns.open(source), **fields)
    # Written before the columns: node-link JSON, read into networkx as it used to be.
    with reading(source / GRAPH_FILE):
        import networkx as nx

        g = nx.node_link_graph(_read_json(source / GRAPH_FILE), directed=True, multigraph=True, edges="edges")
    # node-link JSON keeps the node key under "id" and drops the attribute of the same name: restore it.
    for n, d in g.nodes(data=True):
        d.setdefault("id", n)
    return BuiltGraph(graph=g, **fields)
