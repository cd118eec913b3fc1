"""Writing a :class:`BuiltGraph` into Neo4j: parameter rows, batches, schema, and the replace protocol.

Layout in Neo4j: every fundgraph node has the common label ``:Node`` (unique ``id``) plus its model label
(``:Direction``, ``:Disease`` …); relationships carry their model type. Labels are passed as parameters to Neo4j
5.26's dynamic labels after being checked against :mod:`fundgraph.graph.model` (Cypher cannot take them as
ordinary parameters, and splicing text into Cypher is what we never do). Direction vectors are the ``embedding``
property under the cosine vector index ``direction_embedding``; one ``(:FundgraphMeta {id: 'fundgraph'})`` node
holds the build id, the build meta and the encoder state (JSON strings) and the row order of the vectors.

Loading (:func:`replace`) is batched and idempotent: ``UNWIND $rows AS row MERGE …`` tags every node and
relationship with the new build id, then deletes whatever an older (or interrupted) load left, then marks the
meta node with the new build id. Re-running a load, or re-running after a load died half-way, ends with exactly
the built graph. Into a database without a fundgraph graph the batches CREATE instead (``create_*``: nothing to
merge with, about 30% faster) and the vector index is populated once after them. A Neo4j Browser user
watching mid-load sees the union of the old and new graph (ids are stable,
so that is mostly the same nodes with refreshed properties); readers keep answering from the previous complete
build until the meta node changes.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from fundgraph.core.errors import FundgraphError
from fundgraph.embeddings import vectors as vx
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.profiles import candidates_from_graph
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.neo4j.codec import (
    ANSWER_KEY,
    DETAIL_KEY,
    DIRECT_KEY,
    EMBEDDING,
    LAYOUT,
    MAX_INDEXED_DIMENSIONS,
    POOL_BEST_KEY,
    POOL_KEY,
    PROFILE_ENTITIES,
    PROFILE_WEIGHTS,
    PROJECTION_DIMENSIONS,
    SEQ_KEY,
    SIMILAR_KEY,
    VIEW_KEY,
    VIEW_MAX_OUT_EDGES,
    WORD_INDICES,
    WORD_VALUES,
    compress_answer,
    direction_details,
    encode_props,
    neighbourhood_views,
    projection,
    query_props,
    sparse_row_props,
    stored_neighbourhood_json,
)

if TYPE_CHECKING:
    import networkx as nx

    from fundgraph.graph.stores.neo4j.connection import Connection

Progress = Callable[[str], None]
#: Constraints and indexes, created idempotently.
SCHEMA = (
    "create_constraint_node_id",
    "create_constraint_meta_id",
    "create_index_node_build",
    "create_index_direction_program",
)
_LABELS = {label.value for label in Label}
_RELS = {rel.value for rel in Rel}


# -- rows (pure) ----------------------------------------------------------------------------------------------
def index_dimensions(built: BuiltGraph) -> int:
    """Dimensions of the ``embedding`` property under the vector index (0: no vectors)."""
    vectors = vx.as_rows(built.vectors)
    if not vectors.shape[0] or not vx.dimension(vectors):
        return 0
    return PROJECTION_DIMENSIONS if sp.issparse(vectors) else vx.dimension(vectors)


def ranking_rows(built: BuiltGraph) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """What similar and search re-score candidates with, computed once at load (the API process reads no corpus).

    Returns:
        Direction id → its properties ``fg_prof_e``/``fg_prof_w`` (entity profile, as
        :func:`fundgraph.graph.profiles.candidates_from_graph` makes it for the build's scoring configuration) and
        ``fg_direct`` (the entities it cites itself); and the vocabulary (JSON for the meta node's ``ranking``):
        ``info`` ([id, type, name, name_en] in the candidates' order, which keyword matching follows), ``idf``
        (rarity over every direction's profile), ``parents`` (MEMBER_OF) and ``cited`` (directions whose profile
        holds each entity, for search's suggestions).
    """
    g, ids = built.graph, [d for d in built.direction_ids if d in built.graph]
    config = RankingContext(built.meta, built.encoder_state).config
    if not ids:
        return {}, {"info": [], "idf": {}, "parents": {}, "cited": {}}
    cands = candidates_from_graph(g, ids, sp.csr_matrix((len(ids), 0)), config)  # profiles need no text vectors
    props: dict[str, dict[str, Any]] = {}
    cited: dict[str, int] = {}
    for d, profile in zip(ids, cands.entities, strict=True):
        direct = sorted({str(v) for _, v, e in g.out_edges(d, data=True) if e.get("type") == Rel.MENTIONS.value})
        props[d] = {PROFILE_ENTITIES: list(profile), PROFILE_WEIGHTS: [float(w) for w in profile.values()],
                    DIRECT_KEY: direct}
        for e in profile:
            cited[e] = cited.get(e, 0) + 1
    vocabulary = {
        "info": [[i.id, i.type, i.name, i.name_en] for i in cands.info.values()],
        "idf": {e: float(w) for e, w in cands.idf.items()},
        "parents": cands.parents,
        "cited": cited,
    }
    return props, vocabulary


def pool_props(pools: tuple[np.ndarray, np.ndarray, np.ndarray], row: int, ids: list[str]) -> dict[str, Any]:
    """A direction's ``fg_pool`` (its pool's ids in the word mix's order) and ``fg_pool_best`` (the first pass's best).

    ``pools``: :attr:`BuiltGraph.pools`; ``row``: the direction's row. The first k ids are what ``similar`` returns
    for any k up to the pool (:meth:`RankingContext.ordered`), so a request reads only those k rows.
    """
    members, scores, order = pools
    chosen = [ids[int(members[row, p])] for p in order[row].tolist() if p >= 0 and members[row, p] >= 0]
    return {POOL_KEY: chosen, POOL_BEST_KEY: float(scores[row, 0]) if chosen else None}


def node_rows(built: BuiltGraph, ranking: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Parameter rows of every node (:func:`iter_node_rows` as a list)."""
    return list(iter_node_rows(built, ranking))


def iter_node_rows(built: BuiltGraph, ranking: dict[str, dict[str, Any]] | None = None,
                   answers: Callable[[str], bytes | None] | None = None) -> Iterator[dict[str, Any]]:
    """Parameter rows of every node, in the graph's node order, made one at a time.

    A Direction row carries its text vector: a sparse (lexical) row as ``fg_vec_idx``/``fg_vec_val`` plus its
    :func:`~.codec.projection` as ``embedding`` (under the vector index); a dense row as ``embedding`` itself;
    its word row (``fg_word_idx``/``fg_word_val``) and first-pass pool (``fg_pool``) when the build kept them; and
    its ranking properties (``ranking``, from :func:`ranking_rows`) and its similar answer (``fg_similar``, from
    ``answers``: :class:`.store.SimilarAnswers`). Made as the batches need them: a row's Python
    lists of floats and indices take ~10× their array bytes, so holding every row of a 100,000-direction graph
    before writing took gigabytes.
    """
    ranking = ranking or {}
    vec_row = {d: i for i, d in enumerate(built.direction_ids)}
    vectors = vx.as_rows(built.vectors)
    sparse = sp.issparse(vectors) and vectors.shape[0] > 0 and vx.dimension(vectors) > 0
    if sparse:
        vectors = vx.to_csr(vectors)
    projected = projection(vectors) if sparse else None
    words = None if built.words is None else vx.to_csr(built.words)
    ids = list(built.direction_ids)
    derived = query_props(built.graph)
    views = neighbourhood_views(built.graph, max_out=VIEW_MAX_OUT_EDGES)
    details = direction_details(built.graph)
    # Each row waits in `pending` while its stored neighbourhood is compressed in a thread beside this one (zlib
    # releases the GIL): at 100,000 directions splicing and compressing them took ~2.2 ms a node in one thread, of
    # which 1.6 compressing.
    pending: deque[tuple[dict[str, Any], Future[bytes] | None]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="fundgraph-gzip") as gzipper:
        for seq, (n, d) in enumerate(built.graph.nodes(data=True)):
            label = d.get("label")
            if label not in _LABELS:
                raise FundgraphError(f"node {n!r} has label {label!r}, not one of graph.model.Label")
            props = encode_props({k: v for k, v in d.items() if k != EMBEDDING})
            props[SEQ_KEY] = seq
            props.update(derived.get(n, {}))
            props.update(ranking.get(n, {}))
            if answers is not None and (similar := answers(str(n))) is not None:
                props[SIMILAR_KEY] = similar
            props[VIEW_KEY] = views[str(n)]
            if str(n) in details:
                props[DETAIL_KEY] = details[str(n)]
            if n in vec_row and projected is not None:
                props.update(sparse_row_props(vectors, vec_row[n]))
                props[EMBEDDING] = projected[vec_row[n]].astype(float).tolist()
            elif n in vec_row and vx.dimension(vectors) > 0:
                props[EMBEDDING] = vx.dense_row(vectors, vec_row[n]).astype(float).tolist()
            if n in vec_row and words is not None:
                props.update(sparse_row_props(words, vec_row[n], (WORD_INDICES, WORD_VALUES)))
            if n in vec_row and built.pools is not None:
                props.update(pool_props(built.pools, vec_row[n], ids))
            answer = stored_neighbourhood_json(str(n), derived.get(n, {}), views)
            pending.append(({"id": str(n), "label": label, "props": props},
                            None if answer is None else gzipper.submit(compress_answer, answer)))
            if len(pending) > _GZIP_AHEAD:
                yield _with_answer(*pending.popleft())
        while pending:
            yield _with_answer(*pending.popleft())


#: Rows made ahead of the one yielded while their neighbourhoods are compressed (~160 kB of JSON each at 100,000
#: directions: ~40 MB held).
_GZIP_AHEAD = 256


def _with_answer(row: dict[str, Any], answer: Future[bytes] | None) -> dict[str, Any]:
    """``row`` with its stored neighbourhood (``fg_nb``) once compressed, if it has one."""
    if answer is not None:
        row["props"][ANSWER_KEY] = answer.result()
    return row


def relationship_rows(built: BuiltGraph) -> list[dict[str, Any]]:
    """Parameter rows of every edge (:func:`iter_relationship_rows` as a list)."""
    return list(iter_relationship_rows(built))


def iter_relationship_rows(built: BuiltGraph, rel: str | None = None) -> Iterator[dict[str, Any]]:
    """Parameter rows of every edge (of type ``rel`` if given) in build order, made one at a time.

    ``key`` is the networkx edge key, JSON-encoded; ``fg_seq`` the edge's place among all edges, whatever ``rel``.
    """
    for seq, (u, v, key, e) in enumerate(built.graph.edges(keys=True, data=True)):
        kind = e.get("type")
        if kind not in _RELS:
            raise FundgraphError(f"edge {u!r}->{v!r} has type {kind!r}, not one of graph.model.Rel")
        if rel is not None and kind != rel:
            continue
        props = encode_props(e)
        props[SEQ_KEY] = seq
        yield {"source": str(u), "target": str(v), "type": kind, "key": json.dumps(key), "props": props}


def check_model(g: nx.MultiDiGraph) -> None:
    """Refuse a graph with a node label or relationship type outside :mod:`fundgraph.graph.model` (as the rows do)."""
    for n, d in g.nodes(data=True):
        if d.get("label") not in _LABELS:
            raise FundgraphError(f"node {n!r} has label {d.get('label')!r}, not one of graph.model.Label")
    for u, v, e in g.edges(data=True):
        if e.get("type") not in _RELS:
            raise FundgraphError(f"edge {u!r}->{v!r} has type {e.get('type')!r}, not one of graph.model.Rel")


def batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive slices of ``rows`` of at most ``size``."""
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def load_statements(built: BuiltGraph, ranking: dict[str, dict[str, Any]] | None = None, *, create: bool = False,
                    answers: Callable[[str], bytes | None] | None = None) -> list[tuple[str, Iterator[dict[str, Any]]]]:
    """The loading plan: (statement name, its rows made lazily), nodes first, then relationships by type.

    Each relationship type has its own statement (``merge_relationships_<TYPE>``, types in order of first
    appearance, each one pass over the edges): with a static type the planner expands only that type, about 6×
    faster than one statement with a dynamic ``$(row.type)``. ``create``: into a database without a fundgraph
    graph, ``create_nodes``/``create_relationships_<TYPE>`` (nothing to merge with). ``ranking``, ``answers``: as
    for :func:`iter_node_rows`.
    """
    verb = "create" if create else "merge"
    types = dict.fromkeys(Rel(e.get("type")).value for _, _, e in built.graph.edges(data=True))
    return [(f"{verb}_nodes", iter_node_rows(built, ranking, answers))] + [
        (f"{verb}_relationships_{t}", iter_relationship_rows(built, t)) for t in types
    ]


# -- writing --------------------------------------------------------------------------------------------------
def create_schema(conn: Connection) -> None:
    """Constraints and indexes, created idempotently (schema statements run in auto-commit)."""
    for name in SCHEMA:
        conn.auto(name)


def ensure_vector_index(conn: Connection, dimensions: int) -> None:
    """The vector index for vectors of ``dimensions`` (recreated when the encoder changed)."""
    indexable = 0 < dimensions <= MAX_INDEXED_DIMENSIONS
    rows = conn.auto("show_vector_index")
    if rows and (not indexable or rows[0]["dimensions"] not in (None, dimensions)):
        conn.auto("drop_vector_index")
    if indexable:
        conn.auto("create_vector_index", dimensions=int(dimensions))


def await_indexes(conn: Connection, timeout_s: int = 300) -> None:
    """Wait until every index (the vector index too) is online, so queries right after a load use it."""
    conn.auto("await_indexes", timeout_s=timeout_s)


def delete_in_batches(conn: Connection, statement: str, batch: int, **params: Any) -> None:
    """Run a ``delete_*`` statement (which deletes at most ``$batch`` and returns ``deleted``) until it is done."""
    while conn.write(statement, batch=batch, **params)[0]["deleted"]:
        pass


def replace(
    conn: Connection,
    built: BuiltGraph,
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
    stop_after_batches: int | None = None,
) -> str:
    """Load ``built`` in batches, then delete what older builds left; see the module docstring.

    Args:
        conn: where to write.
        built: the graph.
        batch_size: rows per ``UNWIND`` batch (one write transaction each).
        progress: called with a short message per step.
        stop_after_batches: testing hook: stop (as a crash would) after this many write batches.

    Returns:
        The new build id.
    """
    say = progress or (lambda _msg: None)
    build = uuid.uuid4().hex
    vectors = vx.as_rows(built.vectors)
    dims = vx.dimension(vectors) if vectors.shape[0] else 0
    create_schema(conn)
    # Into an empty database: CREATE rather than MERGE, and the vector index populated once after the bulk
    # rather than node by node. A first load that dies half-way leaves nodes, so the next one merges.
    fresh = not conn.read("count_nodes")[0]["count"]
    if not fresh:
        ensure_vector_index(conn, index_dimensions(built))
    conn.write("set_meta_loading", build=build)
    check_model(built.graph)  # before anything is written: the rows are made batch by batch
    ranking, vocabulary = ranking_rows(built)
    from fundgraph.graph.stores.neo4j.store import SimilarAnswers  # (the store imports this module)

    answers = SimilarAnswers(built, ranking, vocabulary)  # each made as its node's row is
    node_count, rel_count = built.graph.number_of_nodes(), built.graph.number_of_edges()
    done = 0
    say(f"loading {node_count} nodes and {rel_count} relationships" + (" (CREATE: no graph yet)" if fresh else ""))
    for stmt, rows in load_statements(built, ranking, create=fresh, answers=answers):
        for batch in batches(rows, batch_size):
            if stop_after_batches is not None and done >= stop_after_batches:
                raise FundgraphError("load stopped on purpose (test hook)")
            conn.write(stmt, rows=batch, build=build)
            done += 1
    say("deleting what older builds left")
    for stmt in ("delete_stale_relationships", "delete_stale_nodes"):
        delete_in_batches(conn, stmt, batch_size * 5, build=build)
    if fresh:
        ensure_vector_index(conn, index_dimensions(built))
    await_indexes(conn)
    conn.write(
        "set_meta_loaded",
        build=build,
        meta=json.dumps(built.meta, ensure_ascii=False, default=str),
        encoder_state=json.dumps(built.encoder_state, ensure_ascii=False, default=str),
        direction_ids=list(built.direction_ids),
        direction_count=len(built.direction_ids),
        ranking=json.dumps(vocabulary, ensure_ascii=False),
        dimensions=dims,
        sparse=bool(sp.issparse(vectors)),
        node_count=node_count,
        relationship_count=rel_count,
        layout=LAYOUT,
    )
    return build


def clear(conn: Connection, *, batch_size: int = 1000) -> None:
    """Delete the whole fundgraph graph and its meta node (tests and benchmarks)."""
    delete_in_batches(conn, "delete_all_relationships", batch_size * 5)
    delete_in_batches(conn, "delete_all_nodes", batch_size * 5)
    conn.write("delete_meta")
