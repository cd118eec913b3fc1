"""The read queries over the in-memory graph (the embedded store's query side; the API's semantics).

Everything that does not change while a graph is loaded is computed once per :class:`BuiltGraph` in
:class:`GraphQueries` (direction order, briefs, entity → directions maps, name/synonym lookup, rarity
weights, the vector matrix), so each request only filters, ranks and slices.

Semantics every store must reproduce (the Neo4j store answers the same questions in Cypher):

- Directions are ordered by (program manifest order, ordinal); programs by manifest order.
- Entity filters of ``directions`` take an entity id (``disease:alzheimer``), a vocabulary id
  (``alzheimer``), or a name / English name / synonym (case-insensitive, full-width folded); a group entity
  also matches directions citing any of its members (``MEMBER_OF``, transitively). A value that names no
  entity raises :class:`EntityNotFound`; an unknown program raises :class:`ProgramNotFound`.
- ``q`` matches case-insensitively as a substring of a direction's title or content.
- ``similar`` ranks every candidate direction (not just stored SIMILAR_TO edges) with the shared
  scoring of :mod:`embeddings.scoring`; ``above_threshold`` compares with the threshold the build used
  (stored in the encoder state)
  as recorded in the graph.
"""

from __future__ import annotations

import threading
import unicodedata
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fundgraph.core.errors import (
    DirectionNotFound,
    EntityNotFound,
    InvalidRequest,
    NodeNotFound,
    ProgramNotFound,
)
from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.embeddings.encoders import QueryEncoder
from fundgraph.graph.model import ENTITY_GROUPS, ENTITY_KEY_BY_LABEL, ENTITY_TYPES, Label, Rel, explanation_groups
from fundgraph.graph.read import models
from fundgraph.graph.read.records import direction_record
from fundgraph.graph.stores.base import BuiltGraph

#: Node properties of an entity that are codes in a standard (shown under ``codes``).
CODE_KEYS = ("icd10", "icd10_range", "icd11", "mesh", "dicom", "nsfc", "snomed", "umls", "code_range")
SCOPES = ("cross-program", "all")
MATRIX_BY = ENTITY_REGISTRY  # every entity type of the schema registry
_ENTITY_LABELS = ENTITY_KEY_BY_LABEL
#: Node properties copied into a neighborhood node's ``data`` (small and flat; no long texts).
_NODE_DATA_KEYS = ("program_id", "code", "category", "year", "icd10", "dicom", "nsfc", "kind")
_EDGE_DATA_KEYS = ("field", "score", "weight", "method")


def norm(text: str) -> str:
    """Lookup form of a name: NFKC (full-width → ASCII), case-folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def entity_type_of(label: str | None) -> str | None:
    """API entity type of a node label ('disease' …), or None."""
    return _ENTITY_LABELS.get(label or "")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class GraphQueries:
    """Precomputed indexes over one loaded graph, and the queries answered from them.

    Build once per loaded graph (:func:`queries_for` caches it); instances are read-only afterwards and
    safe to share between threads (the small result caches are guarded by a lock).
    """

    def __init__(self, built: BuiltGraph, *, backend: str = "embedded") -> None:
        self.built = built
        self.backend = backend
        g = built.graph
        self.g = g
        nodes = g.nodes
        # -- programs and directions in canonical order ----------------------------------------------------
        progs = [d for _, d in g.nodes(data=True) if d.get("label") == Label.PROGRAM.value]
        progs.sort(key=lambda n: (n.get("manifest_order", 0), n["id"]))
        self.program_ids: list[str] = [p["id"] for p in progs]
        self.program_order = {pid: i for i, pid in enumerate(self.program_ids)}
        dirs = [d for _, d in g.nodes(data=True) if d.get("label") == Label.DIRECTION.value]
        dirs.sort(
            key=lambda n: (
                self.program_order.get(n.get("program_id"), len(progs)),
                n.get("ordinal", 0),
                n["id"],
            )
        )
        self.direction_ids: list[str] = [d["id"] for d in dirs]
        self.direction_pos = {did: i for i, did in enumerate(self.direction_ids)}
        self.briefs: dict[str, models.DirectionBrief] = {
            d["id"]: models.DirectionBrief(
                id=d["id"],
                program_id=d["program_id"],
                code=str(d["code"]),
                title=d["title"],
                title_en=d.get("title_en"),
                category=d.get("category"),
            )
            for d in dirs
        }
        self.by_program: dict[str, list[str]] = {pid: [] for pid in self.program_ids}
        for did in self.direction_ids:
            self.by_program.setdefault(nodes[did]["program_id"], []).append(did)
        # Lower-cased title + content for `q`.
        self.haystack = {d["id"]: norm(f"{d.get('title') or ''}\n{d.get('content') or ''}") for d in dirs}

        # -- entities ----------------------------------------------------------------------------------------
        self.entity_type: dict[str, str] = {}
        for n, d in g.nodes(data=True):
            et = entity_type_of(d.get("label"))
            if et:
                self.entity_type[n] = et
        self.entity_dirs: dict[str, set[str]] = defaultdict(set)  # entity -> citing directions
        self.dir_mentions: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.members: dict[str, set[str]] = defaultdict(set)  # group -> direct members
        self.groups: dict[str, set[str]] = defaultdict(set)  # member -> direct groups
        self.similar_edges: dict[frozenset[str], dict[str, Any]] = {}
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
                pair = frozenset((u, v))
                if pair not in self.similar_edges or e.get("score", 0) > self.similar_edges[pair].get(
                    "score", 0
                ):
                    self.similar_edges[pair] = {"source": u, "target": v, **e}
            elif t == Rel.IN_COMMUNITY.value:
                self.community_of[u] = v
        self.entity_programs: dict[str, set[str]] = {
            ent: {nodes[d]["program_id"] for d in ds} for ent, ds in self.entity_dirs.items()
        }
        # name / synonym / id -> entity ids, per type
        self.lookup: dict[str, dict[str, set[str]]] = {et: defaultdict(set) for et in ENTITY_TYPES}
        for ent, et in self.entity_type.items():
            d = nodes[ent]
            keys = [
                ent,
                ent.split(":", 1)[-1],
                d.get("name"),
                d.get("name_en"),
                *_as_list(d.get("synonyms")),
                *_as_list(d.get("abbreviations")),
            ]
            for k in keys:
                if isinstance(k, str) and k.strip():
                    self.lookup[et][norm(k)].add(ent)
        self.summaries: dict[str, models.EntitySummary] = {
            ent: self._entity_summary(ent) for ent in sorted(self.entity_type)
        }

        # -- vectors -----------------------------------------------------------------------------------------
        vecs = np.asarray(built.vectors, dtype=np.float32)
        self.vec_row = {did: i for i, did in enumerate(built.direction_ids)}
        self.vectors = vecs if vecs.ndim == 2 else np.zeros((0, 0), dtype=np.float32)
        self.threshold = float(self._param("similar_threshold", self._param("threshold", 0.25)))
        self._cands: Any = None
        self._config: Any = None
        self._query_encoder = QueryEncoder(built.encoder_state, lexicon_state=self._param("lexicon", {}) or {})
        self._lock = threading.Lock()
        self._details: dict[str, models.DirectionDetail] = {}
        self._rankings: dict[str, list[models.SimilarItem]] = {}
        self._similar_cache: OrderedDict[tuple[str, int, str], models.SimilarList] = OrderedDict()
        self._matrix_cache: dict[str, models.Matrix] = {}

    def warm(self, *, rankings_up_to: int = 2000) -> GraphQueries:
        """Compute the lazily built parts now.

        That is the similarity candidates, the query encoder and its tokeniser, and (for up to
        ``rankings_up_to`` directions) every direction's full similarity ranking.
        """
        self.candidates()
        if len(self.direction_ids) <= rankings_up_to:
            for d in self.direction_ids:
                self.ranking(d)
        if self.built.encoder_state:
            self._lexicon()
            tok = getattr(self.encoder(), "tokenise", None)
            if callable(tok):
                tok("预热 warm-up")
        return self

    # -- helpers -------------------------------------------------------------------------------------------
    def _entity_summary(self, ent: str) -> models.EntitySummary:
        n = self.g.nodes[ent]
        return models.EntitySummary(
            id=ent,
            type=self.entity_type[ent],
            name=n.get("name") or ent,
            name_en=n.get("name_en") or "",
            codes=entity_codes(n),
            direction_count=len(self.entity_dirs.get(ent, ())),
            program_count=len(self.entity_programs.get(ent, ())),
        )

    def _check_program(self, program_id: str) -> None:
        if program_id not in self.program_order:
            raise ProgramNotFound(
                f"no program has id {program_id!r}", detail={"program": program_id, "known": self.program_ids}
            )

    def _check_direction(self, direction_id: str) -> dict[str, Any]:
        node = self.g.nodes.get(direction_id) if direction_id in self.g else None
        if node is None or node.get("label") != Label.DIRECTION.value:
            raise DirectionNotFound(f"no direction has id {direction_id!r}", detail={"id": direction_id})
        return node

    def _ordered(self, direction_ids: Iterable[str]) -> list[str]:
        return sorted(direction_ids, key=self.direction_pos.__getitem__)

    def resolve_entities(self, entity_type: str, value: str) -> set[str]:
        """Entity ids a filter value names (id, vocabulary id, name, English name or synonym).

        Raises:
            EntityNotFound: when no entity of this type has that id or name.
        """
        if entity_type not in ENTITY_TYPES:
            raise InvalidRequest(
                f"unknown entity type {entity_type!r}",
                detail={"type": entity_type, "allowed": list(ENTITY_TYPES)},
            )
        found = set(self.lookup[entity_type].get(norm(value), ()))
        if not found:
            raise EntityNotFound(
                f"no {entity_type} is named or has id {value!r}", detail={"type": entity_type, "value": value}
            )
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
        )

    def programs(self) -> list[models.ProgramSummary]:
        """Every program in manifest order, with its direction count."""
        out = []
        for pid in self.program_ids:
            n = self.g.nodes[pid]
            out.append(
                models.ProgramSummary(
                    id=pid,
                    name=n.get("name") or pid,
                    name_en=n.get("name_en") or "",
                    funder=_as_list(n.get("funder")),
                    funder_en=_as_list(n.get("funder_en")),
                    series=n.get("series"),
                    year=n.get("year"),
                    status=n.get("status"),
                    source_file=n.get("source_file") or "",
                    direction_count=len(self.by_program.get(pid, ())),
                )
            )
        return out

    def directions(self, filters: models.DirectionFilter, limit: int, offset: int) -> models.DirectionPage:
        """Directions matching every given filter, in canonical order, one page of them."""
        if limit < 0 or offset < 0:
            raise InvalidRequest("limit and offset must be >= 0", detail={"limit": limit, "offset": offset})
        if filters.program:
            self._check_program(filters.program)
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
                own = {
                    d
                    for d in self.direction_ids
                    if any(norm(k) == wanted for k in self.g.nodes[d].get("keywords") or ())
                }
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
            result = [
                d
                for d in result
                if c
                in (
                    norm(self.g.nodes[d].get("category") or ""),
                    norm(self.g.nodes[d].get("category_raw") or ""),
                )
            ]
        if filters.q:
            q = norm(filters.q)
            result = [d for d in result if q in self.haystack[d]]
        return models.DirectionPage(
            total=len(result), items=[self.briefs[d] for d in result[offset : offset + limit]]
        )

    def direction(self, direction_id: str) -> models.DirectionDetail:
        """One direction: every exported field, its community, and its entities grouped by type."""
        cached = self._details.get(direction_id)
        if cached is not None:
            return cached
        node = self._check_direction(direction_id)
        mentions = [
            (ent, self.entity_type[ent], self.g.nodes[ent], e) for ent, e in self.dir_mentions.get(direction_id, ())
        ]
        detail = models.DirectionDetail(
            **direction_record(node),
            community=self.community_of.get(direction_id),
            entities=group_entities(mentions),
        )
        self._details[direction_id] = detail
        return detail

    # -- similarity ----------------------------------------------------------------------------------------
    def _param(self, name: str, default: Any) -> Any:
        return build_param(self.built.meta, self.built.encoder_state, name, default)

    def candidates(self) -> Any:
        """Every direction as :class:`embeddings.scoring.Candidates` (vectors, entity profiles, rarity)."""
        if self._cands is None:
            with self._lock:
                if self._cands is None:
                    self._cands = self._make_candidates()
        return self._cands

    def _make_candidates(self) -> Any:
        from fundgraph.embeddings.scoring import ScoringConfig
        from fundgraph.graph.build.similarity import candidates_from_graph

        self._config = ScoringConfig.from_state(self._param("scoring", None))
        ids = [d for d in self.built.direction_ids if d in self.direction_pos]
        rows = [self.vec_row[d] for d in ids]
        vectors = self.vectors[rows] if self.vectors.size else np.zeros((len(ids), 0), dtype=np.float32)
        return candidates_from_graph(self.g, ids, vectors, self._config)

    def encoder(self) -> Any:
        """The build's encoder, rebuilt from its stored state (to encode search text)."""
        return self._query_encoder.encoder

    def _lexicon(self) -> Any:
        return self._query_encoder.lexicon

    def similar(self, direction_id: str, k: int, scope: str) -> models.SimilarList:
        """The k most similar directions over all candidates (cross-program or all others)."""
        self._check_direction(direction_id)
        if scope not in SCOPES:
            raise InvalidRequest(f"scope must be one of {SCOPES}", detail={"scope": scope})
        if k < 1:
            raise InvalidRequest("k must be >= 1", detail={"k": k})
        key = (direction_id, k, scope)
        hit = self._similar_cache.get(key)
        if hit is not None:
            return hit
        ranking = self.ranking(direction_id)
        if scope == "cross-program":
            own = self.g.nodes[direction_id]["program_id"]
            ranking = [i for i in ranking if i.direction.program_id != own]
        result = models.SimilarList(items=ranking[:k])
        with self._lock:
            self._similar_cache[key] = result
            if len(self._similar_cache) > 4096:
                self._similar_cache.popitem(last=False)
        return result

    def ranking(self, direction_id: str) -> list[models.SimilarItem]:
        """Every other direction ranked against this one (computed once per direction and graph).

        Cross-program similarity is this list without the direction's own program (the order is kept:
        :func:`embeddings.scoring.rank` sorts by score, then id), and any ``k`` is a prefix of it.
        """
        items = self._rankings.get(direction_id)
        if items is not None:
            return items
        from fundgraph.embeddings.scoring import rank

        cands = self.candidates()
        row = cands.index.get(direction_id)
        if row is None:  # a direction without a vector (cannot happen for a complete build)
            items = []
        else:
            ranked = rank(cands.vectors[row], cands.entities[row], cands, config=self._config, exclude=row)
            items = [self._item(s) for s in ranked]
        self._rankings[direction_id] = items
        return items

    def _item(self, s: Any) -> models.SimilarItem:
        return models.SimilarItem(
            direction=self.briefs[s.id],
            score=s.score,
            explanation=models.Explanation(**s.explanation()),
            above_threshold=bool(s.score >= self.threshold),
        )

    def search(self, text: str, k: int, programs: list[str] | None) -> models.SimilarList:
        """Directions ranked against free text (Chinese or English)."""
        if not text or not text.strip():
            raise InvalidRequest("text must not be empty", detail={"text": text})
        if k < 1:
            raise InvalidRequest("k must be >= 1", detail={"k": k})
        for p in programs or ():
            self._check_program(p)
        from fundgraph.embeddings.scoring import query_entities, rank

        cands = self.candidates()
        vector = self.encoder().encode([text])[0]
        ents = query_entities(text, self._lexicon(), cands)
        ranked = rank(vector, ents, cands, config=self._config, k=k, programs=programs or None)
        return models.SimilarList(items=[self._item(s) for s in ranked])

    # -- entities ------------------------------------------------------------------------------------------
    def entities(self, entity_type: str | None, q: str | None) -> list[models.EntitySummary]:
        """Entities (of one type, matching ``q`` in id/name/English name/synonyms), most cited first."""
        if entity_type is not None and entity_type not in ENTITY_TYPES:
            raise InvalidRequest(
                f"unknown entity type {entity_type!r}",
                detail={"type": entity_type, "allowed": list(ENTITY_TYPES)},
            )
        nq = norm(q) if q else None
        out = []
        for ent, s in self.summaries.items():
            if entity_type and s.type != entity_type:
                continue
            if nq:
                n = self.g.nodes[ent]
                hay = [ent, n.get("name"), n.get("name_en"), *_as_list(n.get("synonyms"))]
                if not any(isinstance(h, str) and nq in norm(h) for h in hay):
                    continue
            out.append(s)
        out.sort(key=lambda s: (-s.direction_count, -s.program_count, s.id))
        return out

    def entity(self, entity_type: str, entity_id: str) -> models.EntityDetail:
        """One entity (by id, vocabulary id or name) and its directions grouped by program."""
        if entity_type not in ENTITY_TYPES:
            raise InvalidRequest(
                f"unknown entity type {entity_type!r}",
                detail={"type": entity_type, "allowed": list(ENTITY_TYPES)},
            )
        if self.entity_type.get(entity_id) == entity_type:
            ent = entity_id
        else:
            found = self.lookup[entity_type].get(norm(entity_id), set())
            if len(found) != 1:
                raise EntityNotFound(
                    f"no {entity_type} has id {entity_id!r}",
                    detail={"type": entity_type, "id": entity_id, "candidates": sorted(found)},
                )
            ent = next(iter(found))
        n = self.g.nodes[ent]
        by_prog: dict[str, list[models.DirectionBrief]] = {}
        for did in self._ordered(self.entity_dirs.get(ent, ())):
            by_prog.setdefault(self.g.nodes[did]["program_id"], []).append(self.briefs[did])
        return models.EntityDetail(
            id=ent,
            type=entity_type,
            name=n.get("name") or ent,
            name_en=n.get("name_en") or "",
            codes=entity_codes(n),
            synonyms=[s for s in _as_list(n.get("synonyms")) if isinstance(s, str)],
            no_code_reason=n.get("no_code_reason"),
            members=sorted(self.members.get(ent, ())),
            groups=sorted(self.groups.get(ent, ())),
            directions_by_program=by_prog,
        )

    # -- overlaps ------------------------------------------------------------------------------------------
    def overlaps(self, a: str, b: str) -> models.Overlap:
        """Entities programs a and b both cite (rarest first), and their SIMILAR_TO pairs (best first)."""
        self._check_program(a)
        self._check_program(b)
        shared = []
        for ent, progs in self.entity_programs.items():
            if a in progs and b in progs:
                ds = self._ordered(self.entity_dirs[ent])
                shared.append(
                    models.OverlapEntity(
                        entity=self.summaries[ent],
                        a_directions=[self.briefs[d] for d in ds if self.g.nodes[d]["program_id"] == a],
                        b_directions=[self.briefs[d] for d in ds if self.g.nodes[d]["program_id"] == b],
                    )
                )
        type_order = {t: i for i, t in enumerate(ENTITY_TYPES)}
        shared.sort(
            key=lambda o: (
                type_order[o.entity.type],
                o.entity.program_count,
                -o.entity.direction_count,
                o.entity.id,
            )
        )
        pairs = []
        for e in self.similar_edges.values():
            s, t = e["source"], e["target"]
            ps, pt = self.g.nodes[s]["program_id"], self.g.nodes[t]["program_id"]
            if (ps, pt) == (b, a):
                s, t = t, s
            elif (ps, pt) != (a, b):
                continue
            pairs.append(
                models.DirectionPair(
                    a=self.briefs[s],
                    b=self.briefs[t],
                    score=float(e.get("score", 0.0)),
                    explanation=explanation_from_edge(e),
                )
            )
        pairs.sort(key=lambda p: (-p.score, p.a.id, p.b.id))
        return models.Overlap(a=a, b=b, shared=shared, similar_pairs=pairs)

    def matrix(self, by: str) -> models.Matrix:
        """Program × entity counts (directions of the program citing the entity) for one entity type."""
        if by not in MATRIX_BY:
            raise InvalidRequest(f"by must be one of {MATRIX_BY}", detail={"by": by})
        hit = self._matrix_cache.get(by)
        if hit is not None:
            return hit
        ents = [s for s in self.summaries.values() if s.type == by and s.direction_count > 0]
        ents.sort(key=lambda s: (-s.program_count, -s.direction_count, s.id))
        counts = [[0] * len(ents) for _ in self.program_ids]
        for j, s in enumerate(ents):
            for d in self.entity_dirs[s.id]:
                counts[self.program_order[self.g.nodes[d]["program_id"]]][j] += 1
        m = models.Matrix(by=by, programs=list(self.program_ids), entities=ents, counts=counts)
        self._matrix_cache[by] = m
        return m

    # -- neighborhood --------------------------------------------------------------------------------------
    def neighborhood(self, node: str, depth: int, limit: int) -> models.Neighborhood:
        """Nodes within ``depth`` hops (either direction), at most ``limit``; edges among them."""
        if node not in self.g:
            raise NodeNotFound(f"no node has id {node!r}", detail={"node": node})
        if not 0 <= depth <= 3:
            raise InvalidRequest("depth must be between 0 and 3", detail={"depth": depth})
        if limit < 1:
            raise InvalidRequest("limit must be >= 1", detail={"limit": limit})
        g = self.g
        seen = {node: 0}
        order = [node]
        frontier = [node]
        truncated = False
        for level in range(1, depth + 1):
            nbrs = {u: sorted(set(g.successors(u)) | set(g.predecessors(u))) for u in frontier}
            frontier, truncated = expand_level(frontier, nbrs, level, seen, order, limit)
            if truncated:
                break
        nodes = [models.GraphNode(data=self._node_data(n, seen[n])) for n in order]
        edges = []
        for u in order:
            for v, keyed in g.succ[u].items():
                if v not in seen:
                    continue
                for key, e in keyed.items():
                    data = {"id": f"{u}|{key}|{v}", "source": u, "target": v, "type": e.get("type")}
                    data.update({k: e[k] for k in _EDGE_DATA_KEYS if e.get(k) is not None})
                    edges.append(models.GraphEdge(data=data))
        return models.Neighborhood(center=node, depth=depth, nodes=nodes, edges=edges, truncated=truncated)

    def _node_data(self, n: str, dist: int) -> dict[str, Any]:
        d = self.g.nodes[n]
        data = {
            "id": n,
            "label": d.get("label"),
            "name": d.get("name") or n,
            "name_en": d.get("name_en"),
            "distance": dist,
        }
        et = entity_type_of(d.get("label"))
        if et:
            data["type"] = et
        data.update({k: d[k] for k in _NODE_DATA_KEYS if d.get(k) is not None})
        return data


def explanation_from_edge(e: dict[str, Any]) -> models.Explanation:
    """The Explanation a stored SIMILAR_TO edge carries (flat props ``text_score``, ``shared_*`` …)."""
    raw = e.get("explanation")
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {"summary": raw}
    if isinstance(raw, dict):
        return models.Explanation.model_validate({"text_score": 0.0, "entity_score": 0.0, **raw})
    shared = {
        g: list(e[f"shared_{g}"])
        for g in explanation_groups()
        if e.get(f"shared_{g}")
    }
    return models.Explanation(
        text_score=float(e.get("text_score", 0.0)),
        entity_score=float(e.get("entity_score", 0.0)),
        shared=shared,
        summary=str(e.get("summary", "")),
    )


def entity_codes(node: dict[str, Any]) -> dict[str, Any]:
    """An entity node's standard codes (icd10, dicom, nsfc …) that are set."""
    return {k: node[k] for k in CODE_KEYS if node.get(k) not in (None, "", [])}


def group_entities(mentions: Iterable[tuple[str, str, dict[str, Any], dict[str, Any]]]) -> models.DirectionEntities:
    """A direction's entities grouped by type, each with its evidence, from its MENTIONS edges.

    Args:
        mentions: (entity id, entity type, entity node properties, MENTIONS edge properties).

    Evidence is ordered by its start in the file (none first), then entity id, so both stores agree.
    """
    ordered = sorted(mentions, key=lambda m: (m[3].get("start") if m[3].get("start") is not None else -1, m[0]))
    groups: dict[str, dict[str, models.EntityRef]] = {g: {} for g in ENTITY_GROUPS.values()}
    for ent, et, n, e in ordered:
        bucket = groups[ENTITY_GROUPS[et]]
        ref = bucket.get(ent)
        if ref is None:
            ref = models.EntityRef(
                id=ent,
                type=et,
                name=n.get("name") or ent,
                name_en=n.get("name_en") or "",
                codes=entity_codes(n),
                boilerplate=bool(e.get("boilerplate", False)),
                extracted=bool(e.get("extracted", n.get("extracted", False))),
            )
            bucket[ent] = ref
        else:
            ref.boilerplate = ref.boilerplate and bool(e.get("boilerplate", False))
        ref.evidence.append(
            models.Evidence(
                field=e.get("field") or "",
                snippet=e.get("snippet") or "",
                span=[int(e.get("start") or 0), int(e.get("end") or 0)],
            )
        )
    return models.DirectionEntities(**{k: list(v.values()) for k, v in groups.items()})


def build_param(meta: dict[str, Any] | None, encoder_state: dict[str, Any] | None, name: str, default: Any) -> Any:
    """A similarity parameter recorded by the build: in its meta, meta.similarity, or the encoder state."""
    meta = meta or {}
    for where in (meta, meta.get("similarity") or {}, encoder_state or {}):
        if isinstance(where, dict) and where.get(name) is not None:
            return where[name]
    return default


def expand_level(
    frontier: list[str],
    neighbours: Mapping[str, Iterable[str]],
    level: int,
    seen: dict[str, int],
    order: list[str],
    limit: int,
) -> tuple[list[str], bool]:
    """One breadth-first step of a neighbourhood walk, shared by both stores so they visit nodes alike.

    Visits each frontier node's unseen neighbours in the given order, recording their ``level`` in ``seen``
    and appending them to ``order`` until ``limit`` nodes are held.

    Returns:
        (the next frontier, whether the walk was cut short by ``limit``).
    """
    nxt: list[str] = []
    for u in frontier:
        for v in neighbours.get(u, ()):
            if v in seen:
                continue
            if len(order) >= limit:
                return nxt, True
            seen[v] = level
            order.append(v)
            nxt.append(v)
    return nxt, False


# id(built) -> (weak reference to built, its queries); entries go when the graph is collected.
_CACHE: dict[int, tuple[weakref.ref[BuiltGraph], GraphQueries]] = {}
_CACHE_LOCK = threading.Lock()


def queries_for(built: BuiltGraph, *, backend: str = "embedded") -> GraphQueries:
    """The :class:`GraphQueries` of a loaded graph, built on first use and cached while the graph lives."""
    entry = _CACHE.get(id(built))
    if entry is not None and entry[0]() is built and entry[1].backend == backend:
        return entry[1]
    with _CACHE_LOCK:
        entry = _CACHE.get(id(built))
        if entry is not None and entry[0]() is built and entry[1].backend == backend:
            return entry[1]
        q = GraphQueries(built, backend=backend)
        key = id(built)
        # The dict is bound now: at interpreter exit the module global may already be None.
        _CACHE[key] = (weakref.ref(built, lambda _r, key=key, cache=_CACHE: cache.pop(key, None)), q)
        return q
