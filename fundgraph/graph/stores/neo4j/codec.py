"""How the graph's properties are stored in Neo4j and read back: pure functions, no driver, no server.

Neo4j stores no nulls and no maps, so :func:`encode_props` keeps primitives and homogeneous lists as they are,
records ``None`` by name in ``fg_null`` and JSON-encodes anything else (named in ``fg_json``);
:func:`decode_props` inverts it. The loader also stores bookkeeping (build id, order, edge key) and the lookup
forms of :mod:`fundgraph.graph.read.semantics` (:func:`query_props`), so the reads can be plain Cypher; all of
it is stripped again when properties are decoded.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from fundgraph.graph.model import Label, Rel
from fundgraph.graph.read import semantics
from fundgraph.graph.read.records import direction_detail, entity_type_of, graph_edge, graph_node

#: Bookkeeping properties the loader adds (stripped when the graph is read back).
BUILD_KEY = "fg_build"
SEQ_KEY = "fg_seq"
JSON_KEYS = "fg_json"
NULL_KEYS = "fg_null"
EDGE_KEY = "fg_key"
#: Query properties the loader derives so the read queries can be plain Cypher (see :func:`query_props`).
ORDER_KEY = "fg_order"
LOOKUP_KEY = "fg_lookup"
SEARCH_KEY = "fg_search"
TEXT_KEY = "fg_text"
KEYWORDS_KEY = "fg_keywords"
CATEGORY_KEY = "fg_category"
#: A sparse text vector (the lexical encoder's CSR row): its column indices and values, non-zeros only (byte
#: arrays: :func:`sparse_row_props`).
VECTOR_INDICES = "fg_vec_idx"
VECTOR_VALUES = "fg_vec_val"
#: A direction's word TF-IDF row (the word mix's, :mod:`fundgraph.embeddings.words`), stored as the sparse vector.
WORD_INDICES = "fg_word_idx"
WORD_VALUES = "fg_word_val"
#: A direction's first-pass pool across programs: the ids of :attr:`BuiltGraph.pools`' rows in the word mix's order
#: (what ``similar`` returns, first k for any k up to the pool), and the first pass's best score (whether another
#: program holds a related one).
POOL_KEY = "fg_pool"
POOL_BEST_KEY = "fg_pool_best"
#: A direction's entity profile (what the shared ranking scores: embeddings.scoring.entity_profile expanded up
#: MEMBER_OF): its entity ids and their weights, in one order; and the entities it cites itself (its MENTIONS
#: targets, for the hierarchy marks). Written at load so that similar/search re-score candidates read by id.
PROFILE_ENTITIES = "fg_prof_e"
PROFILE_WEIGHTS = "fg_prof_w"
DIRECT_KEY = "fg_direct"
#: A hub's neighbour ids (either direction, distinct, itself left out), smallest first, at most NEIGHBOUR_HEAD.
NEIGHBOURS_KEY = "fg_nbrs"
#: A node's depth-2 neighbourhood walk, as far as ``WALK_HEAD`` nodes (:func:`walk_heads`), and ``[its level-1 count,
#: 1 if the walk goes on past them else 0]``: a neighbourhood of depth 1 or 2 and limit <= WALK_HEAD + 1 reads it.
WALK_KEY = "fg_walk"
WALK_COUNTS_KEY = "fg_walk_n"
#: What a neighbourhood shows of a node and of its outgoing edges, as one JSON byte array (:func:`neighbourhood_views`).
VIEW_KEY = "fg_view"
#: A direction's detail (``GET /api/directions/{id}``) as the API sends it, JSON bytes (:func:`direction_details`).
DETAIL_KEY = "fg_detail"
#: A direction's similar list from its stored SIMILAR_TO edges as the API sends it, in parts (``SimilarAnswers``
#: of :mod:`.store`): JSON ``{"k": most k it answers, "tail": the list's fields after its items, "items": [...]}``.
SIMILAR_KEY = "fg_similar"
#: A node's neighbourhood of :data:`STORED_DEPTH` and :data:`STORED_LIMIT` as the API sends it, gzip-compressed
#: (:func:`stored_neighbourhood_json`, :func:`compress_answer`): the API sends these bytes as they are to a client
#: that accepts gzip.
ANSWER_KEY = "fg_nb"
BOOKKEEPING = frozenset({BUILD_KEY, SEQ_KEY, JSON_KEYS, NULL_KEYS, EDGE_KEY, ORDER_KEY, LOOKUP_KEY, SEARCH_KEY,
                         TEXT_KEY, KEYWORDS_KEY, CATEGORY_KEY, VECTOR_INDICES, VECTOR_VALUES, NEIGHBOURS_KEY,
                         PROFILE_ENTITIES, PROFILE_WEIGHTS, DIRECT_KEY, VIEW_KEY, DETAIL_KEY,
                         SIMILAR_KEY, WALK_KEY, WALK_COUNTS_KEY, ANSWER_KEY, WORD_INDICES, WORD_VALUES, POOL_KEY,
                         POOL_BEST_KEY})
#: Nodes with more neighbours (counted each way) than this carry ``fg_nbrs``: the neighbourhood walk reads a hub's first
#: neighbours from it instead of reading and sorting all of them (a program, community or common entity has
#: thousands of directions at 100,000).
NEIGHBOUR_HUB_DEGREE = 64
#: Length of ``fg_nbrs``: a walk of limit L needs a hub's first 3·L neighbours (2·L past the ≤ L already seen),
#: so walks up to L = 333 read the list; larger ones (and shorter lists that are not the whole neighbourhood)
#: read the relationships.
NEIGHBOUR_HEAD = 1000
#: Nodes a stored walk holds (``fg_walk``, besides its centre): walks of limit up to 129 read it (the API's default
#: and the dashboard's, 100, read the stored answer instead: ``fg_nb``).
WALK_HEAD = 128
#: The neighbourhood a node stores whole (``fg_nb``): depth 2 and limit 100, the API's default limit and the dashboard's
#: view. At 100,000 directions such an answer is 90-270 kB of JSON (~960 edges) and ~10 kB gzip-compressed; reading
#: and splicing its ~100 views cost ~6 ms of CPU a request (API 3.2 + Neo4j 2.6), so 32 clients on 2 cores waited
#: ~160 ms (p99) for it, against ~40 ms for a detail, which is one stored property too.
STORED_DEPTH = 2
STORED_LIMIT = 100
#: Nodes with more outgoing relationships than this keep them out of their ``fg_view`` (a neighbourhood reads such
#: a node's edges from the relationships instead). At 100,000 directions no node has more than 58.
VIEW_MAX_OUT_EDGES = 256
#: Version of the stored layout (the query properties above, the vector and profile properties, the meta node's
#: ranking vocabulary). A graph loaded by an older loader lacks them: the store then asks for a re-load instead
#: of answering wrongly.
LAYOUT = 11
#: The Direction property under the vector index: the text vector itself when it is dense (a sentence model),
#: else :func:`projection` of its sparse row (the exact row is ``fg_vec_idx``/``fg_vec_val``).
EMBEDDING = "embedding"
#: Neo4j 5's vector indexes take at most 4096 dimensions; longer dense vectors are stored but not indexed.
MAX_INDEXED_DIMENSIONS = 4096
#: Dimensions of the projection of sparse rows. A 4,000-dimension dense copy of every lexical row was 32 KB of
#: doubles per direction (3.2 GB at 100,000, and an HNSW index as large); 256 keeps the index small while its
#: nearest neighbours still hold the exact best ones (recall measured by benchmarks/neo4j_scale.py).
PROJECTION_DIMENSIONS = 256
#: Seed of the projection matrix: the same for every load, so a query projected later meets the stored rows.
PROJECTION_SEED = 20240614


def _primitive_list(value: list[Any]) -> bool:
    kinds = {type(v) for v in value}
    if not value:
        return True
    if None in value or len(kinds) > 1:
        return kinds <= {int, float} and None not in value
    return kinds <= {str, int, float, bool}


def encode_props(props: dict[str, Any]) -> dict[str, Any]:
    """Flat Neo4j properties of a node or edge (Neo4j stores no nulls and no maps).

    Primitives and homogeneous lists are kept as they are; ``None`` is recorded by name in ``fg_null``;
    anything else is JSON-encoded and named in ``fg_json``.
    """
    out: dict[str, Any] = {}
    nulls: list[str] = []
    as_json: list[str] = []
    for k, v in props.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, tuple):
            v = list(v)
        if v is None:
            nulls.append(k)
        elif isinstance(v, (str, bool, int)) or (isinstance(v, float) and math.isfinite(v)):
            out[k] = v
        elif isinstance(v, list) and _primitive_list(v):
            out[k] = v
        else:
            out[k] = json.dumps(v, ensure_ascii=False)
            as_json.append(k)
    if nulls:
        out[NULL_KEYS] = nulls
    if as_json:
        out[JSON_KEYS] = as_json
    return out


def decode_props(props: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_props` (bookkeeping properties dropped)."""
    out = {k: v for k, v in props.items() if k not in BOOKKEEPING}
    for k in props.get(JSON_KEYS) or ():
        if k in out:  # (a statement may return a chosen subset of the keys)
            out[k] = json.loads(out[k])
    for k in props.get(NULL_KEYS) or ():
        out[k] = None
    return out


def decode_pairs(pairs: list[list[Any]]) -> dict[str, Any]:
    """Decoded properties from the ``[key, value]`` pairs a statement returns (a chosen subset of keys)."""
    return decode_props({k: v for k, v in pairs})


def decode_values(keys: list[str], values: list[Any]) -> dict[str, Any]:
    """Decoded properties from the values a statement returns for ``keys`` in that order (null: not set)."""
    return decode_props({k: v for k, v in zip(keys, values, strict=True) if v is not None})


def decode_edge_key(props: dict[str, Any]) -> Any:
    """The networkx edge key a relationship was stored with (JSON in ``fg_key``)."""
    return _edge_key(props.get(EDGE_KEY) or '""')


@functools.lru_cache(maxsize=1024)
def _edge_key_cached(text: str) -> Any:
    return json.loads(text)


def _edge_key(text: str) -> Any:
    """``json.loads`` of an edge key, remembered (lists, from tuple keys, are copied: never shared).

    A few distinct keys ("0", "1" …) decoded for the ~760 edges of a neighbourhood at 100,000 directions took a
    fifth of its Python time.
    """
    key = _edge_key_cached(text)
    return list(key) if isinstance(key, list) else key


def query_props(g: nx.MultiDiGraph) -> dict[str, dict[str, Any]]:
    """Node id → the derived properties the read queries match on (stripped again by :func:`decode_props`).

    Cypher has no NFKC/case-folding equal to Python's, so the lookup forms of
    :func:`fundgraph.graph.read.semantics.norm` are computed here, once per load, and the queries compare them
    exactly:

    - Direction: ``fg_order`` (rank in the canonical order: program manifest order, ordinal, id),
      ``fg_text`` (title + content, for ``q``), ``fg_keywords`` (its own 关键词), ``fg_category``
      (category and raw category);
    - entity: ``fg_lookup`` (what a filter value or an entity id in a path may name) and ``fg_search`` (what the
      entity list's ``q`` searches);
    - hub (more than :data:`NEIGHBOUR_HUB_DEGREE` relationships): ``fg_nbrs`` (:func:`neighbour_heads`).
    """
    out: dict[str, dict[str, Any]] = {}
    _, dirs = semantics.canonical_order(d for _, d in g.nodes(data=True))
    for i, d in enumerate(dirs):
        out[d["id"]] = {
            ORDER_KEY: i,
            TEXT_KEY: semantics.direction_text(d),
            KEYWORDS_KEY: semantics.direction_keywords(d),
            CATEGORY_KEY: semantics.direction_categories(d),
        }
    for n, d in g.nodes(data=True):
        if entity_type_of(d.get("label")) is None:
            continue
        out[n] = {LOOKUP_KEY: semantics.lookup_forms(n, d), SEARCH_KEY: semantics.search_forms(n, d)}
    for n, head in neighbour_heads(g).items():
        out.setdefault(n, {})[NEIGHBOURS_KEY] = head
    for n, (walk, counts) in walk_heads(g).items():
        out.setdefault(n, {}).update({WALK_KEY: walk, WALK_COUNTS_KEY: counts})
    return out


def walk_heads(g: nx.MultiDiGraph, max_degree: int = NEIGHBOUR_HUB_DEGREE, head: int = WALK_HEAD
               ) -> dict[str, tuple[list[str], list[int]]]:
    """Node id → its depth-2 walk's first ``head`` nodes past itself, and ``[level-1 count, more than head]``.

    The walk is :func:`~fundgraph.graph.read.semantics.walk`'s (neighbours smallest id first); the second list is
    ``[nodes at distance 1, 1 if the walk holds more than head nodes else 0]``.

    A walk of limit L is the first L - 1 of these (the walk visits in one order whatever its limit), so a
    neighbourhood of depth 1 or 2 and limit <= head + 1 is the stored list's seeks and views, without the walk's
    expansion in Cypher (~0.5 ms of Neo4j CPU of ~1.9 a depth-2 neighbourhood at 20,000 directions, one client).
    Only nodes with at most ``max_degree`` neighbours (counted each way) and some neighbour: a hub's walk takes its
    ``fg_nbrs`` and stops at level 1, already cheap. A level-2 node's neighbours are read as far as the walk can
    need them (``2 * head + 2``: at most ``head + 1`` of them are seen already).
    """
    succ, pred = g.succ, g.pred
    need = 2 * head + 2
    firsts: dict[str, list[str]] = {}

    def first(n: Any) -> list[str]:
        got = firsts.get(n)
        if got is None:
            ids = {str(v) for v in succ[n]} | {str(v) for v in pred[n]}
            got = firsts[n] = sorted(ids)[:need]
        return got

    out: dict[str, tuple[list[str], list[int]]] = {}
    for n in g:
        if not 0 < len(succ[n]) + len(pred[n]) <= max_degree:
            continue
        order, seen, more = semantics.walk(str(n), 2, head + 1, lambda frontier, _seen: {u: first(u) for u in frontier})
        if len(order) > 1:
            out[str(n)] = (order[1:], [sum(1 for d in seen.values() if d == 1), int(more)])
    return out


def neighbour_heads(
    g: nx.MultiDiGraph, min_degree: int = NEIGHBOUR_HUB_DEGREE, head: int = NEIGHBOUR_HEAD
) -> dict[str, list[str]]:
    """Hub id → its first ``head`` neighbour ids (either direction, distinct, not itself), smallest first.

    Only nodes with more than ``min_degree`` neighbours (counted each way): for the others reading the relationships
    is as cheap.
    The ids are compared as strings, as Cypher's ``ORDER BY`` compares them.
    """
    out: dict[str, list[str]] = {}
    succ, pred = g.succ, g.pred
    for n in g:
        if len(succ[n]) + len(pred[n]) <= min_degree:  # neighbours (with repeats): O(1), unlike g.degree's sums
            continue
        ids = {str(v) for v in succ[n]} | {str(v) for v in pred[n]}
        ids.discard(str(n))
        out[str(n)] = sorted(ids)[:head]
    return out


def stored_walk(center: str, walk: list[str] | None, walk_size: int, counts: list[int] | None, depth: int, limit: int,
                hub: list[str] | None = None) -> tuple[list[str], dict[str, int], bool]:
    """The walk from ``center`` (depth 1 or 2, limit <= head + 1) as its stored walk (:func:`walk_heads`) gives it.

    The same as :func:`~fundgraph.graph.read.semantics.walk`'s; ``walk``: at least the stored list's first
    ``limit - 1`` nodes; ``walk_size``: the stored list's length; ``counts``: as stored. A hub stores no walk:
    ``hub`` is its first ``limit - 1`` neighbours (``fg_nbrs``) when it has ``limit`` or more, the walk then (level 1
    fills it, cut short).

    Returns:
        (nodes in visiting order, each node's distance, whether ``limit`` cut the walk short).
    """
    if walk is None:
        taken = (hub or [])[: limit - 1]
        return [center, *taken], {center: 0} | dict.fromkeys(taken, 1), True
    level1, more = counts or (0, 0)
    if depth == 1:
        taken, truncated = walk[: min(level1, limit - 1)], level1 > limit - 1
    else:
        taken, truncated = walk[: limit - 1], bool(more) or walk_size > limit - 1
    seen = {center: 0} | {n: 1 if i < level1 else 2 for i, n in enumerate(taken)}
    return [center, *taken], seen, truncated


def neighbourhood_views(g: nx.MultiDiGraph, max_out: int = VIEW_MAX_OUT_EDGES) -> dict[str, bytes]:
    """Node id → its ``fg_view``: a JSON line ``[head, tail, targets, ends]`` and its edges' JSON after it.

    Made at load, so a neighbourhood's answer is spliced from bytes, with no JSON made or parsed per node or edge
    (:meth:`.store.Neo4jStore.neighborhood_json`). ``head + str(distance) + tail`` is the node's JSON as the answer
    shows it (``{"data": ...}`` of :func:`~fundgraph.graph.read.records.graph_node`; ``distance`` is set by each
    walk). After the line's newline come the JSON texts of its outgoing edges in build order (``{"data": ...}`` of
    :func:`~fundgraph.graph.read.records.graph_edge`), one after another: ``targets`` are their targets (a walk
    keeps the edges to chosen nodes) and ``ends`` where each ends, counted from the first; both null when it has
    more than ``max_out`` (the neighbourhood then reads its relationships). Made from the properties as the store
    reads them back (:func:`encode_props`, :func:`decode_props`; the key through JSON as ``fg_key``), so the answer
    is the one the relationships gave. Reading every relationship of a neighbourhood's 100 nodes and 10
    properties of each kept edge was 10,000 db hits and 8 ms of Neo4j CPU at 100,000 directions; a view a node is
    read with the walk's own seeks. Edges as ready JSON rather than values: making ~700 edge dicts from flat values
    and serialising them took twice the Python of this (1.0 against 0.45 ms a depth-2 neighbourhood of a 5,000-
    direction graph, ~700 edges); as JSON strings inside the line, parsing their escaped quotes made it 0.65. A
    byte array rather than a string: Neo4j sends it as stored (a string is decoded from its store and encoded
    again for Bolt, then decoded by the driver).
    """
    import orjson

    out: dict[str, bytes] = {}
    for n, d in g.nodes(data=True):
        head, tail = _split_at_distance(graph_node(str(n), decode_props(encode_props(d)), 0).data)
        targets: list[str] | None = None
        ends: list[int] | None = None
        edges = bytearray()
        if g.out_degree(n) <= max_out:
            targets, ends = [], []
            for _, v, key, e in g.out_edges(n, keys=True, data=True):
                key = json.loads(json.dumps(key))  # as the relationship's fg_key gives it back
                targets.append(str(v))
                edges += orjson.dumps({"data": graph_edge(str(n), key, str(v), decode_props(encode_props(e))).data})
                ends.append(len(edges))
        out[str(n)] = orjson.dumps([head, tail, targets, ends]) + b"\n" + bytes(edges)
    return out


def parse_view(view: bytes) -> tuple[str, str, list[str] | None, list[int] | None, bytes]:
    """A ``fg_view`` (:func:`neighbourhood_views`) as ``(head, tail, targets, ends, edges)``: its line parsed."""
    head, tail, targets, ends, start = parse_view_line(view)
    return head, tail, targets, ends, view[start:]


def parse_view_line(view: bytes) -> tuple[str, str, list[str] | None, list[int] | None, int]:
    """A ``fg_view``'s line parsed, and where its edges start (edge ``i``: ``view[start + ends[i-1]:start + ends[i]]``).

    The neighbourhood slices the edges it keeps from the view as read (:func:`parse_view` copies them out).
    """
    import orjson

    line = view.index(b"\n")
    head, tail, targets, ends = orjson.loads(view[:line])
    return head, tail, targets, ends, line + 1


def splice_neighbourhood(center: str, order: list[str], seen: dict[str, int], truncated: bool, depth: int,
                         views: dict[str, bytes], edges_of: Callable[[str], list[bytes]] | None = None) -> bytes:
    """A neighbourhood's answer (:class:`~fundgraph.graph.read.models.Neighborhood` as JSON), spliced from views.

    Nodes in walk order (each view's head, its distance, its tail); edges: each chosen node's outgoing edges to
    chosen nodes, in build order (the embedded store's), as their views hold them; ``edges_of(node)`` gives the edge
    JSON texts of a node whose view holds none (read from its relationships). Each view is parsed here, in the one
    pass that keeps its edges, and its edges are sliced from the view as read (a first pass that parsed the views
    into tuples and copied their edges out, then this one, cost 0.74 ms a depth-2 neighbourhood of 100 nodes and
    ~1,700 edges at 20,000 directions, against 0.60 in one).
    """
    import orjson

    nodes = []
    edges: list[bytes] = []
    for u in order:
        view = views[u]
        head, tail, targets, ends, first = parse_view_line(view)
        nodes.append(f"{head}{seen[u]}{tail}")
        if targets is None:
            if edges_of is None:
                raise ValueError(f"the view of {u!r} holds no edges and no edges_of was given")
            edges += edges_of(u)
            continue
        start = first
        for t, end in zip(targets, ends, strict=True):
            if t in seen:
                edges.append(view[start:first + end])
            start = first + end
    opening = f'{{"center":{orjson.dumps(center).decode()},"depth":{depth},"nodes":[{",".join(nodes)}],"edges":['
    closing = f'],"truncated":{"true" if truncated else "false"}}}'
    return b"".join((opening.encode(), b",".join(edges), closing.encode()))


def stored_neighbourhood_json(node: str, props: dict[str, Any], views: dict[str, bytes]) -> bytes | None:
    """The neighbourhood of :data:`STORED_DEPTH`, :data:`STORED_LIMIT` as JSON, when the store would read it whole.

    None unless the store would take that walk from the node's own properties (``props``: its :func:`query_props`,
    ``fg_walk`` or ``fg_nbrs``) and every node of it has its edges in its view (else the store reads relationships on
    a request). The answer is the one the store would splice from the same views on a request
    (:func:`splice_neighbourhood`): ~0.9 ms and ~160 kB a node at 100,000 directions.
    """
    walk, hub = props.get(WALK_KEY), props.get(NEIGHBOURS_KEY)
    if walk is None and (hub is None or len(hub) < STORED_LIMIT):
        return None
    order, seen, truncated = stored_walk(node, walk, len(walk or ()), props.get(WALK_COUNTS_KEY), STORED_DEPTH,
                                         STORED_LIMIT, None if walk is not None else hub[: STORED_LIMIT - 1])
    if any(view_holds_no_edges(views[u]) for u in order):
        return None
    return splice_neighbourhood(node, order, seen, truncated, STORED_DEPTH, views)


def compress_answer(answer: bytes) -> bytes:
    """``answer`` gzip-compressed as stored (``fg_nb``): level 6, no timestamp (the same graph gives the same bytes).

    At 100,000 directions (a node's ~160 kB): level 1 14.5 kB in 0.48 ms, 3 12.1 kB in 0.52 ms, 6 10.5 kB in 1.56 ms,
    9 10.3 kB in 3.57 ms; decompressing any of them ~0.3 ms. Level 6: each request reads the fewest bytes for a cost
    paid once at load, in a thread beside the loader's (zlib releases the GIL).
    """
    import gzip

    return gzip.compress(answer, 6, mtime=0)


def view_holds_no_edges(view: bytes) -> bool:
    """Whether a ``fg_view`` holds no edges (``targets`` and ``ends`` null: more than a view holds), unparsed."""
    return view[: view.index(b"\n")].endswith(b",null,null]")


def _split_at_distance(data: dict[str, Any]) -> tuple[str, str]:
    """``{"data": data}`` as JSON text in two parts, before and after the value of its ``distance`` key."""
    import orjson

    keys = list(data)
    at = keys.index("distance")
    before = orjson.dumps({k: data[k] for k in keys[:at]}).decode()
    after = orjson.dumps({k: data[k] for k in keys[at + 1 :]}).decode()
    head = '{"data":' + before[:-1] + ("," if at else "") + '"distance":'
    tail = ("," + after[1:] if len(keys) > at + 1 else "}") + "}"
    return head, tail


def direction_details(g: nx.MultiDiGraph) -> dict[str, bytes]:
    """Direction id → its ``fg_detail``: the JSON bytes of its detail (:func:`.records.direction_detail`).

    Made at load from what the store reads back (:func:`encode_props`, :func:`decode_props`, as for
    :func:`neighbourhood_views`): the direction's properties, its community (its last IN_COMMUNITY edge in build
    order) and its MENTIONS edges to entities in build order with each entity's properties, so the detail a request
    reads is one property of one node found by the id index (``get_direction``). Reading the mentions, entities and
    evidence and building the read model on every request was ~0.9 ms of Neo4j and API CPU at 100,000 directions.
    """
    import pydantic_core

    out: dict[str, bytes] = {}
    nodes = g.nodes
    for n, d in g.nodes(data=True):
        if d.get("label") != Label.DIRECTION:
            continue
        community = None
        mentions = []
        for _, v, e in g.out_edges(n, data=True):
            kind = e.get("type")
            if kind == Rel.IN_COMMUNITY:
                community = str(v)
            elif kind == Rel.MENTIONS:
                et = entity_type_of(nodes[v].get("label"))
                if et is not None:
                    mentions.append((str(v), et, decode_props(encode_props(nodes[v])), decode_props(encode_props(e))))
        node = decode_props(encode_props({k: v for k, v in d.items() if k != EMBEDDING}))
        out[str(n)] = pydantic_core.to_json(direction_detail(node, community, mentions))
    return out


@functools.lru_cache(maxsize=4)
def projection_matrix(dimensions: int, out: int = PROJECTION_DIMENSIONS, seed: int = PROJECTION_SEED) -> np.ndarray:
    """The seeded Gaussian matrix (``dimensions`` × ``out``) that :func:`projection` multiplies by.

    Made once per shape (a search projects its text with it: drawing 4,000 × 256 normals took about 10 ms).
    """
    rng = np.random.default_rng(seed)
    m = (rng.standard_normal((dimensions, out)) / math.sqrt(out)).astype(np.float32)
    m.setflags(write=False)  # shared by every caller
    return m


def projection(rows: Any, out: int = PROJECTION_DIMENSIONS, seed: int = PROJECTION_SEED) -> np.ndarray:
    """Unit-length random projections of text rows (sparse or dense) to ``out`` dimensions (float32).

    A Gaussian projection keeps cosines within a few hundredths (Johnson–Lindenstrauss), which is all candidate
    retrieval needs: the kept candidates are re-scored on the exact rows.
    """
    m = rows.tocsr() if sp.issparse(rows) else np.asarray(rows, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    p = np.asarray(m @ projection_matrix(m.shape[1], out, seed), dtype=np.float32)
    norms = np.linalg.norm(p, axis=1, keepdims=True)
    return p / np.where(norms > 0, norms, 1.0)


def sparse_row_props(m: sp.csr_matrix, i: int, keys: tuple[str, str] = (VECTOR_INDICES, VECTOR_VALUES)
                     ) -> dict[str, bytes]:
    """Row ``i`` of a canonical CSR matrix as the properties ``fg_vec_idx`` and ``fg_vec_val`` (column order).

    ``keys``: the two properties' names (the word rows': ``fg_word_idx`` and ``fg_word_val``).

    Byte arrays (int32 and float32, little-endian) rather than lists: the driver decodes a list value by value in
    Python, which was most of a similar request's CPU at 100,000 directions (200 candidates of ~165 non-zeros: 1
    million packstream values a second at 8 requests/s); a byte array is one value, read with ``np.frombuffer``.
    """
    a, b = int(m.indptr[i]), int(m.indptr[i + 1])
    return {keys[0]: m.indices[a:b].astype("<i4").tobytes(), keys[1]: m.data[a:b].astype("<f4").tobytes()}


def _array(x: Any, dtype: str) -> np.ndarray:
    """A stored vector part: a byte array (:func:`sparse_row_props`) or a list."""
    return np.frombuffer(x, dtype=dtype) if isinstance(x, (bytes, bytearray)) else np.asarray(x, dtype=dtype)


def sparse_rows(pairs: list[tuple[Any, Any]], dimensions: int) -> sp.csr_matrix:
    """The CSR float32 matrix of rows stored by :func:`sparse_row_props` (``(indices, values)`` per row)."""
    idx = [_array(i, "<i4") for i, _ in pairs]
    val = [_array(v, "<f4") for _, v in pairs]
    indptr = np.zeros(len(pairs) + 1, dtype=np.int64)
    np.cumsum([len(i) for i in idx], out=indptr[1:])
    indices = np.concatenate(idx).astype(np.int32) if idx else np.zeros(0, dtype=np.int32)
    data = np.concatenate(val).astype(np.float32) if val else np.zeros(0, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(pairs), dimensions))
