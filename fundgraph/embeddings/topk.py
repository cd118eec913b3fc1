"""Every direction's top k neighbours by blocked matrix products, scored exactly as :func:`scoring.rank`.

:func:`scoring.rank` answers one query by looping in Python over every candidate (``weighted_overlap`` per
pair); running it for each of N directions is N² Python calls. Here the same combined score

    ``text_weight · cos(text) + entity_weight · overlap(entities)``

is computed for a block of rows at a time as two matrix products: the text vectors' (dense or
``scipy.sparse``) and the entity profiles' — a sparse directions × entities matrix whose rows are the
idf-weighted profiles scaled to unit length, so one row's product with another is exactly
:func:`similarity.weighted_overlap` (every weight and idf is ≥ 0, so the overlap is a plain cosine).

The matrix scores select a *superset* of each row's top k (every candidate within ``MARGIN`` of the k-th
best, so float rounding of a different summation order cannot drop one), and only those candidates are
re-scored with :func:`scoring.rank`'s own arithmetic and ordering and explained. The result is the list
``rank`` returns, for every row, at O(N · k) Python work instead of O(N²).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings.scoring import Scored, explain
from fundgraph.embeddings.similarity import weighted_overlap

if TYPE_CHECKING:
    from fundgraph.embeddings.scoring import Candidates, ScoringConfig

#: Scores within this of a row's k-th best (or of the threshold) are re-scored exactly: the matrix scores
#: differ from ``rank``'s by float summation order (~1e-7) and its rounding to 6 decimals (≤ 1e-6 twice).
MARGIN = 1e-5
#: Dense score cells per block (rows × candidates): 2**23 float64 cells is 64 MB per array.
BLOCK_CELLS = 2**23


def entity_matrix(profiles: Sequence[Mapping[str, float]], idf: Mapping[str, float]) -> sp.csr_matrix:
    """Directions × entities (CSR, float64): idf-weighted profiles scaled to unit length (zero rows stay zero).

    Row i · row j equals ``weighted_overlap(profiles[i], profiles[j], idf)[0]`` before its cap at 1.
    Columns are entities in sorted id order.
    """
    columns = {e: c for c, e in enumerate(sorted({e for p in profiles for e in p}))}
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for p in profiles:
        row = {columns[e]: w * idf.get(e, 0.0) for e, w in p.items()}
        norm = math.sqrt(sum(x * x for x in row.values()))
        if norm > 0:
            for c in sorted(row):
                if row[c] > 0:
                    indices.append(c)
                    data.append(row[c] / norm)
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(profiles), len(columns)),
    )


def _rows_dense(m: np.ndarray | sp.spmatrix) -> np.ndarray:
    return m.toarray() if sp.issparse(m) else np.asarray(m)


@dataclass(frozen=True)
class Selection:
    """Which neighbours a pass keeps per row: the best ``k``, at least ``threshold``, outside the row's group."""

    k: int
    threshold: float | None = None
    cross_group: bool = False


def text_block(vectors: np.ndarray | sp.spmatrix, rows: range, *, exact: bool) -> np.ndarray:
    """Text cosines of ``rows`` against every row (float32).

    ``exact``: one matrix-vector product per row, the very arithmetic of :func:`scoring.rank`
    (``vectors @ q``), so the rounded text scores are bit-identical to it; a block matrix product sums in
    another order and differs in the last float32 bit (then, after rounding to 6 decimals, by 1e-6 on a
    few pairs in a hundred). Otherwise one product per block (sparse when the vectors are mostly zeros).
    """
    if sp.issparse(vectors):
        return _rows_dense(vectors[rows.start:rows.stop] @ vectors.T).astype(np.float32)
    v = np.asarray(vectors, dtype=np.float32)
    if exact:
        return np.stack([v @ v[i] for i in rows]) if len(rows) else np.zeros((0, v.shape[0]), np.float32)
    return v[rows.start:rows.stop] @ v.T


def candidate_sets(
    vectors: np.ndarray | sp.spmatrix,
    entities: sp.csr_matrix,
    selections: Sequence[Selection],
    *,
    text_weight: float,
    entity_weight: float,
    groups: Sequence[str] | None = None,
    exact: bool = True,
    margin: float = MARGIN,
    block_rows: int | None = None,
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per selection, per row: (candidate columns, their text cosines), a superset of the row's selection.

    Args:
        vectors: text vectors (unit rows), dense or sparse.
        entities: :func:`entity_matrix` of the same rows.
        selections: what to keep; all are served by one pass over the score blocks.
        text_weight: weight of the text cosine.
        entity_weight: weight of the entity overlap.
        groups: group (program) of each row, for selections with ``cross_group``.
        exact: text cosines by :func:`scoring.rank`'s arithmetic (see :func:`text_block`).
        margin: keep every candidate within this of the k-th best score (and of the threshold).
        block_rows: rows per block (default: :data:`BLOCK_CELLS` cells per block).

    A row is never its own candidate. Columns are in ascending order.
    """
    n = vectors.shape[0]
    if entities.shape[0] != n or (groups is not None and len(groups) != n):
        raise ValueError("vectors, entities and groups must have one row per direction")
    if groups is None and any(s.cross_group for s in selections):
        raise ValueError("a cross-group selection needs groups")
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in selections]
    if n == 0:
        return out
    codes = np.unique(np.asarray(list(groups)), return_inverse=True)[1] if groups is not None else None
    step = block_rows or max(1, BLOCK_CELLS // n)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        text = text_block(vectors, range(r0, r1), exact=exact)
        ent = np.minimum(_rows_dense(entities[r0:r1] @ entities.T), 1.0)
        base = text_weight * np.clip(text.astype(np.float64), -1.0, 1.0) + entity_weight * ent
        local = np.arange(r1 - r0)
        base[local, local + r0] = -np.inf
        same = codes[r0:r1, None] == codes[None, :] if codes is not None else None
        for s_no, sel in enumerate(selections):
            scores = base
            if sel.cross_group:
                scores = base.copy()
                scores[same] = -np.inf
            if 0 < sel.k < n:
                kth = np.partition(scores, n - sel.k, axis=1)[:, n - sel.k]
            else:
                kth = np.full(r1 - r0, np.inf if sel.k <= 0 else -np.inf)
            floor = -np.inf if sel.threshold is None else sel.threshold - margin
            keep = (scores >= np.maximum(kth - margin, floor)[:, None]) & np.isfinite(scores)
            for r in range(r1 - r0):
                cols = np.flatnonzero(keep[r])
                out[s_no].append((cols, text[r, cols]))
    return out


def rescore(
    row: int,
    cols: np.ndarray,
    text: np.ndarray,
    cands: Candidates,
    config: ScoringConfig,
    *,
    k: int,
    threshold: float | None = None,
) -> list[Scored]:
    """:func:`scoring.rank`'s scores, order and explanations for row ``row`` over the candidates ``cols``."""
    q = cands.entities[row]
    scored: list[tuple[float, str, int, float]] = []
    for j, tj in zip(cols.tolist(), np.asarray(text, dtype=np.float32).tolist(), strict=True):
        t = round(tj, 6)
        e_score, _ = weighted_overlap(q, cands.entities[j], cands.idf)
        scored.append((round(config.text_weight * t + config.entity_weight * e_score, 6), cands.ids[j], j, t))
    scored.sort(key=lambda s: (-s[0], s[1]))
    out: list[Scored] = []
    for _score, did, j, t in scored[:k]:
        full, e, shared, summary = explain(q, cands.entities[j], cands, t, config)
        s = Scored(j, did, cands.programs[j], round(full, 6), t, round(e, 6), shared, summary)
        if threshold is not None and s.score < threshold:
            break
        out.append(s)
    return out


def top_k_all(
    cands: Candidates,
    config: ScoringConfig,
    selections: Sequence[Selection],
    *,
    exact: bool = True,
    block_rows: int | None = None,
) -> list[list[list[Scored]]]:
    """Per selection, every row's ``rank(vectors[i], entities[i], cands, k=k, exclude=i[, exclude_program])``.

    With a threshold, a row's list stops where a score drops below it (as the build reads ``rank``).
    ``cross_group`` selections rank only candidates of other programs (SIMILAR_TO). One pass over the score
    blocks serves every selection; only the kept candidates are re-scored and explained.

    Args:
        cands: the candidate directions (each is also a query).
        config: weights.
        selections: the lists wanted.
        exact: text scores bit-identical to ``rank`` (see :func:`text_block`).
        block_rows: rows per matrix block (default by memory, :data:`BLOCK_CELLS`).
    """
    ents = entity_matrix(cands.entities, cands.idf)
    sets = candidate_sets(
        cands.vectors, ents, selections, text_weight=config.text_weight, entity_weight=config.entity_weight,
        groups=cands.programs, exact=exact, block_rows=block_rows,
    )
    return [
        [rescore(i, cols, text, cands, config, k=sel.k, threshold=sel.threshold) for i, (cols, text) in enumerate(rows)]
        for sel, rows in zip(selections, sets, strict=True)
    ]
