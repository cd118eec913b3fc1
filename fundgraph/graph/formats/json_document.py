"""The JSON document of the whole graph: what `fundgraph export --format json` and ``GET /api/export`` give.

Top-level lists: ``programs``, ``directions``, ``entities``, ``links`` (plus ``similar`` and ``meta``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from fundgraph.graph.model import Label, Rel
from fundgraph.graph.read.records import direction_record, entity_type_of, program_record
from fundgraph.graph.stores.base import BuiltGraph

_NODE_BOOKKEEPING = {"label"}


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


def json_text(built: BuiltGraph) -> str:
    """The document as readable text (one-space indent, Chinese as is, a final newline): the CLI's output."""
    return json.dumps(export_json(built), ensure_ascii=False, indent=1) + "\n"


def json_bytes(built: BuiltGraph) -> bytes:
    """The document as compact UTF-8 JSON: what the API serves."""
    return json.dumps(export_json(built), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_json(built: BuiltGraph, path: Path) -> Path:
    """Write :func:`json_text` to ``path`` (its directory is created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(built), encoding="utf-8")
    return path
