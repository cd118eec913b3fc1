"""One registry of graph formats (name → writer, API rendering, reader), like networkx's ``readwrite``.

The CLI's ``--format`` choices and the API's ``format`` parameter are derived from :data:`FORMATS`;
adding a format is one module in this package and one row here. The writers import their module when called,
so reading the registry (the CLI's ``--help``, the API's start-up) costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from fundgraph.core.errors import InvalidRequest

if TYPE_CHECKING:
    import networkx as nx

    from fundgraph.graph.stores.base import BuiltGraph


@dataclass(frozen=True)
class Served:
    """How the API serves a format: the bytes, their media type, and a download file name if any."""

    render: Callable[[BuiltGraph], bytes]
    media_type: str
    filename: str | None = None


@dataclass(frozen=True)
class GraphFormat:
    """One format.

    Attributes:
        name: what ``--format`` and ``?format=`` take.
        help: one line for the CLI's help.
        output: whether :attr:`write` produces a file or a directory.
        write: writes the graph to a path and returns what it wrote.
        text: the file's text, when the CLI may print it to stdout instead.
        served: how ``GET /api/export`` serves it (None: not served).
        read: reads a written path back into a graph (None: no reader).
    """

    name: str
    help: str
    output: Literal["file", "directory"]
    write: Callable[[BuiltGraph, Path], Path]
    text: Callable[[BuiltGraph], str] | None = None
    served: Served | None = None
    read: Callable[[Path], nx.MultiDiGraph] | None = None


def _write_json(built: BuiltGraph, path: Path) -> Path:
    from fundgraph.graph.formats.json_document import write_json

    return write_json(built, path)


def _json_text(built: BuiltGraph) -> str:
    from fundgraph.graph.formats.json_document import json_text

    return json_text(built)


def _json_bytes(built: BuiltGraph) -> bytes:
    from fundgraph.graph.formats.json_document import json_bytes

    return json_bytes(built)


def _write_graphml(built: BuiltGraph, path: Path) -> Path:
    from fundgraph.graph.formats.graphml import write_graphml

    return write_graphml(built.graph, path)


def _graphml_bytes(built: BuiltGraph) -> bytes:
    from fundgraph.graph.formats.graphml import graphml_bytes

    return graphml_bytes(built.graph)


def _read_graphml(path: Path) -> nx.MultiDiGraph:
    from fundgraph.graph.formats.graphml import read_graphml

    return read_graphml(path)


def _write_node_link(built: BuiltGraph, path: Path) -> Path:
    from fundgraph.graph.formats.node_link import write_node_link_json

    return write_node_link_json(built.graph, path)


def _read_node_link(path: Path) -> nx.MultiDiGraph:
    from fundgraph.graph.formats.node_link import read_node_link_json

    return read_node_link_json(path)


def _write_neo4j_csv(built: BuiltGraph, path: Path) -> Path:
    from fundgraph.graph.formats.neo4j_csv import write_neo4j_csv

    return write_neo4j_csv(built.graph, path).directory


def _read_neo4j_csv(path: Path) -> nx.MultiDiGraph:
    from fundgraph.graph.formats.neo4j_csv import read_neo4j_csv

    return read_neo4j_csv(path)


#: Every format, in the order the CLI lists them.
FORMATS: dict[str, GraphFormat] = {f.name: f for f in (
    GraphFormat("json", "the JSON document (programs, directions, entities, links, similar)", "file",
                _write_json, text=_json_text, served=Served(_json_bytes, "application/json")),
    GraphFormat("graphml", "GraphML (Gephi, yEd, Cytoscape desktop)", "file", _write_graphml,
                served=Served(_graphml_bytes, "application/graphml+xml", "fundgraph.graphml"),
                read=_read_graphml),
    GraphFormat("node-link", "JSON node-link (D3, networkx)", "file", _write_node_link,
                read=_read_node_link),
    GraphFormat("neo4j-csv", "a directory of CSV files for `neo4j-admin database import full`", "directory",
                _write_neo4j_csv, read=_read_neo4j_csv),
)}

#: The formats ``GET /api/export`` serves.
SERVED_FORMATS: tuple[str, ...] = tuple(name for name, f in FORMATS.items() if f.served is not None)


def get_format(name: str) -> GraphFormat:
    """The format called ``name``.

    Raises:
        InvalidRequest: no format has this name.
    """
    try:
        return FORMATS[name]
    except KeyError:
        listed = "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())
        raise InvalidRequest(f"unknown export format {name!r}: choose one of {', '.join(FORMATS)} ({listed})",
                             detail={"format": name, "formats": list(FORMATS)}) from None


def export_graph(built: BuiltGraph, fmt: str, out: Path) -> Path:
    """Write ``built`` in format ``fmt`` to ``out`` (a file, or a directory for neo4j-csv); return what was written.

    Raises:
        InvalidRequest: for an unknown format.
    """
    return get_format(fmt).write(built, Path(out))
