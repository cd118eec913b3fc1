"""The Neo4j store: the graph in a real Neo4j 5.26, behind the same interface as the embedded store.

Writing is :mod:`.loader`'s (layout, batches, the replace protocol). Reads are Cypher (``cypher/<verb_noun>.cypher``,
values only as ``$parameters``), each request in one read transaction that first checks the meta node names a
complete build: health, programs, directions (filters, total and page in one query), direction detail, entities,
entity, overlaps, matrix and neighbourhood (one query per BFS level, each asking only for the neighbours the
walk can still take). The rules of :mod:`fundgraph.graph.read.semantics` (ordering, tie-breaks, error details)
and the record mappers of :mod:`fundgraph.graph.read.records` are applied in Python over those bounded results;
for the lookups Cypher cannot do equally (NFKC + case folding) the loader stores each node's lookup forms (see
:func:`.codec.query_props`). Similar and search rank every direction with :func:`fundgraph.embeddings.scoring.rank`
(exactly as the embedded store does); the ranking inputs (direction briefs, vectors and entity profiles, the cited
entities' names and MEMBER_OF, the encoder) are read once per build and cached (:meth:`Neo4jStore.ranking_data`),
at start-up in the background (:meth:`Neo4jStore.warm`): 13 s for 20,000 directions (four statements, rows
decoded as the driver gives them, see :func:`.connection._rows`), no longer on the first request.
Every lookup by id starts from the ``:Node(id)`` uniqueness index (``MATCH (d:Node {id: $id}) WHERE d:Direction``:
with the model label in the pattern the planner scanned every direction), and lookups by entity type from the
``:Node(label)`` index (:data:`READ_INDEXES`, created with the loader's schema).
The API process never holds the whole graph: only :meth:`Neo4jStore.load` reads it all, for explicit exports.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from fundgraph.core.errors import FundgraphError, GraphNotBuilt
from fundgraph.embeddings import vectors as vx
from fundgraph.graph.model import ENTITY_TYPES, Label, Rel
from fundgraph.graph.profiles import candidates_from_graph
from fundgraph.graph.read import models, records, semantics
from fundgraph.graph.read import search as free_text
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.read.semantics import norm
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.neo4j import loader
from fundgraph.graph.stores.neo4j.codec import (
    CATEGORY_KEY,
    EDGE_KEY,
    EMBEDDING,
    JSON_KEYS,
    KEYWORDS_KEY,
    LAYOUT,
    NEIGHBOUR_HEAD,
    NEIGHBOURS_KEY,
    NULL_KEYS,
    TEXT_KEY,
    VECTOR_INDICES,
    VECTOR_VALUES,
    decode_edge_key,
    decode_pairs,
    decode_props,
    sparse_rows,
)
from fundgraph.graph.stores.neo4j.connection import Connection, Run

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings

Progress = Callable[[str], None]
logger = logging.getLogger(__name__)


def _summary_keys() -> list[str]:
    """Node properties an entity summary shows (plus the encoding bookkeeping needed to decode them)."""
    return ["name", "name_en", *records.code_keys(), JSON_KEYS, NULL_KEYS]


def _neighbourhood_node_keys() -> list[str]:
    """Node properties a neighbourhood node carries."""
    return ["label", "name", "name_en", *records.node_data_keys(), JSON_KEYS, NULL_KEYS]


#: Edge properties a neighbourhood edge carries.
_NEIGHBOURHOOD_EDGE_KEYS = ["type", *records.EDGE_DATA_KEYS, EDGE_KEY, JSON_KEYS, NULL_KEYS]
#: What the ranking reads of MENTIONS edges and of the entities.
_PROFILE_EDGE_KEYS = ["type", "field", "extracted", "boilerplate", JSON_KEYS, NULL_KEYS]
_PROFILE_NODE_KEYS = ["label", "name", "name_en", JSON_KEYS, NULL_KEYS]
#: Indexes the read statements need, besides the loader's constraints and indexes (``cypher/<name>.cypher``).
READ_INDEXES = ("create_index_node_label",)
#: Properties a detail never shows (of the direction and of the entities it cites): vectors, query forms and a
#: hub's neighbour list (decode_props would drop all but the embedding; not sending them saves most of the bytes
#: of a detail, and up to 1,000 ids per hub entity cited).
_DETAIL_SKIP = [EMBEDDING, VECTOR_INDICES, VECTOR_VALUES, TEXT_KEY, KEYWORDS_KEY, CATEGORY_KEY, NEIGHBOURS_KEY]
#: Similar lists remembered per build (the embedded store keeps the same number).
SIMILAR_CACHE_SIZE = 4096


class Neo4jStore(GraphStore):
    """The graph in Neo4j.

    Args:
        driver: an open ``neo4j.Driver`` (the store does not own it unless built by :meth:`from_settings`).
        database: database name.
        batch_size: rows per ``UNWIND`` batch (one write transaction each; 5,000 loaded 5,000 directions in 27 s
            against 34 s with 1,000, both with CREATE into an empty database, 46 s with MERGE).
        owns_driver: close the driver in :meth:`close`.
    """

    backend = "neo4j"

    def __init__(
        self, driver: Any, *, database: str = "neo4j", batch_size: int = 5000, owns_driver: bool = False
    ) -> None:
        self.connection = Connection(driver, database, owns_driver=owns_driver)
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._ranking: RankingData | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Neo4jStore:
        """Connect with ``FUNDGRAPH_NEO4J_URI``/``_USER``/``_PASSWORD``/``_DATABASE`` (the one place a driver opens).

        Raises:
            MissingDependency: when the ``neo4j`` driver is not installed.
        """
        conn = Connection.open(settings)
        return cls(conn.driver, database=conn.database, owns_driver=True, **kwargs)

    @property
    def driver(self) -> Any:
        """The ``neo4j.Driver``."""
        return self.connection.driver

    @property
    def database(self) -> str:
        """The database name."""
        return self.connection.database

    def close(self) -> None:
        """Close the driver if this store opened it."""
        self.connection.close()

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows (as dicts) of the catalog statement ``name`` in a read transaction."""
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
            self._ranking = None

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
            self._ranking = None

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
        """Run ``work(run)`` in one read transaction, after checking a complete build is stored."""

        def checked(run: Run) -> Any:
            self._check_build(run)
            return work(run)

        return self.connection.transaction(checked)

    def load(self) -> BuiltGraph:
        """Read the whole stored graph back (nodes and edges in build order, vectors, meta).

        An explicit export (``fundgraph export``, ``GET /api/export``, tests): no query calls it.
        """
        meta = self._meta()
        nodes, rels = self.connection.transaction(lambda run: (run("get_nodes"), run("get_relationships")))
        g = nx.MultiDiGraph()
        vectors_by_id: dict[str, Any] = {}
        for row in nodes:
            props = row["props"]
            vec = props.pop(EMBEDDING, None)
            if VECTOR_INDICES in props:
                vec = (props[VECTOR_INDICES], props[VECTOR_VALUES])
            if vec is not None:
                vectors_by_id[row["id"]] = vec
            g.add_node(row["id"], **decode_props(props))
        for row in rels:
            props = row["props"]
            g.add_edge(row["source"], row["target"], key=decode_edge_key(props), **decode_props(props))
        direction_ids = list(meta.get("direction_ids") or [])
        return BuiltGraph(
            graph=g,
            direction_ids=direction_ids,
            vectors=_vectors(direction_ids, vectors_by_id, int(meta.get("dimensions") or 0), bool(meta.get("sparse"))),
            encoder_state=json.loads(meta.get("encoder_state") or "{}"),
            meta=json.loads(meta.get("meta") or "{}"),
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
        """One direction with its community and its entities (with evidence) grouped by type: one statement."""
        row = self.read("get_direction", id=direction_id, entity_labels=_entity_labels(), skip=_DETAIL_SKIP)[0]
        _checked_build(row)
        if not row["found"]:
            raise semantics.direction_not_found(direction_id)
        mentions = []
        for m in row["mentions"]:
            n = decode_pairs(m["node"]) if m else {}
            et = records.entity_type_of(n.get("label")) if m else None
            if et is not None:
                mentions.append((m["entity"], et, n, decode_pairs(m["edge"])))
        communities = row["communities"]
        return records.direction_detail(decode_pairs(row["props"]), communities[-1] if communities else None, mentions)

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
        return self.ranking_data().marks.overlap(overlap)

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

        Two statements for a walk of depth ≤ 2: ``find_neighbourhood`` checks the build, resolves the node and
        reads the walk's first two levels (level 2 as a lazy stream in the walk's order that stops when the walk
        is full, so hubs it would not reach are not expanded), then ``get_neighbourhood_elements`` reads the
        chosen nodes' small properties and their edges. A name rather than an id resolves first (one more
        statement), and each level past 2 is one ``find_neighbours``.
        """
        valid = 0 <= depth <= semantics.MAX_DEPTH and limit >= 1
        walk_depth, walk_limit = (min(depth, 2), limit) if valid else (0, 1)

        def work(run: Run) -> models.Neighborhood:
            row = run("find_neighbourhood", id=node, depth=walk_depth, limit=walk_limit, head=NEIGHBOUR_HEAD)[0]
            _checked_build(row)
            center = node
            if row["exact"] is None:  # a name: resolve it, then walk from the entity it names
                named: dict[str, list[str]] = {}
                for label, eid in run("resolve_node", id=node, key=norm(node))[0]["found"]:
                    et = records.entity_type_of(label)
                    if et is not None:
                        named.setdefault(et, []).append(eid)
                center = semantics.resolve_node(node, False, named)
                semantics.check_walk(depth, limit)
                row = run("find_neighbourhood", id=center, depth=walk_depth, limit=walk_limit,
                          head=NEIGHBOUR_HEAD)[0]
            semantics.check_walk(depth, limit)
            read_ahead = [{center: row["level1"]}, dict(row["level2"])]  # levels 1 and 2, as walk asks for them

            def neighbours(frontier: list[str], seen: list[str]) -> dict[str, list[str]]:
                if read_ahead:
                    return read_ahead.pop(0)
                room = limit - len(seen)
                rows = run("find_neighbours", frontier=frontier, seen=seen, cap=2 * room + 1)
                return {r["id"]: r["neighbours"] for r in rows}

            order, seen, truncated = semantics.walk(center, depth, limit, neighbours)
            el = run(
                "get_neighbourhood_elements",
                ids=order,
                node_keys=_neighbourhood_node_keys(),
                edge_keys=_NEIGHBOURHOOD_EDGE_KEYS,
            )[0]
            props = {n["id"]: decode_pairs(n["props"]) for n in el["nodes"]}
            nodes = [records.graph_node(n, props[n], seen[n]) for n in order]
            pos = {n: i for i, n in enumerate(order)}
            edges = []
            for r in sorted(el["edges"], key=lambda r: pos[r["source"]]):  # stable: build order within a node
                key = decode_edge_key(dict(r["props"]))
                edges.append(records.graph_edge(r["source"], key, r["target"], decode_pairs(r["props"])))
            return models.Neighborhood(center=center, depth=depth, nodes=nodes, edges=edges, truncated=truncated)

        return self.connection.transaction(work)

    # -- similar and search: the vector index and the shared ranking --------------------------------------
    def ranking_data(self) -> RankingData:
        """What similar and search rank with, for the current build (read once per build, then cached).

        Only the directions' briefs, vectors and entity profiles (plus the names and MEMBER_OF hierarchy of the
        entities they cite, the encoder state and the scoring parameters): what
        :func:`fundgraph.embeddings.scoring.rank` needs, never the whole graph. Re-read when the meta node names
        another build (one small query per call checks it).
        """
        build = self.connection.transaction(self._check_build)
        with self._lock:
            if self._ranking is not None and self._ranking.build == build:
                return self._ranking
        with self._reading:  # one read at a time: a request arriving during warm-up's read waits for it
            with self._lock:
                if self._ranking is not None and self._ranking.build == build:
                    return self._ranking
            data = self._read_ranking_data()
            with self._lock:
                if data.build == build or self._ranking is None:
                    self._ranking = data
        return data

    def warm(self) -> None:
        """Read the ranking inputs (:meth:`ranking_data`) in a background thread, so that no request pays for it.

        Start-up neither waits for it nor fails with it (Neo4j may be down: the API must start and answer 503);
        a similar or search request that comes first waits for this read instead of starting another.
        """

        def read() -> None:
            try:
                self.ranking_data()
            except FundgraphError as e:
                logger.warning("Neo4j ranking inputs not read at start-up: %s", e.message)

        threading.Thread(target=read, name="neo4j-ranking-warm-up", daemon=True).start()

    def _read_ranking_data(self) -> RankingData:
        def work(run: Run) -> tuple[str, dict[str, Any], list[Any], dict[str, Any], list[str]]:
            build = self._check_build(run)
            meta = run("get_meta")[0]
            dirs = run("get_direction_profiles", edge_keys=_PROFILE_EDGE_KEYS)
            hier = run("get_entity_hierarchy", node_keys=_PROFILE_NODE_KEYS)[0]
            return build, meta, dirs, hier, [r["id"] for r in run("get_program_ids")]

        return RankingData.from_rows(*self.connection.transaction(work))

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions over every candidate, ranked by the shared scoring.

        The ranking is exact (text + entity score over all directions, as the embedded store ranks), so it
        reads the candidates from the cached :class:`RankingData`, not from the vector index: the index was
        asked for every direction and its answer thrown away (about 20 ms of a 30 ms request at 124
        directions, and a k = N approximate search at scale). Answers are remembered per build (bounded).
        """
        data = self.ranking_data()
        if direction_id not in data.briefs:
            raise semantics.direction_not_found(direction_id)
        semantics.check_scope(scope)
        semantics.check_k(k)
        cands = data.cands
        row = cands.index.get(direction_id)
        if row is None:
            return models.SimilarList(items=[])
        key = (direction_id, k, scope)
        hit = data.similar_cache.get(key)
        if hit is not None:
            return hit
        ranked, related = data.context.similar(cands, row, k, scope, data.briefs[direction_id].program_id)
        direct = data.marks.direct.get(direction_id, frozenset())
        items = [data.marks.mark(data.item(s), direct) for s in ranked]
        return data.remember(key, data.context.similar_list(items, related))

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:
        """Directions ranked against free text, those with evidence only (:mod:`fundgraph.graph.read.search`).

        The text is encoded with the build's encoder and the shared scoring ranks every direction (see
        :meth:`similar` on why not the vector index).
        """
        data = self.ranking_data()
        semantics.check_search(text, k)
        semantics.check_programs(data.program_ids, *(programs or ()))
        ctx = data.context
        vector = vx.as_query(ctx.encoder().encode([text]))  # the lexical encoder's row is sparse
        return free_text.search(text, k, programs, context=ctx, cands=data.cands, vector=vector, item=data.item,
                                marks=data.marks)


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


class RankingData:
    """One build's ranking inputs: candidates (vectors + entity profiles), briefs and the ranking context.

    The entity profiles are computed by :func:`fundgraph.graph.profiles.candidates_from_graph` (as the embedded
    store does) over a small graph of just the directions, the entities they cite and MEMBER_OF.
    """

    def __init__(
        self,
        build: str,
        context: RankingContext,
        cands: Any,
        briefs: dict[str, models.DirectionBrief],
        program_ids: list[str],
        direct: dict[str, list[str]] | None = None,
    ) -> None:
        self.build = build
        self.context = context
        self.cands = cands
        self.briefs = briefs
        self.program_ids = program_ids
        self.marks = records.HierarchyMarks(cands.info, direct or {})
        #: (direction, k, scope) → its similar list; this build's answers, least recently stored dropped first.
        self.similar_cache: OrderedDict[tuple[str, int, str], models.SimilarList] = OrderedDict()
        self._cache_lock = threading.Lock()

    def remember(self, key: tuple[str, int, str], result: models.SimilarList) -> models.SimilarList:
        """Keep ``result`` for ``key`` (at most :data:`SIMILAR_CACHE_SIZE` answers) and return it."""
        with self._cache_lock:
            self.similar_cache[key] = result
            while len(self.similar_cache) > SIMILAR_CACHE_SIZE:
                self.similar_cache.popitem(last=False)
        return result

    @classmethod
    def from_rows(
        cls,
        build: str,
        meta_row: dict[str, Any],
        dirs: list[dict[str, Any]],
        hier: dict[str, Any],
        program_ids: list[str],
    ) -> RankingData:
        """The ranking inputs from the rows of ``get_meta``, ``get_direction_profiles``, ``get_entity_hierarchy``."""
        context = RankingContext(json.loads(meta_row.get("meta") or "{}"),
                                 json.loads(meta_row.get("encoder_state") or "{}"))
        g = nx.MultiDiGraph()
        vectors_by_id: dict[str, Any] = {}
        briefs: dict[str, models.DirectionBrief] = {}
        for r in dirs:
            b = r["brief"]
            briefs[b["id"]] = records.direction_brief(b)
            g.add_node(b["id"], id=b["id"], label=Label.DIRECTION.value, program_id=b["program_id"])
            if r["vec_idx"] is not None:
                vectors_by_id[b["id"]] = (r["vec_idx"], r["vec_val"])
            elif r["embedding"] is not None:
                vectors_by_id[b["id"]] = r["embedding"]
        for eid, pairs in hier["entities"]:
            g.add_node(eid, id=eid, **decode_pairs(pairs))
        direct: dict[str, list[str]] = {}
        for r in dirs:
            for m in r["mentions"]:
                if m:
                    g.add_edge(r["brief"]["id"], m[0], **decode_pairs(m[1]))
                    direct.setdefault(r["brief"]["id"], []).append(m[0])
        for a, b in hier["member_of"]:
            g.add_edge(a, b, type=Rel.MEMBER_OF.value)
        ids = [d for d in meta_row.get("direction_ids") or [] if d in briefs]
        vectors = _vectors(ids, vectors_by_id, int(meta_row.get("dimensions") or 0), bool(meta_row.get("sparse")))
        return cls(build, context, candidates_from_graph(g, ids, vectors, context.config), briefs, program_ids,
                   direct)

    def item(self, scored: Any) -> models.SimilarItem:
        """A ranked candidate as the API shows it."""
        return self.context.item(scored, self.briefs[scored.id])


def _entity_labels() -> list[str]:
    """Graph labels of every entity type of the schema registry (read at call time: types may be registered)."""
    return [label.value for label in ENTITY_TYPES.values()]
