"""Session 23's ablation: the shipped first pass's best re-ordered by a mix with plain word TF-IDF.

Each row is a multi-seed nested CV (:func:`fundgraph.evaluation.relevance.multi_seed_cv`) under the headline's
fold seeds and under the check seeds; the shipped method is measured in the same run, so the rows compare alike.

    python scripts/relevance_word_mix.py                       # every row, seeds 15, 1-4 then 5-9
    python scripts/relevance_word_mix.py --rows 0 --seeds 10 11 12 13 14

Prints the headline table (:func:`fundgraph.evaluation.relevance.format_spreads`) after each row, and the folds'
choices of the mix and α.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", help="row indices of WORD_MIX_ABLATION (default: all)")
    ap.add_argument("--seeds", type=int, nargs="+", help="one seed set (default: SEEDS, then CHECK_SEEDS)")
    ap.add_argument("--json", help="write the spreads here")
    args = ap.parse_args()
    graded = R.load_graded()
    runs = R.ShippedRuns(Settings(), graded)
    shipped = R.LearnedRuns(runs)
    chosen = [R.WORD_MIX_ABLATION[i] for i in args.rows] if args.rows else list(R.WORD_MIX_ABLATION)
    rows = [("shipped (same run)", shipped, {})] + [
        (name, R.WordMixRuns(runs, **options), extra) for name, options, extra in chosen]
    seed_sets = [tuple(args.seeds)] if args.seeds else [R.SEEDS, R.CHECK_SEEDS]
    spreads = []
    for seeds in seed_sets:
        for name, learner, extra in rows:
            sp = R.multi_seed_cv(learner, graded, seeds=seeds, confidences=R.CONFIDENCES,
                                 grid={**R.LEARNED_GRID, **extra}, name=f"{name} s{seeds[0]}-{seeds[-1]}")
            spreads.append(sp)
            print("\n".join(R.format_spreads([sp])[2:3]), flush=True)
            picks = Counter((c.get("word_mix"), c["term_alpha"]) for seed in sp.choices for c in seed)
            print(f"    folds' (mix, α): {dict(picks)}; per-seed edges "
                  f"{[(s.edges_related, s.edges_judged) for s in sp.per_seed]}", flush=True)
    print("\n".join(R.format_spreads(spreads)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([s.as_dict() for s in spreads], f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
