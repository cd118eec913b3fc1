"""Every direction's top k neighbours by blocked matrix products, scored exactly as :func:`scoring.rank`.

The combined score

    ``text_weight · cos(text) + entity_weight · overlap(entities)``

is computed for a block of rows at a time as two matrix products: the text vectors' (``scipy.sparse`` × sparse
for the lexical encoder, BLAS for dense vectors) and the entity profiles' (a sparse directions × entities
matrix whose rows are the idf-weighted profiles scaled to unit length, so one row's product with another is
exactly :func:`similarity.weighted_overlap`). A block holds at most :data:`BLOCK_CELLS` scores, so memory does
not grow with the square of the corpus.

The products are approximate (float32 sums); they select a *superset* of each row's selection (every candidate
within :func:`scoring.candidate_margin` of the k-th best, a proven bound), and only those are re-scored with
:func:`scoring.rescore` (the arithmetic every store uses) and explained. The result is, for every row, the
list :func:`scoring.rank` returns, at O(N · k) Python work instead of O(N²).

Rows and candidate columns can be any subsets (lineage ranks a later edition's directions against the
previous edition's only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import Scored, candidate_margin, rescore

if TYPE_CHECKING:
    from fundgraph.embeddings.scoring import Candidates, ScoringConfig

#: Dense score cells per block (rows × candidates): 2**23 float64 cells is 64 MB per array.
BLOCK_CELLS = 2**23


def entity_matrix(profiles: Sequence[dict[str, float]], idf: dict[str, float]) -> sp.csr_matrix:
    """Directions × entities (CSR, float64): :func:`vectors.entity_matrix` without the column map."""
    return vx.entity_matrix(profiles, idf)[0]


@dataclass(frozen=True)
class Selection:
    """Which neighbours a pass keeps per row: the best ``k``, at least ``threshold``, outside the row's group."""

    k: int
    threshold: float | None = None
    cross_group: bool = False


def candidate_sets(
    vectors: vx.TextMatrix,
    entities: sp.csr_matrix,
    selections: Sequence[Selection],
    *,
    text_weight: float,
    entity_weight: float,
    groups: Sequence[str] | None = None,
    margin: float = 1e-4,
    rows: Sequence[int] | np.ndarray | None = None,
    columns: Sequence[int] | np.ndarray | None = None,
    block_rows: int | None = None,
) -> list[list[np.ndarray]]:
    """Per selection, per row: the candidate columns that may be in the row's selection (a superset).

    Args:
        vectors: text vectors (unit rows), dense or CSR.
        entities: :func:`entity_matrix` of the same rows.
        selections: what to keep; all are served by one pass over the score blocks.
        text_weight: weight of the text cosine.
        entity_weight: weight of the entity overlap.
        groups: group (program) of each row, for selections with ``cross_group``.
        margin: keep every candidate within this of the k-th best score (and of the threshold).
        rows: the query rows (default: every row), in the order of the result.
        columns: the candidate rows (default: every row).
        block_rows: rows per block (default: :data:`BLOCK_CELLS` cells per block).

    A row is never its own candidate. Columns are row numbers of ``vectors``, ascending.
    """
    n = vectors.shape[0]
    if entities.shape[0] != n or (groups is not None and len(groups) != n):
        raise ValueError("vectors, entities and groups must have one row per direction")
    if groups is None and any(s.cross_group for s in selections):
        raise ValueError("a cross-group selection needs groups")
    rows_ = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    cols_ = np.arange(n) if columns is None else np.unique(np.asarray(columns, dtype=np.int64))
    out: list[list[np.ndarray]] = [[] for _ in selections]
    if rows_.size == 0:
        return out
    if cols_.size == 0:
        return [[np.zeros(0, dtype=np.int64) for _ in rows_] for _ in selections]
    codes = np.unique(np.asarray(list(groups)), return_inverse=True)[1] if groups is not None else None
    text_t = vx.transposed(vectors[cols_] if columns is not None else vectors)
    ents = entities.tocsr()
    ents_t = (ents[cols_] if columns is not None else ents).T.tocsr()
    col_pos = np.full(n, -1, dtype=np.int64)
    col_pos[cols_] = np.arange(cols_.size)
    step = block_rows or max(1, BLOCK_CELLS // cols_.size)
    for b0 in range(0, rows_.size, step):
        block = rows_[b0 : b0 + step]
        text = vx.block_products(vectors[block], text_t).astype(np.float64)
        ent = np.minimum(np.asarray((ents[block] @ ents_t).toarray()), 1.0)
        base = text_weight * np.clip(text, -1.0, 1.0) + entity_weight * ent
        own = col_pos[block]
        has_own = own >= 0
        base[np.flatnonzero(has_own), own[has_own]] = -np.inf
        same = codes[block][:, None] == codes[cols_][None, :] if codes is not None else None
        for s_no, sel in enumerate(selections):
            scores = base
            if sel.cross_group:
                scores = np.where(same, -np.inf, base)
            keep = vx.selection_mask(scores, sel.k, margin=margin, threshold=sel.threshold)
            out[s_no].extend(cols_[np.flatnonzero(keep[r])] for r in range(block.size))
    return out


def top_k_all(
    cands: Candidates,
    config: ScoringConfig,
    selections: Sequence[Selection],
    *,
    rows: Sequence[int] | np.ndarray | None = None,
    columns: Sequence[int] | np.ndarray | None = None,
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
        rows: only these rows as queries (default: every row), in this order.
        columns: only these rows as candidates (default: every row), like ``rank(..., programs=...)``.
        block_rows: rows per matrix block (default by memory, :data:`BLOCK_CELLS`).
    """
    ents, _ = cands.entity_matrix
    query_rows = np.arange(len(cands.ids)) if rows is None else np.asarray(rows, dtype=np.int64)
    sets = candidate_sets(
        cands.vectors, ents, selections, text_weight=config.text_weight, entity_weight=config.entity_weight,
        groups=cands.programs, margin=candidate_margin(cands.vectors, config), rows=query_rows, columns=columns,
        block_rows=block_rows,
    )
    return [
        [
            rescore(vx.dense_row(cands.vectors, int(i)), cands.entities[int(i)], cols, cands, config, k=sel.k,
                    threshold=sel.threshold)
            for i, cols in zip(query_rows, found, strict=True)
        ]
        for sel, found in zip(selections, sets, strict=True)
    ]


def block_scores(
    cands: Candidates,
    config: ScoringConfig,
    rows: Sequence[int] | np.ndarray,
    columns: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Approximate combined scores (rows × columns, float64) by the same products :func:`candidate_sets` uses.

    For a few rows against every column (``fundgraph add``: a new document's directions against the graph), so
    each column can be tested against its own k-th best; within :func:`scoring.candidate_margin` of the exact,
    rounded scores, which :func:`scoring.rescore` gives for the pairs kept. A row's own column is not excluded.
    """
    rows_ = np.asarray(rows, dtype=np.int64)
    cols_ = np.arange(len(cands.ids)) if columns is None else np.asarray(columns, dtype=np.int64)
    ents, _ = cands.entity_matrix
    ents = ents.tocsr()
    every = columns is None
    text = vx.block_products(cands.vectors[rows_], vx.transposed(cands.vectors if every else cands.vectors[cols_]))
    ent = np.minimum(np.asarray((ents[rows_] @ (ents if every else ents[cols_]).T).toarray()), 1.0)
    return config.text_weight * np.clip(text.astype(np.float64), -1.0, 1.0) + config.entity_weight * ent
