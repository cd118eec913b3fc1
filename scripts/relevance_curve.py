"""Learning curve of the shipped method's nested CV (issue 15): does it gain from more graded queries?

The shipped scoring learns term weights from the graded pairs; its nested cross-validated nDCG@5 is the figure
issue 15 judges. Run with more outer folds, each fold trains on more queries (3 folds: ~29 of 44; 5: ~35; 11:
~40); if the figure climbed with the training size, grading more queries would be the way to raise it.

    python scripts/relevance_curve.py --folds 3 5 11

Prints, per fold count, the training size and nDCG@5 / P@5 (mean over the fold seeds, lowest, highest).
"""

from __future__ import annotations

import argparse

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, nargs="+", default=[3, 5, 11])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(R.SEEDS))
    args = ap.parse_args()
    graded = R.load_graded()
    learned = R.LearnedRuns(R.ShippedRuns(Settings(), graded))
    n = len(graded.queries)
    print(f"graded set: {n} queries; nested CV of the shipped method, fold seeds {args.seeds}")
    print(f"{'outer folds':>11} {'train queries':>13} {'nDCG@5':>22} {'P@5':>22}")
    for f in args.folds:
        spread = R.multi_seed_cv(learned, graded, seeds=args.seeds, confidences=R.CONFIDENCES, outer_folds=f)
        cells = ["{:.3f} [{:.3f}–{:.3f}]".format(*spread.spread(a)) for a in ("ndcg", "p_at_k")]
        print(f"{f:>11} {n - n / f:>13.1f} {cells[0]:>22} {cells[1]:>22}", flush=True)


if __name__ == "__main__":
    main()
