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

Reads: programs and health are answered by Cypher; similar and search take their candidates from the
vector index; the other queries run over a snapshot of the graph read from Neo4j (cached per build id,
re-read when another process loads a new build) through :mod:`graph.queries`, so both stores give equal
results by construction.

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

from cypher.catalog import query
from fundgraph.errors import BackendUnavailable, FundgraphError, GraphNotBuilt, MissingDependency
from graph import views
from graph.model import Label, Rel
from graph.store import BuiltGraph, GraphStore

if TYPE_CHECKING:
    from fundgraph.settings import Settings

try:
    import neo4j
    from neo4j import exceptions as neo4j_errors
except ImportError:  # pragma: no cover - exercised only without the extra
    neo4j = None
    neo4j_errors = None

#: Bookkeeping properties the loader adds (stripped when the graph is read back).
_BUILD, _SEQ, _JSON, _NULL, _KEY = "fg_build", "fg_seq", "fg_json", "fg_null", "fg_key"
_BOOKKEEPING = {_BUILD, _SEQ, _JSON, _NULL, _KEY}
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


def node_rows(built: BuiltGraph) -> list[dict[str, Any]]:
    """Parameter rows of every node (Direction rows carry their vector as ``embedding``)."""
    vec_row = {d: i for i, d in enumerate(built.direction_ids)}
    vectors = np.asarray(built.vectors, dtype=np.float32)
    rows = []
    for seq, (n, d) in enumerate(built.graph.nodes(data=True)):
        label = d.get("label")
        if label not in _LABELS:
            raise FundgraphError(f"node {n!r} has label {label!r}, not one of graph.model.Label")
        props = encode_props({k: v for k, v in d.items() if k != EMBEDDING})
        props[_SEQ] = seq
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
        self._snapshot: tuple[str, BuiltGraph] | None = None

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
        for stmt, rows, what in (
            ("merge_nodes", nodes, "nodes"),
            ("merge_relationships", rels, "relationships"),
        ):
            say(f"loading {len(rows)} {what}")
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
        )
        with self._lock:
            self._snapshot = None

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
            self._snapshot = None

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

    def _current_build(self) -> str:
        rows = self.read("get_build")
        if not rows or not rows[0].get("build"):
            raise GraphNotBuilt("Neo4j holds no fundgraph graph yet: run `fundgraph load-neo4j` first")
        return rows[0]["build"]

    def load(self) -> BuiltGraph:
        """Read the whole stored graph back (nodes and edges in build order, vectors, meta)."""
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

    def snapshot(self) -> BuiltGraph:
        """The stored graph, cached while the meta node names the same build (one small query per call)."""
        build = self._current_build()
        with self._lock:
            if self._snapshot is not None and self._snapshot[0] == build:
                return self._snapshot[1]
        built = self.load()
        with self._lock:
            self._snapshot = (build, built)
        return built

    def queries(self) -> Any:
        """:class:`graph.queries.GraphQueries` over the current snapshot."""
        from graph.queries import queries_for

        return queries_for(self.snapshot(), backend=self.backend)

    def health(self) -> views.Health:
        """Backend, node and relationship counts (counted in Neo4j), build time."""
        meta = json.loads(self._meta().get("meta") or "{}")
        n, r = self.counts()
        return views.Health(
            backend=self.backend,
            node_count=n,
            edge_count=r,
            built_at=meta.get("built_at"),
            encoder=meta.get("encoder"),
        )

    def programs(self) -> list[views.ProgramSummary]:
        """Every program in manifest order (one Cypher query)."""
        self._current_build()
        out = []
        for row in self.read("get_programs"):
            p = row["program"]
            out.append(
                views.ProgramSummary(
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

    def directions(self, filters: views.DirectionFilter, limit: int, offset: int) -> views.DirectionPage:  # noqa: D102
        return self.queries().directions(filters, limit, offset)

    def direction(self, direction_id: str) -> views.DirectionDetail:  # noqa: D102
        return self.queries().direction(direction_id)

    def _index_candidates(self, vector: np.ndarray, q: Any, *, limit: int | None = None) -> Any:
        """Candidates for ranking, taken from the vector index.

        The API ranks over all candidates with the combined text + entity score, so the index is asked for
        every direction (``limit`` None); any the approximate index leaves out are added back, which keeps
        the ranking exact and equal to the embedded store's.
        """
        from embeddings.scoring import Candidates

        cands = q.candidates()
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

    def similar(self, direction_id: str, k: int, scope: str) -> views.SimilarList:
        """The k most similar directions: candidates from the vector index, ranked by the shared scoring."""
        from embeddings.scoring import rank
        from graph.queries import SCOPES

        q = self.queries()
        q._check_direction(direction_id)
        if scope not in SCOPES:
            from fundgraph.errors import InvalidRequest

            raise InvalidRequest(f"scope must be one of {SCOPES}", detail={"scope": scope})
        if k < 1:
            from fundgraph.errors import InvalidRequest

            raise InvalidRequest("k must be >= 1", detail={"k": k})
        cands = q.candidates()
        row = cands.index.get(direction_id)
        if row is None:
            return views.SimilarList(items=[])
        vector, ents = cands.vectors[row], cands.entities[row]
        pool = self._index_candidates(vector, q)
        own = q.g.nodes[direction_id]["program_id"]
        ranked = rank(
            vector,
            ents,
            pool,
            config=q._config,
            k=k,
            exclude=pool.index.get(direction_id),
            exclude_program=own if scope == "cross-program" else None,
        )
        return views.SimilarList(items=[q._item(s) for s in ranked])

    def search(self, text: str, k: int, programs: list[str] | None) -> views.SimilarList:
        """Directions ranked against free text.

        The text is encoded with the build's encoder, candidates come from the vector index, and the shared
        scoring ranks them.
        """
        from embeddings.scoring import query_entities, rank
        from fundgraph.errors import InvalidRequest

        q = self.queries()
        if not text or not text.strip():
            raise InvalidRequest("text must not be empty", detail={"text": text})
        if k < 1:
            raise InvalidRequest("k must be >= 1", detail={"k": k})
        for p in programs or ():
            q._check_program(p)
        cands = q.candidates()
        vector = np.asarray(q.encoder().encode([text])[0], dtype=np.float32)
        ents = query_entities(text, q._lexicon(), cands)
        pool = self._index_candidates(vector, q)
        ranked = rank(vector, ents, pool, config=q._config, k=k, programs=programs or None)
        return views.SimilarList(items=[q._item(s) for s in ranked])

    def entities(self, entity_type: str | None, q: str | None) -> list[views.EntitySummary]:  # noqa: D102
        return self.queries().entities(entity_type, q)

    def entity(self, entity_type: str, entity_id: str) -> views.EntityDetail:  # noqa: D102
        return self.queries().entity(entity_type, entity_id)

    def overlaps(self, a: str, b: str) -> views.Overlap:  # noqa: D102
        return self.queries().overlaps(a, b)

    def matrix(self, by: str) -> views.Matrix:  # noqa: D102
        return self.queries().matrix(by)

    def neighborhood(self, node: str, depth: int, limit: int) -> views.Neighborhood:  # noqa: D102
        return self.queries().neighborhood(node, depth, limit)


def load_rows_naively(store: Neo4jStore, built: BuiltGraph, build: str) -> int:
    """The naive loader (benchmark baseline): one auto-commit statement per node and per relationship.

    Returns:
        The number of statements run.
    """
    n = 0
    with store.driver.session(database=store.database) as session:
        for row in node_rows(built):
            session.run(
                query("create_node"), id=row["id"], label=row["label"], props=row["props"], build=build
            ).consume()
            n += 1
        for row in relationship_rows(built):
            session.run(
                query("create_relationship"),
                source=row["source"],
                target=row["target"],
                type=row["type"],
                key=row["key"],
                props=row["props"],
                build=build,
            ).consume()
            n += 1
    return n
