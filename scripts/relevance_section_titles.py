"""Would a direction's section title (its guideline's heading above it) help the similar-directions ranking?

A one-off measurement for issue 15: the section headings name topics (量子科技, 脑机接口, 神经系统和精神疾病精准诊疗 …)
or only categories (重点攻关类). This adds each direction's ``section_title`` to one of its encoded fields (the
keywords or the title) for the run of this script only, and prints the shipped method's nested cross-validated
nDCG@5 under the headline fold seeds and five more, beside the unchanged fields.

    python scripts/relevance_section_titles.py

Measured 1 December 2026 (session 17): unchanged 0.702 / 0.693 (seeds 15,1–4 / 5–9), section title in the
keywords 0.687 / 0.676, in the title 0.687 / 0.676: it hurts (topic headings such as 人工智能 join the buzzwords
the rubric grades as unrelated), not shipped.
"""

from __future__ import annotations

from collections.abc import Callable

from fundgraph.core.settings import Settings
from fundgraph.evaluation import relevance as R
from fundgraph.graph.build import similarity as S
from fundgraph.loaders.records import Direction

SEED_SETS = (tuple(R.SEEDS), tuple(R.CHECK_SEEDS))


def with_section(where: str | None) -> Callable[[Direction], dict[str, str]]:
    """:func:`direction_fields` with the section title joined to the field ``where`` (None: unchanged)."""
    plain = S.direction_fields

    def fields(d: Direction) -> dict[str, str]:
        f = plain(d)
        if where and d.section_title:
            sep = "；" if where == "keywords" else " "
            f[where] = f"{f[where]}{sep}{d.section_title}" if f[where] else d.section_title
        return f

    return fields


def main() -> None:
    graded = R.load_graded()
    plain = S.direction_fields
    print("section title  " + "  ".join(f"nDCG@5 seeds {','.join(map(str, s))}" for s in SEED_SETS))
    for where in (None, "keywords", "title"):
        S.direction_fields = with_section(where)
        try:
            learned = R.LearnedRuns(R.ShippedRuns(Settings(), graded))
            cells = []
            for seeds in SEED_SETS:
                spread = R.multi_seed_cv(learned, graded, seeds=seeds, confidences=R.CONFIDENCES)
                rel, judged = spread.pooled_edges
                cells.append("{:.3f} [{:.3f}–{:.3f}] edges {}/{}".format(*spread.spread("ndcg"), rel, judged))
        finally:
            S.direction_fields = plain
        print(f"{where or 'not added':<14} " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
