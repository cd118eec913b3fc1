"""How specific a term is in Chinese at large: a factor on a feature's corpus idf from jieba's general idf table.

A guideline corpus's own idf cannot tell a buzzword from a topic when both are rare in it: 平台, 技术, 系统, 大模型
link unrelated directions across programs. jieba ships an idf table of general Chinese (``jieba/analyse/idf.txt``,
270,131 words); a character bigram that is a common word anywhere (技术 4.7, 系统 5.0, 平台 6.2) then loses some of
its weight, one that is rarer in general text than the corpus's typical bigram (影像 8.8, 接口 8.7) gains some; a
bigram the table lacks (脑机, or one across two words) keeps its idf. No grades are read.

The factor of a feature is ``(general idf / ref) ^ γ``, clipped to :data:`CLIP`, where ``ref`` is the median general
idf of the features of the vocabulary the table holds (so a feature as specific as the corpus's typical one keeps
its idf). Only bigrams are looked up: the table's idf of a single character is that of the character used as a
word on its own (研 9.6, 究 8.8 beside 研究 4.3), not its specificity in a word. Chosen on the graded set (issue 15,
``scripts/relevance_general_idf.py``): on top of the learned term weights, bigrams at γ 1 lift the nested CV's
nDCG@5 by about 0.01 on every fold seed tried; every n-gram looked up does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np

#: No feature is cut below a quarter or lifted above twice its corpus idf.
CLIP = (0.25, 2.0)


def general_idf_table(words: Collection[str] | None = None) -> dict[str, float]:
    """The general-Chinese idf table jieba ships ("word idf" a line; 270,131 words), or its entries for ``words``.

    Read afresh on every call: the whole table as a dict is ~50 MB, and a build needs only its vocabulary's entries.
    """
    from importlib import resources

    out: dict[str, float] = {}
    with resources.files("jieba").joinpath("analyse", "idf.txt").open(encoding="utf-8") as lines:
        for line in lines:
            word, _, idf = line.strip().rpartition(" ")
            if word and (words is None or word in words):
                out[word] = float(idf)
    return out


def general_idf_factors(words: Sequence[str], table: Mapping[str, float], *, gamma: float,
                        absent: str = "one", clip: tuple[float, float] = CLIP,
                        bigrams_only: bool = False) -> np.ndarray:
    """Per word (a feature's text: a character unigram or bigram, lowered as encoded), a factor on its corpus idf.

    ``(idf_g / ref)^γ``, clipped; ``ref`` is the median general idf of the words found, so a word as specific as the
    corpus's typical one keeps its idf and a general-Chinese common one (技术 4.7, 系统 5.0, 平台 6.2) loses some. A
    word the table lacks (a bigram across two words, Latin, digits) gets ``absent``: "one" (factor 1) or "median"
    (the table's median idf, as ``jieba.analyse`` treats an unknown word). ``bigrams_only``: a single character
    counts as absent (its table idf is that of the character as a word on its own: 研 9.6 though 研究 is 4.3).
    """
    found = np.array([math.nan if bigrams_only and len(t) < 2 else table.get(t, math.nan) for t in words],
                     dtype=np.float64)
    hit = ~np.isnan(found)
    if not hit.any():
        return np.ones(len(words))
    ref = float(np.median(found[hit]))
    if absent == "median":
        found[~hit] = float(np.median(np.fromiter(table.values(), dtype=np.float64)))
    elif absent != "one":
        raise ValueError(f"absent: 'one' or 'median', not {absent!r}")
    factor = np.clip((np.where(np.isnan(found), ref, found) / ref) ** gamma, *clip)
    return np.where(np.isnan(found), 1.0, factor)
