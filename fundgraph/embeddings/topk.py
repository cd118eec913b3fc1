"""Every direction's top k neighbours by blocked matrix products, scored exactly as :func:`scoring.rank`.

The combined score

    ``text_weight · cos(text) + entity_weight · overlap(entities) · gate(cos(text))`` (:func:`scoring.combine`)

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

Above ``exact_max`` candidate columns (``settings.exact_similarity_max``) scoring every pair is the quadratic part
of a build (44 s at 20,000 directions, ~18 min at 100,000), so the candidate columns of each row come from an
approximate nearest-neighbour index instead (:mod:`fundgraph.embeddings.ann`: a reduced projection of the combined
rows in an HNSW graph): each row's :func:`ann.candidate_count` nearest, whose pair scores are then computed as
above (the same products, for those pairs only) and selected with the same margin. The re-scoring is unchanged; a
row's list differs from the exact one only where the index missed a true neighbour (recall measured in
``benchmarks/ann_choice.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import (
    Neighbour,
    Scored,
    ScoringConfig,
    candidate_margin,
    combine,
    rescore,
    rescore_selections,
)
from fundgraph.embeddings.similarity import idf_profile, profile_overlap

if TYPE_CHECKING:
    from fundgraph.embeddings.scoring import Candidates

#: Dense score cells per block (rows × candidates): 2**23 float64 cells is 64 MB per array.
BLOCK_CELLS = 2**23
#: Candidate pairs scored per block on the nearest-neighbour path.
PAIRS_PER_BLOCK = 8192


def entity_matrix(profiles: Sequence[dict[str, float]], idf: dict[str, float]) -> sp.csr_matrix:
    """Directions × entities (CSR, float64): :func:`vectors.entity_matrix` without the column map."""
    return vx.entity_matrix(profiles, idf)[0]


@dataclass(frozen=True)
class Selection:
    """Which neighbours a pass keeps per row: the best ``k``, at least ``threshold``, outside the row's group.

    ``explain`` False: the list's items are :class:`scoring.Neighbour`, the same ids and scores without the
    shared entities and summary (a list that only weighs neighbours: the communities' graph).
    """

    k: int
    threshold: float | None = None
    cross_group: bool = False
    explain: bool = True


@dataclass
class ScoreOnly:
    """The nearest-neighbour path's lists of the selections that only score (``explain`` False), made from its products.

    On that path (sparse canonical text vectors) every candidate's text cosine is exact (:func:`pair_cosines`'
    arithmetic) and its entity product within a few ulps of :func:`similarity.weighted_overlap` (sums of a few
    products of unit rows), so the score :func:`scoring.rescore` gives, ``round(combine(round(t, 6), e), 6)``, is
    computed for all of a block's pairs at once: equal to rescore's to the bit except where a value is within
    :data:`HALF_MARGIN` of a 6-decimal rounding boundary, and those few pairs are scored by ``exact``. Ties are
    broken by id (``id_rank``), as rescore breaks them. At 100,000 directions the build's pools (the best 30 of
    each row) took 3 of the ranking's 4 re-scored pairs in Python.

    ids: the rows' ids.
    exact: (query row, candidate row, exact cosine, entity product) → rescore's score of the pair.
    lists: filled per selection number, per query row: its list's rows (best first) and their scores.
    """

    ids: Sequence[str]
    exact: Callable[[int, int, float, float], float]
    lists: dict[int, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    @functools.cached_property
    def id_rank(self) -> np.ndarray:
        """Each row's position in the ids' sorted order (made on the nearest-neighbour path only: ~25 ms at 100,000)."""
        ids = np.asarray(self.ids)
        rank = np.empty(ids.size, dtype=np.int64)
        rank[np.argsort(ids, kind="stable")] = np.arange(ids.size)
        return rank


#: How near (in millionths) a value may be to a 6-decimal rounding boundary before :class:`ScoreOnly` asks ``exact``.
HALF_MARGIN = 1e-4


def _near_half(x: np.ndarray) -> np.ndarray:
    """Where ``round(x, 6)`` could differ between numpy's and Python's rounding, or move with the last bits of ``x``."""
    y = x * 1e6
    return np.abs(y - np.floor(y) - 0.5) < HALF_MARGIN


def _score_only_lists(block: np.ndarray, cand: np.ndarray, text: np.ndarray, ent: np.ndarray, allowed: np.ndarray,
                      sel: Selection, weights: ScoringConfig, score_only: ScoreOnly
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each block row's list for ``sel`` from its candidates' exact cosines and entity products (:class:`ScoreOnly`).

    ``allowed``: the pairs that may be in it (a candidate, of another program for a cross-group selection).
    """
    combined = combine(np.round(text, 6), ent, weights)
    scores = np.round(combined, 6)
    unsure = np.argwhere(allowed & (_near_half(text) | _near_half(combined)))
    for b, j in unsure.tolist():
        scores[b, j] = score_only.exact(int(block[b]), int(cand[b, j]), float(text[b, j]), float(ent[b, j]))
    keep = allowed if sel.threshold is None else allowed & (scores >= sel.threshold)
    scores = np.where(keep, scores, -np.inf)
    order = np.lexsort((score_only.id_rank[np.maximum(cand, 0)], -scores))[:, : sel.k]
    rows, best = np.take_along_axis(cand, order, axis=1), np.take_along_axis(scores, order, axis=1)
    counts = np.isfinite(best).sum(axis=1).tolist()
    return [(rows[r, :c], best[r, :c]) for r, c in enumerate(counts)]


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
    entity_gate: float = 0.0,
    exact_max: int | None = None,
    neighbours: Neighbours | None = None,
    cosines: list[tuple[np.ndarray, np.ndarray]] | None = None,
    score_only: ScoreOnly | None = None,
) -> list[list[np.ndarray]]:
    """Per selection, per row: the candidate columns that may be in the row's selection (a superset).

    Args:
        vectors: text vectors (unit rows), dense or CSR.
        entities: :func:`entity_matrix` of the same rows.
        selections: what to keep; all are served by one pass over the score blocks.
        text_weight: weight of the text cosine.
        entity_weight: weight of the entity overlap.
        groups: group (program) of each row, for selections with ``cross_group`` (names, or integer codes).
        margin: keep every candidate within this of the k-th best score (and of the threshold).
        rows: the query rows (default: every row), in the order of the result.
        columns: the candidate rows (default: every row).
        block_rows: rows per block (default: :data:`BLOCK_CELLS` cells per block).
        entity_gate: :attr:`ScoringConfig.entity_gate` (the margin must allow for it).
        exact_max: above this many rows (and with every row a candidate column), the candidates come from the
            approximate nearest-neighbour index (see the module); None: always score every pair.
        neighbours: that index, made by :func:`neighbour_index` for these vectors, entities and weights (when
            several calls rank parts of the rows against the same index); None: made here when needed.
        cosines: on the nearest-neighbour path with sparse vectors, filled with each row's candidates and their
            exact text cosines (:func:`_ann_candidate_sets`); left empty otherwise.
        score_only: on that path, also given ``cosines``: the lists of the selections that only score, made there
            (:class:`ScoreOnly`); their candidate sets are then those lists' rows.

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
    codes = group_codes(groups)
    weights = ScoringConfig(text_weight=text_weight, entity_weight=entity_weight, entity_gate=entity_gate)
    if exact_max is not None and columns is None and n > exact_max:
        return _ann_candidate_sets(vectors, entities.tocsr(), selections, weights=weights, codes=codes,
                                   margin=margin, rows=rows_, neighbours=neighbours,
                                   cosines=cosines if sp.issparse(vectors) else None,
                                   score_only=score_only if sp.issparse(vectors) and cosines is not None else None)
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
        base = combine(np.clip(text, -1.0, 1.0), ent, weights)
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


def group_codes(groups: Sequence[str] | np.ndarray | None) -> np.ndarray | None:
    """Each row's group as an integer (integer codes are kept as they are)."""
    if groups is None:
        return None
    if isinstance(groups, np.ndarray) and groups.dtype.kind in "iu":
        return groups
    return np.unique(np.asarray(list(groups)), return_inverse=True)[1]


def pair_products(m: vx.TextMatrix | sp.csr_matrix, rows: np.ndarray, cands: np.ndarray, *,
                  dtype: type | None = None) -> np.ndarray:
    """``m[rows[b]] · m[cands[b, j]]`` for every b, j (0 where ``cands`` is -1), float64, without a dense copy of ``m``.

    Float32 rows give float32 products summed in float32, in column order (within :func:`vectors.product_error` of
    exact); ``dtype=np.float64`` (sparse ``m``): summed in float64, :func:`pair_cosines`' arithmetic.
    """
    out = np.zeros(cands.shape, dtype=np.float64)
    flat = cands.ravel()
    valid = np.flatnonzero(flat >= 0)
    if not valid.size or m.shape[1] == 0:
        return out
    if not sp.issparse(m):
        a = np.asarray(m)
        prods = np.einsum("pd,pd->p", a[rows[valid // cands.shape[1]]], a[flat[valid]])
        out.ravel()[valid] = prods
        return out
    out.ravel()[valid] = _gathered_products(m, rows, valid // cands.shape[1], flat[valid], dtype=dtype)
    return out


def _gathered_products(m: sp.csr_matrix, queries: np.ndarray, slot: np.ndarray, cols: np.ndarray, *,
                       dtype: type | None = None) -> np.ndarray:
    """``m[queries[slot[p]]] · m[cols[p]]`` for every pair p, each summed over ``m[cols[p]]``'s non-zeros in order.

    One sparse matrix-vector product: the pairs' candidate rows stacked, each shifted to its query's stretch of the
    query rows made dense and laid end to end (scipy's CSR loop, ``Σ data[k] · dense[indices[k]]`` from zero in
    column order, in ``dtype``, default ``m``'s: with float64, exactly :func:`vectors.cosines`). At 100,000
    directions this took a third of the time of gathering each product's query value, multiplying and summing with
    ``np.bincount`` (the same numbers).
    """
    width = m.shape[1]
    dense = m[queries].toarray()
    others = m[cols]
    data = others.data
    if dtype is not None:
        dense, data = dense.astype(dtype, copy=False), data.astype(dtype, copy=False)
    index = np.int32 if dense.size < np.iinfo(np.int32).max else np.int64
    shifted = others.indices.astype(index) + np.repeat((slot * width).astype(index), np.diff(others.indptr))
    stacked = sp.csr_matrix((data, shifted, others.indptr), shape=(cols.size, dense.size))
    return np.asarray(stacked @ dense.ravel()).ravel()


def pair_cosines(m: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """:func:`vectors.cosines` of ``m[rows[p]]`` with ``m[cols[p]]`` for every pair p, to the bit, in one batch.

    ``m`` canonical CSR float32 (:func:`vectors.to_csr`). ``cosines`` sums each candidate row's float64 products
    with the query in column order from zero (scipy's CSR matrix-vector loop); :func:`_gathered_products` runs the
    same loop over the same products, so the results are identical, without a sparse matrix per query.
    """
    out = np.zeros(rows.size, dtype=np.float64)
    if not rows.size or m.shape[1] == 0:
        return out
    uniq, slot = np.unique(rows, return_inverse=True)
    return np.clip(_gathered_products(m, uniq, slot.ravel(), cols, dtype=np.float64), -1.0, 1.0)


def _batched_text(vectors: vx.TextMatrix, query_rows: np.ndarray, sets: list[list[np.ndarray]]) -> list[list[Any]]:
    """Per selection, per row: the canonical cosines of its candidate columns (None for dense vectors)."""
    if not sp.issparse(vectors) or not query_rows.size:
        return [[None] * query_rows.size for _ in sets]
    m = vectors.tocsr()
    if not m.has_canonical_format:
        m = vx.to_csr(m)
    out: list[list[Any]] = [[] for _ in sets]
    # pair_cosines makes the block's query rows dense (float64): BLOCK_CELLS cells bound them (64 MiB) whatever
    # the vocabulary (2,048 rows at the 4,000-feature cap; 2,048 rows × 19,000 features was +150 MB of peak at 1,000)
    step = max(1, min(2048, BLOCK_CELLS // max(m.shape[1], 1)))
    for b0 in range(0, query_rows.size, step):
        lists = [found[b0 : b0 + step] for found in sets]
        flat = [c for per in lists for c in per]
        sizes = np.fromiter((c.size for c in flat), dtype=np.int64, count=len(flat))
        owners = np.tile(query_rows[b0 : b0 + step], len(sets))
        text = pair_cosines(m, np.repeat(owners, sizes), np.concatenate(flat) if flat else np.zeros(0, np.int64))
        parts = np.split(text, np.cumsum(sizes)[:-1])
        n = len(lists[0])
        for s_no in range(len(sets)):
            out[s_no].extend(parts[s_no * n : (s_no + 1) * n])
    return out


@dataclass(frozen=True)
class Neighbours:
    """The nearest-neighbour index of the candidate rows: their reduced projection and its HNSW graph."""

    points: np.ndarray
    index: Any  # ann.NeighbourIndex


def neighbour_index(cands: Candidates, config: ScoringConfig, *, exact_max: int | None) -> Neighbours | None:
    """The index :func:`top_k_all` ranks ``cands`` with (every row a candidate), or None where it scores every pair.

    Made once for several calls that each rank a part of the rows (the build's two processes): the graph is
    built on one core and must be the same for every part (:meth:`ann.NeighbourIndex.build`).
    """
    if exact_max is None or len(cands.ids) <= exact_max:
        return None
    ents, _ = cands.entity_matrix
    return _neighbours(cands.vectors, ents.tocsr(), config)


def _neighbours(vectors: vx.TextMatrix, entities: sp.csr_matrix, weights: ScoringConfig) -> Neighbours:
    from fundgraph.embeddings import ann

    points = ann.projection(ann.combined_rows(vectors, entities, text_weight=weights.text_weight,
                                              entity_weight=weights.entity_weight))
    return Neighbours(points, ann.NeighbourIndex.build(points))


def _ann_candidate_sets(
    vectors: vx.TextMatrix,
    entities: sp.csr_matrix,
    selections: Sequence[Selection],
    *,
    weights: ScoringConfig,
    codes: np.ndarray | None,
    margin: float,
    rows: np.ndarray,
    neighbours: Neighbours | None = None,
    cosines: list[tuple[np.ndarray, np.ndarray]] | None = None,
    score_only: ScoreOnly | None = None,
) -> list[list[np.ndarray]]:
    """:func:`candidate_sets` with each row's columns from the nearest-neighbour index (see the module).

    ``cosines`` (sparse canonical ``vectors``): the text products are summed in float64, :func:`pair_cosines`'
    arithmetic, and each row's (candidates ascending, their cosines) appended to it, so that the re-scoring reads
    the cosines of the candidates kept instead of computing them again. ``score_only`` (with ``cosines``): the
    selections that only score get their lists here (:class:`ScoreOnly`).
    """
    from fundgraph.embeddings import ann

    want = ann.candidate_count(max(s.k for s in selections))
    if neighbours is None:
        neighbours = _neighbours(vectors, entities, weights)
    cross = codes is not None and any(s.cross_group for s in selections)
    found = ann.neighbour_candidates(neighbours.points, want, rows=rows, groups=codes if cross else None,
                                     cross_k=want if cross else 0, index=neighbours.index)
    if cosines is not None:  # the canonical rows pair_cosines reads (the encoders' already are)
        vectors = vectors.tocsr()
        if not vectors.has_canonical_format:
            vectors = vx.to_csr(vectors)
    out: list[list[np.ndarray]] = [[] for _ in selections]
    width = max(vx.dimension(vectors), entities.shape[1], 1)
    # a block's pairs gather a few hundred non-zeros each: 8,192 pairs keep its temporaries near 100 MB. By the
    # pairs a row has on average, not the widest row's: the rows asked again for other programs' candidates (3 % at
    # 100,000 directions) make the lists twice as wide as most rows fill, and half-full blocks doubled their count.
    filled = int(np.ceil((found >= 0).sum() / max(found.shape[0], 1)))
    step = max(1, min(BLOCK_CELLS // width, PAIRS_PER_BLOCK // max(filled, 1)))
    for b0 in range(0, rows.size, step):
        block, cand = rows[b0 : b0 + step], found[b0 : b0 + step]
        text = np.clip(pair_products(vectors, block, cand, dtype=None if cosines is None else np.float64), -1.0, 1.0)
        ent = np.minimum(pair_products(entities, block, cand), 1.0)
        if cosines is not None:
            order = np.argsort(np.where(cand >= 0, cand, np.iinfo(np.int64).max), axis=1, kind="stable")
            by_col, by_text = np.take_along_axis(cand, order, axis=1), np.take_along_axis(text, order, axis=1)
            filled_r = (cand >= 0).sum(axis=1)
            cosines.extend((by_col[r, : filled_r[r]], by_text[r, : filled_r[r]]) for r in range(block.size))
        base = np.where(cand >= 0, combine(text, ent, weights), -np.inf)
        same = codes[block][:, None] == codes[np.maximum(cand, 0)] if cross else None
        for s_no, sel in enumerate(selections):
            if score_only is not None and not sel.explain:
                allowed = (cand >= 0) & ~same if sel.cross_group else cand >= 0
                lists = _score_only_lists(block, cand, text, ent, allowed, sel, weights, score_only)
                score_only.lists.setdefault(s_no, []).extend(lists)
                out[s_no].extend(rows for rows, _scores in lists)
                continue
            scores = np.where(same, -np.inf, base) if sel.cross_group else base
            keep = vx.selection_mask(scores, sel.k, margin=margin, threshold=sel.threshold)
            out[s_no].extend(np.sort(cand[r][keep[r]]) for r in range(block.size))
    return out


def top_k_all(
    cands: Candidates,
    config: ScoringConfig,
    selections: Sequence[Selection],
    *,
    rows: Sequence[int] | np.ndarray | None = None,
    columns: Sequence[int] | np.ndarray | None = None,
    block_rows: int | None = None,
    exact_max: int | None = None,
    profiles: Sequence[tuple[dict[str, float], float]] | None = None,
    neighbours: Neighbours | None = None,
) -> list[list[list[Scored]]]:
    """Per selection, every row's ``rank(vectors[i], entities[i], cands, k=k, exclude=i[, exclude_program])``.

    With a threshold, a row's list stops where a score drops below it (as the build reads ``rank``). A
    selection with ``explain`` False gets :class:`scoring.Neighbour` items instead of :class:`Scored` ones.
    ``cross_group`` selections rank only candidates of other programs (SIMILAR_TO). One pass over the score
    blocks serves every selection; only the kept candidates are re-scored and explained.

    Args:
        cands: the candidate directions (each is also a query).
        config: weights.
        selections: the lists wanted.
        rows: only these rows as queries (default: every row), in this order.
        columns: only these rows as candidates (default: every row), like ``rank(..., programs=...)``.
        block_rows: rows per matrix block (default by memory, :data:`BLOCK_CELLS`).
        exact_max: above this many directions, candidates from the nearest-neighbour index (see the module);
            None: score every pair.
        profiles: every row's :func:`similarity.idf_profile` when the caller has them (lineage ranks a direction
            in up to two edition pairs, both ways).
        neighbours: :func:`neighbour_index` of ``cands`` when the caller has it (it ranks the rows in parts).
    """
    ents, _ = cands.entity_matrix
    query_rows = np.arange(len(cands.ids)) if rows is None else np.asarray(rows, dtype=np.int64)
    cosines: list[tuple[np.ndarray, np.ndarray]] = []
    score_only = _score_only(cands, config, profiles) if sp.issparse(cands.vectors) else None
    sets = candidate_sets(
        cands.vectors, ents, selections, text_weight=config.text_weight, entity_weight=config.entity_weight,
        groups=cands.program_codes[0], margin=candidate_margin(cands.vectors, config), rows=query_rows,
        columns=columns, block_rows=block_rows, entity_gate=config.entity_gate, exact_max=exact_max,
        neighbours=neighbours, cosines=cosines, score_only=score_only,
    )
    if not sp.issparse(cands.vectors):
        return [
            [
                _as_asked(rescore(vx.dense_row(cands.vectors, int(i)), cands.entities[int(i)], cols, cands, config,
                                  k=sel.k, threshold=sel.threshold), sel)
                for i, cols in zip(query_rows, found, strict=True)
            ]
            for sel, found in zip(selections, sets, strict=True)
        ]
    out: list[list[list[Any]]] = [[] for _ in selections]
    made = score_only.lists if score_only is not None else {}
    for s_no, lists in made.items():  # scored on the nearest-neighbour path already
        out[s_no] = [[Neighbour(j, cands.ids[j], cands.programs[j], score)
                      for j, score in zip(found.tolist(), scores.tolist(), strict=True)] for found, scores in lists]
    rescored = [s_no for s_no in range(len(selections)) if s_no not in made]
    if not rescored:
        return out
    # Each row's candidates of every selection together: a pair two lists keep (SIMILAR_TO and the communities'
    # graph share most) is scored and explained once. Their text cosines in batches (one sparse matrix per query
    # row cost more than the rest).
    sets_ = [sets[s_no] for s_no in rescored]
    union = sets_[0] if len(sets_) == 1 else [np.unique(np.concatenate(per)) for per in zip(*sets_, strict=True)]
    if len(cosines) == query_rows.size:  # the nearest-neighbour path kept every candidate's exact cosine
        texts = [cos[np.searchsorted(cols, u)] for (cols, cos), u in zip(cosines, union, strict=True)]
    else:
        (texts,) = _batched_text(cands.vectors, query_rows, [union])
    # Each row's rarity-weighted profile once (a row is the candidate of ~60 others: 5 s at 100,000 directions),
    # when every row is a query (the build); a few queries compute only their candidates'.
    if profiles is None and query_rows.size * 4 >= len(cands.ids):
        profiles = [idf_profile(e, cands.idf) for e in cands.entities]
    explained = [selections[s_no].explain for s_no in rescored]
    for r, (i, cols, t) in enumerate(zip(query_rows.tolist(), union, texts, strict=True)):
        picks = [(found[r], selections[s_no].k, selections[s_no].threshold) for s_no, found in zip(rescored, sets_,
                                                                                                    strict=True)]
        for s_no, ranked in zip(rescored, rescore_selections(cands.entities[i], cols, t, cands, config, picks,
                                                             profiles, explained), strict=True):
            out[s_no].append(ranked)
    return out


def _score_only(cands: Candidates, config: ScoringConfig,
                profiles: Sequence[tuple[dict[str, float], float]] | None) -> ScoreOnly:
    """:class:`ScoreOnly` of ``cands``: its ids, and a pair's exact score as :func:`scoring.rescore` has it."""

    def profile(row: int) -> tuple[dict[str, float], float]:
        return profiles[row] if profiles is not None else idf_profile(cands.entities[row], cands.idf)

    def exact(i: int, j: int, text: float, product: float) -> float:
        # most such pairs share no entity (the score is text_weight · t, often a 7th-decimal 5): no overlap to compute
        e = 0.0 if product == 0 else profile_overlap(*profile(i), *profile(j))[0]
        return round(combine(round(text, 6), e, config), 6)

    return ScoreOnly(cands.ids, exact)


def _as_asked(ranked: list[Scored], selection: Selection) -> list[Any]:
    """``ranked`` as ``selection`` wants its items: explained, or as :class:`scoring.Neighbour`."""
    return ranked if selection.explain else [Neighbour(s.index, s.id, s.program_id, s.score) for s in ranked]


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
