"""Word TF-IDF of a direction's text, and the mix that re-orders the best of a first pass by it (issue 15).

The shipped score ranks by character bigrams (:class:`~fundgraph.embeddings.encoders.LexicalEncoder`) and shared
entities. Where the bigrams mislead (神经微分方程 meets neuroscience through 神经), whole words often hold the related
directions: so the first pass's best :data:`WORD_POOL` are re-ordered by

    (1 − m) · s / s_max + m · w / w_max

``s`` the shipped score, ``w`` the cosine of the two texts' word TF-IDF rows (:class:`WordVectoriser`), each over
its best in the pool, ``m`` the build's :attr:`ScoringConfig.word_mix` (chosen by cross-validation on the graded
set, ``fundgraph eval similarity``). Below the pool the order is the first pass's. The mix re-orders a list; it
adds no SIMILAR_TO edge and moves no confidence (both come from ``s``), and it reads no grade.

Words are cut by jieba-rs (``rjieba``: jieba's dictionary and algorithm in Rust, 11× jieba's speed; 99.7 % of the
bundled corpus's blocks are cut alike), and kept as :class:`Tokeniser` keeps jieba's (no stopwords, numbers or
single Latin letters).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx

_CJK = re.compile(r"[\u4e00-\u9fff]")
#: How many of the first pass's best the word mix re-orders (the re-rankers' pool of the relevance evaluation;
#: not tuned).
WORD_POOL = 30


def words(text: str) -> list[str]:
    """The words of ``text`` the word TF-IDF counts, cut by jieba-rs."""
    import jieba
    import rjieba

    from fundgraph.embeddings.encoders import Tokeniser

    out: list[str] = []
    for block in jieba.re_han_default.split(text or ""):
        if block:
            out.extend(Tokeniser._keep(rjieba.cut(block, True)))
    return out


class WordVectoriser:
    """Plain word TF-IDF (scikit-learn's: raw counts, smoothed idf, unit rows) of texts cut by :func:`words`.

    Fitted once per build on every direction's text (scikit-learn's ``TfidfVectorizer``); its vocabulary and idf
    are kept in the build's state, so a query's row and an added document's rows are weighed as the build's were
    (words it has not seen count for nothing until the next full build). Rows of new texts are made here, with
    scikit-learn's arithmetic step for step (:meth:`encode`), so ``fundgraph add`` and the API never import it.
    """

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: Sequence[float] | None = None) -> None:
        self.vocabulary: dict[str, int] | None = None
        self.idf: np.ndarray | None = None
        self._chinese: np.ndarray | None = None
        if vocabulary is not None and idf is not None:
            if len(vocabulary) != len(idf):
                raise ValueError(f"{len(idf)} idf values for a vocabulary of {len(vocabulary)} words")
            self.vocabulary = dict(vocabulary)
            self.idf = np.asarray(idf, dtype=np.float64)

    @property
    def fitted(self) -> bool:
        """Whether it has a vocabulary (fitted, or rebuilt from a state)."""
        return self.vocabulary is not None

    @property
    def dimension(self) -> int:
        """How many words the vocabulary holds."""
        return len(self.vocabulary) if self.vocabulary is not None else 0

    def fit_encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Fit on ``texts`` and return their rows (unit length, float32 CSR)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(analyzer=words, dtype=np.float32)
        rows = _rows(vec.fit_transform(list(texts)))
        self.vocabulary, self.idf, self._chinese = dict(vec.vocabulary_), np.asarray(vec.idf_), None
        return rows

    def encode(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Rows of ``texts`` with the fitted vocabulary (unit length, float32 CSR; a text with no known word: 0).

        scikit-learn's ``TfidfVectorizer.transform`` (1.x), bit for bit (``tests/embeddings/test_words.py`` holds
        them equal): counts as float32, times the idf in float64 rounded back to float32, each row divided by the
        square root of its float32 squares summed in order in float64, the division in float64.
        """
        if self.vocabulary is None or self.idf is None:
            raise ValueError("the word vectoriser is not fitted")
        vocabulary = self.vocabulary
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            counter: dict[int, int] = {}
            for w in words(text):
                i = vocabulary.get(w)
                if i is not None:
                    counter[i] = counter.get(i, 0) + 1
            indices.extend(counter)
            counts.extend(counter.values())
            indptr.append(len(indices))
        m = sp.csr_matrix((np.asarray(counts, dtype=np.float32), np.asarray(indices, dtype=np.int32),
                           np.asarray(indptr, dtype=np.int32)), shape=(len(indptr) - 1, len(vocabulary)))
        m.sort_indices()
        m.data *= self.idf[m.indices]
        data, ptr = m.data, m.indptr
        for r in range(m.shape[0]):
            part = data[ptr[r]:ptr[r + 1]]
            total = 0.0
            for square in (part * part).tolist():  # float32 squares, summed one by one in float64
                total += square
            if total:
                part[:] = (part.astype(np.float64) / math.sqrt(total)).astype(np.float32)
        return _rows(m)

    def encode_chinese(self, text: str) -> sp.csr_matrix:
        """A free text's row with its Chinese words only (its other words left out; not renormalised).

        What the mix compares with directions' rows for a search: an English or mixed query's Latin words are
        matched to Chinese vocabulary terms by the lexicon instead; kept, a direction that happens to print
        ``PET`` would rise over those the lexicon finds (the mix divides by the pool's best, so the row's length
        does not matter).
        """
        row = self.encode([text])
        if self._chinese is None:
            vocabulary = self.vocabulary or {}
            self._chinese = np.zeros(len(vocabulary), dtype=bool)
            for w, i in vocabulary.items():
                self._chinese[i] = _CJK.search(w) is not None
        row.data[~self._chinese[row.indices]] = 0
        row.eliminate_zeros()
        return row

    def state(self) -> dict[str, Any]:
        """JSON-able vocabulary (words in column order) and idf."""
        vocabulary = self.vocabulary or {}
        ordered = sorted(vocabulary, key=vocabulary.__getitem__)
        return {"words": ordered, "idf": [round(float(x), 6) for x in (self.idf if self.idf is not None else ())]}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> WordVectoriser | None:
        """Rebuild from :meth:`state`; None for a build that kept no word vocabulary."""
        if not state or not state.get("words"):
            return None
        return cls({w: i for i, w in enumerate(state["words"])}, state["idf"])


def _rows(m: Any) -> sp.csr_matrix:
    """Unit-length float32 CSR rows, canonical (as the stores write and read them)."""
    out = vx.to_csr(sp.csr_matrix(m, dtype=np.float32))
    out.sum_duplicates()
    return out


def mix_keys(scores: np.ndarray, word: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − m) · s / s_max + m · w / w_max`` over one pool (each over its best; a pool with no word overlap: s)."""
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(word, dtype=np.float64)
    s_top = max(float(s.max(initial=0.0)), 1e-9)
    w_top = float(w.max(initial=0.0))
    mixed = (1 - weight) * s / s_top
    if w_top > 0:
        mixed += weight * w / w_top
    return np.round(mixed, 9)


def mix_order(scores: Sequence[float], word: Sequence[float], ids: Sequence[str], weight: float,
              pool: int = WORD_POOL) -> list[int]:
    """Positions of a first pass's list (best first) in mixed order: its best ``pool`` re-ordered, the rest kept.

    Ties of the mix are broken by id, as every ranking here is, so both stores give the same order.
    """
    n = min(len(ids), pool)
    if weight <= 0 or n < 2:
        return list(range(len(ids)))
    keys = mix_keys(np.asarray(scores[:n]), np.asarray(word[:n]), weight)
    head = sorted(range(n), key=lambda i: (-keys[i], ids[i]))
    return head + list(range(n, len(ids)))


def word_cosines(words_matrix: sp.csr_matrix, rows: Sequence[int], query: sp.csr_matrix) -> np.ndarray:
    """Cosines of the query's word row with ``rows`` of ``words_matrix`` (unit rows: plain products).

    :func:`vectors.cosines`' arithmetic (float64 products in column order), so that the build's
    :func:`pool_orders` (:func:`embeddings.topk.pair_cosines`, the same to the bit) orders pools as a query does.
    """
    if not len(rows) or query.nnz == 0:
        return np.zeros(len(rows))
    return vx.cosines(words_matrix, np.asarray(rows, dtype=np.int64), query.toarray().ravel())


#: Rows whose pools :func:`pool_orders` orders at a time (their pairs' word rows gathered: ~2 M non-zeros).
POOL_ORDER_ROWS = 512


def pair_products(m: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``m[rows[p]] · m[cols[p]]`` for every pair p: :func:`vectors.cosines`' numbers, to the bit.

    Each product of two float32 values is exact in float64, and a CSR row sum adds them from zero in column order,
    as :func:`vectors.cosines` does; the two rows' common columns are found by scipy's sorted-index merge, so the
    cost follows the rows' non-zeros, not the vocabulary (a dense query row per pair would).
    """
    if not len(rows):
        return np.zeros(0)
    a = m[np.asarray(rows, dtype=np.int64)].astype(np.float64)
    b = m[np.asarray(cols, dtype=np.int64)].astype(np.float64)
    return np.clip(np.asarray(a.multiply(b).tocsr().sum(axis=1)).ravel(), -1.0, 1.0)


def pool_orders(members: np.ndarray, scores: np.ndarray, words_matrix: sp.csr_matrix, ids: Sequence[str],
                weight: float, rows: Iterable[int] | None = None) -> np.ndarray:
    """Each row's pool (its first pass's best, score order: ``members``, ``scores``) in the mix's order.

    Returns positions into each row's pool (int16; -1 past a short pool): :func:`mix_order` of the pool with the
    row's own word row against its members' (the same keys, the same ties by id), for all rows at once. That is
    what ``similar`` returns for any k up to the pool, with no ranking at query time. ``rows``: only these (the
    others keep the identity, for the caller to fill in).
    """
    n, width = members.shape
    out = np.tile(np.arange(width, dtype=np.int16), (n, 1))
    out[members < 0] = -1
    sel = np.arange(n, dtype=np.int64) if rows is None else np.asarray(list(rows), dtype=np.int64)
    if weight <= 0 or sel.size == 0 or width < 2:
        return out
    mem = np.asarray(members[sel], dtype=np.int64)
    valid = mem >= 0
    w = np.zeros(mem.shape, dtype=np.float64)
    for lo in range(0, sel.size, POOL_ORDER_ROWS):  # a block of rows at a time
        hi = min(lo + POOL_ORDER_ROWS, sel.size)
        ok = valid[lo:hi]
        w[lo:hi][ok] = pair_products(words_matrix, np.repeat(sel[lo:hi], width)[ok.ravel()], mem[lo:hi][ok])
    s = np.where(valid, np.asarray(scores[sel], dtype=np.float64), 0.0)
    # mix_keys, row by row: each over its best in the pool (no word overlap: the score alone)
    s_top = np.maximum(s.max(axis=1), 1e-9)
    w_top = w.max(axis=1)
    mixed = (1 - weight) * s / s_top[:, None]
    mixed = np.where((w_top > 0)[:, None], mixed + weight * w / np.where(w_top > 0, w_top, 1.0)[:, None], mixed)
    keys = np.where(valid, -np.round(mixed, 9), np.inf)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.asarray(ids, dtype=object).astype(str), kind="stable")] = np.arange(len(ids))
    by_id = np.where(valid, rank[np.where(valid, mem, 0)], len(ids))
    order = np.lexsort((by_id, keys), axis=1).astype(np.int16)
    order[~np.take_along_axis(valid, order.astype(np.int64), axis=1)] = -1
    out[sel] = order
    return out
