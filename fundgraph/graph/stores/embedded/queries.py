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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pydantic_core
import scipy.sparse as sp

from fundgraph.core.errors import EntityNotFound
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import Scored
from fundgraph.graph.model import ENTITY_TYPES, Label, Rel
from fundgraph.graph.read import models, ranking, records, semantics
from fundgraph.graph.read import search as free_text
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.read.semantics import norm
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.columns import Columns, NodeView, ProfileRows, columns_from_built, is_direction

#: Answers of ``similar`` kept (least recently used first out): ~10 kB each, so at most ~40 MB.
SIMILAR_CACHE_SIZE = 4096
#: Search answers kept (the same text asked again, as a dashboard does): ~10 kB each, so at most ~10 MB.
SEARCH_CACHE_SIZE = 1024
#: Direction details kept (least recently used first out): ~5 kB each.
DETAIL_CACHE_SIZE = 8192


class GraphQueries:
    """Indexes over one graph's columns (:mod:`.columns`), and the queries answered from them.

    Instances are read-only once built and safe to share between threads (the small result caches are guarded
    by a lock). Nothing per edge is made at start-up: a request decodes the node and edge properties it shows.
    """

    def __init__(self, built: BuiltGraph, *, backend: str = "embedded") -> None:
        self.built = built
        self.backend = backend
        cols = getattr(built, "columns", None)
        self.columns: Columns = cols if cols is not None else columns_from_built(built)
        c = self.columns
        self.nodes = NodeView(c)
        # -- programs and directions in canonical order ----------------------------------------------------
        dirs = c.direction_order  # the lookup forms (text, keywords, categories): on first use, see haystack
        self.program_ids: list[str] = list(dirs["programs"])
        self.program_order = {pid: i for i, pid in enumerate(self.program_ids)}
        self.direction_ids: list[str] = list(dirs["ids"])
        self.direction_pos = {did: i for i, did in enumerate(self.direction_ids)}
        self.program_of: dict[str, str] = dict(zip(self.direction_ids, dirs["program"], strict=True))
        self.briefs = _Briefs(self.nodes)
        self.by_program: dict[str, list[str]] = {pid: [] for pid in self.program_ids}
        for did, pid in zip(self.direction_ids, dirs["program"], strict=True):
            self.by_program.setdefault(pid, []).append(did)

        # -- entities ----------------------------------------------------------------------------------------
        types = {label: records.entity_type_of(label) for label in set(c.labels)}
        self.entity_type: dict[str, str] = {n: types[label] for n, label in zip(c.node_ids, c.labels, strict=True)
                                            if types[label]}
        ids = c.node_ids
        # entity -> positions (canonical order) of the directions citing it, from the MENTIONS arrays
        node_pos = np.full(len(ids), -1, dtype=np.int64)
        for did, i in self.direction_pos.items():
            node_pos[c.index[did]] = i
        _, src, dst = c.edges_of(Rel.MENTIONS.value)
        is_ent = np.zeros(len(ids), dtype=bool)
        is_ent[[c.index[e] for e in self.entity_type]] = True
        keep = is_ent[dst] & (node_pos[src] >= 0)
        # (entity node, direction position) pairs, sorted and unique, as one int64 code each (np.unique(axis=0)
        # sorts rows, and numpy 2.4's np.unique hashes: 1.9 s, then 1.2 s, against 0.03 s for _sorted_unique).
        n_dirs = max(len(self.direction_ids), 1)
        codes = _sorted_unique(dst[keep].astype(np.int64) * n_dirs + node_pos[src[keep]])
        pairs = np.stack([codes // n_dirs, codes % n_dirs], axis=1)
        bounds = np.flatnonzero(np.diff(pairs[:, 0])) + 1 if len(pairs) else np.zeros(0, dtype=np.int64)
        prog_code = {pid: i for i, pid in enumerate(dict.fromkeys([*self.program_ids, *dirs["program"]]))}
        self.program_names = list(prog_code)
        self.direction_program = np.asarray([prog_code[p] for p in dirs["program"]], dtype=np.int64)
        self.entity_positions: dict[str, np.ndarray] = {}
        for chunk in np.split(pairs, bounds) if len(pairs) else ():
            self.entity_positions[ids[int(chunk[0, 0])]] = chunk[:, 1]
        # (entity node, program) pairs, each as one code (entity × programs + program), sorted: no set per entity
        # (725,000 pairs at 100,000 directions); the programs citing each entity are counted from them.
        n_progs = len(self.program_names)
        self.entity_program_codes = _sorted_unique(pairs[:, 0] * n_progs + self.direction_program[pairs[:, 1]])
        program_count = np.bincount(self.entity_program_codes // max(n_progs, 1), minlength=len(ids))
        self.members: dict[str, set[str]] = defaultdict(set)  # group -> direct members
        self.groups: dict[str, set[str]] = defaultdict(set)  # member -> direct groups
        _, src, dst = c.edges_of(Rel.MEMBER_OF.value)
        for u, v in zip(src.tolist(), dst.tolist(), strict=True):
            self.members[ids[v]].add(ids[u])
            self.groups[ids[u]].add(ids[v])
        # lookup form -> entity ids, per type; and each entity's search forms (for the entity list's q)
        self.lookup: dict[str, dict[str, set[str]]] = {et: defaultdict(set) for et in ENTITY_TYPES}
        self.search_forms: dict[str, list[str]] = {}
        entity_nodes = {ent: self.nodes[ent] for ent in self.entity_type}
        for ent, et in self.entity_type.items():
            for k in semantics.lookup_forms(ent, entity_nodes[ent]):
                self.lookup[et][k].add(ent)
            self.search_forms[ent] = semantics.search_forms(ent, entity_nodes[ent])
        self.summaries: dict[str, models.EntitySummary] = {
            ent: records.entity_summary(ent, self.entity_type[ent], entity_nodes[ent],
                                        len(self.entity_positions.get(ent, ())),
                                        int(program_count[c.index[ent]]))
            for ent in sorted(self.entity_type)
        }
        self.entity_nodes = entity_nodes

        # -- ranking -----------------------------------------------------------------------------------------
        self.vec_row = {did: i for i, did in enumerate(built.direction_ids)}
        self.vectors = vx.as_rows(built.vectors) if built.vectors.shape[0] else vx.empty()
        self.words = built.words
        self.pools = built.pools
        self.vec_ids = list(built.direction_ids)
        self.ranking_context = RankingContext(built.meta, built.encoder_state)
        self._cands: Any = None
        self._marks: records.HierarchyMarks | None = None
        self._lock = threading.Lock()
        self._details: OrderedDict[str, models.DirectionDetail] = OrderedDict()
        self._similar_cache: OrderedDict[tuple[str, int, str], models.SimilarList] = OrderedDict()
        self._matrix_cache: dict[str, models.Matrix] = {}
        self._matrix_json: dict[str, bytes] = {}  # matrix_json's, by entity type
        self._search_cache: OrderedDict[tuple[str, int, tuple[str, ...] | None], models.SearchResults] = OrderedDict()

    def warm(self) -> GraphQueries:
        """Compute the lazily built parts now: the similarity candidates, the query encoder and its tokeniser.

        No ranking is computed in advance (one request ranks one direction in one product). The tokeniser looks
        jieba's dictionary up memory-mapped (:func:`~fundgraph.loaders.tokenizer.mapped_dictionary`: the same cuts):
        a server cuts a few words per search, and reading the dictionary into dicts took ~1 s of its start-up.
        """
        from fundgraph.loaders.tokenizer import mapped_dictionary

        self.candidates().entity_matrix  # noqa: B018 - built on first use
        self.hierarchy_marks()
        if self.built.encoder_state:
            self.ranking_context.lexicon()
            with mapped_dictionary():  # the tokeniser is made on first access of the property
                tok = getattr(self.ranking_context.encoder(), "tokenise", None)
                if callable(tok):
                    tok("预热 warm-up")
        return self

    # -- the directions' lookup forms (list filters), read on first use --------------------------------------
    # 70 of the 75 MB of directions.json at 100,000 directions, ~0.6 s to parse: only the directions list's
    # ``q``, ``category`` and ``keyword`` filters read them, so a server starts without them.
    @property
    def haystack(self) -> list[str]:
        """Each direction's text, normalised (what ``q`` is looked for in), in canonical order."""
        return self.columns.directions["text"]

    @property
    def own_keywords(self) -> list[list[str]]:
        """Each direction's own keywords (关键词), normalised, in canonical order."""
        return self.columns.directions["keywords"]

    @property
    def categories(self) -> list[list[str]]:
        """Each direction's categories, normalised, in canonical order."""
        return self.columns.directions["categories"]

    # -- helpers -------------------------------------------------------------------------------------------
    def _check_direction(self, direction_id: str) -> dict[str, Any]:
        if not is_direction(self.columns, direction_id):
            raise semantics.direction_not_found(direction_id)
        return self.nodes[direction_id]

    def _ordered(self, direction_ids: Iterable[str]) -> list[str]:
        return sorted(direction_ids, key=self.direction_pos.__getitem__)

    def entity_dirs(self, ent: str) -> list[str]:
        """The directions citing an entity, in canonical order."""
        return [self.direction_ids[i] for i in self.entity_positions.get(ent, ()).tolist()] if (
            ent in self.entity_positions) else []

    def mentions(self, direction_id: str) -> list[tuple[str, dict[str, Any]]]:
        """A direction's MENTIONS edges to entities: (entity id, edge properties), in adjacency order."""
        return [(v, e) for v, _, e in self.columns.out_edges(direction_id, Rel.MENTIONS.value)
                if v in self.entity_type]

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

    def _positions(self, ents: Iterable[str]) -> np.ndarray:
        """Canonical positions of the directions citing any of ``ents`` (sorted, unique)."""
        parts = [self.entity_positions[e] for e in ents if e in self.entity_positions]
        return _sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    # -- queries -------------------------------------------------------------------------------------------
    def health(self) -> models.Health:
        """Backend, counts, build time."""
        m = self.built.meta or {}
        return models.Health(
            backend=self.backend,
            node_count=len(self.columns.node_ids),
            edge_count=len(self.columns.src),
            built_at=m.get("built_at"),
            encoder=m.get("encoder"),
            left_out=m.get("left_out") or [],
        )

    def programs(self) -> list[models.ProgramSummary]:
        """Every program in manifest order, with its direction count."""
        return [records.program_summary(self.nodes[pid], len(self.by_program.get(pid, ())))
                for pid in self.program_ids]

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching every given filter, in canonical order, one page of them."""
        semantics.check_page(limit, offset)
        n = len(self.direction_ids)
        if filters.program:
            semantics.check_programs(self.program_ids, filters.program)
            mask = self.direction_program == self.program_names.index(filters.program) if (
                filters.program in self.program_names) else np.zeros(n, dtype=bool)
        else:
            mask = np.ones(n, dtype=bool)
        for et in ENTITY_TYPES:
            value = getattr(filters, et)
            if not value:
                continue
            matched = np.zeros(n, dtype=bool)
            if et == "keyword":
                # A keyword filter also matches the document's own 关键词 list.
                wanted = norm(value)
                own = [i for i, kws in enumerate(self.own_keywords) if wanted in kws]
                try:
                    ents = self._with_members(self.resolve_entities(et, value))
                except EntityNotFound:
                    if not own:
                        raise
                    ents = set()
                matched[own] = True
            else:
                ents = self._with_members(self.resolve_entities(et, value))
            matched[self._positions(ents)] = True
            mask &= matched
        result = np.flatnonzero(mask).tolist()
        if filters.category:
            c = norm(filters.category)
            result = [i for i in result if c in self.categories[i]]
        if filters.q:
            q = norm(filters.q)
            result = [i for i in result if q in self.haystack[i]]
        page = result[offset : offset + limit]
        return models.DirectionPage(total=len(result), items=[self.briefs[self.direction_ids[i]] for i in page])

    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction: every exported field, its community, and its entities grouped by type."""
        with self._lock:
            cached = self._details.get(direction_id)
        if cached is not None:
            return cached
        node = self._check_direction(direction_id)
        mentions = [(ent, self.entity_type[ent], self.entity_nodes[ent], e) for ent, e in self.mentions(direction_id)]
        community = next(iter(self.columns.out_targets(direction_id, Rel.IN_COMMUNITY.value)), None)
        detail = records.direction_detail(node, community, mentions)
        with self._lock:
            self._details[direction_id] = detail
            if len(self._details) > DETAIL_CACHE_SIZE:
                self._details.popitem(last=False)
        return detail

    # -- similarity ----------------------------------------------------------------------------------------
    def candidates(self) -> Any:
        """Every direction as :class:`embeddings.scoring.Candidates` (vectors, entity profiles, rarity)."""
        if self._cands is None:
            with self._lock:
                if self._cands is None:
                    self._cands = self._make_candidates()
        return self._cands

    def _make_candidates(self) -> Any:
        from fundgraph.embeddings.scoring import Candidates, EntityInfo

        p = self.columns.profiles
        ids: list[str] = p["ids"]
        rows = [self.vec_row[d] for d in ids]
        # The memory-mapped matrix itself when every row is served (a complete build), else a copy.
        vectors = self.vectors if rows == list(range(self.vectors.shape[0])) else (
            self.vectors[rows] if vx.dimension(self.vectors) else vx.empty(len(ids)))
        shape = (len(ids), len(p["entities"]))
        cands = Candidates(
            ids=list(ids), programs=[self.program_of[d] for d in ids], vectors=vectors,
            entities=ProfileRows(self.columns.matrix("profiles", shape), p["entities"]),
            info={e: EntityInfo(id=e, type=t, name=name, name_en=en) for e, (t, name, en) in p["info"].items()},
            idf=p["idf"], parents=p["parents"], hierarchy_decay=self.ranking_context.config.hierarchy_decay,
            type_weights=dict(self.ranking_context.config.type_weights),
            words=None if self.words is None else (self.words if vectors is self.vectors else self.words[rows]),
        )
        # The idf-weighted unit rows were computed by the build (vectors.entity_matrix) and stored: not redone.
        entities = self.columns.matrix("entities", shape)
        cands._entity_matrix = (entities, {e: i for i, e in enumerate(p["entities"])})
        if sp.issparse(cands.vectors):
            # A query reads only its own features' columns of these; stored by the build (else transposed here:
            # 0.5 s at 100,000 directions).
            full = vectors is self.vectors
            text_t = self.columns.transposed("vectors_t", cands.vectors.shape[::-1]) if full else None
            ents_t = self.columns.transposed("entities_t", shape[::-1])
            cands.transposed = (cands.vectors.T.tocsr() if text_t is None else text_t,
                                entities.T.tocsr() if ents_t is None else ents_t)
        return cands

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
        ctx = self.ranking_context
        found = self._ranked(direction_id, k, scope)
        if found is None:  # a direction without a vector cannot happen for a complete build
            result = models.SimilarList(items=[])
        else:
            ranked, related = found
            marks = self.hierarchy_marks()
            direct = marks.direct.get(direction_id, frozenset())
            result = ctx.similar_list([marks.mark_new(ctx.item(s, self.briefs[s.id]), direct) for s in ranked], related)
        with self._lock:
            self._similar_cache[key] = result
            if len(self._similar_cache) > SIMILAR_CACHE_SIZE:
                self._similar_cache.popitem(last=False)
        return result

    def similar_json(self, direction_id: str, k: int, scope: str) -> bytes:
        """:meth:`similar` as the API sends it, its JSON made without the read models (the same bytes).

        Each item is its direction's brief JSON as the build stored it (:meth:`brief_json`) and the rest of it
        written from the ranking's numbers and names (:func:`fundgraph.graph.read.ranking.similar_json`). In
        process at 100,000 directions, k=10, 2,000 directions no earlier call named, four runs: 0.50-0.60 ms a list
        through the models (made, validated, kept in the cache, serialised), 0.34-0.35 ms so. Through the API at
        32 clients (benchmarks/api_latency.py, similar10; with the stored briefs, :class:`_Direct`'s arrays and
        ``vectors.dense_row``): server CPU 0.95 -> 0.60 ms a request, p99 32.3 -> 21.2 ms. Not kept: the API's
        response cache keeps the bytes of a repeated request. A list the model path made and kept
        (:meth:`similar`) is serialised as it is.
        """
        self._check_direction(direction_id)
        semantics.check_scope(scope)
        semantics.check_k(k)
        with self._lock:
            hit = self._similar_cache.get((direction_id, k, scope))
        if hit is not None:
            return pydantic_core.to_json(hit)
        found = self._ranked(direction_id, k, scope)
        if found is None:
            return pydantic_core.to_json(models.SimilarList(items=[]))
        ranked, related = found
        marks = self.hierarchy_marks()
        direct = marks.direct.get(direction_id, frozenset())
        return ranking.similar_json(self.ranking_context, ranked, related, self.brief_json,
                                    lambda s: marks.via(s.shared, direct, lambda: marks.direct.get(s.id, ())))

    def brief_json(self, direction_id: str) -> bytes:
        """A direction's brief as JSON (:class:`models.DirectionBrief` serialised).

        As the build stored it, else the brief :attr:`briefs` makes (and keeps) from the properties, serialised.
        """
        stored = self.columns.brief_raw(direction_id)
        return stored if stored is not None else pydantic_core.to_json(self.briefs[direction_id])

    def _ranked(self, direction_id: str, k: int, scope: str) -> tuple[list[Scored], bool] | None:
        """The ranked candidates of :meth:`similar` and whether another program holds a related one (None: no row)."""
        cands = self.candidates()
        row = cands.index.get(direction_id)
        if row is None:
            return None
        stored = self.stored_similar(direction_id, k) if scope == "cross-program" else None
        return stored if stored is not None else self.ranking_context.similar(
            cands, row, k, scope, self.program_of[direction_id])

    def cached_search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults | None:
        """The kept answer of an earlier :meth:`search` with the same arguments, or None."""
        key = (text, k, tuple(programs) if programs else None)
        with self._lock:
            hit = self._search_cache.get(key)
            if hit is not None:
                self._search_cache.move_to_end(key)
        return hit

    def stored_similar(self, direction_id: str, k: int) -> tuple[list[Scored], bool] | None:
        """Cross-program best ``k`` from what the build stored.

        The direction's first-pass pool in its mixed order, the k returned re-scored (:meth:`RankingContext.ordered`),
        else its SIMILAR_TO edges (:meth:`RankingContext.stored_similar`).
        """
        if self.pools is not None:
            cands = self.candidates()
            row = cands.index.get(direction_id)
            if row is not None:
                at = self.vec_row[direction_id]
                members = self.pools[0][at]
                chosen = [int(members[p]) for p in self.pools[2][at][:k].tolist() if p >= 0]
                if cands.vectors is not self.vectors:  # the candidates' rows are not the stored rows' order
                    chosen = [cands.index[self.vec_ids[r]] for r in chosen]
                best = float(self.pools[1][at][0]) if members[0] >= 0 else None
                answer = self.ranking_context.ordered(cands, row, chosen, best, k)
                if answer is not None:
                    return answer
        edges = self.columns.out_edges(direction_id, Rel.SIMILAR_TO.value)
        return self.ranking_context.stored_similar(((t, self.program_of[t], e) for t, _, e in edges), k)

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SearchResults:
        """Directions ranked against free text (Chinese or English), with evidence only (graph.read.search)."""
        semantics.check_search(text, k)
        semantics.check_programs(self.program_ids, *(programs or ()))
        key = (text, k, tuple(programs) if programs else None)
        hit = self.cached_search(text, k, programs)
        if hit is not None:
            return hit
        ctx = self.ranking_context
        vector = ctx.query_encoder.vector(text)
        result = free_text.search(text, k, programs, context=ctx, cands=self.candidates(), vector=vector,
                                  item=lambda s: ctx.item(s, self.briefs[s.id]), marks=self.hierarchy_marks())
        with self._lock:
            self._search_cache[key] = result
            if len(self._search_cache) > SEARCH_CACHE_SIZE:
                self._search_cache.popitem(last=False)
        return result

    def hierarchy_marks(self) -> records.HierarchyMarks:
        """What marks the shared entities reached through the hierarchy (made once per graph)."""
        if self._marks is None:
            self._marks = records.HierarchyMarks(self.candidates().info,
                                                 _Direct(self.columns, self.direction_ids, self.entity_type))
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
        for did in self.entity_dirs(ent):
            by_prog.setdefault(self.program_of[did], []).append(self.briefs[did])
        return records.entity_detail(ent, entity_type, self.entity_nodes[ent], self.members.get(ent, ()),
                                     self.groups.get(ent, ()), by_prog)

    # -- overlaps ------------------------------------------------------------------------------------------
    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities programs a and b both cite (rarest first), and their SIMILAR_TO pairs (best first)."""
        semantics.check_programs(self.program_ids, a)
        semantics.check_programs(self.program_ids, b)
        shared = []
        c = self.columns
        codes, n_progs = self.entity_program_codes, len(self.program_names)
        cite_a, cite_b = (codes[codes % n_progs == self.program_names.index(p)] // n_progs for p in (a, b))
        for e in np.intersect1d(cite_a, cite_b, assume_unique=True).tolist():
            ent = c.node_ids[e]
            ds = self.entity_dirs(ent)
            shared.append(
                models.OverlapEntity(
                    entity=self.summaries[ent],
                    a_directions=[self.briefs[d] for d in ds if self.program_of[d] == a],
                    b_directions=[self.briefs[d] for d in ds if self.program_of[d] == b],
                )
            )
        where, src, dst = c.edges_of(Rel.SIMILAR_TO.value)
        ends = {a, b}
        edges = []
        for j, u, v in zip(where.tolist(), src.tolist(), dst.tolist(), strict=True):
            du, dv = c.node_ids[u], c.node_ids[v]
            if {self.program_of.get(du), self.program_of.get(dv)} <= ends:
                edges.append((self.briefs[du], self.briefs[dv], c.edge_props[j][1]))
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
            pos = self._positions(self._with_members({s.id}))
            per = Counter(self.program_names[p] for p in self.direction_program[pos].tolist())
            rows.append((s.model_copy(update={"direction_count": len(pos), "program_count": len(per)}), per))
        m = semantics.matrix(by, self.program_ids, rows)
        self._matrix_cache[by] = m
        return m

    def matrix_json(self, by: str) -> bytes:
        """:meth:`matrix` as the API sends it, serialised once per entity type and kept.

        The API's bytes cache keeps no answer over 2 MB and its response cache none over 512 kB: the keyword matrix
        of 100,000 directions (3,517 programs) is 24 MB of JSON, serialised again for every request (0.13 s of
        CPU each; p99 2.2 s at 32 clients in benchmarks/scale.py).
        """
        hit = self._matrix_json.get(by)
        if hit is None:
            hit = self._matrix_json[by] = pydantic_core.to_json(self.matrix(by))
        return hit

    # -- neighborhood --------------------------------------------------------------------------------------
    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes within ``depth`` hops (either direction), at most ``limit``; edges among them.

        ``node`` is a node id or an entity's name or synonym (:func:`~fundgraph.graph.read.semantics.resolve_node`).
        """
        key = norm(node)
        c = self.columns
        node = semantics.resolve_node(node, node in c.index, {et: self.lookup[et].get(key, ()) for et in ENTITY_TYPES})
        semantics.check_walk(depth, limit)
        order, seen, truncated = semantics.walk(node, depth, limit, lambda frontier, _seen: _Neighbours(c, frontier))
        nodes = [records.graph_node(n, self.nodes[n], seen[n]) for n in order]
        edges = [records.graph_edge(u, key, v, e) for u in order for v, key, e in c.out_edges(u, to=seen)]
        return models.Neighborhood(center=node, depth=depth, nodes=nodes, edges=edges, truncated=truncated)


class _Neighbours(Mapping[str, list[str]]):
    """A walk's frontier node → its neighbours in visiting order (sorted ids), read when the walk asks for them.

    The walk stops at its node limit, usually before it has visited the whole frontier: a depth-2 walk (limit 100)
    from a direction reaches entities cited by thousands of directions, and sorting every frontier node's
    neighbours in advance was 19 ms of CPU a request at 100,000 directions (benchmarks/scale.py); the nodes and
    edges found are the same.
    """

    def __init__(self, columns: Columns, frontier: list[str]) -> None:
        self.columns = columns
        self.frontier = frontier
        self._members = frozenset(frontier)

    def __getitem__(self, node: str) -> list[str]:
        if node not in self._members:
            raise KeyError(node)
        return sorted(self.columns.neighbours(node))

    def __iter__(self) -> Iterator[str]:
        return iter(self.frontier)

    def __len__(self) -> int:
        return len(self.frontier)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a comparison: numpy 2.4's np.unique hashes, 50 times slower)."""
    v = np.sort(np.asarray(values), kind="stable")  # timsort: the codes come in sorted runs (0.07 s, not 0.24)
    return v[np.concatenate([[True], v[1:] != v[:-1]])] if v.size else v


class _Briefs(Mapping[str, models.DirectionBrief]):
    """Direction briefs made on first access (and kept: ~1 kB each) from the stored brief, else the properties."""

    def __init__(self, nodes: NodeView) -> None:
        self.nodes = nodes
        self._made: dict[str, models.DirectionBrief] = {}

    def __getitem__(self, direction_id: str) -> models.DirectionBrief:
        brief = self._made.get(direction_id)
        if brief is None:
            stored = self.nodes.columns.brief_raw(direction_id)
            brief = self._made[direction_id] = (records.direction_brief(self.nodes[direction_id]) if stored is None
                                                else models.DirectionBrief.model_validate_json(stored))
        return brief

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)


class _Direct(Mapping[str, frozenset[str]]):
    """Direction id → the entities it cites itself (its MENTIONS edges), read from the edge arrays on access.

    The MENTIONS edges reaching an entity are picked once, on first access, into arrays by source node (one
    comparison and one gather over the edge arrays: ~50 ms, 5 MB of targets and a list of node offsets at 100,000
    directions); an access then reads one slice. Reading each direction's edges and relation codes per access cost
    ~6 µs, ~4.4 µs so; a similar list of 10 reads ten (its hierarchy marks: 88 -> 60 µs).

    It holds the columns and two maps, not the queries: a cycle back to them would outlive a reload once the API
    has frozen the loaded objects out of the garbage collector's reach (``gc.freeze``).
    """

    def __init__(self, columns: Columns, direction_ids: list[str], entity_type: dict[str, str]) -> None:
        self.columns = columns
        self.direction_ids = direction_ids
        self.entity_type = entity_type
        self._cited: tuple[list[int], np.ndarray] | None = None  # (start per node, n + 1; entity node numbers)
        self._lock = threading.Lock()

    def _arrays(self) -> tuple[list[int], np.ndarray]:
        if self._cited is None:
            with self._lock:
                if self._cited is None:
                    self._cited = self._pick()
        return self._cited

    def _pick(self) -> tuple[list[int], np.ndarray]:
        c = self.columns
        n = len(c.node_ids)
        if Rel.MENTIONS.value not in c.relations:
            return [0] * (n + 1), np.zeros(0, dtype=np.int32)
        entity = np.zeros(n, dtype=bool)
        entity[[c.index[e] for e in self.entity_type if e in c.index]] = True
        picked = np.flatnonzero(np.asarray(c.rel) == c.relations.index(Rel.MENTIONS.value))
        picked = picked[entity[np.asarray(c.dst)[picked]]]
        # edges are stored by source node, so the picked ones are too: a node's run starts where its number would go
        start = np.searchsorted(np.asarray(c.src)[picked], np.arange(n + 1), side="left")
        return start.tolist(), np.asarray(c.dst)[picked].astype(np.int32)

    def __getitem__(self, direction_id: str) -> frozenset[str]:
        c = self.columns
        i = c.index.get(direction_id)
        if i is None or c.labels[i] != Label.DIRECTION.value:
            raise KeyError(direction_id)
        start, targets = self._arrays()
        ids = c.node_ids
        return frozenset([ids[t] for t in targets[start[i]:start[i + 1]].tolist()])

    def __iter__(self) -> Iterator[str]:
        return iter(self.direction_ids)

    def __len__(self) -> int:
        return len(self.direction_ids)
