"""The Neo4j store: the graph in a real Neo4j 5.26 (official ``neo4j`` driver; imported only here).

Layout in Neo4j:

- every fundgraph node has the common label ``:Node`` (unique ``id``) plus its model label (``:Direction``,
  ``:Disease`` …); relationships carry their model type. Labels and types are passed as parameters to
  Neo4j 5.26's dynamic labels after being checked against :mod:`graph.model` (Cypher cannot take them
  as ordinary parameters, and splicing text into Cypher is what we never do);
- Direction vectors are the ``embedding`` property under the cosine vector index ``direction_embedding``;
- one ``(:FundgraphMeta {id: 'fundgraph'})`` node holds the build id, the build meta and the encoder state
  (JSON strings) and the row order of the vectors.

Loading (:meth:`Neo4jStore.replace`) is batched and idempotent: ``UNWIND $rows AS row MERGE …`` tags every
node and relationship with the new build id, then deletes whatever an older (or interrupted) load left,
then marks the meta node with the new build id. Re-running a load, or re-running after a load died
half-way, ends with exactly the built graph. A Neo4j Browser user watching mid-load sees the union of the
old and new graph (ids are stable, so that is mostly the same nodes with refreshed properties); readers of
this store keep answering from the previous complete build until the meta node changes.

Reads are Cypher (``cypher/<verb_noun>.cypher``, values only as ``$parameters``, each request in one read
transaction via ``session.execute_read`` that first checks the meta node names a complete build):
health, programs, directions (filters, total and page in one query), direction detail, entities, entity,
overlaps, matrix and neighbourhood (one query per BFS level, each asking only for the neighbours the walk
can still take). What :mod:`graph.queries` defines (ordering, tie-breaks, error details) is reproduced in
Python over those bounded results; for the lookups Cypher cannot do equally (NFKC + case folding), the loader
stores each node's lookup forms (``fg_lookup``, ``fg_search``, ``fg_text``, ``fg_keywords``, ``fg_category``)
and canonical rank (``fg_order``), see :func:`query_props`. Similar and search take their candidates from
the vector index and rank them with :func:`embeddings.scoring.rank`; the ranking inputs (direction briefs,
vectors and entity profiles, the cited entities' names and MEMBER_OF, the encoder) are read once per build
and cached (:meth:`Neo4jStore.ranking_data`). The API process never holds the whole graph: only
:meth:`Neo4jStore.load` reads it all, for explicit exports.

Driver errors that mean "the database cannot be reached" become :class:`BackendUnavailable` (HTTP 503);
the driver reconnects by itself on the next call once Neo4j is back.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from fundgraph.core.errors import (
    BackendUnavailable,
    DirectionNotFound,
    EntityNotFound,
    FundgraphError,
    GraphNotBuilt,
    InvalidRequest,
    MissingDependency,
    NodeNotFound,
    ProgramNotFound,
)
from fundgraph.cypher.catalog import query
from fundgraph.embeddings.encoders import QueryEncoder
from fundgraph.graph.model import ENTITY_TYPES, Label, Rel
from fundgraph.graph.read import models
from fundgraph.graph.read.records import direction_record
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.embedded.queries import (
    CODE_KEYS,
    MATRIX_BY,
    SCOPES,
    build_param,
    entity_codes,
    entity_type_of,
    expand_level,
    explanation_from_edge,
    group_entities,
    norm,
)

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings

try:
    import neo4j
    from neo4j import exceptions as neo4j_errors
except ImportError:  # pragma: no cover - exercised only without the extra
    neo4j = None
    neo4j_errors = None

#: Bookkeeping properties the loader adds (stripped when the graph is read back).
_BUILD, _SEQ, _JSON, _NULL, _KEY = "fg_build", "fg_seq", "fg_json", "fg_null", "fg_key"
#: Query properties the loader derives so the read queries can be plain Cypher (see :func:`query_props`).
_ORDER, _LOOKUP, _SEARCH, _TEXT, _KEYWORDS, _CATEGORY = (
    "fg_order",
    "fg_lookup",
    "fg_search",
    "fg_text",
    "fg_keywords",
    "fg_category",
)
_BOOKKEEPING = {_BUILD, _SEQ, _JSON, _NULL, _KEY, _ORDER, _LOOKUP, _SEARCH, _TEXT, _KEYWORDS, _CATEGORY}
#: Version of the stored layout (the query properties above). A graph loaded by an older loader lacks them:
#: the store then asks for a re-load instead of answering wrongly.
LAYOUT = 2
EMBEDDING = "embedding"
#: Neo4j 5's vector indexes take at most 4096 dimensions; longer vectors are stored but not indexed, and
#: similar/search then rank every candidate without asking the index (same results, no index).
MAX_INDEXED_DIMENSIONS = 4096
_LABELS = {label.value for label in Label}
_RELS = {rel.value for rel in Rel}
Progress = Callable[[str], None]


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    e = neo4j_errors
    return (e.ServiceUnavailable, e.SessionExpired, e.AuthError, e.TransientError, e.DriverError, OSError)


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
        out[_NULL] = nulls
    if as_json:
        out[_JSON] = as_json
    return out


def decode_props(props: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_props` (bookkeeping properties dropped)."""
    out = {k: v for k, v in props.items() if k not in _BOOKKEEPING}
    for k in props.get(_JSON) or ():
        out[k] = json.loads(out[k])
    for k in props.get(_NULL) or ():
        out[k] = None
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _norms(values: list[Any]) -> list[str]:
    """Distinct lookup forms (:func:`graph.queries.norm`) of the non-blank strings among ``values``."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str) and v.strip():
            k = norm(v)
            if k not in out:
                out.append(k)
    return out


def query_props(g: nx.MultiDiGraph) -> dict[str, dict[str, Any]]:
    """Node id → the derived properties the read queries match on (stripped again by :func:`decode_props`).

    Cypher has no NFKC/case-folding equal to Python's, so the lookup forms of :func:`graph.queries.norm` are
    computed here, once per load, and the queries compare them exactly:

    - Direction: ``fg_order`` (rank in the canonical order: program manifest order, ordinal, id),
      ``fg_text`` (title + content, for ``q``), ``fg_keywords`` (its own 关键词), ``fg_category``
      (category and raw category);
    - entity: ``fg_lookup`` (id, vocabulary id, name, English name, synonyms, abbreviations: what a filter
      value or an entity id in a path may name) and ``fg_search`` (id, name, English name, synonyms: what the
      entity list's ``q`` searches).
    """
    out: dict[str, dict[str, Any]] = {}
    progs = [d for _, d in g.nodes(data=True) if d.get("label") == Label.PROGRAM.value]
    progs.sort(key=lambda n: (n.get("manifest_order", 0), n["id"]))
    order = {p["id"]: i for i, p in enumerate(progs)}
    dirs = [d for _, d in g.nodes(data=True) if d.get("label") == Label.DIRECTION.value]
    dirs.sort(key=lambda n: (order.get(n.get("program_id"), len(progs)), n.get("ordinal", 0), n["id"]))
    for i, d in enumerate(dirs):
        out[d["id"]] = {
            _ORDER: i,
            _TEXT: norm(f"{d.get('title') or ''}\n{d.get('content') or ''}"),
            _KEYWORDS: [norm(k) for k in d.get("keywords") or () if isinstance(k, str)],
            _CATEGORY: [norm(d.get("category") or ""), norm(d.get("category_raw") or "")],
        }
    for n, d in g.nodes(data=True):
        if entity_type_of(d.get("label")) is None:
            continue
        syn = _as_list(d.get("synonyms"))
        out[n] = {
            _LOOKUP: _norms(
                [n, n.split(":", 1)[-1], d.get("name"), d.get("name_en"), *syn, *_as_list(d.get("abbreviations"))]
            ),
            _SEARCH: _norms([n, d.get("name"), d.get("name_en"), *syn]),
        }
    return out


def node_rows(built: BuiltGraph) -> list[dict[str, Any]]:
    """Parameter rows of every node (Direction rows carry their vector as ``embedding``)."""
    vec_row = {d: i for i, d in enumerate(built.direction_ids)}
    vectors = np.asarray(built.vectors, dtype=np.float32)
    derived = query_props(built.graph)
    rows = []
    for seq, (n, d) in enumerate(built.graph.nodes(data=True)):
        label = d.get("label")
        if label not in _LABELS:
            raise FundgraphError(f"node {n!r} has label {label!r}, not one of graph.model.Label")
        props = encode_props({k: v for k, v in d.items() if k != EMBEDDING})
        props[_SEQ] = seq
        props.update(derived.get(n, {}))
        if n in vec_row and vectors.ndim == 2 and vectors.shape[1] > 0:
            props[EMBEDDING] = vectors[vec_row[n]].astype(float).tolist()
        rows.append({"id": str(n), "label": label, "props": props})
    return rows


def relationship_rows(built: BuiltGraph) -> list[dict[str, Any]]:
    """Parameter rows of every edge (``key`` is the networkx edge key, JSON-encoded)."""
    rows = []
    for seq, (u, v, key, e) in enumerate(built.graph.edges(keys=True, data=True)):
        rel = e.get("type")
        if rel not in _RELS:
            raise FundgraphError(f"edge {u!r}->{v!r} has type {rel!r}, not one of graph.model.Rel")
        props = encode_props(e)
        props[_SEQ] = seq
        rows.append({"source": str(u), "target": str(v), "type": rel, "key": json.dumps(key), "props": props})
    return rows


def batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive slices of ``rows`` of at most ``size``."""
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class Neo4jStore(GraphStore):
    """The graph in Neo4j, behind the same interface as the embedded store.

    Args:
        driver: an open ``neo4j.Driver`` (the store does not own it unless built by :meth:`from_settings`).
        database: database name.
        batch_size: rows per ``UNWIND`` batch (one write transaction each).
    """

    backend = "neo4j"

    def __init__(
        self, driver: Any, *, database: str = "neo4j", batch_size: int = 1000, owns_driver: bool = False
    ) -> None:
        self.driver = driver
        self.database = database
        self.batch_size = batch_size
        self._owns_driver = owns_driver
        self._lock = threading.Lock()
        self._ranking: _RankingData | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Neo4jStore:
        """Connect with ``FUNDGRAPH_NEO4J_URI``/``_USER``/``_PASSWORD``/``_DATABASE``.

        Raises:
            MissingDependency: when the ``neo4j`` driver is not installed.
        """
        if neo4j is None:
            raise MissingDependency("neo4j", "neo4j", "The Neo4j store")
        auth = (settings.neo4j_user, settings.neo4j_password) if settings.neo4j_user else None
        # Short timeouts: with Neo4j down, a request should get its 503 in seconds, not after 30 s of retries.
        driver = neo4j.GraphDatabase.driver(
            settings.neo4j_uri,
            auth=auth,
            connection_timeout=5.0,
            max_transaction_retry_time=2.0,
            connection_acquisition_timeout=10.0,
        )
        return cls(driver, database=settings.neo4j_database, owns_driver=True, **kwargs)

    def close(self) -> None:
        """Close the driver if this store opened it."""
        if self._owns_driver:
            self.driver.close()

    # -- running statements -----------------------------------------------------------------------------
    def _run(self, fn: Callable[..., Any], *, write: bool = False, **kwargs: Any) -> Any:
        """Run ``fn(tx, **kwargs)`` as a transaction function; driver errors become FundgraphErrors."""
        try:
            with self.driver.session(database=self.database) as session:
                if write:
                    return session.execute_write(fn, **kwargs)
                return session.execute_read(fn, **kwargs)
        except FundgraphError:
            raise
        except _unavailable_errors() as e:
            raise BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"}) from e
        except neo4j_errors.Neo4jError as e:
            raise FundgraphError(f"Neo4j error: {e}", detail={"backend": "neo4j", "code": e.code}) from e

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows (as dicts) of the catalog statement ``name`` in a read transaction."""
        text = query(name)
        return self._run(lambda tx: [r.data() for r in tx.run(text, params)])

    def write(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of the catalog statement ``name`` in a write transaction (its own)."""
        text = query(name)
        return self._run(lambda tx: [r.data() for r in tx.run(text, params)], write=True)

    def schema(self) -> None:
        """Constraints and indexes, created idempotently (schema statements run in auto-commit)."""
        names = (
            "create_constraint_node_id",
            "create_constraint_meta_id",
            "create_index_node_build",
            "create_index_direction_program",
        )
        try:
            with self.driver.session(database=self.database) as session:
                for name in names:
                    session.run(query(name)).consume()
        except _unavailable_errors() as e:
            raise BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"}) from e

    def _vector_index(self, dimensions: int) -> None:
        """The vector index for vectors of ``dimensions`` (recreated when the encoder changed)."""
        indexable = 0 < dimensions <= MAX_INDEXED_DIMENSIONS
        try:
            with self.driver.session(database=self.database) as session:
                rows = session.run(query("show_vector_index")).data()
                if rows and (not indexable or rows[0]["dimensions"] not in (None, dimensions)):
                    session.run(query("drop_vector_index")).consume()
                if indexable:
                    session.run(query("create_vector_index"), dimensions=int(dimensions)).consume()
        except _unavailable_errors() as e:
            raise BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"}) from e

    # -- writing ----------------------------------------------------------------------------------------
    def replace(
        self, built: BuiltGraph, *, progress: Progress | None = None, stop_after_batches: int | None = None
    ) -> None:
        """Load ``built`` in batches, then delete what older builds left; see the module docstring.

        Args:
            built: the graph.
            progress: called with a short message per step.
            stop_after_batches: testing hook: stop (as a crash would) after this many write batches.
        """
        say = progress or (lambda _msg: None)
        build = uuid.uuid4().hex
        vectors = np.asarray(built.vectors, dtype=np.float32)
        dims = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[0] else 0
        self.schema()
        self._vector_index(dims)
        self.write("set_meta_loading", build=build)
        nodes, rels = node_rows(built), relationship_rows(built)
        done = 0
        say(f"loading {len(nodes)} nodes and {len(rels)} relationships")
        for stmt, rows in load_statements(nodes, rels):
            for batch in batches(rows, self.batch_size):
                if stop_after_batches is not None and done >= stop_after_batches:
                    raise FundgraphError("load stopped on purpose (test hook)")
                self.write(stmt, rows=batch, build=build)
                done += 1
        say("deleting what older builds left")
        self._sweep(build)
        self._await_indexes()
        self.write(
            "set_meta_loaded",
            build=build,
            meta=json.dumps(built.meta, ensure_ascii=False, default=str),
            encoder_state=json.dumps(built.encoder_state, ensure_ascii=False, default=str),
            direction_ids=list(built.direction_ids),
            dimensions=dims,
            node_count=len(nodes),
            relationship_count=len(rels),
            layout=LAYOUT,
        )
        with self._lock:
            self._ranking = None

    def _await_indexes(self, timeout_s: int = 300) -> None:
        """Wait until every index (the vector index too) is online, so queries right after a load use it."""
        try:
            with self.driver.session(database=self.database) as session:
                session.run(query("await_indexes"), timeout_s=timeout_s).consume()
        except _unavailable_errors() as e:
            raise BackendUnavailable(f"Neo4j is unavailable: {e}", detail={"backend": "neo4j"}) from e

    def _sweep(self, build: str) -> None:
        for stmt in ("delete_stale_relationships", "delete_stale_nodes"):
            while self.write(stmt, build=build, batch=self.batch_size * 5)[0]["deleted"]:
                pass

    def clear(self) -> None:
        """Delete the whole fundgraph graph and its meta node (tests and benchmarks)."""
        while self.write("delete_all_nodes", batch=self.batch_size * 5)[0]["deleted"]:
            pass
        self.write("delete_meta")
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

    def _check_build(self, tx: Any) -> str:
        """The current build id, read in transaction ``tx`` (raises GraphNotBuilt when there is none)."""
        row = tx.run(query("get_build")).single()
        if row is None or not row["build"]:
            raise GraphNotBuilt("Neo4j holds no fundgraph graph yet: run `fundgraph load-neo4j` first")
        if row["layout"] != LAYOUT:
            raise GraphNotBuilt(
                "the graph in Neo4j was loaded by an older fundgraph: run `fundgraph load-neo4j` again",
                detail={"layout": row["layout"], "expected": LAYOUT},
            )
        return row["build"]

    def _current_build(self) -> str:
        return self._run(self._check_build)

    def _query(self, work: Callable[..., Any]) -> Any:
        """Run ``work(run)`` in one read transaction, after checking a complete build is stored.

        ``run(name, **params)`` runs the catalog statement ``name`` and returns its rows as dicts.
        """

        def tx_fn(tx: Any) -> Any:
            self._check_build(tx)
            return work(lambda name, **params: [r.data() for r in tx.run(query(name), params)])

        return self._run(tx_fn)

    def load(self) -> BuiltGraph:
        """Read the whole stored graph back (nodes and edges in build order, vectors, meta).

        An explicit export (``fundgraph export``, ``GET /api/export``, tests): no query calls it.
        """
        meta = self._meta()

        def read_all(tx: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            nodes = [r.data() for r in tx.run(query("get_nodes"))]
            rels = [r.data() for r in tx.run(query("get_relationships"))]
            return nodes, rels

        nodes, rels = self._run(read_all)
        g = nx.MultiDiGraph()
        vectors_by_id: dict[str, list[float]] = {}
        for row in nodes:
            props = row["props"]
            vec = props.pop(EMBEDDING, None)
            if vec is not None:
                vectors_by_id[row["id"]] = vec
            g.add_node(row["id"], **decode_props(props))
        for row in rels:
            props = row["props"]
            key = json.loads(props.get(_KEY, '""'))
            g.add_edge(row["source"], row["target"], key=key, **decode_props(props))
        direction_ids = list(meta.get("direction_ids") or [])
        dims = int(meta.get("dimensions") or 0)
        if direction_ids and dims:
            vectors = np.asarray([vectors_by_id[d] for d in direction_ids], dtype=np.float32)
        else:
            vectors = np.zeros((len(direction_ids), dims), dtype=np.float32)
        return BuiltGraph(
            graph=g,
            direction_ids=direction_ids,
            vectors=vectors,
            encoder_state=json.loads(meta.get("encoder_state") or "{}"),
            meta=json.loads(meta.get("meta") or "{}"),
        )

    def health(self) -> models.Health:
        """Backend, node and relationship counts (counted in Neo4j), build time."""
        meta = json.loads(self._meta().get("meta") or "{}")
        self._current_build()
        n, r = self.counts()
        return models.Health(
            backend=self.backend,
            node_count=n,
            edge_count=r,
            built_at=meta.get("built_at"),
            encoder=meta.get("encoder"),
        )

    def programs(self) -> list[models.ProgramSummary]:
        """Every program in manifest order (one Cypher query)."""
        out = []
        for row in self._query(lambda run: run("get_programs")):
            p = row["program"]
            out.append(
                models.ProgramSummary(
                    id=p["id"],
                    name=p.get("name") or p["id"],
                    name_en=p.get("name_en") or "",
                    funder=list(p.get("funder") or []),
                    funder_en=list(p.get("funder_en") or []),
                    series=p.get("series"),
                    year=p.get("year"),
                    status=p.get("status"),
                    source_file=p.get("source_file") or "",
                    direction_count=int(row["direction_count"]),
                )
            )
        return out

    # -- the queries, in Cypher -------------------------------------------------------------------------
    @staticmethod
    def _check_programs(run: Callable[..., list[dict[str, Any]]], *program_ids: str) -> list[str]:
        """Every program id in manifest order; raises ProgramNotFound for the first unknown one given."""
        known = [r["id"] for r in run("get_program_ids")]
        for pid in program_ids:
            if pid not in known:
                raise ProgramNotFound(f"no program has id {pid!r}", detail={"program": pid, "known": known})
        return known

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching every filter, in canonical order: one page and the total, in Cypher.

        Entity filters are resolved first (an unknown value is EntityNotFound, as in :mod:`graph.queries`),
        then one query filters, orders, counts and slices.
        """
        if limit < 0 or offset < 0:
            raise InvalidRequest("limit and offset must be >= 0", detail={"limit": limit, "offset": offset})
        wanted = [(et, getattr(filters, et)) for et in ENTITY_TYPES if getattr(filters, et)]

        def work(run: Callable[..., list[dict[str, Any]]]) -> models.DirectionPage:
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
                        raise EntityNotFound(
                            f"no {et} is named or has id {value!r}", detail={"type": et, "value": value}
                        )
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
            return models.DirectionPage(total=row["total"], items=[_brief(b) for b in row["items"]])

        return self._query(work)

    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction with its community and its entities (with evidence) grouped by type, in Cypher."""
        rows = self._query(lambda run: run("get_direction", id=direction_id, entity_labels=_ENTITY_LABEL_VALUES))
        if not rows:
            raise DirectionNotFound(f"no direction has id {direction_id!r}", detail={"id": direction_id})
        row = rows[0]
        node = _props(row["props"])
        mentions = []
        for m in row["mentions"]:
            n = _props(m["node"]) if m else {}
            et = entity_type_of(n.get("label")) if m else None
            if et is not None:
                mentions.append((m["entity"], et, n, _props(m["edge"])))
        communities = row["communities"]
        return models.DirectionDetail(
            **direction_record(node),
            community=communities[-1] if communities else None,
            entities=group_entities(mentions),
        )

    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:
        """Entities (of one type, matching ``q``), most cited first, counted in Cypher."""
        if entity_type is not None and entity_type not in ENTITY_TYPES:
            raise _unknown_type(entity_type)
        labels = [ENTITY_TYPES[entity_type].value] if entity_type else _ENTITY_LABEL_VALUES
        rows = self._query(
            lambda run: run("find_entities", labels=labels, q=(norm(q) or None) if q else None, keys=_SUMMARY_KEYS)
        )
        out = [
            _summary(
                r["id"], entity_type_of(r["label"]) or "", _props(r["props"]), r["direction_count"], r["program_count"]
            )
            for r in rows
        ]
        out.sort(key=lambda s: (-s.direction_count, -s.program_count, s.id))
        return out

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:
        """One entity (by id, vocabulary id or name) and its directions grouped by program, in Cypher."""
        if entity_type not in ENTITY_TYPES:
            raise _unknown_type(entity_type)
        label = ENTITY_TYPES[entity_type].value

        def work(run: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
            r = run("resolve_entity", id=entity_id, label=label, key=norm(entity_id))[0]
            ent = r["exact"]
            if ent is None:
                found = sorted(set(r["found"]))
                if len(found) != 1:
                    raise EntityNotFound(
                        f"no {entity_type} has id {entity_id!r}",
                        detail={"type": entity_type, "id": entity_id, "candidates": found},
                    )
                ent = found[0]
            return {"id": ent, **run("get_entity", id=ent)[0]}

        row = self._query(work)
        n = _props(row["props"])
        ent = row["id"]
        by_prog: dict[str, list[models.DirectionBrief]] = {}
        for b in row["directions"]:
            by_prog.setdefault(b["program_id"], []).append(_brief(b))
        return models.EntityDetail(
            id=ent,
            type=entity_type,
            name=n.get("name") or ent,
            name_en=n.get("name_en") or "",
            codes=entity_codes(n),
            synonyms=[s for s in _as_list(n.get("synonyms")) if isinstance(s, str)],
            no_code_reason=n.get("no_code_reason"),
            members=sorted(row["members"]),
            groups=sorted(row["groups"]),
            directions_by_program=by_prog,
        )

    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities programs a and b both cite (rarest first) and their SIMILAR_TO pairs, in Cypher."""

        def work(run: Callable[..., list[dict[str, Any]]]) -> tuple[list[Any], list[Any]]:
            self._check_programs(run, a, b)
            shared = run("find_shared_entities", a=a, b=b, entity_labels=_ENTITY_LABEL_VALUES, keys=_SUMMARY_KEYS)
            return shared, run("find_similar_pairs", a=a, b=b)

        shared_rows, pair_rows = self._query(work)
        shared = []
        for r in shared_rows:
            ds = r["directions"]
            summary = _summary(
                r["id"], entity_type_of(r["label"]) or "", _props(r["props"]), len(ds), r["program_count"]
            )
            shared.append(
                models.OverlapEntity(
                    entity=summary,
                    a_directions=[_brief(d) for d in ds if d["program_id"] == a],
                    b_directions=[_brief(d) for d in ds if d["program_id"] == b],
                )
            )
        type_order = {t: i for i, t in enumerate(ENTITY_TYPES)}
        shared.sort(
            key=lambda o: (type_order[o.entity.type], o.entity.program_count, -o.entity.direction_count, o.entity.id)
        )
        # One pair per two directions: the edge with the best score (the first one on ties), as in queries.py.
        best: dict[frozenset[str], dict[str, Any]] = {}
        for r in pair_rows:
            e = _props(r["props"])
            pair = frozenset((r["source"]["id"], r["target"]["id"]))
            if pair not in best or e.get("score", 0) > best[pair]["e"].get("score", 0):
                best[pair] = {"s": r["source"], "t": r["target"], "e": e}
        pairs = []
        for p in best.values():
            s, t = p["s"], p["t"]
            if (s["program_id"], t["program_id"]) == (b, a):
                s, t = t, s
            elif (s["program_id"], t["program_id"]) != (a, b):
                continue
            pairs.append(
                models.DirectionPair(
                    a=_brief(s),
                    b=_brief(t),
                    score=float(p["e"].get("score", 0.0)),
                    explanation=explanation_from_edge(p["e"]),
                )
            )
        pairs.sort(key=lambda p: (-p.score, p.a.id, p.b.id))
        return models.Overlap(a=a, b=b, shared=shared, similar_pairs=pairs)

    def matrix(self, by: str) -> models.Matrix:
        """Program × entity counts for one entity type, aggregated in Cypher."""
        if by not in MATRIX_BY:
            raise InvalidRequest(f"by must be one of {MATRIX_BY}", detail={"by": by})

        def work(run: Callable[..., list[dict[str, Any]]]) -> tuple[list[str], list[dict[str, Any]]]:
            programs = [r["id"] for r in run("get_program_ids")]
            return programs, run("count_entity_programs", label=ENTITY_TYPES[by].value, keys=_SUMMARY_KEYS)

        programs, rows = self._query(work)
        order = {p: i for i, p in enumerate(programs)}
        ents = []
        for r in rows:
            per = {p: n for p, n in r["per_program"]}
            s = _summary(r["id"], by, _props(r["props"]), sum(per.values()), len(per))
            ents.append((s, per))
        ents.sort(key=lambda sp: (-sp[0].program_count, -sp[0].direction_count, sp[0].id))
        counts = [[0] * len(ents) for _ in programs]
        for j, (_, per) in enumerate(ents):
            for p, n in per.items():
                counts[order[p]][j] += n
        return models.Matrix(by=by, programs=programs, entities=[s for s, _ in ents], counts=counts)

    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes within ``depth`` hops (either way), at most ``limit``, and the edges among them.

        A breadth-first walk of one Cypher query per level: each level asks only for the frontier's
        neighbours not seen yet, smallest ids first, and at most as many per node as the walk can still take
        (the nodes added by earlier frontier nodes of the level, the nodes still to add, and one to tell that
        the result is truncated); then one query reads the chosen nodes' small properties and their edges.
        """

        def work(run: Callable[..., list[dict[str, Any]]]) -> models.Neighborhood:
            if not run("get_node_exists", id=node):
                raise NodeNotFound(f"no node has id {node!r}", detail={"node": node})
            if not 0 <= depth <= 3:
                raise InvalidRequest("depth must be between 0 and 3", detail={"depth": depth})
            if limit < 1:
                raise InvalidRequest("limit must be >= 1", detail={"limit": limit})
            seen = {node: 0}
            order = [node]
            frontier = [node]
            truncated = False
            for level in range(1, depth + 1):
                if not frontier:
                    break
                room = limit - len(order)
                rows = run("find_neighbours", frontier=frontier, seen=order, cap=2 * room + 1)
                nbrs = {r["id"]: r["neighbours"] for r in rows}
                frontier, truncated = expand_level(frontier, nbrs, level, seen, order, limit)
                if truncated:
                    break
            el = run(
                "get_neighbourhood_elements",
                ids=order,
                node_keys=_NEIGHBOURHOOD_NODE_KEYS,
                edge_keys=_NEIGHBOURHOOD_EDGE_KEYS,
            )[0]
            props = {n["id"]: _props(n["props"]) for n in el["nodes"]}
            nodes = [models.GraphNode(data=_node_data(n, props[n], seen[n])) for n in order]
            pos = {n: i for i, n in enumerate(order)}
            edges = []
            rels = sorted(el["edges"], key=lambda r: pos[r["source"]])  # stable: build order within a node
            for r in rels:
                raw = dict(r["props"])
                e = _props(r["props"])
                u, v = r["source"], r["target"]
                key = json.loads(raw.get(_KEY) or '""')
                data = {"id": f"{u}|{key}|{v}", "source": u, "target": v, "type": e.get("type")}
                data.update({k: e[k] for k in _EDGE_DATA_KEYS if e.get(k) is not None})
                edges.append(models.GraphEdge(data=data))
            return models.Neighborhood(center=node, depth=depth, nodes=nodes, edges=edges, truncated=truncated)

        return self._query(work)

    # -- similar and search: the vector index and the shared ranking --------------------------------------
    def ranking_data(self) -> _RankingData:
        """What similar and search rank with, for the current build (read once per build, then cached).

        Only the directions' briefs, vectors and entity profiles (plus the names and MEMBER_OF hierarchy of the
        entities they cite, the encoder state and the scoring parameters): what
        :func:`embeddings.scoring.rank` needs, never the whole graph. Re-read when the meta node names another
        build (one small query per call checks it).
        """
        build = self._current_build()
        with self._lock:
            if self._ranking is not None and self._ranking.build == build:
                return self._ranking
        data = self._read_ranking_data()
        with self._lock:
            if data.build == build or self._ranking is None:
                self._ranking = data
        return data

    def _read_ranking_data(self) -> _RankingData:
        def work(tx: Any) -> tuple[str, dict[str, Any], list[Any], dict[str, Any], list[str]]:
            build = self._check_build(tx)
            meta = tx.run(query("get_meta")).single().data()
            dirs = [r.data() for r in tx.run(query("get_direction_profiles"), edge_keys=_PROFILE_EDGE_KEYS)]
            hier = tx.run(query("get_entity_hierarchy"), node_keys=_PROFILE_NODE_KEYS).single().data()
            programs = [r["id"] for r in tx.run(query("get_program_ids"))]
            return build, meta, dirs, hier, programs

        build, meta, dirs, hier, programs = self._run(work)
        return _RankingData.from_rows(build, meta, dirs, hier, programs)

    def _index_candidates(self, vector: np.ndarray, data: _RankingData, *, limit: int | None = None) -> Any:
        """Candidates for ranking, taken from the vector index.

        The API ranks over all candidates with the combined text + entity score, so the index is asked for
        every direction (``limit`` None); any the approximate index leaves out are added back, which keeps
        the ranking exact and equal to the embedded store's.
        """
        from fundgraph.embeddings.scoring import Candidates

        cands = data.cands
        n = len(cands.ids)
        if n == 0 or vector.shape[0] != cands.vectors.shape[1] or vector.shape[0] > MAX_INDEXED_DIMENSIONS:
            return cands
        rows = self.read("query_direction_vectors", k=limit or n, vector=vector.astype(float).tolist())
        found = {r["id"] for r in rows}
        keep = [i for i, d in enumerate(cands.ids) if d in found or limit is None]
        if len(keep) == n:
            return cands
        return Candidates(
            ids=[cands.ids[i] for i in keep],
            programs=[cands.programs[i] for i in keep],
            vectors=cands.vectors[keep],
            entities=[cands.entities[i] for i in keep],
            info=cands.info,
            idf=cands.idf,
        )

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions: candidates from the vector index, ranked by the shared scoring."""
        from fundgraph.embeddings.scoring import rank

        data = self.ranking_data()
        if direction_id not in data.briefs:
            raise DirectionNotFound(f"no direction has id {direction_id!r}", detail={"id": direction_id})
        if scope not in SCOPES:
            raise InvalidRequest(f"scope must be one of {SCOPES}", detail={"scope": scope})
        if k < 1:
            raise InvalidRequest("k must be >= 1", detail={"k": k})
        cands = data.cands
        row = cands.index.get(direction_id)
        if row is None:
            return models.SimilarList(items=[])
        vector, ents = cands.vectors[row], cands.entities[row]
        pool = self._index_candidates(vector, data)
        own = data.briefs[direction_id].program_id
        ranked = rank(
            vector,
            ents,
            pool,
            config=data.config,
            k=k,
            exclude=pool.index.get(direction_id),
            exclude_program=own if scope == "cross-program" else None,
        )
        return models.SimilarList(items=[data.item(s) for s in ranked])

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SimilarList:
        """Directions ranked against free text.

        The text is encoded with the build's encoder, candidates come from the vector index, and the shared
        scoring ranks them.
        """
        from fundgraph.embeddings.scoring import query_entities, rank

        data = self.ranking_data()
        if not text or not text.strip():
            raise InvalidRequest("text must not be empty", detail={"text": text})
        if k < 1:
            raise InvalidRequest("k must be >= 1", detail={"k": k})
        for p in programs or ():
            if p not in data.program_ids:
                raise ProgramNotFound(f"no program has id {p!r}", detail={"program": p, "known": data.program_ids})
        cands = data.cands
        vector = np.asarray(data.encoder().encode([text])[0], dtype=np.float32)
        ents = query_entities(text, data.lexicon(), cands)
        pool = self._index_candidates(vector, data)
        ranked = rank(vector, ents, pool, config=data.config, k=k, programs=programs or None)
        return models.SimilarList(items=[data.item(s) for s in ranked])


#: Entity labels (what the API calls entity types).
_ENTITY_LABEL_VALUES = [label.value for label in ENTITY_TYPES.values()]
#: Node properties an entity summary shows (plus the encoding bookkeeping needed to decode them).
_SUMMARY_KEYS = ["name", "name_en", *CODE_KEYS, _JSON, _NULL]
#: Node and edge properties a neighbourhood element carries (as graph.queries copies them).
_NODE_DATA_KEYS = ("program_id", "code", "category", "year", "icd10", "dicom", "nsfc", "kind")
_EDGE_DATA_KEYS = ("field", "score", "weight", "method")
_NEIGHBOURHOOD_NODE_KEYS = ["label", "name", "name_en", *_NODE_DATA_KEYS, _JSON, _NULL]
_NEIGHBOURHOOD_EDGE_KEYS = ["type", *_EDGE_DATA_KEYS, _KEY, _JSON, _NULL]
#: What the ranking reads of MENTIONS edges and of the entities.
_PROFILE_EDGE_KEYS = ["type", "field", "extracted", "boilerplate", _JSON, _NULL]
_PROFILE_NODE_KEYS = ["label", "name", "name_en", _JSON, _NULL]


def _props(pairs: list[list[Any]]) -> dict[str, Any]:
    """Decoded properties from the ``[key, value]`` pairs a statement returns."""
    return decode_props({k: v for k, v in pairs})


def _brief(b: dict[str, Any]) -> models.DirectionBrief:
    return models.DirectionBrief(
        id=b["id"],
        program_id=b["program_id"],
        code=str(b["code"]),
        title=b["title"],
        title_en=b.get("title_en"),
        category=b.get("category"),
    )


def _summary(ent: str, et: str, n: dict[str, Any], direction_count: int, program_count: int) -> models.EntitySummary:
    return models.EntitySummary(
        id=ent,
        type=et,
        name=n.get("name") or ent,
        name_en=n.get("name_en") or "",
        codes=entity_codes(n),
        direction_count=int(direction_count),
        program_count=int(program_count),
    )


def _unknown_type(entity_type: str) -> InvalidRequest:
    return InvalidRequest(
        f"unknown entity type {entity_type!r}", detail={"type": entity_type, "allowed": list(ENTITY_TYPES)}
    )


def _node_data(n: str, d: dict[str, Any], dist: int) -> dict[str, Any]:
    data = {"id": n, "label": d.get("label"), "name": d.get("name") or n, "name_en": d.get("name_en"), "distance": dist}
    et = entity_type_of(d.get("label"))
    if et:
        data["type"] = et
    data.update({k: d[k] for k in _NODE_DATA_KEYS if d.get(k) is not None})
    return data


class _RankingData:
    """One build's ranking inputs: candidates (vectors + entity profiles), briefs, scoring, encoder, lexicon.

    The entity profiles are computed by :func:`graph.similarity_layer.candidates_from_graph` (as the embedded
    store does) over a small graph of just the directions, the entities they cite and MEMBER_OF.
    """

    def __init__(
        self,
        build: str,
        meta: dict[str, Any],
        encoder_state: dict[str, Any],
        cands: Any,
        config: Any,
        briefs: dict[str, models.DirectionBrief],
        program_ids: list[str],
    ) -> None:
        self.build = build
        self.meta = meta
        self.encoder_state = encoder_state
        self.cands = cands
        self.config = config
        self.briefs = briefs
        self.program_ids = program_ids
        self.threshold = float(self._param("similar_threshold", self._param("threshold", 0.25)))
        self._query_encoder = QueryEncoder(encoder_state, lexicon_state=self._param("lexicon", {}) or {})

    @classmethod
    def from_rows(
        cls,
        build: str,
        meta_row: dict[str, Any],
        dirs: list[dict[str, Any]],
        hier: dict[str, Any],
        program_ids: list[str],
    ) -> _RankingData:
        from fundgraph.embeddings.scoring import ScoringConfig
        from fundgraph.graph.build.similarity import candidates_from_graph

        meta = json.loads(meta_row.get("meta") or "{}")
        encoder_state = json.loads(meta_row.get("encoder_state") or "{}")
        g = nx.MultiDiGraph()
        vectors_by_id: dict[str, list[float]] = {}
        briefs: dict[str, models.DirectionBrief] = {}
        for r in dirs:
            b = r["brief"]
            briefs[b["id"]] = _brief(b)
            g.add_node(b["id"], id=b["id"], label=Label.DIRECTION.value, program_id=b["program_id"])
            if r["embedding"] is not None:
                vectors_by_id[b["id"]] = r["embedding"]
        for eid, pairs in hier["entities"]:
            g.add_node(eid, id=eid, **_props(pairs))
        for r in dirs:
            for m in r["mentions"]:
                if m:
                    g.add_edge(r["brief"]["id"], m[0], **_props(m[1]))
        for a, b in hier["member_of"]:
            g.add_edge(a, b, type=Rel.MEMBER_OF.value)
        ids = [d for d in meta_row.get("direction_ids") or [] if d in briefs]
        dims = int(meta_row.get("dimensions") or 0)
        if ids and dims:
            vectors = np.asarray([vectors_by_id[d] for d in ids], dtype=np.float32)
        else:
            vectors = np.zeros((len(ids), dims), dtype=np.float32)
        data = cls(build, meta, encoder_state, None, None, briefs, program_ids)
        data.config = ScoringConfig.from_state(data._param("scoring", None))
        data.cands = candidates_from_graph(g, ids, vectors, data.config)
        return data

    def _param(self, name: str, default: Any) -> Any:
        return build_param(self.meta, self.encoder_state, name, default)

    def encoder(self) -> Any:
        """The build's encoder, rebuilt from its stored state (to encode search text)."""
        return self._query_encoder.encoder

    def lexicon(self) -> Any:
        """The encoder's lexicon (or the one stored with the build), to find entities in search text."""
        return self._query_encoder.lexicon

    def item(self, s: Any) -> models.SimilarItem:
        """A ranked candidate as the API shows it."""
        return models.SimilarItem(
            direction=self.briefs[s.id],
            score=s.score,
            explanation=models.Explanation(**s.explanation()),
            above_threshold=bool(s.score >= self.threshold),
        )


def load_statements(nodes: list[dict], rels: list[dict]) -> list[tuple[str, list[dict]]]:
    """The loading plan: (statement name, rows), nodes first, then relationships grouped by type.

    Each relationship type has its own statement (``merge_relationships_<TYPE>``): with a static type the
    planner expands only that type, about 6× faster than one statement with a dynamic ``$(row.type)``.
    """
    by_type: dict[str, list[dict]] = {}
    for row in rels:
        by_type.setdefault(Rel(row["type"]).value, []).append(row)
    return [("merge_nodes", nodes)] + [(f"merge_relationships_{t}", rows) for t, rows in by_type.items()]


def load_rows_naively(store: Neo4jStore, built: BuiltGraph, build: str) -> int:
    """The naive loader (benchmark baseline): the same statements, one auto-commit statement per row.

    Returns:
        The number of statements run.
    """
    n = 0
    with store.driver.session(database=store.database) as session:
        for stmt, rows in load_statements(node_rows(built), relationship_rows(built)):
            text = query(stmt)
            for row in rows:
                session.run(text, rows=[row], build=build).consume()
                n += 1
    return n
