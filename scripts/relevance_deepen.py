"""Deepen the graded pool for a new ranking (issue 15): the pairs its lists hold that no reader has graded yet.

Standard pooling: a system evaluated on a test collection should have its own top lists judged, or it is scored
against pairs the pool never held (unjudged count as 0). This collects, for the pool expansion rankings
(:class:`PoolRankedRuns`: feedback weighted by cosine, β 1, pool 20, 1/3/5 neighbours; and Rocchio's β 0.3/0.6/0.75
with 3/5 neighbours), at every point of their grid, the unjudged pairs of
- the in-sample top 10 (term weights fitted on every graded query: what a build would ship), and
- the out-of-fold top 5 of every outer fold of every fold seed (what the nested CV scores),
and writes them shuffled per query, without scores or system names, for two readers to grade 0/1/2
(``RUBRIC.md``), as ``pool.jsonl`` plus ``sources.json`` (which rankings held each pair).

    python scripts/relevance_deepen.py --out tests/data/relevance/round3
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R
from fundgraph.loaders.corpus import load_corpus


def rankings(runs: R.ShippedRuns) -> dict[str, tuple[R.LearnedRuns, dict[str, tuple[float, ...]]]]:
    """The rankings whose lists are pooled, each with the knobs its grid adds to :data:`R.LEARNED_GRID`."""
    return {
        "cosine-feedback": (R.PoolRankedRuns(runs, by_cosine=True, pool=20), {"beta": (1.0,), "neighbours": (1, 3, 5)}),
        "rocchio": (R.PoolRankedRuns(runs), {"beta": (0.3, 0.6, 0.75), "neighbours": (3, 5)}),
    }


def unjudged(graded: R.GradedSet, sig: R.Signal, depth: int) -> list[tuple[str, str]]:
    run, _ = R.signal_run(sig, graded, depth=depth)
    return [(q, c) for q, lst in run.items() for c, _ in lst if c not in graded.grades.get(q, {})]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=12, help="shuffle of each query's candidates")
    args = ap.parse_args()

    settings = Settings()
    graded = R.load_graded()
    runs = R.ShippedRuns(settings, graded)
    queries = list(graded.queries)
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, (learned, extra) in rankings(runs).items():
        for p in R.learned_points(grid={**R.LEARNED_GRID, **extra}):
            for pair in unjudged(graded, learned.signal(p, queries, queries), 10):
                sources[pair].add(f"{name} in sample")
            for seed in R.SEEDS:
                for test in R.folds(queries, seed=seed):
                    train = [q for q in queries if q not in test]
                    for pair in unjudged(graded, learned.signal(p, train, test), R.K):
                        sources[pair].add(f"{name} out of fold")

    by_id = {d.id: d for doc in load_corpus(settings.manifest) for d in doc.directions}

    def card(d) -> dict:
        return {"id": d.id, "program": d.program_id, "title": d.title, "keywords": list(d.keywords),
                "content": (d.content or "")[:600], "metrics": (d.metrics or "")[:200]}

    rng = random.Random(args.seed)
    by_query: dict[str, list[str]] = defaultdict(list)
    for q, c in sorted(sources):
        by_query[q].append(c)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "pool.jsonl").open("w", encoding="utf-8") as fh:
        for q in sorted(by_query):
            cands = by_query[q]
            rng.shuffle(cands)
            for c in cands:
                fh.write(json.dumps({"query": card(by_id[q]), "candidate": card(by_id[c])}, ensure_ascii=False) + "\n")
    (args.out / "sources.json").write_text(
        json.dumps({f"{q}|{c}": sorted(s) for (q, c), s in sorted(sources.items())}, ensure_ascii=False, indent=1)
        + "\n", encoding="utf-8")
    print(f"{len(sources)} unjudged pairs of {len(by_query)} queries → {args.out}")


if __name__ == "__main__":
    main()
