"""``fundgraph add`` on the columns: the part of the graph an addition reads, and the columns it leaves.

Making the whole networkx graph of 100,000 directions (2 million edges, each a dict) took 64 s of an addition's
97 s (``benchmarks/add_one.py``); the addition reads a few hundred nodes. :class:`PartialGraph` holds those in a
networkx graph (each loaded node with its properties and all its out-edges; the targets of those edges are
present without properties until loaded), so :mod:`fundgraph.graph.build.incremental` runs its rules on it
unchanged. :func:`appended_columns` then makes the new columns: unchanged nodes keep their out-edge rows, and the
property blobs keep their bytes (the large ``*.props.npy`` files are hard-linked into the new graph directory,
and the values the addition wrote go to ``*.props.tail.npy``, see :class:`.columns.Blobs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.read import semantics
from fundgraph.graph.stores.embedded.columns import (
    BLOBS,
    BRIEFS,
    Blobs,
    Columns,
    brief_value,
    decode,
    direction_lists,
    encode,
)


class PartialGraph:
    """The nodes of stored ``columns`` an addition reads, as a networkx graph (``g``), loaded on demand."""

    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.g = nx.MultiDiGraph()
        #: Stored nodes loaded with their properties and every out-edge.
        self.loaded: set[str] = set()
        #: Their properties and out-edges as stored ((target, key, properties), adjacency order).
        self.stored: dict[str, tuple[bytes, list[tuple[str, Any, bytes]]]] = {}

    def __contains__(self, node: object) -> bool:
        return node in self.g or node in self.columns.index

    def ensure(self, nodes: Iterable[str]) -> None:
        """Load these stored nodes (ids not stored are ignored)."""
        c = self.columns
        for n in nodes:
            if n in self.loaded or n not in c.index:
                continue
            i = c.index[n]
            raw = c.node_props.raw(i)
            props = c.node_props[i]
            props.setdefault("id", n)
            self.g.add_node(n, **props)
            out = []
            for j in range(int(c.indptr[i]), int(c.indptr[i + 1])):
                b = c.edge_props.raw(j)
                key, e = decode(b)
                v = c.node_ids[int(c.dst[j])]
                self.g.add_edge(n, v, key=key, **e)
                out.append((v, key, b))
            self.loaded.add(n)
            self.stored[n] = (raw, out)

    def ensure_groups(self, nodes: Iterable[str]) -> None:
        """Load these nodes and, transitively, the groups they are MEMBER_OF."""
        todo = [n for n in nodes if n in self.columns.index]
        while todo:
            self.ensure(todo)
            todo = [v for n in todo for v in self.columns.out_targets(n, Rel.MEMBER_OF.value) if v not in self.loaded]

    def ensure_label(self, label: str) -> list[str]:
        """Load every stored node of one label; their ids."""
        c = self.columns
        ids = [n for n, lab in zip(c.node_ids, c.labels, strict=True) if lab == label]
        self.ensure(ids)
        return ids

    def ensure_series(self, series: str) -> None:
        """Load the programs of one series and their directions."""
        c = self.columns
        progs = [n for n, lab in zip(c.node_ids, c.labels, strict=True)
                 if lab == Label.PROGRAM.value and c.node(n).get("series") == series]
        self.ensure(progs)
        self.ensure(v for p in progs for v in c.out_targets(p, Rel.HAS_DIRECTION.value))

    def counts(self) -> tuple[int, int]:
        """Nodes and edges of the whole graph as it is now."""
        c = self.columns
        new_nodes = sum(1 for n in self.g if n not in c.index)
        old_edges = sum(len(self.stored[n][1]) for n in self.loaded)
        now_edges = sum(self.g.out_degree(n) for n in self.g if n in self.loaded or n not in c.index)
        return len(c.node_ids) + new_nodes, len(c.src) - old_edges + now_edges


def stored_lists(columns: Columns, cands: Any, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SIMILAR_TO lists of directions ``cols`` (row numbers of ``cands``) as stored: members and scores.

    Returns:
        The row numbers of the directions each lists, and their stored scores (len(cols) × width, in edge
        order; -1 and NaN where a list is shorter).

    The members come from the edge arrays; the scores from the edges' encoded bytes, where every SIMILAR_TO edge
    the build or an addition writes has its ``score`` at the same place (``["SIMILAR_TO",{"type":…,"method":…,
    "score":``): read there for all edges at once (decoding each edge cost 0.76 s at 100,000 directions, for
    34,000 lists); an edge written otherwise is decoded.
    """
    ids = columns.node_ids
    where, src, dst = columns.edges_of(Rel.SIMILAR_TO.value)
    row_of_node = np.full(len(ids), -1, dtype=np.int64)
    node_of = np.fromiter((columns.index[cands.ids[j]] for j in cols.tolist()), dtype=np.int64, count=cols.size)
    row_of_node[node_of] = np.arange(cols.size)
    owner = row_of_node[np.asarray(src, dtype=np.int64)]
    keep = np.flatnonzero(owner >= 0)
    owner, targets, edges = owner[keep], np.asarray(dst, dtype=np.int64)[keep], where[keep]
    uniq, inverse = np.unique(targets, return_inverse=True)
    target_rows = np.asarray([cands.index.get(ids[t], -1) for t in uniq.tolist()], dtype=np.int64)[inverse]
    scores = edge_scores(columns.edge_props, edges)
    counts = np.bincount(owner, minlength=cols.size)
    order = np.argsort(owner, kind="stable")
    owner, target_rows, scores = owner[order], target_rows[order], scores[order]
    width = int(counts.max()) if counts.size else 0
    slot = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    listed = np.full((cols.size, width), -1, dtype=np.int64)
    listed[owner, slot] = target_rows
    stored = np.full((cols.size, width), np.nan, dtype=np.float64)
    stored[owner, slot] = scores
    return listed, stored


def edge_scores(blobs: Blobs, edges: np.ndarray) -> np.ndarray:
    """The ``score`` property of SIMILAR_TO edges (edge numbers), read in place (see :func:`stored_lists`)."""
    out = np.zeros(edges.size, dtype=np.float64)
    if not edges.size:
        return out
    slots = edges if blobs.slots is None else blobs.slots[edges]
    lo = np.asarray(blobs.offsets)[slots]
    first = blobs.raw(int(edges[0]))
    at = first.find(b'"score":')
    prefix = first[: at + 8] if at > 0 else b"\0"
    width = len(prefix) + 16
    data = blobs.data
    inside = lo + width <= len(data)
    window = np.zeros((edges.size, width), dtype=np.uint8)
    if inside.any():
        window[inside] = data[lo[inside, None] + np.arange(width)]
    ok = inside & (window[:, : len(prefix)] == np.frombuffer(prefix, dtype=np.uint8)).all(axis=1)
    # the number after the prefix, parsed for every edge at once: digits, one point, an optional exponent (as
    # orjson writes a float) up to "," or "}"
    digits = window[:, len(prefix):]
    stop = (digits == ord(",")) | (digits == ord("}"))
    end = np.where(stop.any(axis=1), stop.argmax(axis=1), 0)
    ok &= end > 0
    digits = np.where(np.arange(digits.shape[1]) < end[:, None], digits, 0)  # trailing NULs: not part of an S
    out[ok] = np.ascontiguousarray(digits[ok]).view(f"S{digits.shape[1]}").ravel().astype(np.float64)
    for i in np.flatnonzero(~ok).tolist():
        out[i] = float(decode(blobs.raw(int(edges[i])))[1]["score"])
    return out


def appended_transpose(stored: sp.csr_matrix, rows: sp.csr_matrix) -> sp.csr_matrix:
    """``vstack([M, rows]).T`` (CSR) from ``stored`` = ``M.T`` (CSR): the new rows' entries inserted at each row's end.

    One pass over the stored arrays (``np.insert``; 0.2 s for 190 MB at 100,000 directions) instead of transposing
    every row again; the new entries' columns (direction numbers) follow every stored one, so rows stay sorted.
    """
    n_old = stored.shape[1]
    new_t = sp.csr_matrix(rows).T.tocsr()
    new_t.sort_indices()
    counts = np.diff(new_t.indptr)
    at = np.repeat(np.asarray(stored.indptr[1:], dtype=np.int64), counts)  # before each row's end, in order
    indptr = np.asarray(stored.indptr, dtype=np.int64) + np.asarray(new_t.indptr, dtype=np.int64)
    data = np.insert(np.asarray(stored.data), at, new_t.data.astype(stored.data.dtype))
    indices = np.insert(np.asarray(stored.indices), at, (new_t.indices + n_old).astype(stored.indices.dtype))
    return sp.csr_matrix((data, indices, indptr), shape=(stored.shape[0], n_old + rows.shape[0]), copy=False)


def appended_columns(partial: PartialGraph, profiles: dict[str, Any], raw: sp.csr_matrix,
                     entities: sp.csr_matrix, vectors: Any = None) -> Columns:
    """The columns of the graph ``partial`` changed: the stored columns with the loaded nodes' changes and new nodes.

    Args:
        partial: the part of the graph the addition read and changed.
        profiles: the ranking candidates' document (``profiles.json``) after the addition.
        raw: their entity profiles (raw weights), rows in ``profiles["ids"]`` order.
        entities: their idf-weighted unit rows.
        vectors: the text vectors of every direction after the addition (the stored rows first), rows in
            ``profiles["ids"]`` order; sparse ones get their transpose stored as a full build stores it.
    """
    c, g = partial.columns, partial.g
    new_nodes = [n for n in g if n not in c.index]
    ids = [*c.node_ids, *new_nodes]
    index = dict(c.index)
    for n in new_nodes:
        index[n] = len(index)
    labels = [*c.labels, *(str(g.nodes[n].get("label") or "") for n in new_nodes)]
    relations = list(c.relations)
    codes = {r: i for i, r in enumerate(relations)}

    # -- node properties: changed and new ones appended as new slots ----------------------------------------------
    tails: dict[str, list[bytes]] = {b: [] for b in BLOBS}
    blob = {"nodes.props": c.node_props, "edges.props": c.edge_props}
    next_slot = {b: len(blob[b].offsets) - 1 for b in BLOBS}

    def slot(name: str, value: bytes) -> int:
        tails[name].append(value)
        next_slot[name] += 1
        return next_slot[name] - 1

    briefs: list[bytes] | None = None if c.node_briefs is None else []
    node_slots = np.empty(len(ids), dtype=np.int64)
    node_slots[: len(c.node_ids)] = (np.arange(len(c.node_ids)) if c.node_props.slots is None
                                     else np.asarray(c.node_props.slots))
    for n in [*partial.loaded, *new_nodes]:
        data = dict(g.nodes[n])
        if n in partial.loaded:
            stored = decode(partial.stored[n][0])
            stored.setdefault("id", n)
            if stored == data:
                continue
        node_slots[index[n]] = slot("nodes.props", encode(data))
        if briefs is not None:  # the brief blob has a value at each slot of the properties'
            briefs.append(brief_value(n, labels[index[n]], data))

    # -- out-edges: rows of unchanged nodes kept, changed and new nodes' rows made again -----------------------------
    old_slots = np.arange(len(c.src)) if c.edge_props.slots is None else np.asarray(c.edge_props.slots)
    changed: dict[int, tuple[list[int], list[int], list[int]]] = {}
    for n in [*partial.loaded, *new_nodes]:
        rows = [(v, key, e) for _, v, key, e in g.out_edges(n, keys=True, data=True)]
        if n in partial.loaded:
            before = [(v, key, decode(b)[1]) for v, key, b in partial.stored[n][1]]
            if before == rows:
                continue
        dst, rel, slots = [], [], []
        for v, key, e in rows:
            dst.append(index[v])
            rel.append(codes.setdefault(str(e.get("type") or ""), len(codes)))
            slots.append(slot("edges.props", encode([key, e])))
        changed[index[n]] = (dst, rel, slots)
    relations = list(codes)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    m_old, n_old = len(c.src), len(c.node_ids)

    def copy(lo: int, hi: int) -> None:
        if hi > lo:
            parts.append((np.asarray(c.src[lo:hi]), np.asarray(c.dst[lo:hi]), np.asarray(c.rel[lo:hi]),
                          old_slots[lo:hi]))

    counts = np.zeros(len(ids), dtype=np.int64)
    counts[:n_old] = np.diff(np.asarray(c.indptr))
    pos = 0  # stored edge rows copied so far
    for i in sorted(changed):
        end = int(c.indptr[i]) if i < n_old else m_old
        copy(pos, end)
        pos = int(c.indptr[i + 1]) if i < n_old else m_old
        dst, rel, slots = changed[i]
        parts.append((np.full(len(dst), i, dtype=np.int32), np.asarray(dst, dtype=np.int32),
                      np.asarray(rel, dtype=np.int8), np.asarray(slots, dtype=np.int64)))
        counts[i] = len(dst)
    copy(pos, m_old)
    src, dst_a, rel_a, edge_slots = (
        np.concatenate([x[f] for x in parts]).astype(t) if parts else np.zeros(0, t)
        for f, t in enumerate((np.int32, np.int32, np.int8, np.int64)))
    indptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if int(indptr[-1]) != len(src) or (len(src) and np.any(np.diff(src) < 0)):
        raise AssertionError("the appended edge rows are not grouped by source node")
    in_order = np.argsort(dst_a, kind="stable").astype(np.int64)
    in_indptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst_a, minlength=len(ids)), out=in_indptr[1:])

    arrays: dict[str, np.ndarray] = {
        "edges.src": src, "edges.dst": dst_a, "edges.rel": rel_a, "edges.indptr": indptr,
        "edges.in_order": in_order, "edges.in_indptr": in_indptr,
        "nodes.props.slots": node_slots, "edges.props.slots": edge_slots,
    }
    if briefs is not None and c.node_briefs is not None:
        blob[BRIEFS], tails[BRIEFS] = c.node_briefs, briefs
    for name in tails:
        b: Blobs = blob[name]
        added = np.frombuffer(b"".join(tails[name]), dtype=np.uint8)
        old_tail = np.zeros(0, np.uint8) if b.tail is None else np.asarray(b.tail)
        arrays[name] = b.data  # carried over unchanged (hard-linked by the writer)
        arrays[f"{name}.tail"] = np.concatenate([old_tail, added])
        ends = int(b.offsets[-1]) + np.cumsum([len(x) for x in tails[name]], dtype=np.int64)
        arrays[f"{name}.offsets"] = np.concatenate([np.asarray(b.offsets), ends])
    for name, m in (("profiles", raw), ("entities", entities)):
        arrays[f"{name}.data"] = np.asarray(m.data, dtype=np.float64)
        arrays[f"{name}.indices"] = np.asarray(m.indices, dtype=np.int32)
        arrays[f"{name}.indptr"] = np.asarray(m.indptr, dtype=np.int64)
    # The transposes a query reads (columns.TRANSPOSED), as a full build writes them: without them the server
    # transposed both at start-up (at 100,000 directions +370 MB RSS and seconds of CPU). The entity matrix is
    # rewritten whole (its rarity changed); the text vectors' stored rows are unchanged (frozen encoder), so the
    # new rows' entries are inserted into the stored transpose.
    transposed = {"entities_t": entities.T.tocsr()}
    if vectors is not None and sp.issparse(vectors):
        n_old = len(c.profiles["ids"])
        base = c.transposed("vectors_t", (vectors.shape[1], n_old))
        rows = sp.csr_matrix(vx.as_rows(vectors))
        transposed["vectors_t"] = (rows.T.tocsr() if base is None  # not stored (an older store): made once here
                                   else appended_transpose(base, rows[n_old:]))
    for name, m in transposed.items():
        arrays[f"{name}.data"] = np.asarray(m.data, dtype=np.float32 if name == "vectors_t" else np.float64)
        arrays[f"{name}.indices"] = np.asarray(m.indices, dtype=np.int32)
        arrays[f"{name}.indptr"] = np.asarray(m.indptr, dtype=np.int64)

    # -- directions: the new programs (manifest order after every stored one) and their directions, appended -----
    progs, dirs = semantics.canonical_order({"id": n, **g.nodes[n]} for n in new_nodes)
    added = direction_lists(progs, dirs)
    doc = {"ids": ids, "labels": labels, "relations": relations}
    if c.directions_file is not None:  # directions.json linked as it is; the tail holds every addition's lists
        tail = {k: [*(c.directions_tail or {}).get(k, []), *v] for k, v in added.items()}
        out = Columns(doc, None, profiles, arrays, directions_file=c.directions_file, directions_tail=tail)
    else:
        out = Columns(doc, {k: [*c.directions.get(k, []), *v] for k, v in added.items()}, profiles, arrays)
    out.carried = {name: c.source / f"{name}.npy" for name in tails} if c.source is not None else {}
    return out
