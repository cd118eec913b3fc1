"""The word mix (what ships: the score's best 30 re-ordered by a mix with word TF-IDF) under three fold draws.

Each row is a multi-seed nested CV (:func:`fundgraph.evaluation.relevance.multi_seed_cv`) under the headline's
fold seeds, the check seeds and a third draw (10-14); the score alone (the first pass, no mix) is measured in the
same run, so the rows compare alike. ``--ablation`` adds the rows of ``WORD_MIX_ABLATION``.

    python scripts/relevance_word_mix.py                        # shipped and first pass, three seed sets (~4 min)
    python scripts/relevance_word_mix.py --ablation --rows 3 4 --seeds 10 11 12 13 14

Prints the headline table (:func:`fundgraph.evaluation.relevance.format_spreads`) after each row, and the folds'
choices of the mix and α.
"""

from __future__ import annotations

import argparse

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ablation", action="store_true", help="add the rows of WORD_MIX_ABLATION")
    ap.add_argument("--rows", type=int, nargs="+", help="with --ablation: its row indices (default: all)")
    ap.add_argument("--seeds", type=int, nargs="+",
                    help="one seed set (default: SEEDS, CHECK_SEEDS, then THIRD_SEEDS)")
    ap.add_argument("--json", help="write the spreads here")
    args = ap.parse_args()
    graded = R.load_graded()
    runs = R.ShippedRuns(Settings(), graded)
    chosen = [R.SHIPPED_WORD_MIX]
    if args.ablation:
        chosen += [R.WORD_MIX_ABLATION[i] for i in args.rows] if args.rows else list(R.WORD_MIX_ABLATION)
    rows = [("first pass only (no word mix)", R.LearnedRuns(runs), {})] + [
        (name, R.WordMixRuns(runs, **options), extra) for name, options, extra in chosen]
    seed_sets = [tuple(args.seeds)] if args.seeds else [R.SEEDS, R.CHECK_SEEDS, R.THIRD_SEEDS]
    R.run_rows(rows, graded, seed_sets, knob="word_mix", json_path=args.json)


if __name__ == "__main__":
    main()
