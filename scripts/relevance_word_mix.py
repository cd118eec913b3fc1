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
    R.run_rows(rows, graded, seed_sets, knob="word_mix", json_path=args.json)


if __name__ == "__main__":
    main()
