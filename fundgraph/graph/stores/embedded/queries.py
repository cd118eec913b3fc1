"""The embedded store's query side: the rules of :mod:`fundgraph.graph.read.semantics` over in-memory indexes.

Everything that does not change while a graph is loaded is computed once, when a :class:`GraphQueries` is made
for a :class:`BuiltGraph` (direction order, briefs, entity → directions maps, lookup forms), or on first use
(the ranking candidates: entity profiles over the memory-mapped vectors), so each request only filters, ranks
and slices. ``similar`` and ``search`` rank with :func:`fundgraph.embeddings.scoring.rank`: one product of the
query with every direction, exact scores and explanations for the few kept; nothing ranks every direction in
advance, and answers are kept in a bounded LRU only. The
:class:`~fundgraph.graph.stores.embedded.store.EmbeddedStore` owns one per graph it serves; nothing here
outlives it.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable
from typing import Any

from fundgraph.core.errors import EntityNotFound
from fundgraph.embeddings import vectors as vx
from fundgraph.graph.model import ENTITY_TYPES, Label, Rel
from fundgraph.graph.profiles import candidates_from_graph
from fundgraph.graph.read import models, records, semantics
from fundgraph.graph.read import search as free_text
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.read.semantics import norm
from fundgraph.graph.stores.base import BuiltGraph

#: Answers of ``similar`` kept (least recently used first out): ~10 kB each, so at most ~40 MB.
SIMILAR_CACHE_SIZE = 4096


class GraphQueries:
    """Precomputed indexes over one loaded graph, and the queries answered from them.

    Instances are read-only once built and safe to share between threads (the small result caches are guarded
    by a lock).
    """

    def __init__(self, built: BuiltGraph, *, backend: str = "embedded") -> None:
        self.built = built
        self.backend = backend
        g = built.graph
        self.g = g
        nodes = g.nodes
        # -- programs and directions in canonical order ----------------------------------------------------
        progs, dirs = semantics.canonical_order(d for _, d in g.nodes(data=True))
        self.program_ids: list[str] = [p["id"] for p in progs]
        self.program_order = {pid: i for i, pid in enumerate(self.program_ids)}
        self.direction_ids: list[str] = [d["id"] for d in dirs]
        self.direction_pos = {did: i for i, did in enumerate(self.direction_ids)}
        self.briefs: dict[str, models.DirectionBrief] = {d["id"]: records.direction_brief(d) for d in dirs}
        self.by_program: dict[str, list[str]] = {pid: [] for pid in self.program_ids}
        for did in self.direction_ids:
            self.by_program.setdefault(nodes[did]["program_id"], []).append(did)
        self.haystack = {d["id"]: semantics.direction_text(d) for d in dirs}
        self.own_keywords = {d["id"]: set(semantics.direction_keywords(d)) for d in dirs}

        # -- entities ----------------------------------------------------------------------------------------
        self.entity_type: dict[str, str] = {}
        for n, d in g.nodes(data=True):
            et = records.entity_type_of(d.get("label"))
            if et:
                self.entity_type[n] = et
        self.entity_dirs: dict[str, set[str]] = defaultdict(set)  # entity -> citing directions
        self.dir_mentions: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.members: dict[str, set[str]] = defaultdict(set)  # group -> direct members
        self.groups: dict[str, set[str]] = defaultdict(set)  # member -> direct groups
        self.similar_edges: list[tuple[str, str, dict[str, Any]]] = []
        self.community_of: dict[str, str] = {}
        for u, v, e in g.edges(data=True):
            t = e.get("type")
            if t == Rel.MENTIONS.value and v in self.entity_type:
                self.entity_dirs[v].add(u)
                self.dir_mentions[u].append((v, e))
            elif t == Rel.MEMBER_OF.value:
                self.members[v].add(u)
                self.groups[u].add(v)
            elif t == Rel.SIMILAR_TO.value:
                self.similar_edges.append((u, v, e))
            elif t == Rel.IN_COMMUNITY.value:
                self.community_of[u] = v
        self.entity_programs: dict[str, set[str]] = {
            ent: {nodes[d]["program_id"] for d in ds} for ent, ds in self.entity_dirs.items()
        }
        # lookup form -> entity ids, per type; and each entity's search forms (for the entity list's q)
        self.lookup: dict[str, dict[str, set[str]]] = {et: defaultdict(set) for et in ENTITY_TYPES}
        self.search_forms: dict[str, list[str]] = {}
        for ent, et in self.entity_type.items():
            for k in semantics.lookup_forms(ent, nodes[ent]):
                self.lookup[et][k].add(ent)
            self.search_forms[ent] = semantics.search_forms(ent, nodes[ent])
        self.summaries: dict[str, models.EntitySummary] = {
            ent: records.entity_summary(ent, self.entity_type[ent], nodes[ent], len(self.entity_dirs.get(ent, ())),
                                        len(self.entity_programs.get(ent, ())))
            for ent in sorted(self.entity_type)
        }

        # -- ranking -----------------------------------------------------------------------------------------
        self.vec_row = {did: i for i, did in enumerate(built.direction_ids)}
        self.vectors = vx.as_rows(built.vectors) if built.vectors.shape[0] else vx.empty()
        self.ranking_context = RankingContext(built.meta, built.encoder_state)
        self._cands: Any = None
        self._marks: records.HierarchyMarks | None = None
        self._lock = threading.Lock()
        self._details: dict[str, models.DirectionDetail] = {}
        self._similar_cache: OrderedDict[tuple[str, int, str], models.SimilarList] = OrderedDict()
        self._matrix_cache: dict[str, models.Matrix] = {}

    def warm(self) -> GraphQueries:
        """Compute the lazily built parts now: the similarity candidates, the query encoder and its tokeniser.

        No ranking is computed in advance (one request ranks one direction in one product).
        """
        self.candidates().entity_matrix  # noqa: B018 - built on first use
        if self.built.encoder_state:
            self.ranking_context.lexicon()
            tok = getattr(self.ranking_context.encoder(), "tokenise", None)
            if callable(tok):
                tok("预热 warm-up")
        return self

    # -- helpers -------------------------------------------------------------------------------------------
    def _check_direction(self, direction_id: str) -> dict[str, Any]:
        node = self.g.nodes.get(direction_id) if direction_id in self.g else None
        if node is None or node.get("label") != Label.DIRECTION.value:
            raise semantics.direction_not_found(direction_id)
        return node

    def _ordered(self, direction_ids: Iterable[str]) -> list[str]:
        return sorted(direction_ids, key=self.direction_pos.__getitem__)

    def resolve_entities(self, entity_type: str, value: str) -> set[str]:
        """Entity ids a filter value names (id, vocabulary id, name, English name or synonym).

        Raises:
            EntityNotFound: when no entity of this type has that id or name.
        """
        semantics.check_entity_type(entity_type)
        found = set(self.lookup[entity_type].get(norm(value), ()))
        if not found:
            raise semantics.filter_value_not_found(entity_type, value)
        return found

    def _with_members(self, ents: set[str]) -> set[str]:
        out, todo = set(ents), list(ents)
        while todo:
            for m in self.members.get(todo.pop(), ()):
                if m not in out:
                    out.add(m)
                    todo.append(m)
        return out

    # -- queries -------------------------------------------------------------------------------------------
    def health(self) -> models.Health:
        """Backend, counts, build time."""
        m = self.built.meta or {}
        return models.Health(
            backend=self.backend,
            node_count=self.g.number_of_nodes(),
            edge_count=self.g.number_of_edges(),
            built_at=m.get("built_at"),
            encoder=m.get("encoder"),
            left_out=m.get("left_out") or [],
        )

    def programs(self) -> list[models.ProgramSummary]:
        """Every program in manifest order, with its direction count."""
        return [records.program_summary(self.g.nodes[pid], len(self.by_program.get(pid, ())))
                for pid in self.program_ids]

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching every given filter, in canonical order, one page of them."""
        semantics.check_page(limit, offset)
        if filters.program:
            semantics.check_programs(self.program_ids, filters.program)
            cands: list[str] = self.by_program.get(filters.program, [])
        else:
            cands = self.direction_ids
        keep: set[str] | None = None
        for et in ENTITY_TYPES:
            value = getattr(filters, et)
            if not value:
                continue
            if et == "keyword":
                # A keyword filter also matches the document's own 关键词 list.
                wanted = norm(value)
                own = {d for d in self.direction_ids if wanted in self.own_keywords[d]}
                try:
                    ents = self._with_members(self.resolve_entities(et, value))
                except EntityNotFound:
                    if not own:
                        raise
                    ents = set()
                matched = own.union(*(self.entity_dirs.get(e, ()) for e in ents))
            else:
                ents = self._with_members(self.resolve_entities(et, value))
                matched = set().union(*(self.entity_dirs.get(e, ()) for e in ents))
            keep = matched if keep is None else keep & matched
        result = [d for d in cands if keep is None or d in keep]
        if filters.category:
            c = norm(filters.category)
            result = [d for d in result if c in semantics.direction_categories(self.g.nodes[d])]
        if filters.q:
            q = norm(filters.q)
            result = [d for d in result if q in self.haystack[d]]
        return models.DirectionPage(total=len(result), items=[self.briefs[d] for d in result[offset : offset + limit]])

    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction: every exported field, its community, and its entities grouped by type."""
        cached = self._details.get(direction_id)
        if cached is not None:
            return cached
        node = self._check_direction(direction_id)
        mentions = [
            (ent, self.entity_type[ent], self.g.nodes[ent], e) for ent, e in self.dir_mentions.get(direction_id, ())
        ]
        detail = records.direction_detail(node, self.community_of.get(direction_id), mentions)
        self._details[direction_id] = detail
        return detail

    # -- similarity ----------------------------------------------------------------------------------------
    def candidates(self) -> Any:
        """Every direction as :class:`embeddings.scoring.Candidates` (vectors, entity profiles, rarity)."""
        if self._cands is None:
            with self._lock:
                if self._cands is None:
                    ids = [d for d in self.built.direction_ids if d in self.direction_pos]
                    rows = [self.vec_row[d] for d in ids]
                    # The memory-mapped matrix itself when every row is served (a complete build), else a copy.
                    vectors = self.vectors if rows == list(range(self.vectors.shape[0])) else (
                        self.vectors[rows] if vx.dimension(self.vectors) else vx.empty(len(ids)))
                    self._cands = candidates_from_graph(self.g, ids, vectors, self.ranking_context.config)
        return self._cands

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions over all candidates (cross-program or all others)."""
        self._check_direction(direction_id)
        semantics.check_scope(scope)
        semantics.check_k(k)
        key = (direction_id, k, scope)
        with self._lock:
            hit = self._similar_cache.get(key)
            if hit is not None:
                self._similar_cache.move_to_end(key)
                return hit
        cands = self.candidates()
        row = cands.index.get(direction_id)
        ctx = self.ranking_context
        if row is None:  # a direction without a vector cannot happen for a complete build
            result = models.SimilarList(items=[])
        else:
            marks = self.hierarchy_marks()
            ranked, related = ctx.similar(cands, row, k, scope, self.g.nodes[direction_id]["program_id"])
            direct = marks.direct.get(direction_id, frozenset())
            result = ctx.similar_list([marks.mark(ctx.item(s, self.briefs[s.id]), direct) for s in ranked], related)
        with self._lock:
            self._similar_cache[key] = result
            if len(self._similar_cache) > SIMILAR_CACHE_SIZE:
                self._similar_cache.popitem(last=False)
        return result

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:
        """Directions ranked against free text (Chinese or English), with evidence only (graph.read.search)."""
        semantics.check_search(text, k)
        semantics.check_programs(self.program_ids, *(programs or ()))
        ctx = self.ranking_context
        vector = vx.as_query(ctx.encoder().encode([text]))  # the lexical encoder's row is sparse
        return free_text.search(text, k, programs, context=ctx, cands=self.candidates(), vector=vector,
                                item=lambda s: ctx.item(s, self.briefs[s.id]), marks=self.hierarchy_marks())

    def hierarchy_marks(self) -> records.HierarchyMarks:
        """What marks the shared entities reached through the hierarchy (made once per graph)."""
        if self._marks is None:
            direct = {d: [e for e, _ in ms] for d, ms in self.dir_mentions.items()}
            self._marks = records.HierarchyMarks(self.candidates().info, direct)
        return self._marks

    # -- entities ------------------------------------------------------------------------------------------
    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:
        """Entities (of one type, matching ``q`` in id/name/English name/synonyms), most cited first."""
        if entity_type is not None:
            semantics.check_entity_type(entity_type)
        nq = norm(q) if q else None
        out = [
            s
            for ent, s in self.summaries.items()
            if (not entity_type or s.type == entity_type) and (not nq or any(nq in f for f in self.search_forms[ent]))
        ]
        out.sort(key=semantics.entity_list_key)
        return out

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:
        """One entity (by id, vocabulary id or name) and its directions grouped by program."""
        semantics.check_entity_type(entity_type)
        if self.entity_type.get(entity_id) == entity_type:
            ent = entity_id
        else:
            found = self.lookup[entity_type].get(norm(entity_id), set())
            if len(found) != 1:
                raise semantics.entity_not_found(entity_type, entity_id, sorted(found))
            ent = next(iter(found))
        by_prog: dict[str, list[models.DirectionBrief]] = {}
        for did in self._ordered(self.entity_dirs.get(ent, ())):
            by_prog.setdefault(self.g.nodes[did]["program_id"], []).append(self.briefs[did])
        return records.entity_detail(ent, entity_type, self.g.nodes[ent], self.members.get(ent, ()),
                                     self.groups.get(ent, ()), by_prog)

    # -- overlaps ------------------------------------------------------------------------------------------
    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities programs a and b both cite (rarest first), and their SIMILAR_TO pairs (best first)."""
        semantics.check_programs(self.program_ids, a)
        semantics.check_programs(self.program_ids, b)
        shared = []
        for ent, progs in self.entity_programs.items():
            if a in progs and b in progs:
                ds = self._ordered(self.entity_dirs[ent])
                shared.append(
                    models.OverlapEntity(
                        entity=self.summaries[ent],
                        a_directions=[self.briefs[d] for d in ds if self.briefs[d].program_id == a],
                        b_directions=[self.briefs[d] for d in ds if self.briefs[d].program_id == b],
                    )
                )
        ends = {a, b}
        edges = (
            (self.briefs[u], self.briefs[v], e)
            for u, v, e in self.similar_edges
            if {self.briefs[u].program_id, self.briefs[v].program_id} <= ends
        )
        return self.hierarchy_marks().overlap(semantics.overlap(a, b, shared, edges, records.explanation_from_edge))

    def matrix(self, by: str) -> models.Matrix:
        """Program × entity counts for one entity type (:data:`~fundgraph.graph.read.semantics.MATRIX_RULE`)."""
        semantics.check_matrix_by(by)
        hit = self._matrix_cache.get(by)
        if hit is not None:
            return hit
        rows = []
        for s in self.summaries.values():
            if s.type != by:
                continue
            # semantics.MATRIX_RULE: the entity or its members, exactly as the directions filter matches.
            dirs = set().union(*(self.entity_dirs.get(e, ()) for e in self._with_members({s.id})))
            per = Counter(self.briefs[d].program_id for d in dirs)
            rows.append((s.model_copy(update={"direction_count": len(dirs), "program_count": len(per)}), per))
        m = semantics.matrix(by, self.program_ids, rows)
        self._matrix_cache[by] = m
        return m

    # -- neighborhood --------------------------------------------------------------------------------------
    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes within ``depth`` hops (either direction), at most ``limit``; edges among them.

        ``node`` is a node id or an entity's name or synonym (:func:`~fundgraph.graph.read.semantics.resolve_node`).
        """
        key = norm(node)
        node = semantics.resolve_node(node, node in self.g, {et: self.lookup[et].get(key, ()) for et in ENTITY_TYPES})
        semantics.check_walk(depth, limit)
        g = self.g
        order, seen, truncated = semantics.walk(
            node, depth, limit, lambda frontier, _seen: {u: sorted(set(g.successors(u)) | set(g.predecessors(u)))
                                                         for u in frontier}
        )
        nodes = [records.graph_node(n, g.nodes[n], seen[n]) for n in order]
        edges = [
            records.graph_edge(u, key, v, e)
            for u in order
            for v, keyed in g.succ[u].items()
            if v in seen
            for key, e in keyed.items()
        ]
        return models.Neighborhood(center=node, depth=depth, nodes=nodes, edges=edges, truncated=truncated)
