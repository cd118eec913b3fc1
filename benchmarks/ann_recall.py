"""How many of the exact lists the nearest-neighbour path finds, by candidates asked per row, on a built graph.

    PYTHONPATH=$PWD python benchmarks/ann_recall.py --home /tmp/fundgraph-scale/home-n100000-main \
        [--rows 1000] [--candidates 60 120 180 360]

Reads the home's vectors and entity profiles, ranks a seeded sample of rows against every direction (the exact
path: every pair scored) for the build's SIMILAR_TO edges (best 5 of other programs at the calibrated threshold)
and its pools (best 30 of other programs, which the word mix re-orders), then ranks the same rows as the build
does above ``exact_similarity_max`` with each candidate count (``ann.candidate_count`` replaced for the run), and
prints, per count and list: the share of the exact pairs found, the share of rows whose list is exactly the
exhaustive one, and the seconds the sample took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fundgraph.embeddings import ann
from fundgraph.embeddings.calibration import calibration_for
from fundgraph.embeddings.scoring import ScoringConfig
from fundgraph.embeddings.topk import Selection, neighbour_index, top_k_all
from fundgraph.embeddings.words import WORD_POOL
from fundgraph.graph.stores.embedded.store import EmbeddedStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--candidates", type=int, nargs="+", default=[60, 120, 180, 360])
    args = ap.parse_args()
    cands = EmbeddedStore(args.home).queries().candidates()
    config = ScoringConfig()
    calibration = calibration_for("lexical")
    threshold = calibration.min_score() if calibration is not None else 0.25
    sample = np.sort(np.random.default_rng(args.seed).choice(len(cands.ids), min(args.rows, len(cands.ids)),
                                                             replace=False))
    selections = [Selection(5, threshold, cross_group=True, explain=False),
                  Selection(WORD_POOL, None, cross_group=True, explain=False)]
    exact = top_k_all(cands, config, selections, rows=sample, exact_max=None)
    neighbours = neighbour_index(cands, config, exact_max=0)
    print(f"{len(cands.ids):,} directions, {sample.size} rows sampled (seed {args.seed}); shipped: "
          f"{ann.candidate_count(WORD_POOL)} candidates\n")
    print("| candidates | list | exact pairs | found | rows equal | seconds |\n|---|---|---|---|---|---|")
    shipped = ann.candidate_count
    try:
        for count in args.candidates:
            ann.candidate_count = lambda _k, c=count: c  # type: ignore[assignment]
            t0 = time.perf_counter()
            got = top_k_all(cands, config, selections, rows=sample, exact_max=0, neighbours=neighbours)
            took = time.perf_counter() - t0
            for name, want_rows, got_rows in (("edges", exact[0], got[0]), ("pools", exact[1], got[1])):
                want = {(r, s.id) for r, row in enumerate(want_rows) for s in row}
                found = {(r, s.id) for r, row in enumerate(got_rows) for s in row}
                equal = np.mean([[s.id for s in a] == [s.id for s in b]
                                 for a, b in zip(want_rows, got_rows, strict=True)])
                print(f"| {count} | {name} | {len(want):,} | {len(want & found) / max(len(want), 1):.3f} | "
                      f"{equal:.3f} | {took:.1f} |")
    finally:
        ann.candidate_count = shipped


if __name__ == "__main__":
    main()
