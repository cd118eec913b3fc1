"""Export the built graph as the JSON document `fundgraph export --format json` writes.

Top-level lists: ``programs``, ``directions``, ``entities``, ``links`` (plus ``similar`` and ``meta``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from fundgraph.core import schema
from fundgraph.core.schema import field_names
from fundgraph.graph.model import ENTITY_KEY_BY_LABEL, Label, Rel
from fundgraph.graph.stores.base import BuiltGraph

PROGRAM_FIELDS = field_names(schema.PROGRAM_FIELDS, exported=True)

_ENTITY_LABELS = ENTITY_KEY_BY_LABEL
_NODE_BOOKKEEPING = {"label"}


def program_record(node: dict[str, Any]) -> dict[str, Any]:
    """A program as exported."""
    return {k: node.get(k) for k in PROGRAM_FIELDS}


def direction_record(node: dict[str, Any]) -> dict[str, Any]:
    """A direction as exported (the fields issue 2 names), from its flat node properties."""
    funding = None
    if node.get("funding_amount") is not None:
        funding = {"amount": node["funding_amount"], "unit": node.get("funding_unit"),
                   "scope": node.get("funding_scope"), "text": node.get("funding_text")}
    return {
        "id": node["id"],
        "program_id": node["program_id"],
        "code": node["code"],
        "ordinal": node["ordinal"],
        "title": node["title"],
        "title_en": node.get("title_en"),
        "category": node.get("category"),
        "category_raw": node.get("category_raw"),
        "support_type": node.get("support_type"),
        "section": node.get("section"),
        "section_title": node.get("section_title"),
        "content": node.get("content"),
        "metrics": node.get("metrics"),
        "keywords": list(node.get("keywords") or []),
        "notes": list(node.get("notes") or []),
        "funding": funding,
        "application_code": node.get("application_code"),
        "disciplines": list(node.get("disciplines") or []),
        "source": {"file": node.get("source_file"), "start": node.get("source_start"),
                   "end": node.get("source_end"), "line": node.get("source_line")},
    }


def entity_type_of(label: str) -> str | None:
    """API entity type ('disease' …) of a node label, or None for non-entity labels."""
    return _ENTITY_LABELS.get(label)


def _sorted_nodes(g: nx.MultiDiGraph, label: Label) -> list[dict[str, Any]]:
    return [d for _, d in g.nodes(data=True) if d.get("label") == label.value]


def export_json(built: BuiltGraph) -> dict[str, Any]:
    """The whole graph as one JSON-able document, in a stable order."""
    g = built.graph
    programs = sorted(_sorted_nodes(g, Label.PROGRAM), key=lambda n: n.get("manifest_order", 0))
    order = {p["id"]: i for i, p in enumerate(programs)}
    directions = sorted(_sorted_nodes(g, Label.DIRECTION), key=lambda n: (order.get(n["program_id"], 99),
                                                                           n["ordinal"]))
    entities = []
    for _, n in sorted(g.nodes(data=True), key=lambda item: item[0]):
        etype = entity_type_of(n.get("label", ""))
        if etype is None:
            continue
        rec = {k: v for k, v in n.items() if k not in _NODE_BOOKKEEPING}
        rec["type"] = etype
        entities.append(rec)
    links = []
    similar = []
    for u, v, e in g.edges(data=True):
        if e.get("type") == Rel.MENTIONS.value:
            etype = entity_type_of(g.nodes[v].get("label", ""))
            links.append({
                "direction_id": u, "entity_id": v, "type": etype, "field": e.get("field"),
                "snippet": e.get("snippet"), "span": [e.get("start"), e.get("end")],
                "weight": e.get("weight"), "count": e.get("count"),
                "extracted": bool(e.get("extracted", False)), "boilerplate": bool(e.get("boilerplate", False)),
            })
        elif e.get("type") in (Rel.SIMILAR_TO.value, Rel.CONTINUES.value):
            similar.append({"type": e["type"], "source": u, "target": v,
                            **{k: val for k, val in e.items() if k != "type"}})
    links.sort(key=lambda r: (r["direction_id"], r["entity_id"], r["field"] or ""))
    similar.sort(key=lambda r: (r["type"], r["source"], r["target"]))
    return {
        "meta": built.meta,
        "programs": [program_record(p) for p in programs],
        "directions": [direction_record(d) for d in directions],
        "entities": entities,
        "links": links,
        "similar": similar,
    }


# -- GraphML ------------------------------------------------------------------------------------------------
def _graphml_value(value: Any) -> Any:
    """GraphML holds str/int/float/bool only: lists and dicts become JSON text, None is left out."""
    if isinstance(value, (str, int, float, bool)):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def graphml_graph(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``g`` whose properties GraphML can hold (lists as JSON text, no None values)."""
    out = nx.MultiDiGraph()
    for n, d in g.nodes(data=True):
        out.add_node(n, **{k: _graphml_value(v) for k, v in d.items() if v is not None})
    for u, v, key, d in g.edges(keys=True, data=True):
        out.add_edge(u, v, key=key, **{k: _graphml_value(val) for k, val in d.items() if val is not None})
    return out


def graphml_bytes(g: nx.MultiDiGraph) -> bytes:
    """The graph as GraphML (UTF-8), readable by Gephi, yEd, Cytoscape desktop and networkx."""
    lines = nx.generate_graphml(graphml_graph(g), encoding="utf-8", named_key_ids=True)
    return "\n".join(lines).encode("utf-8")


def write_graphml(g: nx.MultiDiGraph, path: Path) -> Path:
    """Write :func:`graphml_bytes` to ``path``."""
    path = Path(path)
    path.write_bytes(graphml_bytes(g))
    return path
