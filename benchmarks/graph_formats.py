"""Size and load time of a built graph in several on-disk formats (the embedded store's graph file).

    PYTHONPATH=$PWD python benchmarks/graph_formats.py /path/to/home/current [--repeat 3]

Reads the store's graph (``graph.json``, node-link), writes it as: node-link JSON (stdlib ``json``), the same
with ``orjson``, ``msgpack``, orjson rows (``[id, attrs]`` / ``[u, v, key, attrs]``, fed straight to
``add_nodes_from`` / ``add_edges_from`` instead of ``node_link_graph``), SQLite (a nodes and an edges table,
attributes as orjson text) and Parquet
(pyarrow; the same two tables). For each: bytes on disk, write time, and load time *into the networkx
MultiDiGraph the store serves from* (best of ``--repeat``, each in a fresh child process so no cache of a
previous load helps). ``msgpack`` and ``pyarrow`` are needed only here.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ("json", "orjson", "msgpack", "orjson-rows", "sqlite", "parquet")


def _graph_from_rows(nodes, edges):  # type: ignore[no-untyped-def]
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def write(fmt: str, data: dict, path: Path) -> None:
    import orjson

    if fmt == "json":
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    elif fmt == "orjson":
        path.write_bytes(orjson.dumps(data))
    elif fmt == "msgpack":
        import msgpack

        path.write_bytes(msgpack.packb(data, use_bin_type=True))
    elif fmt == "orjson-rows":  # [id, attrs] and [u, v, key, attrs] rows, read straight into add_*_from
        path.write_bytes(orjson.dumps({"nodes": [[n["id"], n] for n in data["nodes"]],
                                       "edges": [[e["source"], e["target"], e["key"], e] for e in data["edges"]]}))
    elif fmt == "sqlite":
        con = sqlite3.connect(path)
        con.execute("create table nodes (id text primary key, data blob)")
        con.execute("create table edges (u text, v text, key text, data blob)")
        con.executemany("insert into nodes values (?, ?)",
                        ((n["id"], orjson.dumps(n)) for n in data["nodes"]))
        con.executemany("insert into edges values (?, ?, ?, ?)",
                        ((e["source"], e["target"], e["key"], orjson.dumps(e)) for e in data["edges"]))
        con.commit()
        con.close()
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": [n["id"] for n in data["nodes"]],
                                 "data": [orjson.dumps(n) for n in data["nodes"]]}), path.with_suffix(".nodes"))
        pq.write_table(pa.table({"u": [e["source"] for e in data["edges"]], "v": [e["target"] for e in data["edges"]],
                                 "key": [e["key"] for e in data["edges"]],
                                 "data": [orjson.dumps(e) for e in data["edges"]]}), path.with_suffix(".edges"))


def load(fmt: str, path: Path):  # type: ignore[no-untyped-def]
    import networkx as nx
    import orjson

    if fmt in ("json", "orjson", "msgpack"):
        if fmt == "json":
            with path.open(encoding="utf-8") as fh:
                data = json.load(fh)
        elif fmt == "orjson":
            data = orjson.loads(path.read_bytes())
        else:
            import msgpack

            data = msgpack.unpackb(path.read_bytes(), raw=False)
        return nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
    if fmt == "orjson-rows":
        rows = orjson.loads(path.read_bytes())
        return _graph_from_rows(rows["nodes"], rows["edges"])
    if fmt == "sqlite":
        con = sqlite3.connect(path)
        nodes = [(i, orjson.loads(d)) for i, d in con.execute("select id, data from nodes")]
        edges = [(u, v, k, orjson.loads(d)) for u, v, k, d in con.execute("select u, v, key, data from edges")]
        con.close()
        return _graph_from_rows(nodes, edges)
    import pyarrow.parquet as pq

    nt = pq.read_table(path.with_suffix(".nodes"))
    et = pq.read_table(path.with_suffix(".edges"))
    loads = orjson.loads
    nodes = list(zip(nt["id"].to_pylist(), map(loads, nt["data"].to_pylist()), strict=True))
    edges = list(zip(et["u"].to_pylist(), et["v"].to_pylist(), et["key"].to_pylist(),
                     map(loads, et["data"].to_pylist()), strict=True))
    return _graph_from_rows(nodes, edges)


def size(fmt: str, path: Path) -> int:
    if fmt == "parquet":
        return path.with_suffix(".nodes").stat().st_size + path.with_suffix(".edges").stat().st_size
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path, help="a graph directory (home/current)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--load", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.load:
        t = time.perf_counter()
        g = load(args.load[0], Path(args.load[1]))
        print(json.dumps({"s": time.perf_counter() - t, "nodes": g.number_of_nodes(), "edges": g.number_of_edges()}))
        return 0
    with (args.store / "graph.json").open(encoding="utf-8") as fh:
        data = json.load(fh)
    tmp = Path(tempfile.mkdtemp(prefix="fg-formats-"))
    print(f"{len(data['nodes']):,} nodes, {len(data['edges']):,} edges")
    print(f"| format | MB | write s | load into networkx s (best of {args.repeat}) |")
    print("|---|---|---|---|")
    for fmt in FORMATS:
        path = tmp / f"graph.{fmt}"
        t = time.perf_counter()
        write(fmt, data, path)
        w = time.perf_counter() - t
        best = min(
            json.loads(subprocess.run([sys.executable, __file__, str(args.store), "--load", fmt, str(path)],
                                      check=True, capture_output=True, text=True).stdout)["s"]
            for _ in range(args.repeat)
        )
        print(f"| {fmt} | {size(fmt, path) / 2**20:.1f} | {w:.2f} | {best:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
