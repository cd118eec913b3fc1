"""The graph as GraphML (Gephi, yEd, Cytoscape desktop, networkx), and its reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx


def _graphml_value(value: Any) -> Any:
    """GraphML holds str/int/float/bool only: lists and dicts become JSON text, None is left out."""
    if isinstance(value, (str, int, float, bool)):
        return value
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
    """Write :func:`graphml_bytes` to ``path`` (its directory is created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graphml_bytes(g))
    return path


def read_graphml(path: Path) -> nx.MultiDiGraph:
    """Read a GraphML file back (list and dict properties stay JSON text, as GraphML holds them)."""
    return nx.read_graphml(Path(path), force_multigraph=True)
