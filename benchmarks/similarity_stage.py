"""CPU of the build's similarity and communities stages on the first N directions of a built home (same vectors).

    PYTHONPATH=$PWD python benchmarks/similarity_stage.py --home /tmp/fundgraph-scale/home-n100000-main \
        --directions 20000 --out /tmp/sim-20k.pkl [--compare /tmp/sim-20k-main.pkl]

Reads the home's stored vectors and entity profiles (no parsing or encoding), ranks every direction as the build
does (SIMILAR_TO across programs at the calibrated threshold, and the communities' lists over all programs, one
``top_k_all`` pass; the nearest-neighbour path above ``exact_similarity_max``), runs Louvain, and prints wall and
CPU seconds. ``--out`` pickles the lists and communities; ``--compare`` reports how many rows differ from another
run's (e.g. the same command run from a checkout of main), so a speed-up can be shown to give the same edges.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import time
from pathlib import Path

import networkx as nx

from fundgraph.core.settings import Settings
from fundgraph.embeddings.calibration import calibration_for
from fundgraph.embeddings.scoring import Candidates, ScoringConfig
from fundgraph.embeddings.topk import Selection, top_k_all
from fundgraph.graph.build.similarity import add_communities
from fundgraph.graph.stores.embedded.store import EmbeddedStore


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def first_rows(home: Path, n: int) -> Candidates:
    c = EmbeddedStore(home).queries().candidates()
    rows = list(range(min(n, len(c.ids))))
    return Candidates(ids=[c.ids[i] for i in rows], programs=[c.programs[i] for i in rows], vectors=c.vectors[rows],
                      entities=[dict(c.entities[i]) for i in rows], info=c.info, idf=dict(c.idf),
                      parents=dict(c.parents), hierarchy_decay=c.hierarchy_decay, type_weights=dict(c.type_weights))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--directions", type=int, default=20000)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", type=Path)
    args = ap.parse_args()
    settings = Settings()
    cands = first_rows(args.home, args.directions)
    config = ScoringConfig()
    calibration = calibration_for("lexical")
    edge_threshold = calibration.min_score() if calibration is not None else 0.25
    t0, c0 = time.perf_counter(), cpu_s()
    across, everywhere = top_k_all(cands, config, [
        Selection(settings.similar_top_k, edge_threshold, cross_group=True),
        Selection(settings.similar_top_k, 0.25),
    ], exact_max=settings.exact_similarity_max)
    t1, c1 = time.perf_counter(), cpu_s()
    kept = add_communities(nx.MultiDiGraph(), cands, config, top_k=settings.similar_top_k, threshold=0.25,
                           ranked=everywhere)
    t2, c2 = time.perf_counter(), cpu_s()
    n = len(cands.ids)
    print(f"| {n:,} directions | wall s | CPU s |\n|---|---|---|")
    print(f"| similarity | {t1 - t0:.1f} | {c1 - c0:.1f} |\n| communities | {t2 - t1:.1f} | {c2 - c1:.1f} |")
    print(f"SIMILAR_TO {sum(map(len, across))}, communities' lists {sum(map(len, everywhere))}, "
          f"communities {len(kept)}")

    def dump(lists: list) -> list:
        return [[(s.id, s.score, s.text_score, s.entity_score, s.shared, s.summary) for s in r] for r in lists]

    result = {"across": dump(across), "everywhere": dump(everywhere), "communities": kept}
    if args.out:
        args.out.write_bytes(pickle.dumps(result))
    if args.compare:
        other = pickle.loads(args.compare.read_bytes())
        for key in ("across", "everywhere"):
            differ = sum(1 for a, b in zip(result[key], other[key], strict=True) if a != b)
            print(f"{key}: {differ} of {n} rows differ from {args.compare}")
        print("communities equal:", result["communities"] == other["communities"])


if __name__ == "__main__":
    main()
