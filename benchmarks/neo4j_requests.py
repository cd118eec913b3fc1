"""Where a Neo4j-store request spends its time: statements (round trips) per request, time in the driver
versus in Python, and each statement's plan (PROFILE: operators, db hits, label or all-node scans).

    python benchmarks/neo4j_requests.py --uri bolt://127.0.0.1:7687 [--home ~/.fundgraph] [--no-load]

Without ``--uri`` it starts the test Neo4j (tools/neo4j-launcher). The graph is the embedded store's at
``--home`` (built from the bundled corpus into a temporary home when absent), loaded through the batched
loader unless ``--no-load``. Each request type is called through the store (no HTTP) ``--repeat`` times after
one warm-up call; the table gives the median per request and its split.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fundgraph.core.settings import Settings  # noqa: E402
from fundgraph.cypher.catalog import query  # noqa: E402
from fundgraph.graph.read import models  # noqa: E402
from fundgraph.graph.stores.neo4j.connection import Connection  # noqa: E402
from fundgraph.graph.stores.neo4j.store import Neo4jStore  # noqa: E402

#: Operators that read every node (of a label, or of the database): a lookup that should have been an index seek.
SCANS = ("AllNodesScan", "NodeByLabelScan")


class CountingConnection(Connection):
    """A Connection that counts transactions and statements and times the driver's share of each request."""

    def __init__(self, inner: Connection) -> None:
        super().__init__(inner.driver, inner.database, owns_driver=inner.owns_driver)
        self.reset()

    def reset(self) -> None:
        self.transactions = 0
        self.statements: list[tuple[str, dict[str, Any]]] = []
        self.driver_s = 0.0

    def transaction(self, work: Any, *, write: bool = False) -> Any:
        self.transactions += 1
        t = time.perf_counter()
        t_work = [0.0]

        def timed(run: Any) -> Any:
            def counted(name: str, **params: Any) -> list[dict[str, Any]]:
                self.statements.append((name, params))
                t0 = time.perf_counter()
                try:
                    return run(name, **params)
                finally:
                    t_work[0] += time.perf_counter() - t0

            t0 = time.perf_counter()
            out = work(counted)
            return out, time.perf_counter() - t0

        out, in_work = super().transaction(timed, write=write)
        # driver share = whole transaction minus the Python that ran inside it between statements
        self.driver_s += (time.perf_counter() - t) - (in_work - t_work[0])
        return out


def requests(store: Neo4jStore) -> dict[str, Any]:
    page = store.directions(models.DirectionFilter(), 500, 0).items
    d0, d1 = page[0].id, page[len(page) // 2].id
    progs = [p.id for p in store.programs()]
    ent = store.entities("disease", None)[0]
    return {
        "detail": lambda: store.direction(d1),
        "similar": lambda: store.similar(d1, 10, "cross-program"),
        "search": lambda: store.search("阿尔茨海默病早期诊断的多模态影像", 10, None),
        "matrix": lambda: store.matrix("disease"),
        "neighbourhood2": lambda: store.neighborhood(d0, 2, 100),
        "directions": lambda: store.directions(models.DirectionFilter(disease=ent.name), 50, 0),
        "entity": lambda: store.entity("disease", ent.id),
        "overlaps": lambda: store.overlaps(progs[0], progs[1]),
        "programs": store.programs,
        "health": store.health,
    }


def plan_summary(conn: Connection, name: str, params: dict[str, Any]) -> tuple[float, int, int, list[str]]:
    """(median ms alone, db hits, rows, scan operators) of one statement; PROFILE in a rolled-back transaction."""
    with conn.driver.session(database=conn.database) as s:
        times = []
        for _ in range(10):
            t = time.perf_counter()
            s.run(query(name), params).consume()
            times.append(time.perf_counter() - t)
        tx = s.begin_transaction()
        try:
            summary = tx.run("PROFILE " + query(name), params).consume()
        finally:
            tx.rollback()
    hits, scans = 0, []

    def walk(p: dict[str, Any]) -> None:
        nonlocal hits
        hits += int(p.get("dbHits", 0))
        op = p.get("operatorType", "").split("@")[0]
        if op in SCANS:
            scans.append(f"{op}({p.get('args', {}).get('Details', '')})")
        for c in p.get("children", []):
            walk(c)

    prof = summary.profile or {}
    walk(prof)
    return statistics.median(times) * 1e3, hits, int(prof.get("rows", 0)), scans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--home", type=Path)
    ap.add_argument("--no-load", action="store_true")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    server = None
    if not args.uri:
        from tests.neo4j.harness import Neo4jProcess

        server = Neo4jProcess().start()
        args.uri = server.uri
    settings = Settings(store="neo4j", neo4j_uri=args.uri, neo4j_user=args.user, neo4j_password=args.password)
    store = Neo4jStore.from_settings(settings)
    conn = CountingConnection(store.connection)
    store.connection = conn
    try:
        if not args.no_load:
            from fundgraph.graph.stores.embedded.store import EmbeddedStore

            home = args.home
            if home is None or not (home / "current").exists():
                from fundgraph.graph.build.pipeline import build_graph

                home = home or Path(tempfile.mkdtemp(prefix="fg-neo4j-req-"))
                EmbeddedStore(home).replace(build_graph(Settings(home=home)))
            t = time.perf_counter()
            store.replace(EmbeddedStore(home).load())
            print(f"loaded in {time.perf_counter() - t:.1f} s")
        print(f"{'request':<15} {'p50 ms':>7} {'driver':>7} {'python':>7} {'tx':>3} {'stmts':>5}  statements")
        plans: dict[str, tuple[dict[str, Any], str]] = {}
        for name, fn in requests(store).items():
            fn()  # warm-up (caches, plans)
            times, drv = [], []
            for _ in range(args.repeat):
                conn.reset()
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
                drv.append(conn.driver_s)
            stmts = [s for s, _ in conn.statements]
            for s, p in conn.statements:
                plans.setdefault(s, (p, name))
            p50, d50 = statistics.median(times) * 1e3, statistics.median(drv) * 1e3
            print(f"{name:<15} {p50:>7.2f} {d50:>7.2f} {p50 - d50:>7.2f} {conn.transactions:>3} {len(stmts):>5}  "
                  f"{', '.join(stmts)}")
        print(f"\n{'statement':<32} {'ms':>6} {'db hits':>9} {'rows':>6}  scans (first request using it)")
        for s, (p, who) in plans.items():
            ms, hits, rows, scans = plan_summary(conn, s, p)
            print(f"{s:<32} {ms:>6.2f} {hits:>9} {rows:>6}  {'; '.join(scans) or '-'} ({who})")
    finally:
        store.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
