"""Load throughput into a real Neo4j: the batched loader (UNWIND $rows … MERGE, one transaction per batch)
against a naive loader (one auto-commit statement per node and per relationship, :func:`load_rows_naively`,
the baseline kept here rather than in the store), in the same run.

Usage:
    python benchmarks/neo4j_load.py                 # starts the test Neo4j (tools/neo4j-launcher) itself
    python benchmarks/neo4j_load.py --uri bolt://127.0.0.1:7687 --user neo4j --password secret

Prints nodes+relationships per second of each loader and their ratio. Each timed load starts from an empty
database; one untimed batched load warms the server up first.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fundgraph.core.settings import Settings  # noqa: E402
from fundgraph.cypher.catalog import query  # noqa: E402
from fundgraph.graph.build.pipeline import build_graph  # noqa: E402
from fundgraph.graph.stores.base import BuiltGraph  # noqa: E402
from fundgraph.graph.stores.neo4j.loader import load_statements  # noqa: E402
from fundgraph.graph.stores.neo4j.store import Neo4jStore  # noqa: E402


def load_rows_naively(store: Neo4jStore, built: BuiltGraph, build: str) -> int:
    """The naive loader (the baseline): the batched loader's statements, one auto-commit statement per row.

    Returns:
        The number of statements run.
    """
    n = 0
    with store.driver.session(database=store.database) as session:
        for stmt, rows in load_statements(built):
            text = query(stmt)
            for row in rows:
                session.run(text, rows=[row], build=build).consume()
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uri", help="an existing Neo4j (default: start the test launcher)")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="timed batched loads (the best is reported)")
    args = ap.parse_args()

    server = None
    if args.uri:
        uri = args.uri
    else:
        from tests.neo4j.harness import Neo4jProcess

        server = Neo4jProcess().start()
        uri = server.uri
        print(f"started Neo4j 5.26 (neo4j-harness) at {uri} in {server.startup_s:.1f} s")
    settings = Settings(
        store="neo4j", neo4j_uri=uri, neo4j_user=args.user, neo4j_password=args.password, encoder="lexical"
    )
    store = Neo4jStore.from_settings(settings, batch_size=args.batch_size)
    try:
        built = build_graph(settings)
        n_nodes, n_rels = built.graph.number_of_nodes(), built.graph.number_of_edges()
        items = n_nodes + n_rels
        print(f"corpus graph: {n_nodes} nodes + {n_rels} relationships = {items} items")

        store.clear()
        store.replace(built)  # warm-up (schema, vector index, JIT), not timed
        batched = []
        for _ in range(args.repeat):
            store.clear()
            t0 = time.perf_counter()
            store.replace(built)
            batched.append(time.perf_counter() - t0)
            assert store.counts() == (n_nodes, n_rels)
        best = min(batched)

        store.clear()
        t0 = time.perf_counter()
        statements = load_rows_naively(store, built, uuid.uuid4().hex)
        naive = time.perf_counter() - t0
        assert store.counts() == (n_nodes, n_rels), store.counts()
        store.clear()
        store.replace(built)  # leave the database holding the graph

        b_rate, n_rate = items / best, items / naive
        print(
            f"batched (UNWIND, batch {args.batch_size}): {best:.2f} s  {b_rate:,.0f} items/s "
            f"(runs: {', '.join(f'{t:.2f}' for t in batched)} s)"
        )
        print(f"naive   ({statements} statements):      {naive:.2f} s  {n_rate:,.0f} items/s")
        print(f"ratio batched/naive: {b_rate / n_rate:.1f}x")
    finally:
        store.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
