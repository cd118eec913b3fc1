"""The graph as CSV files for ``neo4j-admin database import full``, and their reader.

The CSV layout follows the ``neo4j-admin database import full`` conventions:

- one nodes file per label, ``nodes_<Label>.csv``, with header ``id:ID,:LABEL,<prop>:<type>,…``;
- one relationships file per type, ``rels_<TYPE>.csv``, with header
  ``:START_ID,:END_ID,:TYPE,<prop>:<type>,…``;
- property types are inferred from the values (``int``/``long``, ``double``, ``boolean``, ``string``, and
  arrays of those written ``string[]`` …, joined with the declared array delimiter);
- a missing (``None``) value, or an empty list, is an empty unquoted cell, which the importer skips, as
  Neo4j stores no nulls;
- text may span lines, so the import needs ``--multiline-fields=true`` (see :func:`neo4j_admin_command`).
"""

from __future__ import annotations

import csv
import json
import shlex
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from fundgraph.core.errors import FundgraphError, InvalidRequest

#: Array delimiters tried in order; the first that occurs in no array element is declared.
ARRAY_DELIMITERS = ("|", ";", "¦", "^", "~")

_INT32 = (-(2**31), 2**31 - 1)


# -- CSV for neo4j-admin -----------------------------------------------------------------------------------
@dataclass
class Neo4jImportFiles:
    """What :func:`write_neo4j_csv` wrote.

    Attributes:
        directory: where the files are.
        nodes: label → nodes file.
        relationships: relationship type → relationships file.
        array_delimiter: the delimiter joining array elements (pass it as ``--array-delimiter``).
        node_counts: label → rows written.
        relationship_counts: type → rows written.
    """

    directory: Path
    nodes: dict[str, Path] = field(default_factory=dict)
    relationships: dict[str, Path] = field(default_factory=dict)
    array_delimiter: str = "|"
    node_counts: dict[str, int] = field(default_factory=dict)
    relationship_counts: dict[str, int] = field(default_factory=dict)


def _scalar_type(values: list[Any]) -> str:
    """The neo4j-admin type of scalar values (all non-None)."""
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int" if all(_INT32[0] <= v <= _INT32[1] for v in values) else "long"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "double"
    return "string"


def _column_type(values: list[Any]) -> str:
    """The neo4j-admin type of one property over all rows (None and empty lists ignored)."""
    present = [v for v in values if v is not None and v != []]
    if not present:
        return "string"
    if all(isinstance(v, list | tuple) for v in present):
        elements = [e for v in present for e in v if e is not None]
        return (_scalar_type(elements) if elements else "string") + "[]"
    if any(isinstance(v, list | tuple | dict) for v in present):
        return "string"  # mixed shapes: written as JSON text
    return _scalar_type(present)


def _cell(value: Any, col_type: str, delimiter: str) -> str | None:
    """One CSV cell (None: an empty unquoted cell, which the importer skips)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return None
    if col_type.endswith("[]"):
        return delimiter.join(_cell(e, col_type[:-2], delimiter) or "" for e in value)
    if col_type == "boolean":
        return "true" if value else "false"
    if col_type == "double":
        return repr(float(value))
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _list_strings(g: nx.MultiDiGraph) -> set[str]:
    """Every string element of every list property of every node and edge."""
    items = [a for _, a in g.nodes(data=True)] + [a for *_, a in g.edges(data=True)]
    return {e for attrs in items for v in attrs.values() if isinstance(v, list | tuple)
            for e in v if isinstance(e, str)}


def choose_array_delimiter(g: nx.MultiDiGraph) -> str:
    """The first of :data:`ARRAY_DELIMITERS` that occurs in no string inside a list property."""
    strings = _list_strings(g)
    for d in ARRAY_DELIMITERS:
        if not any(d in e for e in strings):
            return d
    raise FundgraphError("no array delimiter is free: every candidate occurs in some list property")


def _write_table(path: Path, fixed: list[str], fixed_rows: list[list[str]], props: list[dict[str, Any]],
                 skip: set[str], delimiter: str) -> int:
    keys = sorted({k for p in props for k in p if k not in skip})
    types = {k: _column_type([p.get(k) for p in props]) for k in keys}
    header = fixed + [f"{k}:{types[k]}" for k in keys]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(header)
        for head, p in zip(fixed_rows, props, strict=True):
            w.writerow(head + [_cell(p.get(k), types[k], delimiter) for k in keys])
    return len(fixed_rows)


def write_neo4j_csv(g: nx.MultiDiGraph, directory: Path, *,
                    array_delimiter: str | None = None) -> Neo4jImportFiles:
    """Write the graph as CSV files laid out for ``neo4j-admin database import full``.

    Args:
        g: the built graph (every node has ``id`` and ``label``, every edge has ``type``).
        directory: created if missing; existing ``nodes_*.csv`` / ``rels_*.csv`` files are replaced.
        array_delimiter: one character joining array elements; by default the first of
            :data:`ARRAY_DELIMITERS` that no list element contains.

    Raises:
        FundgraphError: when the delimiter occurs inside a list element (the import would split it).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    delim = array_delimiter or choose_array_delimiter(g)
    if len(delim) != 1:
        raise InvalidRequest(f"the array delimiter must be one character, not {delim!r}")
    if array_delimiter and any(delim in e for e in _list_strings(g)):
        raise FundgraphError(f"the array delimiter {delim!r} occurs inside a list property")
    for old in [*directory.glob("nodes_*.csv"), *directory.glob("rels_*.csv")]:
        old.unlink()

    out = Neo4jImportFiles(directory=directory, array_delimiter=delim)
    by_label: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for n, attrs in g.nodes(data=True):
        by_label[str(attrs.get("label") or "Node")].append((str(n), attrs))
    for label in sorted(by_label):
        rows = by_label[label]
        path = directory / f"nodes_{label}.csv"
        out.node_counts[label] = _write_table(
            path, ["id:ID", ":LABEL"], [[nid, label] for nid, _ in rows], [a for _, a in rows],
            {"id", "label"}, delim)
        out.nodes[label] = path

    by_type: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for u, v, attrs in g.edges(data=True):
        by_type[str(attrs.get("type") or "RELATED_TO")].append((str(u), str(v), attrs))
    for rel_type in sorted(by_type):
        rows = by_type[rel_type]
        path = directory / f"rels_{rel_type}.csv"
        out.relationship_counts[rel_type] = _write_table(
            path, [":START_ID", ":END_ID", ":TYPE"], [[u, v, rel_type] for u, v, _ in rows],
            [a for *_, a in rows], {"type"}, delim)
        out.relationships[rel_type] = path

    (directory / "import.sh").write_text(
        "#!/bin/sh\n# Load these files into an empty Neo4j database (stop the database first).\n"
        + 'cd "$(dirname "$0")"\n'
        + " \\\n  ".join(shlex.quote(a) for a in neo4j_admin_command(out)) + "\n", encoding="utf-8")
    return out


def neo4j_admin_command(files: Neo4jImportFiles, database: str = "neo4j") -> list[str]:
    """The ``neo4j-admin database import full`` arguments that load ``files`` (paths relative to them)."""
    # The database name goes right after `full`: --nodes/--relationships take a list of files, so a
    # name after them is read as one more file (neo4j-admin 5.26: "File 'neo4j' doesn't exist").
    cmd = ["neo4j-admin", "database", "import", "full", database, f"--array-delimiter={files.array_delimiter}",
           "--multiline-fields=true", "--overwrite-destination=true"]
    cmd += [f"--nodes={label}={p.name}" for label, p in files.nodes.items()]
    cmd += [f"--relationships={t}={p.name}" for t, p in files.relationships.items()]
    return cmd


def _parse_cell(text: str, col_type: str, delimiter: str) -> Any:
    if col_type.endswith("[]"):
        return [_parse_cell(e, col_type[:-2], delimiter) for e in text.split(delimiter)]
    if col_type in ("int", "long"):
        return int(text)
    if col_type == "double":
        return float(text)
    if col_type == "boolean":
        return text == "true"
    return text


def read_neo4j_csv(directory: Path, *, array_delimiter: str | None = None) -> nx.MultiDiGraph:
    """Read files written by :func:`write_neo4j_csv` back into a graph (as the importer would see them).

    Empty cells become absent properties, as they do in Neo4j. Used by the round-trip tests and handy
    for checking an export before running the import.
    """
    directory = Path(directory)
    delim = array_delimiter
    if delim is None:
        script = (directory / "import.sh").read_text(encoding="utf-8")
        args = shlex.split(script, comments=True)
        delim = next(a.split("=", 1)[1] for a in args if a.startswith("--array-delimiter="))
    g = nx.MultiDiGraph()
    for path in sorted(directory.glob("nodes_*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            r = csv.reader(fh)
            header = next(r)
            cols = [h.split(":", 1) for h in header]
            for row in r:
                attrs: dict[str, Any] = {}
                node_id = label = None
                for (name, typ), cell in zip(cols, row, strict=True):
                    if typ == "ID":
                        node_id = cell
                        attrs[name] = cell
                    elif typ == "LABEL":
                        label = cell
                    elif cell != "":
                        attrs[name] = _parse_cell(cell, typ, delim)
                g.add_node(node_id, label=label, **attrs)
    for path in sorted(directory.glob("rels_*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            r = csv.reader(fh)
            header = next(r)
            cols = [h.split(":", 1) for h in header]
            for row in r:
                attrs = {}
                start = end = rel_type = None
                for (name, typ), cell in zip(cols, row, strict=True):
                    if typ == "START_ID":
                        start = cell
                    elif typ == "END_ID":
                        end = cell
                    elif typ == "TYPE":
                        rel_type = cell
                    elif cell != "":
                        attrs[name] = _parse_cell(cell, typ, delim)
                g.add_edge(start, end, type=rel_type, **attrs)
    return g
