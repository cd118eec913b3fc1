"""Record mappers: stored node and edge properties → the records the API and the exports show.

Both stores call these (the embedded store on networkx attributes, the Neo4j store on decoded properties), so a
record is shaped in one place. The export formats (graph/formats/) build on the same mappers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fundgraph.core import schema
from fundgraph.core.schema import ENTITY_REGISTRY, FieldSpec, field_names
from fundgraph.graph.model import ENTITY_GROUPS, ENTITY_KEY_BY_LABEL, explanation_groups
from fundgraph.graph.read import models
from fundgraph.graph.read.semantics import as_list

_PROGRAM_EXPORTED = tuple(f for f in schema.PROGRAM_FIELDS if f.exported)
_DIRECTION_EXPORTED = tuple(f for f in schema.DIRECTION_FIELDS if f.exported)
#: The exported fields of a program, in order.
PROGRAM_FIELDS = field_names(_PROGRAM_EXPORTED)

_ENTITY_LABELS = ENTITY_KEY_BY_LABEL


def field_value(node: Mapping[str, Any], f: FieldSpec) -> Any:
    """A record field's value from flat node properties: a list, a dict of ``<name>_<part>`` properties, a value.

    An optional dict is None when its first part is (``funding`` without ``funding_amount``).
    """
    if f.parts:
        parts = {p: node.get(f"{f.name}_{p}") for p in f.parts}
        return None if f.optional and parts[f.parts[0]] is None else parts
    if f.is_list:
        return as_list(node.get(f.name))
    return node.get(f.name) if f.optional else node[f.name]


def program_record(node: Mapping[str, Any]) -> dict[str, Any]:
    """A program as exported."""
    return {k: node.get(k) for k in PROGRAM_FIELDS}


#: Each exported direction field as :func:`field_value` reads it: (name, its parts' property names, optional,
#: a list). Worked out once: the FieldSpec properties were read again for every field of every detail served.
_DIRECTION_PLAN = tuple((f.name, tuple((p, f"{f.name}_{p}") for p in f.parts), f.optional, f.is_list)
                        for f in _DIRECTION_EXPORTED)


def direction_record(node: Mapping[str, Any]) -> dict[str, Any]:
    """A direction as exported (the registry's exported fields), from its flat node properties (see field_value)."""
    out: dict[str, Any] = {}
    for name, parts, optional, is_list in _DIRECTION_PLAN:
        if parts:
            values = {p: node.get(key) for p, key in parts}
            out[name] = None if optional and values[parts[0][0]] is None else values
        elif is_list:
            out[name] = as_list(node.get(name))
        else:
            out[name] = node.get(name) if optional else node[name]
    return out


def entity_type_of(label: str | None) -> str | None:
    """API entity type ('disease' …) of a node label, or None for non-entity labels."""
    return _ENTITY_LABELS.get(label or "")


#: Node properties copied into a neighbourhood node's ``data`` (small and flat; no long texts), around the entity
#: types' main codes (:meth:`~fundgraph.core.schema.EntityRegistry.main_code_systems`).
NODE_DATA_HEAD = ("program_id", "code", "category", "year")
NODE_DATA_TAIL = ("kind",)


def code_keys() -> tuple[str, ...]:
    """Node properties of an entity that are codes in a standard: every code system of the registry."""
    return ENTITY_REGISTRY.code_systems()


def node_data_keys() -> tuple[str, ...]:
    """Node properties copied into a neighbourhood node's ``data``."""
    return (*NODE_DATA_HEAD, *ENTITY_REGISTRY.main_code_systems(), *NODE_DATA_TAIL)
#: Edge properties copied into a neighbourhood edge's ``data``.
EDGE_DATA_KEYS = ("field", "score", "confidence", "weight", "method")


def entity_codes(node: Mapping[str, Any], keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An entity node's standard codes that are set (the registry's code systems: icd10, dicom, nsfc …).

    ``keys``: :func:`code_keys`, when the caller has them at hand (a detail's entities share one lookup).
    """
    return {k: node[k] for k in (code_keys() if keys is None else keys) if node.get(k) not in (None, "", [])}


def entity_head(entity_id: str, entity_type: str, node: Mapping[str, Any],
                keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The fields every entity record starts with: id, type, name, English name, codes (``keys``: code_keys())."""
    return {"id": entity_id, "type": entity_type, "name": node.get("name") or entity_id,
            "name_en": node.get("name_en") or "", "codes": entity_codes(node, keys)}


def _brief(node: Mapping[str, Any], fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """The brief fields of a record (those shown in lists)."""
    out: dict[str, Any] = {}
    for f in fields:
        if not f.brief:
            continue
        if f.type == "str":  # a required text is never None in a list: the id stands in for a missing name
            out[f.name] = str(node.get(f.name) or (node["id"] if f.name == "name" else ""))
        else:
            out[f.name] = field_value(node, f)
    return out


def program_summary(node: Mapping[str, Any], direction_count: int) -> models.ProgramSummary:
    """A program in the program list."""
    return models.ProgramSummary(**_brief(node, schema.PROGRAM_FIELDS), direction_count=int(direction_count))


def direction_brief(node: Mapping[str, Any]) -> models.DirectionBrief:
    """A direction in lists."""
    return models.DirectionBrief(**_brief(node, schema.DIRECTION_FIELDS))


def direction_detail(
    node: dict[str, Any],
    community: str | None,
    mentions: Iterable[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]],
) -> models.DirectionDetail:
    """One direction: every exported field, its community, its entities grouped by type (see group_entities)."""
    return models.DirectionDetail(**direction_record(node), community=community, entities=group_entities(mentions))


def group_entities(
    mentions: Iterable[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]],
) -> models.DirectionEntities:
    """A direction's entities grouped by type, each with its evidence, from its MENTIONS edges.

    Args:
        mentions: (entity id, entity type, entity node properties, MENTIONS edge properties).

    Evidence is ordered by its start in the file (none first), then entity id, so both stores agree.

    The records are gathered as plain values and validated at once, the groups the model declares in one call
    (an :class:`~fundgraph.graph.read.models.EntityRef` and an Evidence made per mention, each validated on its
    own, were half the CPU of an uncached detail at 100,000 directions); a group of a type registered since is an
    extra field, whose values are kept as given: its EntityRefs are validated one by one.
    """
    ordered = sorted(mentions, key=lambda m: (m[3].get("start") if m[3].get("start") is not None else -1, m[0]))
    group_of = ENTITY_GROUPS.snapshot()
    keys = code_keys()
    groups: dict[str, dict[str, dict[str, Any]]] = {g: {} for g in group_of.values()}
    for ent, et, n, e in ordered:
        bucket = groups[group_of[et]]
        ref = bucket.get(ent)
        if ref is None:
            extracted = bool(e.get("extracted", n.get("extracted", False)))
            ref = bucket[ent] = entity_head(ent, et, n, keys)
            ref["boilerplate"] = bool(e.get("boilerplate", False))
            ref["found_by"] = found_by(et, e.get("field"), extracted)
            ref["extracted"] = extracted
            ref["evidence"] = []
        else:
            ref["boilerplate"] = ref["boilerplate"] and bool(e.get("boilerplate", False))
        ref["evidence"].append({"field": e.get("field") or "", "snippet": e.get("snippet") or "",
                                "span": [int(e.get("start") or 0), int(e.get("end") or 0)]})
    declared = models.DirectionEntities.model_fields
    return models.DirectionEntities.model_validate(
        {k: list(v.values()) if k in declared else [models.EntityRef.model_validate(r) for r in v.values()]
         for k, v in groups.items()})


def found_by(entity_type: str, field: str | None, extracted: bool) -> str:
    """How a MENTIONS link was found (``EntityRef.found_by``), from its entity type, field and ``extracted`` flag.

    ``extracted`` is the keyword extractor's mark, set on keyword links only: a vocabulary entity named in the
    title is found by the vocabulary, and is not "extracted".
    """
    if entity_type == "keyword":
        return "extracted_keyword" if extracted else "listed_keyword"
    if field == "disciplines":
        return "application_code"
    return "vocabulary"


def entity_summary(
    entity_id: str, entity_type: str, node: Mapping[str, Any], direction_count: int, program_count: int
) -> models.EntitySummary:
    """An entity with the number of directions and programs citing it."""
    return models.EntitySummary(
        **entity_head(entity_id, entity_type, node),
        direction_count=int(direction_count),
        program_count=int(program_count),
    )


def entity_detail(
    entity_id: str,
    entity_type: str,
    node: Mapping[str, Any],
    members: Iterable[str],
    groups: Iterable[str],
    directions_by_program: dict[str, list[models.DirectionBrief]],
) -> models.EntityDetail:
    """One entity, its MEMBER_OF neighbours and its directions grouped by program."""
    return models.EntityDetail(
        **entity_head(entity_id, entity_type, node),
        synonyms=[s for s in as_list(node.get("synonyms")) if isinstance(s, str)],
        no_code_reason=node.get("no_code_reason"),
        members=sorted(members),
        groups=sorted(groups),
        directions_by_program=directions_by_program,
    )


def explanation_from_edge(e: Mapping[str, Any]) -> models.Explanation:
    """The Explanation a stored SIMILAR_TO edge carries (flat props ``text_score``, ``shared_*`` …)."""
    raw = e.get("explanation")
    if isinstance(raw, str):
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


def graph_node(node_id: str, node: Mapping[str, Any], distance: int) -> models.GraphNode:
    """A node of a neighbourhood (small, flat properties only)."""
    data = {"id": node_id, "label": node.get("label"), "name": node.get("name") or node_id,
            "name_en": node.get("name_en"), "distance": distance}
    et = entity_type_of(node.get("label"))
    if et:
        data["type"] = et
    data.update({k: node[k] for k in node_data_keys() if node.get(k) is not None})
    return models.GraphNode(data=data)


def edge_id(source: str, key: Any, target: str) -> str:
    """A neighbourhood edge's id: ``source|key|target`` (key: the networkx edge key)."""
    return f"{source}|{key}|{target}"


def graph_edge(source: str, key: Any, target: str, edge: Mapping[str, Any]) -> models.GraphEdge:
    """An edge of a neighbourhood; its id is :func:`edge_id`."""
    data = {"id": edge_id(source, key, target), "source": source, "target": target, "type": edge.get("type")}
    data.update({k: edge[k] for k in EDGE_DATA_KEYS if edge.get(k) is not None})
    return models.GraphEdge(data=data)


class HierarchyMarks:
    """Marks the shared entities of a ranked direction that one side reaches only through the hierarchy.

    Args:
        info: entity id → what names it (``type``, ``name``): the ranking candidates' ``info``.
        direct: direction id → the entities it cites itself (its MENTIONS edges).
    """

    def __init__(self, info: Mapping[str, Any], direct: Mapping[str, Iterable[str]]) -> None:
        groups = explanation_groups_by_type()
        self.ids: dict[tuple[str, str], list[str]] = {}
        for eid, i in info.items():
            if i.type in groups:
                self.ids.setdefault((groups[i.type], i.name), []).append(eid)
        self.direct = direct  # read per ranked item (the embedded store's reads its edge arrays on access)

    def explanation(self, x: models.Explanation, a: Iterable[str], b: Iterable[str]) -> models.Explanation:
        """``x`` with ``via_hierarchy``: the shared names not cited by both ``a`` and ``b`` (entity ids) themselves."""
        return x.model_copy(update={"via_hierarchy": self.via(x.shared, a, b)})

    def via(self, shared: Mapping[str, Iterable[str]], a: Iterable[str], b: Iterable[str] | Callable[[], Iterable[str]]
            ) -> dict[str, list[str]]:
        """The ``via_hierarchy`` of an explanation's ``shared`` names between ``a`` and ``b`` (their own entity ids).

        ``b`` may be a function giving them, called only when a shared name is one ``a`` cites itself.
        """
        a = frozenset(a)
        got: frozenset[str] | None = None
        via: dict[str, list[str]] = {}
        for group, names in shared.items():
            for n in names:
                for e in self.ids.get((group, n), ()):
                    if e in a:
                        if got is None:
                            got = frozenset(b() if callable(b) else b)
                        if e in got:
                            break  # cited by both: not via the hierarchy
                else:
                    via.setdefault(group, []).append(n)
        return via

    def mark(self, item: models.SimilarItem, query_direct: Iterable[str]) -> models.SimilarItem:
        """``item`` with ``explanation.via_hierarchy`` (``query_direct``: what the query side cites itself)."""
        x = self.explanation(item.explanation, query_direct, self.direct.get(item.direction.id, ()))
        return item.model_copy(update={"explanation": x})

    def mark_new(self, item: models.SimilarItem, query_direct: Iterable[str]) -> models.SimilarItem:
        """:meth:`mark` of an item just made and not yet shared: its explanation is marked in place (no copies)."""
        direction = item.direction.id
        # the direction's own entities read only when a shared name is one the query cites itself
        item.explanation.via_hierarchy = self.via(item.explanation.shared, query_direct,
                                                  lambda: self.direct.get(direction, ()))
        return item

    def overlap(self, o: models.Overlap) -> models.Overlap:
        """``o`` with its similar pairs' ``via_hierarchy``."""
        pairs = [p.model_copy(update={"explanation": self.explanation(
            p.explanation, self.direct.get(p.a.id, ()), self.direct.get(p.b.id, ()))}) for p in o.similar_pairs]
        return o.model_copy(update={"similar_pairs": pairs})


def explanation_groups_by_type() -> dict[str, str]:
    """Entity type → its group in an explanation's ``shared`` (the registry's scoring groups)."""
    return {t.key: t.plural for t in ENTITY_REGISTRY.scored()}
