"""The Neo4j store: the graph in a real Neo4j 5.26, behind the same interface as the embedded store.

Writing is :mod:`.loader`'s (layout, batches, the replace protocol). Reads are Cypher (``cypher/<verb_noun>.cypher``,
values only as ``$parameters``), each request as auto-commit reads whose first statement checks the meta node names a
complete build: health, programs, directions (filters, total and page in one query), entities,
entity, overlaps, matrix and neighbourhood (one query per BFS level, each asking only for the neighbours the
walk can still take). The rules of :mod:`fundgraph.graph.read.semantics` (ordering, tie-breaks, error details)
and the record mappers of :mod:`fundgraph.graph.read.records` are applied in Python over those bounded results;
for the lookups Cypher cannot do equally (NFKC + case folding) the loader stores each node's lookup forms (see
:func:`.codec.query_props`). Similar and search are one statement each: the candidates with their rows (sparse
text vector, entity profile computed at load), every direction up to ``exact_max`` directions, else the vector
index's nearest to the query's 256-d projection, re-scored exactly by the shared scoring; a similar list the build
stored (scope cross-program: SIMILAR_TO for "nothing related", else the first k of the direction's pool in the word
mix's order, ``fg_pool``) is read as is and only its k rows re-scored. The API process keeps only the build's small
vocabulary (:class:`Vocabulary`: entity names, rarity, MEMBER_OF), so it starts in seconds whatever the corpus size.
Every lookup by id starts from the ``:Node(id)`` uniqueness index (``MATCH (d:Node {id: $id}) WHERE d:Direction``:
with the model label in the pattern the planner scanned every direction), and lookups by entity type from the
``:Node(label)`` index (:data:`READ_INDEXES`, created with the loader's schema).
The API asks the ``*_json`` methods, which answer JSON bytes: a direction detail and its scope cross-program similar
list up to the API's default k were written at load as the API sends them (``fg_detail``, ``fg_similar``:
one index seek and one property read a request), a neighbourhood is made from its nodes' ``fg_view`` without read
models.
The API process never holds the whole graph: only :meth:`Neo4jStore.load` reads it all, for explicit exports.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import orjson
import pydantic_core
import scipy.sparse as sp

from fundgraph.core.errors import FundgraphError, GraphNotBuilt
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import Candidates, EntityInfo, Scored
from fundgraph.embeddings.words import WordVectoriser
from fundgraph.graph.model import ENTITY_TYPES
from fundgraph.graph.read import models, records, semantics
from fundgraph.graph.read import search as free_text
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.read.semantics import norm
from fundgraph.graph.stores.base import BuiltGraph, GraphStore, GzipJSON
from fundgraph.graph.stores.neo4j import loader
from fundgraph.graph.stores.neo4j.codec import (
    DIRECT_KEY,
    EDGE_KEY,
    EMBEDDING,
    JSON_KEYS,
    LAYOUT,
    MAX_INDEXED_DIMENSIONS,
    NEIGHBOUR_HEAD,
    NULL_KEYS,
    POOL_BEST_KEY,
    POOL_KEY,
    PROFILE_ENTITIES,
    PROFILE_WEIGHTS,
    PROJECTION_DIMENSIONS,
    STORED_DEPTH,
    STORED_LIMIT,
    VECTOR_INDICES,
    VECTOR_VALUES,
    WALK_HEAD,
    WORD_INDICES,
    WORD_VALUES,
    decode_edge_key,
    decode_pairs,
    decode_props,
    encode_props,
    projection,
    sparse_row_props,
    sparse_rows,
    splice_neighbourhood,
    stored_walk,
    view_holds_no_edges,
)
from fundgraph.graph.stores.neo4j.connection import Connection, Plan, Run

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings

Progress = Callable[[str], None]
#: The reads :meth:`Neo4jStore.answer_on_loop` answers on the event loop: a direction detail, a stored similar list
#: and a neighbourhood. Awaited there rather than called in a worker thread, the API's CPU a request at 32 clients fell
#: 0.95 -> 0.67 ms (detail) and 1.00 -> 0.73 (similar), Neo4j's 0.48 -> 0.38 and 0.43 -> 0.38, p99 59.0 -> 38.7 and
#: 53.0 -> 37.6 ms, requests/s 832 -> 1,179 and 776 -> 1,072 (benchmarks/api_latency.py, 20,000 directions, medians
#: of 17 runs each interleaved with the thread hop's, load 0.6-5.3). The depth-2 neighbourhood joined them when it
#: became one stored answer of ~10 kB (``fg_nb``): at 100,000 directions, 6 runs each interleaved (load 0.6-1.4),
#: p99 at 32 clients 62.8-121.1 ms (median 100.2) with the hop, 56.3-108.7 (median 66.7) without, API CPU 1.18-1.85
#: against 0.85-1.30 ms a request. While it was spliced from ~100 views (~200 kB read through the async driver's
#: asyncio streams) the loop cost what the hop saved (API CPU 2.31 ms a request with the hop, 2.43 without).
_ON_LOOP = ("direction", "similar", "neighborhood")
logger = logging.getLogger(__name__)


def _summary_keys() -> list[str]:
    """Node properties an entity summary shows (plus the encoding bookkeeping needed to decode them)."""
    return ["name", "name_en", *records.code_keys(), JSON_KEYS, NULL_KEYS]


#: Edge properties a neighbourhood edge carries.
_NEIGHBOURHOOD_EDGE_KEYS = ["type", *records.EDGE_DATA_KEYS, EDGE_KEY, JSON_KEYS, NULL_KEYS]
#: Indexes the read statements need, besides the loader's constraints and indexes (``cypher/<name>.cypher``).
READ_INDEXES = ("create_index_node_label",)
#: Directions the vector index gives similar and search to re-score exactly (above ``exact_max`` directions).
VECTOR_CANDIDATES = 200
#: Seconds :meth:`Neo4jStore.version` trusts the build it last read before reading it again (in the background).
#: The API replays its answers while the token holds: a load by another process is seen within this long, one by
#: this store at once, and Neo4j becoming unreachable at the next failed statement.
VERSION_TTL = 1.0


class Neo4jStore(GraphStore):
    """The graph in Neo4j.

    Args:
        driver: an open ``neo4j.Driver`` (the store does not own it unless built by :meth:`from_settings`).
        database: database name.
        batch_size: rows per ``UNWIND`` batch (one write transaction each; 5,000 loaded 5,000 directions in 27 s
            against 34 s with 1,000, both with CREATE into an empty database, 46 s with MERGE).
        owns_driver: close the driver in :meth:`close`.
        exact_max: up to this many directions similar and search re-score every direction (exact, as the
            embedded store ranks: ``settings.exact_similarity_max``); above, the vector index's nearest.
        vector_candidates: how many nearest directions the vector index gives similar and search to re-score.
        version_ttl: seconds :meth:`version` trusts the build it last read (:data:`VERSION_TTL`).
        async_driver: opens an async driver to the same database, for the reads :meth:`answer_on_loop` awaits
            (:meth:`from_settings` gives one; without it the API reads in worker threads).
    """

    backend = "neo4j"
    gzip_answers = frozenset({"neighborhood"})

    def __init__(
        self, driver: Any, *, database: str = "neo4j", batch_size: int = 5000, owns_driver: bool = False,
        exact_max: int = 2000, vector_candidates: int = VECTOR_CANDIDATES, version_ttl: float = VERSION_TTL,
        async_driver: Callable[[], Any] | None = None,
    ) -> None:
        self.connection = Connection(driver, database, owns_driver=owns_driver, on_unavailable=self.forget_version,
                                     async_driver=async_driver)
        self.batch_size = batch_size
        self.exact_max = exact_max
        self.vector_candidates = vector_candidates
        self.version_ttl = version_ttl
        self._lock = threading.Lock()
        self._vocabulary: Vocabulary | None = None
        self._reading_vocabulary = threading.Lock()  # one read of it at a time (the others wait and take it)
        self._version: tuple[str, float] | None = None  # (build, monotonic time it was read)
        self._refreshing = False
        self._forgotten = 0  # forget_version calls: a refresh that started before one does not count

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Neo4jStore:
        """Connect with ``FUNDGRAPH_NEO4J_URI``/``_USER``/``_PASSWORD``/``_DATABASE`` (the one place a driver opens).

        Raises:
            MissingDependency: when the ``neo4j`` driver is not installed.
        """
        conn = Connection.open(settings)
        kwargs.setdefault("exact_max", settings.exact_similarity_max)
        return cls(conn.driver, database=conn.database, owns_driver=True, async_driver=conn.async_driver, **kwargs)

    @property
    def driver(self) -> Any:
        """The ``neo4j.Driver``."""
        return self.connection.driver

    @property
    def database(self) -> str:
        """The database name."""
        return self.connection.database

    def answer_on_loop(self, query: str) -> Callable[..., Awaitable[bytes]] | None:
        """Detail, similar and neighbourhood awaited on the running event loop (:data:`_ON_LOOP`), if it has a driver.

        Their statements run on an async driver of the loop's (:meth:`.connection.Connection.plan_on_loop`): the
        same plan, hence the same statements and bytes, as :meth:`direction_json`, :meth:`similar_json` and
        :meth:`neighborhood_json`, without the API's hop to a worker thread and back.
        """
        if query not in _ON_LOOP or not self.connection.reads_on_loop:
            return None
        return getattr(self, f"{query}_json_on_loop")

    async def close_loop(self) -> None:
        """Close the running event loop's async driver (:meth:`answer_on_loop`'s), if it opened one."""
        await self.connection.close_loop()

    def close(self) -> None:
        """Close the driver if this store opened it."""
        self.connection.close()

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows (as dicts) of the catalog statement ``name``, read as an auto-commit statement (retried)."""
        return self.connection.read(name, **params)

    def write(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name`` in a write transaction (its own)."""
        return self.connection.write(name, **params)

    # -- writing ----------------------------------------------------------------------------------------
    def replace(
        self, built: BuiltGraph, *, progress: Progress | None = None, stop_after_batches: int | None = None
    ) -> None:
        """Load ``built`` (see :func:`.loader.replace`); readers switch to it once it is complete."""
        self._read_indexes()  # before the load: the loader waits for every index to be online
        loader.replace(self.connection, built, batch_size=self.batch_size, progress=progress,
                       stop_after_batches=stop_after_batches)
        with self._lock:
            self._vocabulary = None
        self.forget_version()

    def schema(self) -> None:
        """Constraints and indexes, created idempotently."""
        loader.create_schema(self.connection)
        self._read_indexes()

    def _read_indexes(self) -> None:
        """The indexes the reads rely on beyond the loader's schema (:data:`READ_INDEXES`), idempotently."""
        for name in READ_INDEXES:
            self.connection.auto(name)

    def clear(self) -> None:
        """Delete the whole fundgraph graph and its meta node (tests and benchmarks)."""
        loader.clear(self.connection, batch_size=self.batch_size)
        with self._lock:
            self._vocabulary = None
        self.forget_version()

    # -- serving ----------------------------------------------------------------------------------------
    def version(self) -> Hashable | None:
        """The build being served, as read at most :attr:`version_ttl` seconds ago; None when not known now.

        The API replays a GET answer while this token holds (``api/cache.py``): a repeated neighbourhood is 18 ms
        of CPU (Neo4j and Python, 100 nodes, 1,400 edges at 100,000 directions) against 0.1 ms replayed. Never a
        round trip in the caller (the API's event loop): a token older than the TTL is re-read by a background
        thread (still returned until that read ends). None (nothing cached or replayed) until a first read, and
        after a failed statement or read or a load by this store (:meth:`forget_version`).
        """
        known = self._version
        if known is not None and time.monotonic() - known[1] < self.version_ttl:
            return ("neo4j", known[0])
        with self._lock:
            start, self._refreshing = not self._refreshing, True
        if start:
            threading.Thread(target=self._refresh_version, name="fundgraph-neo4j-version", daemon=True).start()
        # The last build read stays trusted for the moment the read takes (a token flipping to None and back every
        # second emptied the API's caches each time); forget_version() and a failed read stop it at once.
        return ("neo4j", known[0]) if known is not None else None

    def _refresh_version(self) -> None:
        try:
            at, forgotten = time.monotonic(), self._forgotten
            build = self.connection.transaction(self._check_build)
            if forgotten == self._forgotten:
                self._version = (build, at)
        except FundgraphError:
            self._version = None
        finally:
            self._refreshing = False

    def forget_version(self) -> None:
        """Stop trusting the build last read (a load by this store, or Neo4j unreachable): re-read it."""
        self._forgotten += 1
        self._version = None

    # -- reading ----------------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """Number of fundgraph nodes and relationships in the database."""
        n = self.read("count_nodes")[0]["count"]
        r = self.read("count_relationships")[0]["count"]
        return int(n), int(r)

    def _meta(self) -> dict[str, Any]:
        rows = self.read("get_meta")
        if not rows or not rows[0].get("build"):
            raise GraphNotBuilt("Neo4j holds no fundgraph graph yet: run `fundgraph load-neo4j` first")
        return rows[0]

    @staticmethod
    def _check_build(run: Run) -> str:
        """The current build id (raises GraphNotBuilt when there is none, or an older loader wrote it)."""
        rows = run("get_build")
        return _checked_build(rows[0] if rows else None)

    def _query(self, work: Callable[[Run], Any]) -> Any:
        """Run ``work(run)``'s reads (auto-commit, retried), after checking a complete build is stored."""

        def checked(run: Run) -> Any:
            self._check_build(run)
            return work(run)

        return self.connection.transaction(checked)

    def load(self) -> BuiltGraph:
        """Read the whole stored graph back (nodes and edges in build order, vectors, word rows, meta).

        Not the first-pass pools: Neo4j keeps their ids in the mix's order and the best score (``fg_pool``,
        ``fg_pool_best``), not every member's score nor the first pass's order, so a graph read back ranks its
        lists live until it is built again.

        An explicit export (``fundgraph export``, ``GET /api/export``, tests): no query calls it.
        """
        meta = self._meta()
        nodes, rels = self.connection.transaction(lambda run: (run("get_nodes"), run("get_relationships")))
        g = nx.MultiDiGraph()
        vectors_by_id: dict[str, Any] = {}
        words_by_id: dict[str, Any] = {}
        for row in nodes:
            props = row["props"]
            vec = props.pop(EMBEDDING, None)
            if VECTOR_INDICES in props:
                vec = (props[VECTOR_INDICES], props[VECTOR_VALUES])
            if vec is not None:
                vectors_by_id[row["id"]] = vec
            if WORD_INDICES in props:
                words_by_id[row["id"]] = (props.pop(WORD_INDICES), props.pop(WORD_VALUES))
            g.add_node(row["id"], **decode_props(props))
        for row in rels:
            props = row["props"]
            g.add_edge(row["source"], row["target"], key=decode_edge_key(props), **decode_props(props))
        direction_ids = list(meta.get("direction_ids") or [])
        encoder_state = json.loads(meta.get("encoder_state") or "{}")
        vocabulary = WordVectoriser.from_state(encoder_state.get("words"))
        return BuiltGraph(
            graph=g,
            direction_ids=direction_ids,
            vectors=_vectors(direction_ids, vectors_by_id, int(meta.get("dimensions") or 0), bool(meta.get("sparse"))),
            encoder_state=encoder_state,
            meta=json.loads(meta.get("meta") or "{}"),
            words=None if vocabulary is None or not words_by_id else _vectors(
                direction_ids, words_by_id, vocabulary.dimension, True),
        )

    def health(self) -> models.Health:
        """Backend, node and relationship counts (from Neo4j's count store), build time: one statement."""
        row = self.read("get_health")[0]
        _checked_build(row)
        meta = json.loads(row.get("meta") or "{}")
        return models.Health(
            backend=self.backend,
            node_count=row["node_count"],
            edge_count=row["edge_count"],
            built_at=meta.get("built_at"),
            encoder=meta.get("encoder"),
            left_out=meta.get("left_out") or [],
        )

    def programs(self) -> list[models.ProgramSummary]:
        """Every program in manifest order (one Cypher query)."""
        rows = self._query(lambda run: run("get_programs"))
        return [records.program_summary(r["program"], r["direction_count"]) for r in rows]

    # -- the queries, in Cypher -------------------------------------------------------------------------
    @staticmethod
    def _check_programs(run: Run, *program_ids: str) -> list[str]:
        """Every program id in manifest order; raises ProgramNotFound for the first unknown one given."""
        known = [r["id"] for r in run("get_program_ids")]
        semantics.check_programs(known, *program_ids)
        return known

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching every filter, in canonical order: one page and the total, in Cypher.

        Entity filters are resolved first (an unknown value is EntityNotFound), then one query filters, orders,
        counts and slices.
        """
        semantics.check_page(limit, offset)
        wanted = [(et, getattr(filters, et)) for et in ENTITY_TYPES if getattr(filters, et)]

        def work(run: Run) -> models.DirectionPage:
            if filters.program:
                self._check_programs(run, filters.program)
            resolved = []
            if wanted:
                rows = run(
                    "resolve_entity_filters",
                    filters=[{"type": et, "label": ENTITY_TYPES[et].value, "key": norm(v)} for et, v in wanted],
                )
                for (et, value), row in zip(wanted, rows, strict=True):
                    own = et == "keyword" and row["own"] > 0
                    if not row["found"] and not own:
                        raise semantics.filter_value_not_found(et, value)
                    resolved.append({"entities": row["expanded"], "keyword": norm(value) if et == "keyword" else None})
            row = run(
                "find_directions",
                program=filters.program or None,
                category=norm(filters.category) if filters.category else None,
                q=norm(filters.q) if filters.q else None,
                filters=resolved,
                offset=offset,
                limit=limit,
            )[0]
            return models.DirectionPage(total=row["total"], items=[records.direction_brief(b) for b in row["items"]])

        return self._query(work)

    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction with its community and its entities (with evidence) grouped by type: :meth:`direction_json`."""
        return models.DirectionDetail.model_validate_json(self.direction_json(direction_id))

    def direction_json(self, direction_id: str) -> bytes:
        """The detail as the API sends it: the direction's ``fg_detail``, written at load, in one statement."""
        return self.connection.plan(lambda: self._direction_plan(direction_id))

    async def direction_json_on_loop(self, direction_id: str) -> bytes:
        """:meth:`direction_json` awaited on the running event loop (:meth:`answer_on_loop`)."""
        return await self.connection.plan_on_loop(lambda: self._direction_plan(direction_id))

    @staticmethod
    def _direction_plan(direction_id: str) -> Plan[bytes]:
        row = (yield "get_direction", {"id": direction_id})[0]
        _checked_build(row)
        if not row["found"]:
            raise semantics.direction_not_found(direction_id)
        return row["detail"]

    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:
        """Entities (of one type, matching ``q``), most cited first, counted in Cypher."""
        if entity_type is not None:
            semantics.check_entity_type(entity_type)
        labels = [ENTITY_TYPES[entity_type].value] if entity_type else _entity_labels()
        rows = self._query(
            lambda run: run("find_entities", labels=labels, q=(norm(q) or None) if q else None, keys=_summary_keys())
        )
        out = [_summary(r, r["direction_count"]) for r in rows]
        out.sort(key=semantics.entity_list_key)
        return out

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:
        """One entity (by id, vocabulary id or name) and its directions grouped by program, in Cypher."""
        semantics.check_entity_type(entity_type)
        label = ENTITY_TYPES[entity_type].value

        def work(run: Run) -> dict[str, Any]:
            r = run("resolve_entity", id=entity_id, label=label, key=norm(entity_id))[0]
            ent = r["exact"]
            if ent is None:
                found = sorted(set(r["found"]))
                if len(found) != 1:
                    raise semantics.entity_not_found(entity_type, entity_id, found)
                ent = found[0]
            return {"id": ent, **run("get_entity", id=ent)[0]}

        row = self._query(work)
        by_prog: dict[str, list[models.DirectionBrief]] = {}
        for b in row["directions"]:
            by_prog.setdefault(b["program_id"], []).append(records.direction_brief(b))
        return records.entity_detail(row["id"], entity_type, decode_pairs(row["props"]), row["members"],
                                     row["groups"], by_prog)

    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities programs a and b both cite (rarest first) and their SIMILAR_TO pairs, in Cypher."""

        def work(run: Run) -> tuple[list[Any], list[Any]]:
            self._check_programs(run, a, b)
            shared = run("find_shared_entities", a=a, b=b, entity_labels=_entity_labels(), keys=_summary_keys())
            return shared, run("find_similar_pairs", a=a, b=b)

        shared_rows, pair_rows = self._query(work)
        shared = []
        for r in shared_rows:
            ds = [records.direction_brief(d) for d in r["directions"]]
            shared.append(
                models.OverlapEntity(
                    entity=_summary(r, len(ds)),
                    a_directions=[d for d in ds if d.program_id == a],
                    b_directions=[d for d in ds if d.program_id == b],
                )
            )
        edges = ((records.direction_brief(r["source"]), records.direction_brief(r["target"]), decode_pairs(r["props"]))
                 for r in pair_rows)
        overlap = semantics.overlap(a, b, shared, edges, records.explanation_from_edge)
        direct = {r[side]["id"]: r[f"{side}_direct"] or () for r in pair_rows for side in ("source", "target")}
        return self.vocabulary().marks(direct).overlap(overlap)

    def matrix(self, by: str) -> models.Matrix:
        """Program × entity counts for one entity type, aggregated in Cypher (one statement after the build check)."""
        semantics.check_matrix_by(by)

        label = ENTITY_TYPES[by].value
        row = self._query(lambda run: run("count_entity_programs", label=label, keys=_summary_keys()))[0]
        programs = row["programs"]
        out = []
        for r in row["rows"]:
            per = {p: n for p, n in r["per_program"]}
            out.append((records.entity_summary(r["id"], by, decode_pairs(r["props"]), sum(per.values()), len(per)),
                        per))
        return semantics.matrix(by, programs, out)

    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes within ``depth`` hops (either way), at most ``limit``, and the edges among them.

        ``node`` is a node id or an entity's name or synonym (:func:`~fundgraph.graph.read.semantics.resolve_node`).
        Read as :meth:`_walk` says; the API asks :meth:`neighborhood_json` (the same answer, as JSON bytes).
        """
        return models.Neighborhood.model_validate_json(self.neighborhood_json(node, depth, limit))

    def neighborhood_json(self, node: str, depth: int, limit: int, gzip: bool = False) -> bytes:
        """:meth:`neighborhood` as the API's JSON bytes: the node's stored answer, or spliced from the views' texts.

        A neighbourhood of depth :data:`.codec.STORED_DEPTH` and limit :data:`.codec.STORED_LIMIT` (the API's default
        limit and the dashboard's view) from a node that stores it (``fg_nb``, :func:`.codec.stored_neighbourhood_json`)
        is that property: with ``gzip`` its bytes as they are (:class:`~fundgraph.graph.stores.base.GzipJSON`), else
        decompressed. Any other is spliced from its nodes' views (:meth:`_walk`): at 100,000 directions a depth-2
        neighbourhood has ~100 nodes and ~960 edges (~200 kB): building their pydantic models and serialising them
        was ~4.5 ms of the API's CPU a request, plain dicts through orjson ~1.2 ms, splicing the views ~0.6 ms, and
        reading the views ~2.6 ms of Neo4j's (benchmarks/api_latency.py ``neighb2``).
        """
        return _unzipped(self.connection.plan(lambda: self._walk(node, depth, limit)), gzip)

    async def neighborhood_json_on_loop(self, node: str, depth: int, limit: int, gzip: bool = False) -> bytes:
        """:meth:`neighborhood_json` awaited on the running event loop (the API's: :meth:`answer_on_loop`)."""
        return _unzipped(await self.connection.plan_on_loop(lambda: self._walk(node, depth, limit)), gzip)

    def _walk(self, node: str, depth: int, limit: int) -> Plan[bytes]:
        """The walk of a neighbourhood and what it shows of each chosen node (its parsed ``fg_view``).

        One statement for a walk of depth ≤ 2 from an id: ``find_neighbourhood`` checks the build, resolves the node
        and reads the walk's first two levels (level 2 as a lazy stream in the walk's order that stops when the walk
        is full, so hubs it would not reach are not expanded) with their nodes' ``fg_view``
        (:func:`.codec.neighbourhood_views`: what the answer shows of a node and of its outgoing edges, written at
        load), of which Python keeps the edges between chosen nodes. Only a node with more outgoing edges than a view
        holds has them read from its relationships (``get_neighbourhood_edges``). A name rather than an id resolves
        first (one more statement), and each level past 2 is one ``find_neighbours`` (and the views of the nodes it
        adds one ``get_neighbourhood_views``). Before all that, a walk of depth 1 or 2 and limit <= WALK_HEAD + 1 from
        an id whose node stores its answer for that depth and limit (``fg_nb``, asked for by ``stored``) is that answer
        (gzip-compressed: :func:`.codec.stored_neighbourhood_json`), and one from an id whose node stores its walk
        (:func:`.codec.walk_heads`: a node with few neighbours, such as a direction) is that list's nodes and views,
        both read by ``find_walk`` (no other statement), as is one of a hub with at least ``limit`` neighbours (its
        first ones, ``fg_nbrs``); other walks cost that one statement more.
        A plan (:data:`.connection.Plan`): its statements run on either driver; it returns the answer's bytes.
        """
        valid = 0 <= depth <= semantics.MAX_DEPTH and limit >= 1
        if valid and depth in (1, 2) and limit - 1 <= WALK_HEAD:
            stored = depth == STORED_DEPTH and limit == STORED_LIMIT
            row = (yield "find_walk", {"id": node, "depth": depth, "limit": limit, "stored": stored})[0]
            _checked_build(row)
            if row["answer"] is not None:
                semantics.check_walk(depth, limit)
                return GzipJSON(row["answer"])
            if row["walk"] is not None or row["hub"] is not None:
                semantics.check_walk(depth, limit)
                order, seen, truncated = stored_walk(node, row["walk"], row["walk_size"], row["counts"], depth,
                                                     limit, row["hub"])
                return (yield from self._viewed(node, order, seen, truncated, dict(row["views"]))).json(depth)
        walk_depth, walk_limit = (min(depth, 2), limit) if valid else (0, 1)
        walk = {"depth": walk_depth, "limit": walk_limit, "head": NEIGHBOUR_HEAD}
        row = (yield "find_neighbourhood", {"id": node, **walk})[0]
        _checked_build(row)
        center = node
        if row["exact"] is None:  # a name: resolve it, then walk from the entity it names
            named: dict[str, list[str]] = {}
            for label, eid in (yield "resolve_node", {"id": node, "key": norm(node)})[0]["found"]:
                et = records.entity_type_of(label)
                if et is not None:
                    named.setdefault(et, []).append(eid)
            center = semantics.resolve_node(node, False, named)
            semantics.check_walk(depth, limit)
            row = (yield "find_neighbourhood", {"id": center, **walk})[0]
        semantics.check_walk(depth, limit)
        read_ahead = [{center: row["level1"]}, dict(row["level2"])]  # levels 1 and 2, as walk asks for them
        steps = semantics.walk_steps(center, depth, limit)
        try:
            frontier, held = next(steps)
            while True:
                if read_ahead:
                    nbrs = read_ahead.pop(0)
                else:
                    room = limit - len(held)
                    rows = yield "find_neighbours", {"frontier": frontier, "seen": held, "cap": 2 * room + 1}
                    nbrs = {r["id"]: r["neighbours"] for r in rows}
                frontier, held = steps.send(nbrs)
        except StopIteration as done:
            order, seen, truncated = done.value
        return (yield from self._viewed(center, order, seen, truncated, dict(row["views"]))).json(depth)

    @staticmethod
    def _viewed(center: str, order: list[str], seen: dict[str, int], truncated: bool,
                raw: dict[str, bytes]) -> Plan[_Walk]:
        """The walk with its nodes' parsed views (``raw``: those read already; the others are read here)."""
        missing = [n for n in order if n not in raw]
        if missing:
            raw.update((yield "get_neighbourhood_views", {"ids": missing})[0]["views"])
        big = [n for n in order if view_holds_no_edges(raw[n])]
        edge_rows: dict[str, list[list[Any]]] = {}
        if big:  # nodes with more outgoing edges than a view holds: read from the relationships
            rows = yield "get_neighbourhood_edges", {"ids": order, "sources": big,
                                                     "edge_keys": _NEIGHBOURHOOD_EDGE_KEYS}
            for r in rows[0]["edges"]:
                edge_rows.setdefault(r[0], []).append(r)
        return _Walk(center, order, seen, truncated, raw, edge_rows)


    # -- similar and search: candidates by id or from the vector index, re-scored exactly -------------------
    def vocabulary(self, build: str | None = None) -> Vocabulary:
        """What similar and search re-score with besides the candidates' rows, for the current build.

        Small (the scoring parameters, encoder, and the entities' names, rarity and MEMBER_OF: no direction),
        read once per build with one statement and kept; ``build``: the build a statement just answered from
        (re-read when it is another). Without ``build`` one small statement checks it.
        """
        if build is None:
            build = self.connection.transaction(self._check_build)
        # One read at a time: the first similar requests of a build arriving together (32 clients) each read and
        # decoded it (1.4 s and 170 MB at 100,000 directions) before; now they wait for the first one's.
        with self._reading_vocabulary:
            with self._lock:
                if self._vocabulary is not None and self._vocabulary.build == build:
                    return self._vocabulary
            row = self.read("get_ranking_vocabulary")
            voc = Vocabulary.from_row(row[0] if row else None)
            with self._lock:
                self._vocabulary = voc
            return voc

    def warm(self) -> None:
        """Nothing to read ahead: each similar/search request reads its own candidates (start-up reads no corpus).

        The vocabulary (a few MB) is read by the first similar or search request.
        """

    def warm_up(self, seconds: float = 45.0, *, threads: int = 4, directions: int = 20_000) -> int:
        """Ask the API's most frequent statements for ``seconds``, over directions spread through the graph.

        A direction's detail, its similar list (the API's default k) and its depth-2 neighbourhood, the three
        statements the dashboard sends most, from ``threads`` threads, each direction in turn (at most
        ``directions`` of them, evenly spaced, again from the first when all were asked). Returns the statements
        run. Answers are read and dropped; nothing is written. The first error stops every thread and is raised.

        Neo4j compiles what it runs often (the JVM's JIT) in threads beside the queries: right after a load or a
        restart its requests cost it ~4× their CPU, and at 32 clients the p99 missed the targets. Measured at 20,000
        directions (fresh Neo4j, then 3,200 requests on directions the warm-up did not ask): p99 detail / similar /
        neighbourhood 65.9 / 51.8 / 64.0 ms cold, 52.5 / 53.4 / 63.3 after 3,000 statements (6 s), 55.8 / 52.4 / 53.1
        after 9,000 (10 s), **43.7 / 36.7 / 43.3 after 45 s (60,000)**; the next run 31.9 / 31.8 / 35.1.
        """
        ids = list(self._meta().get("direction_ids") or []) if seconds > 0 else []
        if not ids:
            return 0
        chosen = ids[:: max(1, len(ids) // max(1, directions))][: max(1, directions)]
        deadline = time.monotonic() + seconds
        turn = itertools.count()
        failed = threading.Event()

        def ask(_: int) -> int:
            done = 0
            try:
                while not failed.is_set() and time.monotonic() < deadline:
                    d = chosen[next(turn) % len(chosen)]
                    self.direction_json(d)
                    self.similar_json(d, semantics.DEFAULT_K, "cross-program")
                    self.neighborhood_json(d, STORED_DEPTH, STORED_LIMIT, gzip=True)
                    done += 3
            except BaseException:
                failed.set()
                raise
            return done

        with ThreadPoolExecutor(max(1, threads), thread_name_prefix="fundgraph-warm-up") as pool:
            return sum(pool.map(ask, range(max(1, threads))))

    def _exhaustive(self, voc: Vocabulary) -> bool:
        """Whether similar/search re-score every direction (exact) rather than the vector index's nearest."""
        return voc.direction_count <= self.exact_max or voc.dimensions == 0 or not voc.indexed

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions, ranked by the shared scoring: one statement when the stored list answers.

        ``find_similar_stored`` reads the direction and its stored SIMILAR_TO list (targets' briefs): scope
        ``cross-program`` with k ≤ the build's ``similar_top_k`` and no edge is answered from it ("nothing
        related"), with no candidate or vector read. With edges and the lists mixed, ``find_similar_pool`` (same
        transaction) reads the first k ids of the direction's pool in the mix's order and their rows, which are
        re-scored (:meth:`RankingContext.ordered`, the embedded store's answer). Otherwise
        ``find_similar_candidates`` (``_all``), in the same transaction, reads the candidates with their rows to
        re-score exactly (:meth:`RankingContext.similar`): every direction up to :attr:`exact_max`
        directions (the embedded store's answer), else the vector index's nearest :attr:`vector_candidates` (the
        exact top k when they hold it: recall in benchmarks/neo4j_scale.py), with "nothing related in other
        programs" taken from the stored list, which the build computed over all.
        """
        voc = self._vocabulary or self.vocabulary()  # (the first request of a build: its size decides how to ask)
        exhaustive = self._exhaustive(voc)

        ctx = voc.context
        by_pool = scope == "cross-program" and ctx.mixing and 1 <= k <= ctx.config.word_pool

        def work(run: Run) -> tuple[dict[str, Any], Any, bool]:
            row = run("find_similar_stored", id=direction_id)[0]
            if _checked_build(row) != voc.build or not row["found"] or scope not in semantics.SCOPES or k < 1:
                return row, None, False
            stored_rows = [s for s in row["stored"] if s]
            if scope == "cross-program" and voc.stored_similar(stored_rows, k) is not None:
                return row, None, False
            if by_pool:  # the first k of the build's pool in the mix's order, re-scored (RankingContext.ordered)
                pooled = run("find_similar_pool", id=direction_id, k=k)[0]
                if pooled["pooled"]:
                    return row, pooled, True
            if exhaustive:
                return row, run("find_similar_candidates_all")[0]["candidates"], False
            return row, run("find_similar_candidates", id=direction_id, n=self.vector_candidates + 1)[0][
                "candidates"], False

        row, rows, from_pool = self.connection.transaction(work)
        build = _checked_build(row)
        if not row["found"]:
            raise semantics.direction_not_found(direction_id)
        semantics.check_scope(scope)
        semantics.check_k(k)
        if voc.build != build:  # another build since: its vocabulary, and ask again as its size says
            self.vocabulary(build)
            return self.similar(direction_id, k, scope)
        d = row["direction"]
        stored_rows = [s for s in row["stored"] if s]
        if rows is None:
            ranked, related = voc.stored_similar(stored_rows, k)
            rows = []
        elif from_pool:
            ranked, related, rows = voc.ordered(direction_id, rows, k)
        else:
            pool = voc.candidates(rows)
            ranked, related = ctx.similar(pool, pool.index[direction_id], k, scope, d["program_id"])
            stored = None if exhaustive else voc.stored_related(stored_rows)
            if stored is not None:  # the build ranked every other program's directions; the pool holds some
                related = stored
                ranked = ranked if related or scope != "cross-program" else []
        briefs = {c["id"]: c for c in rows}
        briefs.update({s["brief"]["id"]: s["brief"] for s in stored_rows})
        marks = voc.marks({c["id"]: c.get(DIRECT_KEY) or () for c in rows})
        marks.direct.update({s["brief"]["id"]: s["direct"] or () for s in stored_rows})
        direct = d.get(DIRECT_KEY) or ()
        items = [marks.mark(ctx.item(s, records.direction_brief(briefs[s.id])), direct) for s in ranked]
        return ctx.similar_list(items, related)

    def similar_json(self, direction_id: str, k: int, scope: str) -> bytes:
        """:meth:`similar` as the API sends it; one statement when the direction's ``fg_similar`` answers it.

        ``fg_similar`` (:class:`SimilarAnswers`, written at load) holds the answer of scope ``cross-program`` for
        every k up to the build's ``similar_top_k``: its items' JSON is spliced, nothing is ranked or serialised.
        Any other request is :meth:`similar`'s.
        """
        answer = self.connection.plan(lambda: self._similar_plan(direction_id, k, scope))
        return pydantic_core.to_json(self.similar(direction_id, k, scope)) if answer is None else answer

    async def similar_json_on_loop(self, direction_id: str, k: int, scope: str) -> bytes:
        """:meth:`similar_json` awaited on the running event loop (:meth:`answer_on_loop`).

        A request ``fg_similar`` does not answer is :meth:`similar`'s, in a worker thread (several statements, and
        re-scoring in Python).
        """
        answer = await self.connection.plan_on_loop(lambda: self._similar_plan(direction_id, k, scope))
        if answer is None:
            answer = await asyncio.to_thread(lambda: pydantic_core.to_json(self.similar(direction_id, k, scope)))
        return answer

    @staticmethod
    def _similar_plan(direction_id: str, k: int, scope: str) -> Plan[bytes | None]:
        """The answer ``fg_similar`` holds for the request, or None (no statement unless it can hold one)."""
        if scope != "cross-program" or k < 1:
            return None
        row = (yield "get_similar_answer", {"id": direction_id})[0]
        _checked_build(row)
        if not row["found"]:
            raise semantics.direction_not_found(direction_id)
        if row["answer"] is None:
            return None
        answer = orjson.loads(row["answer"])
        if k > answer["k"]:
            return None
        return b'{"items":[' + ",".join(answer["items"][:k]).encode() + b"]," + answer["tail"].encode()

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:
        """Directions ranked against free text, those with evidence only (:mod:`fundgraph.graph.read.search`).

        One statement (``find_search_candidates``): the text is encoded with the build's encoder and its
        candidates re-scored exactly: every direction up to :attr:`exact_max` directions (the embedded store's
        answer), else the vector index's nearest :attr:`vector_candidates` to the text's projection.
        """
        voc = self._vocabulary or self.vocabulary()
        semantics.check_search(text, k)
        ctx = voc.context
        vector = ctx.query_encoder.vector(text)
        exhaustive = self._exhaustive(voc)
        row = self.read("find_search_candidates", exhaustive=exhaustive, n=self.vector_candidates,
                        vector=[] if exhaustive else voc.index_vector(vector))[0]
        if _checked_build(row) != voc.build:  # another build since: its vocabulary, and ask again
            self.vocabulary(row["build"])
            return self.search(text, k, programs)
        semantics.check_programs(voc.program_ids(self), *(programs or ()))
        rows = row["candidates"]
        briefs = {c["id"]: records.direction_brief(c) for c in rows}
        return free_text.search(text, k, programs, context=ctx, cands=voc.cands, vector=vector,
                                item=lambda s: ctx.item(s, briefs[s.id]), pool=voc.candidates(rows),
                                marks=voc.marks({c["id"]: c.get(DIRECT_KEY) or () for c in rows}))


class _Walk:
    """A neighbourhood's walk (``order``, ``seen``: node → distance, ``truncated``) and its nodes' parsed views.

    ``views``: node → its ``fg_view`` (:func:`.codec.neighbourhood_views`) as read (parsed by :meth:`json`);
    ``edge_rows``: the ``get_neighbourhood_edges`` rows of the nodes whose view holds no edges, by source.
    """

    def __init__(self, center: str, order: list[str], seen: dict[str, int], truncated: bool,
                 views: dict[str, bytes], edge_rows: dict[str, list[list[Any]]]) -> None:
        self.center = center
        self.order = order
        self.seen = seen
        self.truncated = truncated
        self.views = views
        self.edge_rows = edge_rows

    def json(self, depth: int) -> bytes:
        """The neighbourhood's answer (:class:`~models.Neighborhood` as JSON), spliced from the views' texts.

        :func:`.codec.splice_neighbourhood`; a node whose view holds no edges gives those its relationships gave.
        """
        def edges_of(u: str) -> list[bytes]:
            return [orjson.dumps({"data": _neighbourhood_edge(r).data}) for r in self.edge_rows.get(u, ())]

        return splice_neighbourhood(self.center, self.order, self.seen, self.truncated, depth, self.views, edges_of)


class SimilarAnswers:
    """A direction's ``fg_similar``: its scope ``cross-program`` answers, made at load, one direction when asked.

    Made as :meth:`Neo4jStore.similar` makes them (the same :class:`Vocabulary`, from the meta node's values as the
    store reads them back; each target's brief and ``fg_direct``; each edge's properties as stored; with mixed
    lists, the rows ``find_similar_pool`` reads, :class:`PoolRows`): the items for the largest k written, each as
    JSON text, and the fields after the items. With mixed lists (the lexical encoder's builds) k is the API's
    default k (10; ``similar_top_k`` if larger, the pool's size if smaller): the first k of the pool's mixed order
    re-scored, "nothing related" when the pool's best is below the threshold; so the request a client makes
    without a k is one statement, as a k up to ``similar_top_k`` was. Without the mix, k is the stored list's
    length (``similar_top_k`` for an empty list, which answers "nothing related"). The answer for a smaller k is
    its first k items (the list ranks them once). ``ranking``: :func:`.loader.ranking_rows`' properties
    (``fg_direct``); ``vocabulary``: its vocabulary. None for a build that recorded no ``similar_top_k`` or
    threshold, and for an id that is no direction of the graph.

    The loader asks as it makes each node's row (:func:`.loader.iter_node_rows`): answers held for every direction
    at once were ~1 GB at 100,000 directions.
    """

    def __init__(self, built: BuiltGraph, ranking: dict[str, dict[str, Any]], vocabulary: dict[str, Any]) -> None:
        row = {"build": "loading", "layout": LAYOUT, "ranking": json.dumps(vocabulary, ensure_ascii=False),
               "meta": json.dumps(built.meta, ensure_ascii=False, default=str),
               "encoder_state": json.dumps(built.encoder_state, ensure_ascii=False, default=str)}
        vectors = vx.as_rows(built.vectors)  # as set_meta_loaded records them: the pools' rows are decoded with them
        row.update(dimensions=vx.dimension(vectors) if vectors.shape[0] else 0, sparse=bool(sp.issparse(vectors)),
                   direction_count=len(built.direction_ids))
        self.voc = Vocabulary.from_row(row)
        ctx = self.voc.context
        self.built, self.ranking = built, ranking
        top_k = ctx.param("similar_top_k", None)
        self.top_k = None if top_k is None or ctx.param("similar_threshold", None) is None else int(top_k)
        self.directions = {str(d) for d in built.direction_ids if d in built.graph}
        mixing = ctx.mixing and built.pools is not None and built.words is not None and sp.issparse(built.vectors)
        self.pool_rows = PoolRows(built, ranking) if mixing and self.top_k is not None else None
        self.pooled_k = min(max(self.top_k or 0, semantics.DEFAULT_K), ctx.config.word_pool)

    def __call__(self, d: str) -> bytes | None:
        """Direction ``d``'s ``fg_similar``."""
        if self.top_k is None or d not in self.directions:
            return None
        voc, ranking, g = self.voc, self.ranking, self.built.graph
        ctx = voc.context
        brief_keys = ("id", "program_id", "code", "title", "title_en", "category")
        pool_rows = self.pool_rows
        if pool_rows is not None and d in pool_rows.row_of:  # the first k of its pool, as find_similar_pool reads it
            k = self.pooled_k
            ranked, related, rows = voc.ordered(d, pool_rows.pooled(d, k), k)
            briefs = {c["id"]: c for c in rows}
            marks = voc.marks({c["id"]: c.get(DIRECT_KEY) or () for c in rows})
        else:
            stored = []
            for _, t, e in g.out_edges(d, data=True):
                if e.get("type") == "SIMILAR_TO":
                    target = encode_props(g.nodes[t])
                    stored.append({"brief": {k: (str(t) if k == "id" else target.get(k)) for k in brief_keys},
                                   "direct": ranking.get(str(t), {}).get(DIRECT_KEY),
                                   "props": list(encode_props(e).items())})
            answered = voc.stored_similar(stored, max(len(stored), 1))
            if answered is None:
                return None
            k = len(stored) or self.top_k
            ranked, related = answered
            briefs = {s["brief"]["id"]: s["brief"] for s in stored}
            marks = voc.marks({s["brief"]["id"]: s["direct"] or () for s in stored})
        direct = ranking.get(d, {}).get(DIRECT_KEY) or ()
        items = [marks.mark(ctx.item(s, records.direction_brief(briefs[s.id])), direct) for s in ranked]
        answer = ctx.similar_list(items, related)
        tail = pydantic_core.to_json(answer.model_dump(exclude={"items"}))[1:]  # after '{"items":[...],'
        return orjson.dumps({"k": k, "tail": tail.decode(),
                             "items": [pydantic_core.to_json(i).decode() for i in items]})


class PoolRows:
    """The rows ``find_similar_pool`` returns for a direction, made at load from the graph being written.

    The same values the statement reads back: the nodes' brief properties as encoded, their text and word rows as
    :func:`.codec.sparse_row_props` writes them, their ranking properties (:func:`.loader.ranking_rows`), and the
    pool's ids and best score as :func:`.loader.pool_props` writes them.
    """

    def __init__(self, built: BuiltGraph, ranking: dict[str, dict[str, Any]]) -> None:
        assert built.pools is not None and built.words is not None
        self.built, self.ranking = built, ranking
        self.ids = list(built.direction_ids)
        self.row_of = {d: i for i, d in enumerate(self.ids)}
        self.vectors = vx.to_csr(vx.as_rows(built.vectors))
        self.words = vx.to_csr(built.words)

    def row(self, n: str) -> dict[str, Any]:
        """Direction ``n``'s row (the statement's projection of a candidate)."""
        props = encode_props(self.built.graph.nodes[n])
        out: dict[str, Any] = {key: props.get(key) for key in ("program_id", "code", "title", "title_en", "category")}
        out["id"] = n
        i = self.row_of[n]
        out.update(sparse_row_props(self.vectors, i))
        out.update(sparse_row_props(self.words, i, (WORD_INDICES, WORD_VALUES)))
        ranking = self.ranking.get(n, {})
        for key in (PROFILE_ENTITIES, PROFILE_WEIGHTS, DIRECT_KEY):
            out[key] = ranking.get(key)
        return out

    def pooled(self, d: str, k: int) -> dict[str, Any]:
        """The row ``find_similar_pool`` returns for direction ``d`` and ``k``."""
        assert self.built.pools is not None
        props = loader.pool_props(self.built.pools, self.row_of[d], self.ids)
        chosen = props[POOL_KEY][:k]
        return {"chosen": chosen, "best": props[POOL_BEST_KEY], "candidates": [self.row(c) for c in [*chosen, d]]}


def _neighbourhood_edge(r: list[Any]) -> models.GraphEdge:
    """A neighbourhood edge from a ``get_neighbourhood_edges`` row: source, target, :data:`_NEIGHBOURHOOD_EDGE_KEYS`."""
    edge = {k: v for k, v in zip(_NEIGHBOURHOOD_EDGE_KEYS, r[2:], strict=True) if v is not None}
    # graph_edge reads only type and EDGE_DATA_KEYS: the bookkeeping matters only when it names one
    data = decode_props(edge) if JSON_KEYS in edge or NULL_KEYS in edge else edge
    return records.graph_edge(r[0], decode_edge_key(edge), r[1], data)


def _unzipped(answer: bytes, gzip: bool) -> bytes:
    """A neighbourhood's bytes as asked: a stored (gzip) answer as it is when ``gzip``, else its JSON."""
    return answer.json() if isinstance(answer, GzipJSON) and not gzip else answer


def _checked_build(row: dict[str, Any] | None) -> str:
    """The build id of a row with ``build`` and ``layout`` (raises GraphNotBuilt when none, or an older layout)."""
    if row is None or not row["build"]:
        raise GraphNotBuilt("Neo4j holds no fundgraph graph yet: run `fundgraph load-neo4j` first")
    if row["layout"] != LAYOUT:
        raise GraphNotBuilt(
            "the graph in Neo4j was loaded by an older fundgraph: run `fundgraph load-neo4j` again",
            detail={"layout": row["layout"], "expected": LAYOUT},
        )
    return row["build"]


def _summary(row: dict[str, Any], direction_count: int) -> models.EntitySummary:
    """An entity summary from a row with ``id``, ``label``, ``props`` (pairs) and ``program_count``."""
    return records.entity_summary(row["id"], records.entity_type_of(row["label"]) or "", decode_pairs(row["props"]),
                                  direction_count, row["program_count"])


def _vectors(direction_ids: list[str], by_id: dict[str, Any], dimensions: int, sparse: bool) -> vx.TextMatrix:
    """The vectors of ``direction_ids`` in that order (an empty matrix when there are none).

    ``by_id`` holds dense rows, or (``sparse``) ``(indices, values)`` pairs read from ``fg_vec_idx``/``fg_vec_val``.
    """
    if sparse:
        return sparse_rows([by_id.get(d, ([], [])) for d in direction_ids], dimensions)
    if direction_ids and dimensions:
        return np.asarray([by_id[d] for d in direction_ids], dtype=np.float32)
    return np.zeros((len(direction_ids), dimensions), dtype=np.float32)


class Vocabulary:
    """One build's ranking inputs besides the candidates' rows: context, entity vocabulary, counts (no direction).

    ``cands`` holds no direction: the entities' info, rarity (idf over every direction's profile, computed at
    load), MEMBER_OF parents and citation counts, which free-text matching, explanations and suggestions use;
    the candidates of a request are :meth:`candidates` over the same vocabulary.
    """

    def __init__(self, build: str, context: RankingContext, info: dict[str, Any], idf: dict[str, float],
                 parents: dict[str, list[str]], cited: dict[str, int], dimensions: int, sparse: bool,
                 direction_count: int) -> None:
        self.build = build
        self.context = context
        self.dimensions = dimensions
        self.sparse = sparse
        self.direction_count = direction_count
        self.indexed = 0 < (PROJECTION_DIMENSIONS if sparse else dimensions) <= MAX_INDEXED_DIMENSIONS
        cfg = context.config
        # cited: search.suggest's counts, from the load's (the same as it computes over every profile)
        self.cands = Candidates(ids=[], programs=[], vectors=self._matrix([]), entities=[], info=info, idf=idf,
                                parents=parents, hierarchy_decay=cfg.hierarchy_decay,
                                type_weights=dict(cfg.type_weights), cited=cited, idf_given=True)
        self._marks = records.HierarchyMarks(info, {})
        self._program_ids: list[str] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> Vocabulary:
        """From ``get_ranking_vocabulary``'s row."""
        build = _checked_build(row)
        assert row is not None
        context = RankingContext(json.loads(row.get("meta") or "{}"), json.loads(row.get("encoder_state") or "{}"))
        v = json.loads(row.get("ranking") or "{}")
        info = {e: EntityInfo(id=e, type=t, name=name, name_en=en) for e, t, name, en in v.get("info", [])}
        return cls(build, context, info, v.get("idf", {}), v.get("parents", {}), v.get("cited", {}),
                   int(row.get("dimensions") or 0), bool(row.get("sparse")), int(row.get("direction_count") or 0))

    def _matrix(self, rows: list[dict[str, Any]]) -> Any:
        if self.sparse:
            return sparse_rows([(r.get(VECTOR_INDICES) or [], r.get(VECTOR_VALUES) or []) for r in rows],
                               self.dimensions)
        if rows and self.dimensions:
            return np.asarray([r[EMBEDDING] for r in rows], dtype=np.float32)
        return np.zeros((len(rows), self.dimensions), dtype=np.float32)

    def candidates(self, rows: list[dict[str, Any]]) -> Candidates:
        """Candidates from rows of ``find_*_candidates`` (id, program_id, vector, profile), this vocabulary's."""
        cfg = self.context.config
        profiles = [dict(zip(r.get(PROFILE_ENTITIES) or [], r.get(PROFILE_WEIGHTS) or [], strict=True)) for r in rows]
        words = self.context.words
        return Candidates(ids=[r["id"] for r in rows], programs=[r["program_id"] for r in rows],
                          vectors=self._matrix(rows), entities=profiles, info=self.cands.info, idf=self.cands.idf,
                          parents=self.cands.parents, hierarchy_decay=cfg.hierarchy_decay,
                          type_weights=dict(cfg.type_weights), idf_given=True,
                          words=None if words is None else sparse_rows(
                              [(r.get(WORD_INDICES) or [], r.get(WORD_VALUES) or []) for r in rows], words.dimension))

    def index_vector(self, vector: Any) -> list[float]:
        """A query's vector as the vector index holds directions' (the projection of a sparse row)."""
        if self.sparse:
            return projection(vector)[0].astype(float).tolist()
        return vx.dense_row(vx.as_rows(vector), 0).astype(float).tolist()

    def marks(self, direct: dict[str, Any]) -> records.HierarchyMarks:
        """The hierarchy marks with the cited entities of these directions (``direct``)."""
        m = copy.copy(self._marks)
        m.direct = direct
        return m

    def ordered(self, direction_id: str, pooled: dict[str, Any], k: int
                ) -> tuple[list[Scored], bool, list[dict[str, Any]]]:
        """The cross-program best ``k`` from a ``find_similar_pool`` row (:meth:`RankingContext.ordered`), and its rows.

        ``pooled``: the direction's first ``k`` pool ids in the mix's order (``chosen``), the first pass's best score
        (``best``) and the rows of those directions and of the direction itself (``candidates``).
        """
        rows = pooled["candidates"]
        pool = self.candidates(rows)
        answer = self.context.ordered(pool, pool.index[direction_id], [pool.index[i] for i in pooled["chosen"]],
                                      pooled["best"], k)
        assert answer is not None  # (k within the pool, lists mixed: checked before asking)
        return answer[0], answer[1], rows

    def stored_similar(self, stored: list[dict[str, Any] | None], k: int) -> tuple[list[Scored], bool] | None:
        """The cross-program best ``k`` from a direction's SIMILAR_TO rows (:meth:`RankingContext.stored_similar`)."""
        return self.context.stored_similar(
            ((s["brief"]["id"], s["brief"]["program_id"], decode_pairs(s["props"])) for s in stored if s), k)

    def stored_related(self, stored: list[dict[str, Any] | None]) -> bool | None:
        """Whether a direction's SIMILAR_TO rows say another program holds a related one.

        :meth:`RankingContext.stored_related` of the rows' properties.
        """
        return self.context.stored_related(decode_pairs(s["props"]) for s in stored if s)

    def program_ids(self, store: Neo4jStore) -> list[str]:
        """Every program id (read once per build)."""
        if self._program_ids is None:
            self._program_ids = [r["id"] for r in store.read("get_program_ids")]
        return self._program_ids


def _entity_labels() -> list[str]:
    """Graph labels of every entity type of the schema registry (read at call time: types may be registered)."""
    return [label.value for label in ENTITY_TYPES.values()]
