"""Session 22's ablation: the shipped method's idf times a general-language factor from jieba's idf table.

Each row is a multi-seed nested CV (:func:`fundgraph.evaluation.relevance.multi_seed_cv`) under the headline's
fold seeds and under the check seeds; the shipped method is measured in the same run, so the rows compare alike.

    python scripts/relevance_general_idf.py                  # every row, seeds 15, 1-4 then 5-9
    python scripts/relevance_general_idf.py --rows 0 1 2 --seeds 5 6 7 8 9

Prints the headline table (:func:`fundgraph.evaluation.relevance.format_spreads`) after each row, and the folds'
choices of γ and α.
"""

from __future__ import annotations

import argparse

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", help="row indices of general_idf_ablation (default: all)")
    ap.add_argument("--seeds", type=int, nargs="+", help="one seed set (default: SEEDS, then CHECK_SEEDS)")
    ap.add_argument("--json", help="write the spreads here")
    args = ap.parse_args()
    graded = R.load_graded()
    rows = R.general_idf_ablation(R.ShippedRuns(Settings(), graded))
    chosen = [rows[i] for i in args.rows] if args.rows else rows
    seed_sets = [tuple(args.seeds)] if args.seeds else [R.SEEDS, R.CHECK_SEEDS]
    R.run_rows(chosen, graded, seed_sets, knob="features", json_path=args.json)


if __name__ == "__main__":
    main()
