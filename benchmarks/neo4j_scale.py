"""The Neo4j store at scale: load times (batched UNWIND vs the neo4j-admin CSV export + bulk import) and per-request
latency (p50/p99 at 1 and 32 clients) with the statements each request sends.

    python benchmarks/neo4j_scale.py --home /tmp/neo-h20 --uri bolt://127.0.0.1:17687
    python benchmarks/neo4j_scale.py --home /tmp/neo-h20 --uri bolt://127.0.0.1:17687 --replicate 5   # 100k

``--home`` is an embedded store's home (``fundgraph build``). ``--replicate R`` synthesises a graph R times as
large by copying it with relabelled ids (programs, sections, directions, communities, series get a ``~rI`` suffix;
the vocabulary entities stay shared, so entity hubs grow R-fold as in a larger corpus); the table says so.
Without ``--uri`` a Neo4j 5.26 is started (tools/neo4j-launcher) with ``--heap`` and ``--pagecache``.
Requests run through the store in this process (no HTTP), ``--clients`` threads sharing the driver's pool, on
distinct random directions (no answer cache hits); the first similar call (reading the build's small vocabulary)
is timed separately. Similar and search answers are compared with the embedded store's on the same home.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.neo4j_requests import CountingConnection  # noqa: E402
from fundgraph.core.settings import Settings  # noqa: E402
from fundgraph.embeddings import vectors as vx  # noqa: E402
from fundgraph.graph.read.records import entity_type_of  # noqa: E402
from fundgraph.graph.stores.base import BuiltGraph  # noqa: E402
from fundgraph.graph.stores.neo4j.store import Neo4jStore  # noqa: E402

SEARCHES = ("阿尔茨海默病早期诊断的多模态影像", "肿瘤免疫治疗的新靶点", "脑机接口与神经调控", "罕见病的基因诊断",
            "医学影像人工智能辅助诊断", "心血管疾病风险预测")


def replicate(built: BuiltGraph, times: int) -> BuiltGraph:
    """``built`` copied ``times`` times with relabelled ids; vocabulary entities (and their MEMBER_OF) shared."""
    if times <= 1:
        return built
    g0 = built.graph
    shared = {n for n, d in g0.nodes(data=True) if entity_type_of(d.get("label")) is not None}
    g = nx.MultiDiGraph()
    for n in shared:
        g.add_node(n, **g0.nodes[n])
    ids: list[str] = []
    for r in range(times):
        def rid(n: str, r: int = r) -> str:
            return n if n in shared or r == 0 else f"{n}~r{r}"

        for n, d in g0.nodes(data=True):
            if n in shared:
                continue
            d = dict(d)
            d["id"] = rid(n)
            for k in ("program_id", "section_id", "series_id"):
                if isinstance(d.get(k), str) and d[k] in g0:
                    d[k] = rid(d[k])
            g.add_node(rid(n), **d)
        for u, v, key, e in g0.edges(keys=True, data=True):
            if r and u in shared and v in shared:
                continue  # MEMBER_OF between entities: once
            g.add_edge(rid(u), rid(v), key=key, **e)
        ids += [rid(d) for d in built.direction_ids]
    vecs = vx.as_rows(built.vectors)
    stacked = sp.vstack([vecs] * times).tocsr() if sp.issparse(vecs) else vecs.repeat(times, axis=0)
    words = None if built.words is None else sp.vstack([built.words] * times).tocsr()
    pools = None
    if built.pools is not None:  # each copy's pool in its own copy (the rows offset by the copy's first)
        n = len(built.direction_ids)
        members = np.vstack([np.where(built.pools[0] >= 0, built.pools[0] + r * n, -1) for r in range(times)])
        pools = (members.astype(np.int32), np.vstack([built.pools[1]] * times), np.vstack([built.pools[2]] * times))
    return BuiltGraph(graph=g, direction_ids=ids, vectors=stacked, encoder_state=built.encoder_state,
                      meta={**built.meta, "direction_count": len(ids), "replicated": times}, words=words,
                      pools=pools)


def load_unwind(store: Neo4jStore, built: BuiltGraph) -> dict[str, Any]:
    t = time.perf_counter()
    store.clear()
    clear_s = time.perf_counter() - t
    t = time.perf_counter()
    store.replace(built)
    load_s = time.perf_counter() - t
    nodes, rels = store.counts()
    return {"clear_s": clear_s, "load_s": load_s, "nodes": nodes, "relationships": rels,
            "items_per_s": (nodes + rels) / load_s}


def load_admin(built: BuiltGraph, work: Path, heap: str) -> dict[str, Any]:
    from fundgraph.graph.formats import neo4j_csv
    from tests.neo4j.harness import admin_shim, build_launcher, fresh_home, run_with_admin

    build_launcher()
    t = time.perf_counter()
    files = neo4j_csv.write_neo4j_csv(built.graph, work / "csv")
    export_s = time.perf_counter() - t
    csv_mb = sum(f.stat().st_size for f in files.directory.iterdir()) / 2**20
    home = fresh_home(work)
    admin_shim(work / "bin", home, jvm=f"-Xmx{heap} -XX:+UseParallelGC")
    t = time.perf_counter()
    proc = run_with_admin(neo4j_csv.neo4j_admin_command(files), files.directory, work / "bin", timeout=3600)
    import_s = time.perf_counter() - t
    if proc.returncode != 0 or "IMPORT DONE" not in proc.stdout:
        raise SystemExit(f"neo4j-admin import failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    subprocess.run(["rm", "-rf", str(work / "csv")], check=False)
    return {"export_s": export_s, "import_s": import_s, "csv_mb": csv_mb}


def kinds(store: Neo4jStore) -> dict[str, Any]:
    return {
        "detail": lambda d, i: store.direction(d),
        "similar": lambda d, i: store.similar(d, 10, "all"),
        "search": lambda d, i: store.search(SEARCHES[i % len(SEARCHES)] + f" {i}", 10, None),
        "neighbourhood": lambda d, i: store.neighborhood(d, 2, 100),
    }


def page_cache(store: Neo4jStore) -> str:
    """The page cache size the server runs with (``server.memory.pagecache.size``), as it reports it."""
    with store.driver.session(database="system") as s:
        row = s.run("SHOW SETTINGS YIELD name, value WHERE name = 'server.memory.pagecache.size' RETURN value").single()
    return str(row["value"]) if row else "unknown"


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process (Linux /proc), MB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] * 1e3


def measure(store: Neo4jStore, conn: CountingConnection, built: BuiltGraph, n: int, clients: list[int],
            seed: int, only: list[str]) -> dict[str, Any]:
    rng = random.Random(seed)
    ids = rng.sample(built.direction_ids, min(len(built.direction_ids), n * (len(clients) + 1) + 1))
    out: dict[str, Any] = {}
    rss0 = rss_mb()
    t = time.perf_counter()
    store.similar(ids[-1], 10, "all")
    out["first similar s"] = time.perf_counter() - t
    out["first similar rss mb"] = rss_mb() - rss0
    for name, fn in kinds(store).items():
        if name not in only:
            continue
        conn.reset()
        fn(ids[0], 0)  # statements of one request (after the warm-up above)
        out[f"{name} statements"] = len(conn.statements)
        out[f"{name} transactions"] = conn.transactions
        for ci, c in enumerate(clients):
            batch = ids[(ci + 1) * n - n + 1:(ci + 1) * n + 1]

            def one(j: int, batch: list[str] = batch, fn: Any = fn) -> float:
                t = time.perf_counter()
                fn(batch[j], j)
                return time.perf_counter() - t

            with ThreadPoolExecutor(c) as pool:
                list(pool.map(one, range(min(n, 2 * c))))  # warm the pool's connections
                t, cpu = time.perf_counter(), time.process_time()
                lat = list(pool.map(one, range(len(batch))))
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
            # cpu: this process's (the store's Python side and the driver) per request; the GIL serialises it
            out[f"{name}@{c}"] = {"p50": pct(lat, 50), "p99": pct(lat, 99), "rps": len(lat) / wall,
                                  "cpu_ms": cpu / len(lat) * 1e3}
    return out


def index_recall(store: Neo4jStore, home: Path, built: BuiltGraph, sizes: list[int], n: int,
                 seed: int) -> dict[str, Any]:
    """Against the embedded store's exact answers (same home): how much of the exact top 10 (similar, scope all)
    the vector index's nearest ``c`` hold (and the index query's time), and how much of it, and of the embedded
    store's search top 10, the Neo4j store's answers hold."""
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    embedded = EmbeddedStore(home)
    rng = random.Random(seed + 1)
    ids = rng.sample(built.direction_ids, min(n, len(built.direction_ids)))
    out: dict[str, Any] = {}
    exact = {d: [i.direction.id for i in embedded.similar(d, 10, "all").items] for d in ids}
    for c in sizes:
        hits, times = 0, []
        for d in ids:
            t = time.perf_counter()
            got = {r["id"] for r in store.read("find_vector_candidates", id=d, n=c + 1)}
            times.append(time.perf_counter() - t)
            hits += len(set(exact[d]) & got)
        out[c] = {"recall": hits / max(1, sum(len(e) for e in exact.values())), "p50_ms": pct(times, 50)}
    same = hits = total = 0
    for d in ids:
        got = [i.direction.id for i in store.similar(d, 10, "all").items]
        same += got == exact[d]
        hits += len(set(got) & set(exact[d]))
        total += len(exact[d])
    out["similar"] = {"recall": hits / max(1, total), "identical": same / len(ids)}
    same = hits = total = 0
    for i in range(len(SEARCHES) * 3):
        text = SEARCHES[i % len(SEARCHES)] + f" {i}"
        want = [x.direction.id for x in embedded.search(text, 10, None).items]
        got = [x.direction.id for x in store.search(text, 10, None).items]
        same += got == want
        hits += len(set(got) & set(want))
        total += len(want)
    out["search"] = {"recall": hits / max(1, total), "identical": same / (len(SEARCHES) * 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--uri")
    ap.add_argument("--replicate", type=int, default=1)
    ap.add_argument("--requests", type=int, default=300, help="per kind and client level")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--heap", default="3g", help="Neo4j heap (started here) and neo4j-admin heap")
    ap.add_argument("--pagecache", default="2g", help="Neo4j page cache (started here; with --uri: the server's)")
    ap.add_argument("--no-load", action="store_true", help="measure the graph already loaded")
    ap.add_argument("--no-admin", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", default=["detail", "similar", "search", "neighbourhood"])
    ap.add_argument("--no-recall", action="store_true", help="skip the comparison with the embedded store")
    ap.add_argument("--neo4j-pid", type=int, help="with --uri: the Neo4j JVM's pid, for its RSS in the table")
    args = ap.parse_args()

    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    t = time.perf_counter()
    built = replicate(EmbeddedStore(args.home).load(), args.replicate)
    n_dirs = len(built.direction_ids)
    print(f"graph: {n_dirs} directions, {built.graph.number_of_nodes()} nodes, {built.graph.number_of_edges()} "
          f"relationships (x{args.replicate} of {args.home}), read in {time.perf_counter() - t:.1f} s", flush=True)
    server = None
    if not args.uri:
        from tests.neo4j import harness

        harness.JVM_OPTS = (f"-Xms{args.heap}", f"-Xmx{args.heap}", "-XX:+UseParallelGC")
        server = harness.Neo4jProcess(pagecache=args.pagecache).start()
        args.uri = server.uri
        args.neo4j_pid = server.proc.pid
    store = Neo4jStore.from_settings(Settings(store="neo4j", neo4j_uri=args.uri, neo4j_user="", neo4j_password=""))
    res: dict[str, Any] = {"pagecache": page_cache(store)}
    print(f"Neo4j page cache: {res['pagecache']}", flush=True)
    try:
        if not args.no_admin:
            with tempfile.TemporaryDirectory(prefix="fg-neo4j-admin-") as work:
                res["admin"] = load_admin(built, Path(work), args.heap)
            print(f"admin: {res['admin']}", flush=True)
        if not args.no_load:
            res["unwind"] = load_unwind(store, built)
            print(f"unwind: {res['unwind']}", flush=True)
        conn = CountingConnection(store.connection)
        store.connection = conn
        res["load_before"] = os.getloadavg()
        res["requests"] = measure(store, conn, built, args.requests, args.clients, args.seed, args.kinds)
        res["load_after"] = os.getloadavg()
        if args.neo4j_pid:
            res["neo4j_rss_mb"] = rss_mb(args.neo4j_pid)
        print(res, flush=True)
        if not args.no_recall:
            res["index"] = index_recall(store, args.home, built, [10, 50, 200, 1000], 50, args.seed)
    finally:
        store.close()
        if server is not None:
            server.stop()
    table(res, n_dirs, args)


def table(res: dict[str, Any], n_dirs: int, args: argparse.Namespace) -> None:
    r = res["requests"]
    print(f"\nNeo4j store, {n_dirs:,} directions" + (f" (the {args.home} graph x{args.replicate})"
                                                    if args.replicate > 1 else ""))
    if "unwind" in res:
        u = res["unwind"]
        print(f"  UNWIND load (batched MERGE, Neo4jStore.replace): {u['load_s']:.1f} s "
              f"({u['nodes']:,} nodes + {u['relationships']:,} relationships, {u['items_per_s']:,.0f} items/s)")
    if "admin" in res:
        a = res["admin"]
        print(f"  neo4j-admin: CSV export {a['export_s']:.1f} s ({a['csv_mb']:.0f} MB) + import {a['import_s']:.1f} s "
              f"= {a['export_s'] + a['import_s']:.1f} s")
    print(f"  first similar (reads the build's vocabulary, Neo4jStore.vocabulary): {r['first similar s']:.2f} s, "
          f"+{r['first similar rss mb']:.0f} MB RSS in this process")
    print(f"  Neo4j page cache: {res['pagecache']}")
    if "neo4j_rss_mb" in res:
        print(f"  Neo4j JVM RSS after the requests: {res['neo4j_rss_mb']:.0f} MB")
    print("  machine load average (1/5/15 min) before the requests {:.1f}/{:.1f}/{:.1f}, after {:.1f}/{:.1f}/{:.1f}"
          .format(*res["load_before"], *res["load_after"]))
    cols = [f"{c} client{'s' if c > 1 else ''}" for c in args.clients]
    print(f"\n  {'request':<14}{'stmts':>6}{'tx':>4}" + "".join(f"{c + ' p50/p99 ms':>28}" for c in cols)
          + "".join(f"{'rps@' + str(c):>10}" for c in args.clients) + f"{'py cpu ms':>11}")
    for name in args.kinds:
        cells = "".join(f"{r[f'{name}@{c}']['p50']:>14.1f}/{r[f'{name}@{c}']['p99']:<13.1f}" for c in args.clients)
        rps = "".join(f"{r[f'{name}@{c}']['rps']:>10.0f}" for c in args.clients)
        cpu = r[f"{name}@{args.clients[0]}"]["cpu_ms"]
        print(f"  {name:<14}{r[f'{name} statements']:>6}{r[f'{name} transactions']:>4}{cells}{rps}{cpu:>11.1f}")
    index = dict(res.get("index", {}))
    answers = {k: index.pop(k) for k in ("similar", "search") if k in index}
    print("\n  vector index (256-d projection) as candidate retrieval for similar (the embedded store's exact top 10):")
    for c, v in index.items():
        print(f"    nearest {c:>5}: recall of the exact top 10 {v['recall']:.3f}, query p50 {v['p50_ms']:.1f} ms")
    for k, v in answers.items():
        print(f"  {k} top 10 against the embedded store's: recall {v['recall']:.3f}, "
              f"identical lists {v['identical']:.2f}")


if __name__ == "__main__":
    main()
