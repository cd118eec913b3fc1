"""The graph as columns: arrays opened memory-mapped, properties as one JSON value per node and per edge.

Why not node-link JSON loaded into networkx: at 20,000 directions that took ~5 s and ~1.2 GB (27,000 nodes,
406,000 edges, each a Python dict), so ~25 s and ~6 GB at 100,000 — whatever the file format, because the cost is
in making millions of Python objects (``benchmarks/store_formats.py`` measures the alternatives). Here opening a
graph makes one Python string per node id and nothing per edge: the arrays are mapped, and a request decodes the
few node and edge properties it shows.

Files (``<name>.npy`` arrays; ``*.json`` small documents)::

    nodes.json               node ids (graph order), labels, relation names
    nodes.props.bin/.npy     each node's properties (orjson), and their byte offsets (int64, n + 1)
    edges.{src,dst,rel}.npy  edges by source node in networkx adjacency order (int32, int32, int8)
    edges.indptr.npy         out-edges of node i: edges[indptr[i]:indptr[i + 1]] (int64, n + 1)
    edges.in_order.npy, edges.in_indptr.npy
                             in-edges of node i: edges[in_order[in_indptr[i]:in_indptr[i + 1]]]
    edges.props.bin/.npy     each edge's [key, properties] (orjson), and their byte offsets
    nodes.brief.npy/.offsets.npy
                             each node's brief as the API shows it in lists (a direction's
                             :class:`~fundgraph.graph.read.models.DirectionBrief` JSON, ``null`` for other nodes),
                             at the same slots as its properties; ``nodes.json`` names their format
                             (:func:`brief_format`), and a store whose format differs is read without them
    directions.json          canonical program and direction order; per direction its program and the lookup
                             forms of its text, own keywords and categories (what list filters compare)
    directions.tail.json     (after ``fundgraph add`` only) the same lists for the programs and directions added
                             since the full build, appended to ``directions.json``'s when read: an addition
                             hard-links the large file and writes this one (see :class:`Columns`)
    profiles.json, profiles.{data,indices,indptr}.npy, entities.{data,indices,indptr}.npy
                             the ranking candidates: entity profiles (directions × entities, raw weights) and
                             their idf-weighted unit rows, entity names, rarity, hierarchy

A :class:`Columns` is made from a networkx graph (:func:`columns_from_graph`: the build, and stores written by an
older fundgraph) or opened from a directory (:meth:`Columns.open`); :meth:`Columns.graph` makes the networkx
graph back for exports and the notebook.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from array import array
from collections.abc import Container, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydantic_core
import scipy.sparse as sp

from fundgraph.graph.model import Label, Rel
from fundgraph.graph.read import models, records, semantics

if TYPE_CHECKING:  # networkx only for exports and builds: serving never imports it (0.3 s of start-up)
    import networkx as nx

try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)

    _loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")

    def _loads(data: Any) -> Any:
        return json.loads(bytes(data))


def encode(value: Any) -> bytes:
    """One property value as the blobs store it (orjson)."""
    return _dumps(value)


def decode(data: bytes) -> Any:
    """A value :func:`encode` made."""
    return _loads(data)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


NODES_FILE = "nodes.json"
DIRECTIONS_FILE = "directions.json"
#: The programs and directions ``fundgraph add`` appended to ``directions.json`` (the same keys, lists appended).
DIRECTIONS_TAIL_FILE = "directions.tail.json"
PROFILES_FILE = "profiles.json"
ARRAYS = ("edges.src", "edges.dst", "edges.rel", "edges.indptr", "edges.in_order", "edges.in_indptr",
          "nodes.props", "edges.props", "profiles.data", "profiles.indices", "profiles.indptr",
          "entities.data", "entities.indices", "entities.indptr")
BLOBS = ("nodes.props", "edges.props")
#: Written since the stored similar lists: the text vectors and the entity matrix transposed (features ×
#: directions), so that a query reads only its own features' columns (scoring.Candidates.products) without
#: transposing at start-up (0.5 s at 100,000 directions). A store without them transposes on first use.
TRANSPOSED = tuple(f"{m}_t.{part}" for m in ("vectors", "entities") for part in ("data", "indices", "indptr"))


#: Each node's brief JSON (:func:`brief_value`): read by lists and similar lists instead of decoding the node's
#: properties (~11 µs of a direction's ~12 at 100,000 directions: its texts are most of its bytes).
BRIEFS = "nodes.brief"
_BRIEF_FORMAT: str | None = None


def brief_format() -> str:
    """What the stored briefs were written as: a digest of the brief model's JSON schema (changes with a field)."""
    global _BRIEF_FORMAT
    if _BRIEF_FORMAT is None:
        schema = json.dumps(models.DirectionBrief.model_json_schema(mode="serialization"), sort_keys=True)
        _BRIEF_FORMAT = "brief-" + hashlib.sha256(schema.encode()).hexdigest()[:16]
    return _BRIEF_FORMAT


def brief_value(node_id: str, label: str, props: Mapping[str, Any]) -> bytes:
    """A node's value in ``nodes.brief``: a direction's brief, serialised as the API serialises it; else ``null``."""
    if label != Label.DIRECTION.value:
        return b"null"
    return pydantic_core.to_json(records.direction_brief(props if "id" in props else {"id": node_id, **props}))


#: Length of the version 1.0 ``.npy`` header ``np.save`` writes for a 1-d uint8 array of any size.
_NPY_HEADER = 128


def _mapped(path: Path) -> np.ndarray:
    """The array in ``path``, memory-mapped read-only, as a plain ndarray view of the mapping.

    Not the ``np.memmap`` subclass itself: each slice of one goes through its ``__array_finalize__`` and
    ``__array_wrap__`` (a tenth of a search's CPU at 100,000 directions, marking the results' entities).
    """
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
#: Written by ``fundgraph add`` only (:mod:`.append`): each blob's appended values and its value → slot map.
BLOB_EXTRAS = tuple(f"{b}.{part}" for b in BLOBS for part in ("tail", "slots"))


class ArrayMismatch(ValueError):
    """An array whose shape disagrees with the others (``name``: the array, its file is ``<name>.npy``)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class Blobs(Sequence[Any]):
    """JSON values stored back to back: ``blobs[i]`` decodes the i-th (nothing is decoded in advance).

    After ``fundgraph add`` (:mod:`.append`) value i is at slot ``slots[i]``, and slots past the end of ``data``
    are in ``tail``: the large ``data`` file is carried over unchanged (hard-linked) into the new graph directory
    and only the values the addition wrote are new bytes.
    """

    def __init__(self, data: np.ndarray, offsets: np.ndarray, *, tail: np.ndarray | None = None,
                 slots: np.ndarray | None = None) -> None:
        # Plain ndarray views of the maps: numpy.memmap's own __getitem__ costs ~3 µs per slice (measured: 10 of
        # an addition's 50 s at 100,000 directions went to it).
        self.data = np.asarray(data)
        self.offsets = np.asarray(offsets)
        self.tail = None if tail is None else np.asarray(tail)
        self.slots = None if slots is None else np.asarray(slots)

    @classmethod
    def pack(cls, values: Iterator[Any], *, encoded: bool = False) -> Blobs:
        """Encode ``values`` into one byte array (``encoded``: they are JSON bytes already, stored as they are).

        Appended to one buffer as they are encoded: no list of every value's bytes, and no joined copy of them
        (at 100,000 directions the edges' blob is several hundred MB).
        """
        data = bytearray()
        ends = array("q", [0])
        for v in values:
            data += v if encoded else _dumps(v)
            ends.append(len(data))
        return cls(np.frombuffer(data, dtype=np.uint8), np.frombuffer(ends, dtype=np.int64))

    @classmethod
    def pack_to_file(cls, values: Iterator[Any], path: Path, *, encoded: bool = False) -> Blobs:
        """:meth:`pack` straight into the ``.npy`` file ``path`` (the bytes ``np.save`` writes), mapped back.

        The build's edge blob is several hundred MB at 100,000 directions and was held whole at the store write's
        peak; written as it is encoded, it is never in memory. The header's size is known only at the end: it
        is written then over a placeholder of its length (the same for any size: 128 bytes).
        """
        ends = array("q", [0])
        size = 0
        pending = bytearray()  # written a megabyte at a time: one write per value was ~10 % of the edges' time
        with path.open("wb") as fh:
            fh.write(b"\0" * _NPY_HEADER)
            for v in values:
                pending += v if encoded else _dumps(v)
                ends.append(size + len(pending))
                if len(pending) >= 1 << 20:
                    fh.write(pending)
                    size += len(pending)
                    pending.clear()
            fh.write(pending)
            size += len(pending)
            fh.seek(0)
            np.lib.format.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": (size,)})
            if fh.tell() != _NPY_HEADER:
                raise ValueError(f"unexpected .npy header length {fh.tell()}")
        return cls(_mapped(path), np.frombuffer(ends, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1 if self.slots is None else len(self.slots)

    def raw(self, i: int) -> bytes:
        """The encoded bytes of value i."""
        s = int(i) if self.slots is None else int(self.slots[i])
        lo, hi = self.offsets[s : s + 2].tolist()
        base = len(self.data)
        if lo >= base and self.tail is not None and hi > lo:
            return self.tail[lo - base : hi - base].tobytes()
        return self.data[lo:hi].tobytes()

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]
        return _loads(self.raw(i))


class ProfileRows(Sequence[dict[str, float]]):
    """The ranking candidates' entity profiles: row i as {entity id: weight}, decoded from a CSR matrix on access."""

    def __init__(self, matrix: sp.csr_matrix, entities: list[str]) -> None:
        self.matrix = matrix
        self.entity_ids = entities

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def __getitem__(self, i: int) -> dict[str, float]:  # type: ignore[override]
        m = self.matrix
        lo, hi = int(m.indptr[i]), int(m.indptr[i + 1])
        ids = self.entity_ids
        return {ids[c]: float(w) for c, w in zip(m.indices[lo:hi].tolist(), m.data[lo:hi].tolist(), strict=True)}

    def idf_profile(self, i: int, idf: Mapping[str, float]) -> tuple[dict[str, float], float]:
        """:func:`fundgraph.embeddings.similarity.idf_profile` of row ``i``, without making the row's dict first.

        The same products in the same order, so the same profile and length to the bit (re-scoring calls it once
        per candidate; one dict made instead of two).
        """
        m = self.matrix
        lo, hi = int(m.indptr[i]), int(m.indptr[i + 1])
        ids = self.entity_ids
        get = idf.get
        va = {e: w * get(e, 0.0) for e, w in zip(map(ids.__getitem__, m.indices[lo:hi].tolist()),
                                                 m.data[lo:hi].tolist(), strict=True)}
        return va, math.sqrt(sum(x * x for x in va.values()))


def direction_lists(programs: Sequence[Mapping[str, Any]], directions: Sequence[Mapping[str, Any]]
                    ) -> dict[str, list[Any]]:
    """The per-direction lists directions.json holds (canonical order), for the build's writer and for add."""
    return {
        "programs": [p["id"] for p in programs],
        "ids": [d["id"] for d in directions],
        "program": [d.get("program_id") for d in directions],
        "text": [semantics.direction_text(d) for d in directions],
        "keywords": [semantics.direction_keywords(d) for d in directions],
        "categories": [semantics.direction_categories(d) for d in directions],
    }


#: The leading lists of ``directions.json`` (in the order :func:`direction_lists` writes them): what serving reads at
#: start-up (:attr:`Columns.direction_order`).
ORDER_KEYS = ("programs", "ids", "program")
#: The key ``direction_lists`` writes after :data:`ORDER_KEYS`.
_AFTER_ORDER = "text"


def leading_lists(path: Path, keys: Sequence[str], then: str) -> dict[str, Any] | None:
    """The first ``keys`` of the JSON object in ``path`` (``then`` follows them), parsed without the rest of it.

    None when the document does not start with ``keys`` followed by ``then``.

    ``direction_lists`` writes ``{"programs":[…],"ids":[…],"program":[…],"text":[…],…}`` (compact JSON, orjson):
    the bytes ``,"<then>":`` cannot occur inside a JSON string (a quote there is escaped) nor inside the
    leading lists (of strings and nulls), so their first occurrence ends the part wanted. The file's last bytes are
    checked too (a truncated file raises, as a whole parse would), though the part after ``keys`` is not parsed.

    Raises:
        ValueError: the part read is not valid JSON, or the file does not end as the writer ends it.
    """
    import mmap

    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 2:
            raise json.JSONDecodeError("empty or truncated", "", 0)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m[-1:] != b"}":
                raise json.JSONDecodeError("truncated: the document does not end as written", "", size)
            if m[: len(keys[0]) + 4] != b'{"' + keys[0].encode() + b'":':
                return None
            end = m.find(b',"' + then.encode() + b'":')
            if end < 0:
                return None
            head = _loads(m[:end] + b"}")
    return head if isinstance(head, dict) and list(head) == list(keys) else None


def _csr_arrays(m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {"data": np.asarray(m.data, dtype=np.float64), "indices": np.asarray(m.indices, dtype=np.int32),
            "indptr": np.asarray(m.indptr, dtype=np.int64)}


class Columns:
    """One graph as columns (see the module docstring): node and edge arrays, property blobs, serving columns."""

    def __init__(self, doc: dict[str, Any], directions: dict[str, Any] | None, profiles: dict[str, Any],
                 arrays: dict[str, np.ndarray], *, directions_file: Path | None = None,
                 directions_tail: dict[str, list[Any]] | None = None) -> None:
        self.node_ids: list[str] = doc["ids"]
        self.labels: list[str] = doc["labels"]
        self.relations: list[str] = doc["relations"]
        if directions is None and directions_file is None:
            raise ValueError("the directions' lists, or the file that holds them")
        self._directions = directions
        self._order: dict[str, list[Any]] | None = None  # ORDER_KEYS of directions.json (direction_order)
        #: ``directions.json`` as stored (read on first use of :attr:`directions`; linked, not rewritten, by
        #: :meth:`save`), and the lists appended to it since (``directions.tail.json``).
        self.directions_file = directions_file if directions is None else None
        self.directions_tail = directions_tail or None
        self.profiles = profiles
        self.arrays = arrays
        self.index = {n: i for i, n in enumerate(self.node_ids)}
        if len(self.index) != len(self.node_ids) or len(self.labels) != len(self.node_ids):
            raise ValueError("node ids are not unique, or not one label per node")
        self.src, self.dst, self.rel = arrays["edges.src"], arrays["edges.dst"], arrays["edges.rel"]
        self.indptr, self.in_order, self.in_indptr = (arrays["edges.indptr"], arrays["edges.in_order"],
                                                      arrays["edges.in_indptr"])
        n, m = len(self.node_ids), len(self.src)
        slotted = {b: f"{b}.slots" in arrays for b in BLOBS}
        for name, size in (("edges.dst", m), ("edges.rel", m), ("edges.in_order", m), ("edges.indptr", n + 1),
                           ("edges.in_indptr", n + 1),
                           ("nodes.props.slots" if slotted["nodes.props"] else "nodes.props.offsets", n + (
                               0 if slotted["nodes.props"] else 1)),
                           ("edges.props.slots" if slotted["edges.props"] else "edges.props.offsets", m + (
                               0 if slotted["edges.props"] else 1))):
            a = arrays[name] if name in arrays else None
            if a is None or a.ndim != 1 or a.shape[0] != size:
                raise ArrayMismatch(name, f"shape {None if a is None else a.shape} where ({size},) was written")
        if m and (int(self.indptr[-1]) != m or int(self.in_indptr[-1]) != m):
            raise ArrayMismatch("edges.indptr", "the edge pointers do not cover every edge")
        #: The directory the columns were opened from (None: made in memory).
        self.source: Path | None = None
        #: Array files to carry over from another graph directory instead of writing them (:mod:`.append`).
        self.carried: dict[str, Path] = {}
        #: Array files already written, by the directory they were written into (:meth:`from_graph`'s ``target``).
        self.written: dict[str, Path] = {}
        self.node_props, self.edge_props = (
            Blobs(arrays[b], arrays[f"{b}.offsets"], tail=arrays.get(f"{b}.tail"), slots=arrays.get(f"{b}.slots"))
            for b in BLOBS)
        #: The nodes' briefs (:data:`BRIEFS`; at the node properties' slots), or None: a store written without
        #: them, or in another format (the briefs are then made from the properties).
        self.node_briefs: Blobs | None = None
        if BRIEFS in arrays:
            briefs = Blobs(arrays[BRIEFS], arrays[f"{BRIEFS}.offsets"], tail=arrays.get(f"{BRIEFS}.tail"),
                           slots=arrays.get("nodes.props.slots"))
            if len(briefs.offsets) != len(self.node_props.offsets):
                raise ArrayMismatch(f"{BRIEFS}.offsets", f"{len(briefs.offsets) - 1} briefs where "
                                    f"{len(self.node_props.offsets) - 1} node properties were written")
            self.node_briefs = briefs

    def brief_raw(self, node_id: str) -> bytes | None:
        """A node's stored brief JSON (:func:`brief_value`), or None when the store holds none."""
        return None if self.node_briefs is None else self.node_briefs.raw(self.index[node_id])

    @property
    def direction_order(self) -> dict[str, list[Any]]:
        """The programs, directions and each direction's program in canonical order (:data:`ORDER_KEYS`).

        What serving needs from ``directions.json`` to start: read as its leading part (:func:`leading_lists`),
        ~5 MB of the 75 MB at 100,000 directions, whose lookup forms (the rest) only list filters read, on their
        first use (:attr:`directions`). The whole file when it is not laid out as :func:`direction_lists` writes it.
        """
        if self._directions is not None:
            return {k: self._directions[k] for k in ORDER_KEYS}
        if self._order is None:
            from fundgraph.graph.stores.embedded.home import reading

            assert self.directions_file is not None
            with reading(self.directions_file):
                order = leading_lists(self.directions_file, ORDER_KEYS, _AFTER_ORDER)
            if order is None:
                return {k: self.directions[k] for k in ORDER_KEYS}
            for key, values in (self.directions_tail or {}).items():
                if key in order:
                    order[key] = [*order[key], *values]
            self._order = order
        return self._order

    @property
    def directions(self) -> dict[str, list[Any]]:
        """Programs and directions in canonical order, with their lookup forms (``directions.json``).

        Read on first use: an addition never needs it (75 MB of JSON, ~1 s to parse at 100,000 directions), and
        appends its own lists in :attr:`directions_tail` instead.
        """
        if self._directions is None:
            from fundgraph.graph.stores.embedded.home import reading

            assert self.directions_file is not None
            with reading(self.directions_file):
                base = _loads(self.directions_file.read_bytes())
            for key, values in (self.directions_tail or {}).items():
                base[key] = [*base.get(key, []), *values]
            self._directions = base
        return self._directions

    # -- making and saving ---------------------------------------------------------------------------------
    @staticmethod
    def from_graph(g: nx.MultiDiGraph, profiles: dict[str, Any], matrices: dict[str, sp.csr_matrix], *,
                   target: Path | None = None) -> Columns:
        """The columns of ``g`` (node and edge order as networkx iterates them), with the ranking candidates.

        ``target``: the directory the columns are being written to; the edge blob is then written there as it is
        encoded (:meth:`Blobs.pack_to_file`), and :meth:`save` leaves it as it is.
        """
        ids = list(g.nodes)
        pos = {n: i for i, n in enumerate(ids)}
        labels = [str(d.get("label") or "") for _, d in g.nodes(data=True)]
        relations: dict[str, int] = {}
        # Machine-int arrays rather than lists of Python ints, and each edge's properties encoded as it is met
        # (Blobs.pack of a generator) rather than kept in a list of every edge first.
        src, dst, rel = array("i"), array("i"), array("b")
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)

        def edge_values() -> Iterator[list[Any]]:
            for i, u in enumerate(ids):
                for v, keyed in g.succ[u].items():
                    for key, e in keyed.items():
                        src.append(i)
                        dst.append(pos[v])
                        rel.append(relations.setdefault(str(e.get("type") or ""), len(relations)))
                        yield [key, e]
                indptr[i + 1] = len(src)

        edges = Blobs.pack(edge_values()) if target is None else Blobs.pack_to_file(
            edge_values(), target / "edges.props.npy")
        dst_a = np.frombuffer(dst, dtype=np.int32)
        in_order = np.argsort(dst_a, kind="stable").astype(np.int64)
        in_indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(dst_a, minlength=len(ids)), out=in_indptr[1:])
        node_values = iter(d for _, d in g.nodes(data=True))
        nodes = Blobs.pack(node_values) if target is None else Blobs.pack_to_file(node_values,
                                                                                  target / "nodes.props.npy")
        brief_values = (brief_value(n, label, d) for (n, d), label in zip(g.nodes(data=True), labels, strict=True))
        briefs = Blobs.pack(brief_values, encoded=True) if target is None else Blobs.pack_to_file(
            brief_values, target / f"{BRIEFS}.npy", encoded=True)
        shown = (Label.PROGRAM.value, Label.DIRECTION.value)  # the only nodes canonical_order keeps
        # A node's own dict when it carries its id (every node the build makes): a copy of each of 100,000
        # directions' properties was ~150 MB at the store write's peak.
        progs, dirs = semantics.canonical_order(d if d.get("id") == n else {"id": n, **d}
                                                for n, d in g.nodes(data=True) if d.get("label") in shown)
        directions = direction_lists(progs, dirs)
        arrays = {"edges.src": np.frombuffer(src, dtype=np.int32), "edges.dst": dst_a,
                  "edges.rel": np.frombuffer(rel, dtype=np.int8), "edges.indptr": indptr,
                  "edges.in_order": in_order, "edges.in_indptr": in_indptr,
                  "nodes.props": nodes.data, "nodes.props.offsets": nodes.offsets,
                  "edges.props": edges.data, "edges.props.offsets": edges.offsets,
                  BRIEFS: briefs.data, f"{BRIEFS}.offsets": briefs.offsets}
        for name, m in matrices.items():
            for part, a in _csr_arrays(m).items():
                arrays[f"{name}.{part}"] = a
        doc = {"ids": ids, "labels": labels, "relations": list(relations)}
        columns = Columns(doc, directions, profiles, arrays)
        if target is not None:
            columns.written = {"edges.props": target, "nodes.props": target, BRIEFS: target}
        return columns

    def save(self, target: Path) -> None:
        """Write the columns into the directory ``target``."""
        doc: dict[str, Any] = {"ids": self.node_ids, "labels": self.labels, "relations": self.relations}
        if self.node_briefs is not None:
            doc["briefs"] = brief_format()
        (target / NODES_FILE).write_bytes(_dumps(doc))
        if self.directions_file is None:
            (target / DIRECTIONS_FILE).write_bytes(_dumps(self.directions))
        else:  # the stored file as it is (linked: an addition's new lists go to the tail file)
            try:
                os.link(self.directions_file, target / DIRECTIONS_FILE)
            except OSError:
                (target / DIRECTIONS_FILE).write_bytes(self.directions_file.read_bytes())
            if self.directions_tail:
                (target / DIRECTIONS_TAIL_FILE).write_bytes(_dumps(self.directions_tail))
        (target / PROFILES_FILE).write_bytes(_dumps(self.profiles))
        for name, a in self.arrays.items():
            if self.written.get(name) == target:
                continue  # written there as it was made
            if name in self.carried:  # the same bytes as a file of the previous graph: linked, not written
                try:
                    os.link(self.carried[name], target / f"{name}.npy")
                    continue
                except OSError:  # another file system, or links refused: written below
                    pass
            np.save(target / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)

    @classmethod
    def open(cls, source: Path) -> Columns:
        """The columns in ``source``, arrays memory-mapped (a damaged file raises StoreDamaged naming it)."""
        from fundgraph.core.errors import StoreDamaged
        from fundgraph.graph.stores.embedded.home import reading

        docs = []
        for name in (NODES_FILE, PROFILES_FILE):
            with reading(source / name):
                docs.append(_loads((source / name).read_bytes()))
        with reading(source / DIRECTIONS_FILE):  # read on first use (Columns.directions)
            if not (source / DIRECTIONS_FILE).is_file():
                raise FileNotFoundError(source / DIRECTIONS_FILE)
        tail = None
        if (source / DIRECTIONS_TAIL_FILE).exists():  # present after `fundgraph add` only
            with reading(source / DIRECTIONS_TAIL_FILE):
                tail = _loads((source / DIRECTIONS_TAIL_FILE).read_bytes())
        arrays = {}
        for name in (*ARRAYS, *(f"{b}.offsets" for b in BLOBS)):
            path = source / f"{name}.npy"
            with reading(path):
                arrays[name] = _mapped(path)
                if arrays[name].ndim != 1:
                    raise ValueError(f"not a 1-d array (shape {arrays[name].shape})")
        for name in TRANSPOSED:
            path = source / f"{name}.npy"
            if path.exists():
                with reading(path):
                    arrays[name] = _mapped(path)
        for name in BLOB_EXTRAS:  # present after `fundgraph add` only
            path = source / f"{name}.npy"
            if path.exists():
                with reading(path):
                    arrays[name] = _mapped(path)
        if docs[0].get("briefs") == brief_format():  # else written by another fundgraph: made from the properties
            for name in (BRIEFS, f"{BRIEFS}.offsets", f"{BRIEFS}.tail"):
                path = source / f"{name}.npy"
                if name.endswith(".tail") and not path.exists():
                    continue
                with reading(path):
                    arrays[name] = _mapped(path)
        with reading(source / NODES_FILE):
            try:
                columns = cls(docs[0], None, docs[1], arrays, directions_file=source / DIRECTIONS_FILE,
                              directions_tail=tail)
                columns.source = source
                return columns
            except ArrayMismatch as e:
                raise StoreDamaged(source / f"{e.name}.npy", str(e)) from e

    # -- reading -------------------------------------------------------------------------------------------
    def node(self, node_id: str) -> dict[str, Any]:
        """A node's properties (with its id under ``id``, as the stores show it)."""
        d = self.node_props[self.index[node_id]]
        d.setdefault("id", node_id)
        return d

    def out_edges(self, node_id: str, relation: str | None = None, *, to: Container[str] | None = None
                  ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(target, key, properties) of a node's out-edges in adjacency order, of one relation if given.

        ``to``: only the edges whose target it holds (the others' properties are not decoded).
        """
        i = self.index[node_id]
        code = self.relations.index(relation) if relation in self.relations else -1
        if relation is not None and code < 0:
            return
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        # The node's edges picked with one comparison of its slice (a numpy scalar read per edge cost ~40% of
        # reading a direction's MENTIONS at 100,000 directions), their targets read in one go.
        picked = range(hi - lo) if relation is None else np.flatnonzero(self.rel[lo:hi] == code).tolist()
        targets = self.dst[lo:hi].tolist()
        ids, props = self.node_ids, self.edge_props
        for k in picked:
            if to is not None and ids[targets[k]] not in to:
                continue
            key, e = props[lo + k]
            yield ids[targets[k]], key, e

    def out_targets(self, node_id: str, relation: str) -> list[str]:
        """Targets of a node's out-edges of one relation (no property decoded)."""
        if relation not in self.relations:
            return []
        i = self.index[node_id]
        lo, hi = self.indptr[i : i + 2].tolist()
        code = self.relations.index(relation)
        ids = self.node_ids
        # Python over the two short slices: a node has tens of edges, and numpy's mask and fancy index of so few
        # cost more than the loop (a similar list reads this for each direction it ranks).
        return [ids[t] for t, r in zip(self.dst[lo:hi].tolist(), self.rel[lo:hi].tolist(), strict=True) if r == code]

    def neighbours(self, node_id: str) -> set[str]:
        """Successors and predecessors of a node."""
        i = self.index[node_id]
        out = self.dst[int(self.indptr[i]) : int(self.indptr[i + 1])]
        into = self.src[self.in_order[int(self.in_indptr[i]) : int(self.in_indptr[i + 1])]]
        ids = self.node_ids
        return {ids[t] for t in np.concatenate([out, into]).tolist()}

    def edges_of(self, relation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(edge numbers, source and target node numbers) of every edge of one relation."""
        if relation not in self.relations:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        where = np.flatnonzero(np.asarray(self.rel) == self.relations.index(relation))
        return where, np.asarray(self.src)[where], np.asarray(self.dst)[where]

    def programs_of(self, direction_ids: Sequence[str]) -> list[str | None]:
        """Each direction's program: the source of its HAS_DIRECTION edge (read from the edge arrays).

        What ``directions.json`` lists as its program, without reading that file (see :attr:`directions`); a
        direction no program links to gets its ``program_id`` property.
        """
        _, src, dst = self.edges_of(Rel.HAS_DIRECTION.value)
        owner = np.full(len(self.node_ids), -1, dtype=np.int64)
        owner[np.asarray(dst, dtype=np.int64)] = np.asarray(src, dtype=np.int64)
        rows = np.fromiter((self.index[d] for d in direction_ids), dtype=np.int64, count=len(direction_ids))
        ids = self.node_ids
        return [ids[o] if o >= 0 else self.node(d).get("program_id")
                for d, o in zip(direction_ids, owner[rows].tolist(), strict=True)]

    def matrix(self, name: str, shape: tuple[int, int]) -> sp.csr_matrix:
        """A stored CSR matrix (``profiles`` or ``entities``)."""
        a = self.arrays
        return sp.csr_matrix((a[f"{name}.data"], a[f"{name}.indices"], a[f"{name}.indptr"]), shape=shape, copy=False)

    def transposed(self, name: str, shape: tuple[int, int]) -> sp.csr_matrix | None:
        """A stored transposed matrix (``vectors_t`` or ``entities_t``, of ``shape``), or None when not stored."""
        a = self.arrays
        parts = [a.get(f"{name}.{part}") for part in ("data", "indices", "indptr")]
        if any(p is None for p in parts) or parts[2].shape[0] != shape[0] + 1 or int(parts[2][-1]) != len(parts[0]):
            return None
        return sp.csr_matrix(tuple(parts), shape=shape, copy=False)

    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph these columns hold (for exports, the notebook and builds; serving never makes it)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from((n, self.node_props[i]) for i, n in enumerate(self.node_ids))
        for n, d in g.nodes(data=True):  # node-link JSON dropped the "id" attribute; the stores show it
            d.setdefault("id", n)
        ids, src, dst = self.node_ids, self.src.tolist(), self.dst.tolist()
        g.add_edges_from((ids[src[j]], ids[dst[j]], *self.edge_props[j]) for j in range(len(src)))
        return g


class NodeView(Mapping[str, dict[str, Any]]):
    """``nodes[id]`` → properties, decoded on access (networkx's ``g.nodes`` for the code that reads one node)."""

    def __init__(self, columns: Columns) -> None:
        self.columns = columns

    def __getitem__(self, node_id: str) -> dict[str, Any]:
        return self.columns.node(node_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns.node_ids)

    def __len__(self) -> int:
        return len(self.columns.node_ids)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.columns.index


def columns_from_built(built: Any, target: Path | None = None) -> Columns:
    """The columns of a :class:`~fundgraph.graph.stores.base.BuiltGraph`, with its ranking candidates computed.

    ``target``: the directory they are about to be saved in (the edge blob is written there as it is made).
    """
    from fundgraph.embeddings import vectors as vx
    from fundgraph.graph.profiles import candidates_from_graph
    from fundgraph.graph.read.ranking import RankingContext

    g = built.graph
    ids = [d for d in built.direction_ids if d in g]
    config = RankingContext(built.meta, built.encoder_state).config
    made, state, edges = getattr(built, "candidates", None) or (None, None, -1)
    if made is not None and made.ids == ids and state == config.state() and edges == edge_count(g):
        cands = made  # the build's own (graph/build/pipeline.py), for the graph as it is
    else:
        cands = candidates_from_graph(g, ids, vx.empty(len(ids)), config)
    matrix, columns = cands.entity_matrix
    entities = sorted(columns, key=columns.__getitem__)
    indptr = np.zeros(len(ids) + 1, dtype=np.int64)
    # Machine arrays, not lists of Python numbers (~100 MB at 100,000 directions, at the build's peak).
    indices = array("i")
    data = array("d")
    for r, p in enumerate(cands.entities):  # each profile's entities in its own order (explanations follow it)
        indices.extend(columns[e] for e in p)
        data.extend(p.values())
        indptr[r + 1] = len(indices)
    raw = sp.csr_matrix((np.frombuffer(data, dtype=np.float64), np.frombuffer(indices, dtype=np.int32), indptr),
                        shape=matrix.shape)
    profiles = {"ids": ids, "entities": entities, "idf": cands.idf, "parents": cands.parents,
                "info": {e: [i.type, i.name, i.name_en] for e, i in cands.info.items()}}
    columns_ = Columns.from_graph(g, profiles, {"profiles": raw, "entities": matrix}, target=target)
    vectors = built.vectors

    def transposed() -> Iterator[tuple[str, sp.csr_matrix]]:  # one at a time
        yield "entities_t", matrix.T.tocsr()
        if sp.issparse(vectors) and list(built.direction_ids) == ids:
            yield "vectors_t", vx.as_rows(vectors).T.tocsr()

    for name, m in transposed():
        parts = {"data": np.asarray(m.data, dtype=np.float32 if name == "vectors_t" else np.float64),
                 "indices": np.asarray(m.indices, dtype=np.int32), "indptr": np.asarray(m.indptr, dtype=np.int64)}
        for part, a in parts.items():
            if target is None:
                columns_.arrays[f"{name}.{part}"] = a
            else:  # written now and mapped back: the text vectors' transpose (~290 MB at 100,000 directions) was
                # held until the columns were saved, at the store write's peak
                np.save(target / f"{name}.{part}.npy", a, allow_pickle=False)
                columns_.arrays[f"{name}.{part}"] = _mapped(target / f"{name}.{part}.npy")
                columns_.written[f"{name}.{part}"] = target
        del parts, m
    return columns_


def edge_count(g: nx.MultiDiGraph) -> int:
    """``g.number_of_edges()`` of a multigraph, counted from each node's successors' parallel edges.

    networkx's own walks every node's in- and out-degrees through its degree view: 0.21 s against 0.10 s for a
    graph of 400,000 edges.
    """
    if not g.is_multigraph():
        return g.number_of_edges()
    return sum(len(keyed) for _node, nbrs in g.adjacency() for keyed in nbrs.values())


def is_direction(columns: Columns, node_id: str) -> bool:
    """Whether ``node_id`` is a direction node."""
    i = columns.index.get(node_id)
    return i is not None and columns.labels[i] == Label.DIRECTION.value
