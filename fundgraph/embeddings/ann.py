"""Approximate nearest neighbours of every direction, to pick candidate columns at large N (sub-quadratic).

The combined score of two directions is the inner product of their *combined* rows

    ``[√text_weight · text | √entity_weight · entities]``

(unit text rows, unit idf-weighted entity rows: :func:`embeddings.topk.candidate_sets` computes the same two
products). Those rows are sparse and wide (about 20,000 lexical dimensions on the corpora measured, plus one per
entity), so they are reduced to :data:`DIM` dimensions by a seeded Gaussian random projection (one sparse × dense
product) and the projections
go into an HNSW graph (``hnswlib``, inner product on unit rows). Each row's ``K`` nearest projections are its
candidates; the caller scores them exactly. Measured against the exact top k on the 20,000-direction synthetic corpus in
``benchmarks/ann_choice.py``.

Nothing here is exact: a candidate list may miss a true neighbour (the benchmark states how often).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Dimensions of the reduced projection.
DIM = 256
#: HNSW graph degree and construction beam (hnswlib ``M`` and ``ef_construction``).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 100
#: Seed of the projection and the HNSW graph: the same corpus gives the same candidates.
SEED = 0


def combined_rows(
    vectors: np.ndarray | sp.csr_matrix, entities: sp.csr_matrix, *, text_weight: float, entity_weight: float
) -> sp.csr_matrix | np.ndarray:
    """``[√text_weight · vectors | √entity_weight · entities]``: row i · row j is the pair's combined score."""
    a, b = math.sqrt(max(text_weight, 0.0)), math.sqrt(max(entity_weight, 0.0))
    if sp.issparse(vectors):
        return sp.hstack([sp.csr_matrix(vectors, dtype=np.float32) * a,
                          sp.csr_matrix(entities, dtype=np.float32) * b], format="csr")
    dense = np.asarray(vectors, dtype=np.float32) * a
    if entities.shape[1] == 0:
        return dense
    return sp.hstack([sp.csr_matrix(dense), sp.csr_matrix(entities, dtype=np.float32) * b], format="csr")


def projection(rows: sp.csr_matrix | np.ndarray, *, dim: int = DIM, seed: int = SEED) -> np.ndarray:
    """Rows times a seeded Gaussian ``width × dim`` matrix, scaled to unit length, float32.

    Inner products of the projections estimate the combined scores (Johnson–Lindenstrauss); measured on the
    20,000-direction corpus this ranks the true neighbours into the first :func:`candidate_count` as well as a
    truncated SVD of twice the cost per dimension does, and costs one sparse × dense product instead of an SVD
    (``benchmarks/ann_choice.py``).
    """
    n, width = rows.shape
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((width, dim), dtype=np.float32)
    out = np.asarray(rows @ basis, dtype=np.float32) if width else np.zeros((n, dim), np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


@dataclass
class NeighbourIndex:
    """An HNSW index over the projected rows (row number = label)."""

    index: object
    size: int

    @classmethod
    def build(cls, points: np.ndarray, *, m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION,
              threads: int = 1, seed: int = SEED) -> NeighbourIndex:
        """Index ``points`` (unit rows).

        One thread by default: inserting in parallel makes the graph (and so the candidates) depend on the
        threads' timing, and a build must give the same edges every time (queries may run in parallel).
        """
        import hnswlib

        n, dim = points.shape
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=max(n, 1), M=m, ef_construction=ef_construction, random_seed=seed)
        if n:
            index.add_items(points, np.arange(n), num_threads=threads)
        return cls(index, n)

    def query(self, points: np.ndarray, k: int, *, threads: int = -1) -> np.ndarray:
        """The ``k`` nearest labels of each point (rows × k, int64; -1 pads when the index has fewer)."""
        rows = points.shape[0]
        kk = min(k, self.size)
        if rows == 0 or kk == 0:
            return np.full((rows, k), -1, dtype=np.int64)
        self.index.set_ef(max(2 * kk, 64))
        labels, _ = self.index.knn_query(points, k=kk, num_threads=threads)
        out = np.full((rows, k), -1, dtype=np.int64)
        out[:, :kk] = labels
        return out


def neighbour_candidates(
    points: np.ndarray,
    k: int,
    *,
    rows: Sequence[int] | np.ndarray | None = None,
    groups: np.ndarray | None = None,
    cross_k: int = 0,
    max_k: int = 1024,
    index: NeighbourIndex | None = None,
) -> np.ndarray:
    """Each row's ``k`` approximate nearest other rows (rows × K, ascending by nothing in particular; -1 pads).

    With ``groups`` and ``cross_k``, a row whose list holds fewer than ``cross_k`` rows of other groups is asked
    again with twice as many neighbours (up to ``max_k``), so a program's own directions cannot crowd out the
    cross-program candidates. A row is never its own candidate.
    """
    index = index or NeighbourIndex.build(points)
    rows_ = np.arange(points.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    found = _query_without_self(index, points, rows_, k)
    if groups is None or cross_k <= 0:
        return found
    lists: list[np.ndarray] = list(found)
    want = k
    short = _short_rows(found, rows_, groups, cross_k)
    while short.size and want < min(max_k, index.size):
        want = min(2 * want, max_k, index.size)
        again = _query_without_self(index, points, rows_[short], want)
        for r, got in zip(short.tolist(), again, strict=True):
            lists[r] = got
        short = short[_short_rows(again, rows_[short], groups, cross_k)]
    width = max(len(x) for x in lists)
    out = np.full((rows_.size, width), -1, dtype=np.int64)
    for r, got in enumerate(lists):
        out[r, : got.size] = got
    return out


def _query_without_self(index: NeighbourIndex, points: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    got = index.query(points[rows], k + 1)
    got[got == rows[:, None]] = -1
    # drop one column: the self hit where there was one, else the farthest neighbour
    order = np.argsort(got < 0, axis=1, kind="stable")
    return np.take_along_axis(got, order, axis=1)[:, :k]


def _short_rows(found: np.ndarray, rows: np.ndarray, groups: np.ndarray, cross_k: int) -> np.ndarray:
    other = (found >= 0) & (groups[np.maximum(found, 0)] != groups[rows][:, None])
    return np.flatnonzero(other.sum(axis=1) < cross_k)


def candidate_count(k: int) -> int:
    """Approximate neighbours asked per row for a best-``k`` selection (measured in ``benchmarks/ann_choice.py``).

    4k + 10 (30 for k = 5) kept 0.994 of the exact SIMILAR_TO edges at 5,000 directions but only 0.960 at 20,000;
    at 5,000, 60 candidates found 0.9996 of the exact sets against 0.995 for 30. At most :data:`CANDIDATES_MAX`.
    """
    return min(12 * k, CANDIDATES_MAX)


#: Most candidates asked per row (the word mix's pools of 30). At 100,000 directions (1,000 rows against the exhaustive
#: ranking, ``benchmarks/ann_recall.py``) 120 found 0.945 of the SIMILAR_TO pairs and 0.954 of the pools' (60: 0.840 /
#: 0.842; 360, 12k: 0.975 / 0.989, at three times the products' cost: the similarity stage took 159 s of a 260 s build).
CANDIDATES_MAX = 120
