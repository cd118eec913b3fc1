"""Whether two embedded homes hold the same built graph: every node and edge with its properties, and the vectors.

    PYTHONPATH=$PWD python benchmarks/compare_builds.py HOME_A HOME_B

For checking that a change to the build's speed changed no result: build the same corpus with the old and the new
code into two homes, then compare them. Prints the count of nodes and edges per label/type, a digest of each side,
and the first differences (SIMILAR_TO edges with their score and confidence first); exits 1 when they differ.
The build's time stamp and timings (meta) are not compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def graph_lines(home: Path) -> tuple[dict[str, list[str]], str, Counter[str]]:
    """Per edge type (and ``node:<label>``): sorted lines of the graph, and the vectors' digest."""
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    built = EmbeddedStore(home).load_for_update()
    g = built.graph
    lines: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    for node, data in g.nodes(data=True):
        key = f"node:{data.get('label')}"
        counts[key] += 1
        lines.setdefault(key, []).append(f"{node}\t{canonical(dict(data))}")
    for src, dst, data in g.edges(data=True):
        key = str(data.get("type"))
        counts[key] += 1
        lines.setdefault(key, []).append(f"{src}\t{dst}\t{canonical(dict(data))}")
    for v in lines.values():
        v.sort()
    m = built.vectors
    digest = hashlib.sha256()
    digest.update(canonical(list(built.direction_ids)).encode())
    if hasattr(m, "indptr"):
        for part in (m.indptr, m.indices, m.data):
            digest.update(np.ascontiguousarray(part).tobytes())
    else:
        digest.update(np.ascontiguousarray(m).tobytes())
    digest.update(canonical(built.encoder_state).encode())
    return lines, digest.hexdigest(), counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--show", type=int, default=5, help="differences printed per kind")
    args = ap.parse_args()
    la, va, ca = graph_lines(args.a)
    lb, vb, cb = graph_lines(args.b)
    same = True
    order = sorted(set(la) | set(lb), key=lambda k: (k != "SIMILAR_TO", k))
    print("| kind | A | B | equal |\n|---|---|---|---|")
    for kind in order:
        a, b = la.get(kind, []), lb.get(kind, [])
        eq = a == b
        same &= eq
        print(f"| {kind} | {ca[kind]} | {cb[kind]} | {'yes' if eq else 'NO'} |")
    print(f"| vectors + encoder state | {va[:12]} | {vb[:12]} | {'yes' if va == vb else 'NO'} |")
    same &= va == vb
    for kind in order:
        a, b = set(la.get(kind, [])), set(lb.get(kind, []))
        if a == b:
            continue
        print(f"\n{kind}: {len(a - b)} only in A, {len(b - a)} only in B")
        for line in sorted(a - b)[: args.show]:
            print("  A:", line[:400])
        for line in sorted(b - a)[: args.show]:
            print("  B:", line[:400])
    print("\nidentical" if same else "\nDIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
