"""Open time and RSS of the embedded store's graph in four layouts, each opened in a fresh process.

    PYTHONPATH=$PWD python benchmarks/store_formats.py GRAPH_DIR [--copies 5] [--work DIR]

GRAPH_DIR is a built graph (``home/current``): its columns (or an older node-link ``graph.json``) are read once,
optionally replicated ``--copies`` times with relabelled ids (a 20,000-direction graph × 5 stands in for 100,000),
and written as: node-link JSON (orjson) loaded into networkx (the store before the columns); a pickle of the
networkx graph (loaded with gc disabled); SQLite (a nodes and an edges table, properties as orjson, loaded into
networkx); and the columns (``graph/stores/embedded/columns.py``) opened with the serving indexes
(``GraphQueries`` made and warmed). Prints bytes on disk, open seconds and peak RSS per layout.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYOUTS = ("nodelink-json+networkx", "pickle+networkx", "sqlite+networkx", "columns+GraphQueries")


def _replicate(g, copies: int):  # type: ignore[no-untyped-def]
    import networkx as nx

    if copies <= 1:
        return g
    out = nx.MultiDiGraph()
    shared = {n for n, d in g.nodes(data=True) if d.get("label") not in ("Direction", "Program", "Section",
                                                                        "Community", "ProgramSeries")}
    for c in range(copies):
        def name(n: str, c: int = c) -> str:
            return n if n in shared else f"{n}~{c}"
        for n, d in g.nodes(data=True):
            if n in shared and c:
                continue
            e = dict(d)
            e["id"] = name(n)
            if "program_id" in e:
                e["program_id"] = name(e["program_id"])
            out.add_node(name(n), **e)
        for u, v, k, d in g.edges(keys=True, data=True):
            if c and u in shared and v in shared:
                continue
            out.add_edge(name(u), name(v), key=k, **d)
    return out


def write_all(source: Path, copies: int, work: Path) -> None:
    import networkx as nx
    import numpy as np
    import orjson

    from fundgraph.embeddings import vectors as vx
    from fundgraph.graph.stores.base import BuiltGraph
    from fundgraph.graph.stores.embedded.files import read_built, save_built

    built = read_built(source)
    g = _replicate(built.graph, copies)
    ids = [n for n, d in g.nodes(data=True) if d.get("label") == "Direction"]
    meta = dict(built.meta)
    (work / "json").mkdir(parents=True, exist_ok=True)
    (work / "json" / "graph.json").write_bytes(orjson.dumps(nx.node_link_data(g, edges="edges"),
                                                            option=orjson.OPT_SERIALIZE_NUMPY))
    (work / "pickle").mkdir(exist_ok=True)
    (work / "pickle" / "graph.pickle").write_bytes(pickle.dumps(g, protocol=5))
    (work / "sqlite").mkdir(exist_ok=True)
    con = sqlite3.connect(work / "sqlite" / "graph.sqlite")
    con.execute("create table nodes (id text primary key, data blob)")
    con.execute("create table edges (u text, v text, key text, data blob)")
    con.executemany("insert into nodes values (?, ?)", ((n, orjson.dumps(d)) for n, d in g.nodes(data=True)))
    con.executemany("insert into edges values (?, ?, ?, ?)",
                    ((u, v, k, orjson.dumps(d)) for u, v, k, d in g.edges(keys=True, data=True)))
    con.commit()
    con.close()
    # The columns with vectors of the right row count (zero rows: the layouts are measured, not the vectors).
    save_built(BuiltGraph(graph=g, direction_ids=ids, vectors=vx.empty(len(ids), 1), meta=meta,
                          encoder_state={}), work / "columns")
    print(f"written: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges, {len(ids):,} directions",
          flush=True)
    del np


def write_home(source: Path, copies: int, home: Path) -> None:
    """A servable home of ``copies`` relabelled copies of the graph in ``source``, vectors included.

    A stand-in for a larger build (``--serve-home``: 20,000 × 5 for 100,000 directions) to measure serving: each
    copy is a set of programs of its own, so a direction's twins in the other copies are its best cross-program
    matches and the copied SIMILAR_TO lists are not what a build of the whole would store; the sizes, the
    products and the answers' shapes are those of a real graph of that size.
    """
    import numpy as np
    import scipy.sparse as sp

    from fundgraph.graph.stores.base import BuiltGraph
    from fundgraph.graph.stores.embedded.files import read_built
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    built = read_built(source)
    g = _replicate(built.graph, copies)
    ids = [f"{d}~{c}" for c in range(copies) for d in built.direction_ids] if copies > 1 else built.direction_ids
    vectors = sp.vstack([built.vectors] * copies, format="csr") if copies > 1 else built.vectors
    words = built.words if copies == 1 or built.words is None else sp.vstack([built.words] * copies, format="csr")
    pools = built.pools
    if copies > 1 and pools is not None:  # each copy's pool in its own copy (the rows offset by the copy's first)
        n = len(built.direction_ids)
        pools = (np.vstack([np.where(pools[0] >= 0, pools[0] + c * n, -1) for c in range(copies)]).astype(np.int32),
                 np.vstack([pools[1]] * copies), np.vstack([pools[2]] * copies))
    t = time.perf_counter()
    EmbeddedStore(home).replace(BuiltGraph(graph=g, direction_ids=ids, vectors=vectors, meta=dict(built.meta),
                                           encoder_state=dict(built.encoder_state), words=words,
                                           pools=pools))
    print(f"home {home}: {len(ids):,} directions, {g.number_of_edges():,} edges, written in "
          f"{time.perf_counter() - t:.0f} s", flush=True)


def open_one(layout: str, work: Path) -> dict[str, float]:
    import gc

    import networkx as nx
    import orjson

    t = time.perf_counter()
    if layout == "nodelink-json+networkx":
        nx.node_link_graph(orjson.loads((work / "json" / "graph.json").read_bytes()), directed=True,
                           multigraph=True, edges="edges")
    elif layout == "pickle+networkx":
        gc.disable()
        pickle.loads((work / "pickle" / "graph.pickle").read_bytes())
        gc.enable()
    elif layout == "sqlite+networkx":
        con = sqlite3.connect(work / "sqlite" / "graph.sqlite")
        g = nx.MultiDiGraph()
        g.add_nodes_from((n, orjson.loads(d)) for n, d in con.execute("select id, data from nodes"))
        g.add_edges_from((u, v, k, orjson.loads(d)) for u, v, k, d in con.execute("select * from edges"))
    else:
        from fundgraph.graph.stores.embedded.files import read_built
        from fundgraph.graph.stores.embedded.queries import GraphQueries

        q = GraphQueries(read_built(work / "columns")).warm()
        q.direction(q.direction_ids[len(q.direction_ids) // 2])  # a real answer
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec on Linux.
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return {"seconds": time.perf_counter() - t, "rss_mb": hwm / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("graph_dir", type=Path, nargs="?")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--open", dest="open_layout")
    ap.add_argument("--serve-home", type=Path, help="write a servable home of the copies there, and stop")
    args = ap.parse_args()
    if args.serve_home:
        write_home(args.graph_dir, args.copies, args.serve_home)
        return
    if args.open_layout:
        print(json.dumps(open_one(args.open_layout, args.work)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="fg-store-formats-"))
    if not (work / "columns").exists():
        write_all(args.graph_dir, args.copies, work)
    print("| layout | on disk | open (s) | peak RSS (MB) |\n|---|---|---|---|")
    for layout in LAYOUTS:
        folder = work / {"nodelink-json+networkx": "json", "pickle+networkx": "pickle",
                         "sqlite+networkx": "sqlite", "columns+GraphQueries": "columns"}[layout]
        size = sum(p.stat().st_size for p in folder.iterdir())
        out = subprocess.run([sys.executable, __file__, "--open", layout, "--work", str(work)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {layout} | {size / 1e6:,.0f} MB | {r['seconds']:.2f} | {r['rss_mb']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
