"""The query semantics every store reproduces, written once: lookup forms, validation, order and assembly.

- Directions are ordered by (program manifest order, ordinal, id); programs by (manifest order, id).
- Entity filters of ``directions`` take an entity id (``disease:alzheimer``), a vocabulary id (``alzheimer``),
  or a name / English name / synonym / abbreviation, compared in their :func:`norm` form (case-insensitive,
  full-width folded); a group entity also matches directions citing any of its members (``MEMBER_OF``,
  transitively). A value that names no entity raises :class:`EntityNotFound`; an unknown program raises
  :class:`ProgramNotFound`.
- The overlap matrix counts, per program and entity, the directions that list would return: those citing the
  entity or any of its members (:data:`MATRIX_RULE`), so a cell equals the total of
  ``GET /api/directions?program=<program>&<type>=<entity id>``.
- A neighbourhood's ``node`` is a node id, or an entity's name / synonym (:func:`resolve_node`).
- ``q`` matches case-insensitively as a substring of a direction's title or content.
- ``similar`` ranks every candidate direction (not just stored SIMILAR_TO edges) with the shared scoring of
  :mod:`fundgraph.embeddings.scoring`; ``above_threshold`` compares with the threshold the build used,
  ``confidence`` is the build's calibration of the score, and a direction with nothing above the threshold in
  other programs says so (:meth:`fundgraph.graph.read.ranking.RankingContext.similar`).

The embedded store evaluates these rules over in-memory indexes, the Neo4j store in Cypher over the lookup
forms its loader stores; both call the functions below so that the two cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from fundgraph.core.errors import (
    DirectionNotFound,
    EntityNotFound,
    InvalidRequest,
    NodeNotFound,
    ProgramNotFound,
)
from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.graph.model import ENTITY_TYPES, Label
from fundgraph.graph.read import models

SCOPES = ("cross-program", "all")
#: How the overlap matrix counts (stated in its response): the same set as the ``directions`` entity filter.
MATRIX_RULE = (
    "counts[i][j] = the directions of program i citing entity j or any entity under it in the vocabulary "
    "hierarchy (MEMBER_OF, transitively: 肺癌 counts under 恶性肿瘤 and 肿瘤); each direction once. The same "
    "directions GET /api/directions?program=<program>&<type>=<entity id> lists."
)
MATRIX_BY = ENTITY_REGISTRY  # every entity type of the schema registry
#: Deepest neighbourhood walk.
MAX_DEPTH = 3


# -- lookup forms ---------------------------------------------------------------------------------------------
def norm(text: str) -> str:
    """Lookup form of a name: NFKC (full-width → ASCII), case-folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def as_list(value: Any) -> list[Any]:
    """``value`` as a list (None → [], a scalar → [value])."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _forms(values: Iterable[Any]) -> list[str]:
    """Distinct :func:`norm` forms of the non-blank strings among ``values``, in order."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str) and v.strip():
            k = norm(v)
            if k not in out:
                out.append(k)
    return out


def lookup_forms(entity_id: str, node: Mapping[str, Any]) -> list[str]:
    """What a filter value or a path id may name an entity by: id, vocabulary id, names, synonyms, abbreviations."""
    return _forms([entity_id, entity_id.split(":", 1)[-1], node.get("name"), node.get("name_en"),
                   *as_list(node.get("synonyms")), *as_list(node.get("abbreviations"))])


def search_forms(entity_id: str, node: Mapping[str, Any]) -> list[str]:
    """What the entity list's ``q`` searches (as a substring): id, name, English name, synonyms."""
    return _forms([entity_id, node.get("name"), node.get("name_en"), *as_list(node.get("synonyms"))])


def direction_text(node: Mapping[str, Any]) -> str:
    """A direction's title and content in lookup form (what ``q`` searches)."""
    return norm(f"{node.get('title') or ''}\n{node.get('content') or ''}")


def direction_keywords(node: Mapping[str, Any]) -> list[str]:
    """A direction's own 关键词 in lookup form (a keyword filter matches them too)."""
    return [norm(k) for k in node.get("keywords") or () if isinstance(k, str)]


def direction_categories(node: Mapping[str, Any]) -> list[str]:
    """A direction's category and raw category in lookup form (what the category filter compares)."""
    return [norm(node.get("category") or ""), norm(node.get("category_raw") or "")]


def canonical_order(nodes: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Program nodes by (manifest order, id) and direction nodes by (program order, ordinal, id)."""
    nodes = list(nodes)
    progs = sorted((d for d in nodes if d.get("label") == Label.PROGRAM.value),
                   key=lambda n: (n.get("manifest_order", 0), n["id"]))
    order = {p["id"]: i for i, p in enumerate(progs)}
    dirs = sorted((d for d in nodes if d.get("label") == Label.DIRECTION.value),
                  key=lambda n: (order.get(n.get("program_id"), len(progs)), n.get("ordinal", 0), n["id"]))
    return progs, dirs


# -- validation -----------------------------------------------------------------------------------------------
def check_entity_type(entity_type: str) -> None:
    """Raise InvalidRequest unless ``entity_type`` is one of :data:`ENTITY_TYPES`."""
    if entity_type not in ENTITY_TYPES:
        raise InvalidRequest(
            f"unknown entity type {entity_type!r}", detail={"type": entity_type, "allowed": list(ENTITY_TYPES)}
        )


def check_page(limit: int, offset: int) -> None:
    """Raise InvalidRequest for a negative limit or offset."""
    if limit < 0 or offset < 0:
        raise InvalidRequest("limit and offset must be >= 0", detail={"limit": limit, "offset": offset})


def check_programs(known: list[str], *program_ids: str) -> None:
    """Raise ProgramNotFound for the first of ``program_ids`` not in ``known``."""
    for pid in program_ids:
        if pid not in known:
            raise ProgramNotFound(f"no program has id {pid!r}", detail={"program": pid, "known": known})


#: A similar list's ``k`` when a request names none (the API's default; the Neo4j store writes the answers up to it
#: at load).
DEFAULT_K = 10


def check_k(k: int) -> None:
    """Raise InvalidRequest for k < 1."""
    if k < 1:
        raise InvalidRequest("k must be >= 1", detail={"k": k})


def check_scope(scope: str) -> None:
    """Raise InvalidRequest unless ``scope`` is one of :data:`SCOPES`."""
    if scope not in SCOPES:
        raise InvalidRequest(f"scope must be one of {SCOPES}", detail={"scope": scope})


def check_search(text: str, k: int) -> None:
    """Raise InvalidRequest for blank search text or k < 1."""
    if not text or not text.strip():
        raise InvalidRequest("text must not be empty", detail={"text": text})
    check_k(k)


def check_matrix_by(by: str) -> None:
    """Raise InvalidRequest unless ``by`` is one of :data:`MATRIX_BY`."""
    if by not in MATRIX_BY:
        raise InvalidRequest(f"by must be one of {MATRIX_BY}", detail={"by": by})


def check_walk(depth: int, limit: int) -> None:
    """Raise InvalidRequest for a depth outside 0 … MAX_DEPTH or a limit < 1."""
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidRequest(f"depth must be between 0 and {MAX_DEPTH}", detail={"depth": depth})
    if limit < 1:
        raise InvalidRequest("limit must be >= 1", detail={"limit": limit})


def direction_not_found(direction_id: str) -> DirectionNotFound:
    """The error for an unknown direction id."""
    return DirectionNotFound(f"no direction has id {direction_id!r}", detail={"id": direction_id})


def node_not_found(node: str, candidates: list[str] | None = None) -> NodeNotFound:
    """The error for a node value that is no node id and names no single entity."""
    if candidates:
        return NodeNotFound(f"no node has id {node!r}, and several entities have that name: say which by id",
                            detail={"node": node, "candidates": candidates})
    return NodeNotFound(f"no node has id or entity name {node!r}", detail={"node": node})


def resolve_node(node: str, exists: bool, named: Mapping[str, Iterable[str]]) -> str:
    """The node a neighbourhood ``node=`` value means: a node id, else an entity named so.

    Args:
        node: the value given.
        exists: whether a node has the id ``node``.
        named: entity type → ids of the entities of that type whose lookup forms (:func:`lookup_forms`: id,
            vocabulary id, names, synonyms, abbreviations) hold ``norm(node)``.

    The first entity type, in registry order, with exactly one entity of that name wins (阿尔茨海默病 is the
    disease, not the keyword of the same text; MRI is the modality MR).

    Raises:
        NodeNotFound: no node has that id and no type has exactly one entity of that name.
    """
    if exists:
        return node
    order = {t: i for i, t in enumerate(ENTITY_TYPES)}
    candidates: list[str] = []
    for et in sorted(named, key=lambda t: order.get(t, len(order))):
        ids = sorted(set(named[et]))
        if len(ids) == 1:
            return ids[0]
        candidates += ids
    raise node_not_found(node, candidates)


def filter_value_not_found(entity_type: str, value: str) -> EntityNotFound:
    """The error for a direction filter value that names no entity."""
    return EntityNotFound(
        f"no {entity_type} is named or has id {value!r}", detail={"type": entity_type, "value": value}
    )


def entity_not_found(entity_type: str, entity_id: str, candidates: list[str]) -> EntityNotFound:
    """The error for an entity path id that names no entity, or several."""
    return EntityNotFound(
        f"no {entity_type} has id {entity_id!r}",
        detail={"type": entity_type, "id": entity_id, "candidates": candidates},
    )


# -- order and assembly ---------------------------------------------------------------------------------------
def entity_list_key(s: models.EntitySummary) -> tuple[int, int, str]:
    """Order of the entity list: most cited first (directions, then programs), then id."""
    return (-s.direction_count, -s.program_count, s.id)


def overlap(
    a: str,
    b: str,
    shared: Iterable[models.OverlapEntity],
    similar_edges: Iterable[tuple[models.DirectionBrief, models.DirectionBrief, Mapping[str, Any]]],
    explain: Callable[[Mapping[str, Any]], models.Explanation],
) -> models.Overlap:
    """The overlap of programs a and b.

    Args:
        a: first program id.
        b: second program id.
        shared: the entities both cite, with their directions on each side (any order).
        similar_edges: SIMILAR_TO edges as (source brief, target brief, edge properties), in stored order.
        explain: the Explanation of an edge (:func:`fundgraph.graph.read.records.explanation_from_edge`).

    Shared entities come by type, then rarest first; one pair per two directions (the edge with the best score,
    the first on ties), oriented a → b, best first.
    """
    type_order = {t: i for i, t in enumerate(ENTITY_TYPES)}
    entities = sorted(shared, key=lambda o: (type_order[o.entity.type], o.entity.program_count,
                                             -o.entity.direction_count, o.entity.id))
    best: dict[frozenset[str], tuple[models.DirectionBrief, models.DirectionBrief, Mapping[str, Any]]] = {}
    for s, t, e in similar_edges:
        pair = frozenset((s.id, t.id))
        if pair not in best or e.get("score", 0) > best[pair][2].get("score", 0):
            best[pair] = (s, t, e)
    pairs = []
    for s, t, e in best.values():
        if (s.program_id, t.program_id) == (b, a):
            s, t = t, s
        elif (s.program_id, t.program_id) != (a, b):
            continue
        conf = e.get("confidence")
        pairs.append(models.DirectionPair(a=s, b=t, score=float(e.get("score", 0.0)),
                                          confidence=None if conf is None else float(conf), explanation=explain(e)))
    pairs.sort(key=lambda p: (-p.score, p.a.id, p.b.id))
    return models.Overlap(a=a, b=b, shared=entities, similar_pairs=pairs)


def matrix(
    by: str, programs: list[str], rows: Iterable[tuple[models.EntitySummary, Mapping[str, int]]]
) -> models.Matrix:
    """Program × entity counts from (entity summary, directions per program) rows, counted by :data:`MATRIX_RULE`.

    The summaries' ``direction_count`` and ``program_count`` are the column's (by the same rule). Entities no
    direction cites are left out; the rest come most widespread first (programs, then directions, then id).
    """
    kept = sorted((r for r in rows if r[0].direction_count > 0),
                  key=lambda r: (-r[0].program_count, -r[0].direction_count, r[0].id))
    order = {p: i for i, p in enumerate(programs)}
    counts = [[0] * len(kept) for _ in programs]
    for j, (_, per) in enumerate(kept):
        for p, n in per.items():
            counts[order[p]][j] += n
    return models.Matrix(by=by, rule=MATRIX_RULE, programs=list(programs), entities=[s for s, _ in kept],
                         counts=counts)


#: What :func:`walk_steps` yields (a level's frontier and the nodes held so far), is sent (each frontier node's
#: neighbours in visiting order) and returns (nodes in visiting order, each node's distance, whether cut short).
WalkSteps = Generator[tuple[list[str], list[str]], Mapping[str, Iterable[str]], tuple[list[str], dict[str, int], bool]]


def walk(
    start: str,
    depth: int,
    limit: int,
    neighbours: Callable[[list[str], list[str]], Mapping[str, Iterable[str]]],
) -> tuple[list[str], dict[str, int], bool]:
    """A breadth-first neighbourhood walk both stores take alike (:func:`walk_steps`, asking ``neighbours``).

    Args:
        start: the centre node.
        depth: levels to walk.
        limit: most nodes to hold (the centre included).
        neighbours: ``neighbours(frontier, seen_so_far)`` → each frontier node's neighbours, in visiting order.

    Returns:
        (nodes in visiting order, each node's distance, whether ``limit`` cut the walk short).
    """
    steps = walk_steps(start, depth, limit)
    try:
        asked = next(steps)
        while True:
            asked = steps.send(neighbours(*asked))
    except StopIteration as done:
        return done.value


def walk_steps(start: str, depth: int, limit: int) -> WalkSteps:
    """:func:`walk` as a generator: it yields ``(frontier, seen_so_far)`` and is sent their neighbours.

    So a caller that reads the neighbours with a statement it awaits (the Neo4j store's reads on the event loop)
    takes the same walk as one that calls a function.
    """
    seen = {start: 0}
    order = [start]
    frontier = [start]
    for level in range(1, depth + 1):
        if not frontier:
            break
        nbrs = yield frontier, order
        nxt: list[str] = []
        for u in frontier:
            for v in nbrs.get(u, ()):
                if v in seen:
                    continue
                if len(order) >= limit:
                    return order, seen, True
                seen[v] = level
                order.append(v)
                nxt.append(v)
        frontier = nxt
    return order, seen, False
