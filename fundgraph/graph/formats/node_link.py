"""The graph as JSON node-link data (the D3 / networkx convention), and its reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx


def node_link(g: nx.MultiDiGraph) -> dict[str, Any]:
    """The graph as node-link data in the D3 / networkx convention (``nodes`` and ``links``).

    ``networkx.node_link_graph(data, edges="links")`` reads it back; D3's force layout reads it directly.
    """
    data = nx.node_link_data(g, edges="links")
    data["graph"] = dict(data.get("graph") or {})
    return data


def write_node_link_json(g: nx.MultiDiGraph, path: Path) -> Path:
    """Write :func:`node_link` to ``path`` as UTF-8 JSON (Chinese text kept readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump(node_link(g), fh, ensure_ascii=False, indent=1)
    return path


def read_node_link_json(path: Path) -> nx.MultiDiGraph:
    """Read a file written by :func:`write_node_link_json` back into a graph."""
    with Path(path).open(encoding="utf-8") as fh:
        return nx.node_link_graph(json.load(fh), edges="links")
