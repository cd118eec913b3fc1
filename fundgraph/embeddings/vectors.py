"""Text vector matrices, sparse (``scipy.sparse`` CSR) or dense, behind one set of pure functions.

The lexical encoder's rows have a few hundred non-zeros out of 4,000 dimensions, so they are kept as CSR end to
end (100,000 directions are ~30 M non-zeros, 240 MB, instead of 1.6 GB dense); a sentence-transformers model
gives dense rows. Everything downstream (scoring, top-k, the stores) goes through these functions and works with
either.

Two kinds of products:

- **approximate** (:func:`block_products`, :func:`query_products`): float32, whatever is fastest (a sparse
  product, BLAS), used only to *select* candidates. :func:`product_error` bounds how far they can be from
  the exact value.
- **canonical** (:func:`cosines`): the text score a response shows, for the few candidates kept. Every path
  computes it the same way, so the build, the embedded store and the Neo4j store agree to the bit: the
  candidate rows as CSR, in float64, summed over each row's non-zeros in column order (scipy's CSR
  matrix-vector product), whatever the rows' original form and however many there are. Then rounded to
  6 decimals by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np
import scipy.sparse as sp

try:  # scipy's compiled kernels (private: without them the public, slower paths give the same numbers)
    from scipy.sparse import _sparsetools as SPARSETOOLS
except ImportError:  # pragma: no cover - a scipy that moved them
    SPARSETOOLS = None

#: A matrix of text vectors, one row per text: dense float32, or CSR float32.
TextMatrix = Union[np.ndarray, sp.csr_matrix]  # noqa: UP007 - a runtime alias (Python 3.11 typing)

#: Unit roundoff of float32, doubled for safety in :func:`product_error`.
_F32_ERROR = 2.0**-23


def to_csr(m: TextMatrix) -> sp.csr_matrix:
    """``m`` as canonical CSR float32: sorted column indices, no explicit zeros, no duplicates."""
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def as_rows(m: TextMatrix | Sequence[Sequence[float]]) -> TextMatrix:
    """A 2-D text matrix: CSR float32 stays CSR, anything else becomes a dense float32 array."""
    if sp.issparse(m):
        return m.tocsr().astype(np.float32, copy=False)
    a = np.asarray(m, dtype=np.float32)
    return a[None, :] if a.ndim == 1 else a


def empty(n_rows: int = 0, dim: int = 0, *, sparse: bool = True) -> TextMatrix:
    """A matrix of ``n_rows`` zero rows."""
    return sp.csr_matrix((n_rows, dim), dtype=np.float32) if sparse else np.zeros((n_rows, dim), np.float32)


def dimension(m: TextMatrix) -> int:
    """Number of columns (0 for an empty matrix)."""
    return int(m.shape[1]) if len(m.shape) == 2 else 0


def row_norms(m: TextMatrix) -> np.ndarray:
    """Euclidean norm of every row, float64 (no dense copy of a sparse matrix)."""
    if sp.issparse(m):
        m = m.tocsr()
        sq = np.asarray(m.data, dtype=np.float64) ** 2
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        return np.sqrt(np.bincount(rows, weights=sq, minlength=m.shape[0]))
    return np.sqrt(np.einsum("ij,ij->i", np.asarray(m, np.float64), np.asarray(m, np.float64)))


def l2_normalise(m: TextMatrix) -> TextMatrix:
    """Rows scaled to unit length (zero rows stay zero), float32; a sparse matrix stays sparse (no dense copy)."""
    if sp.issparse(m):
        m = to_csr(m)
        norms = row_norms(m)
        norms[norms == 0] = 1.0
        scale = np.repeat(1.0 / norms, np.diff(m.indptr))
        m.data = (m.data * scale).astype(np.float32)
        return m
    a = np.asarray(m, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (a / norms).astype(np.float32)


def weighted_row_sums(
    parts: TextMatrix, owners: Sequence[int], weights: Sequence[float], n_rows: int
) -> TextMatrix:
    """Row i of the result = Σ weights[t] · parts[t] over the parts t with owners[t] == i (sparse stays sparse)."""
    w = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float32), (np.asarray(owners, dtype=np.int64), np.arange(len(owners)))),
        shape=(n_rows, len(owners)),
    )
    if sp.issparse(parts):
        return to_csr(w @ parts.tocsr())
    return np.asarray(w @ np.asarray(parts, np.float32), dtype=np.float32)


def stack_rows(parts: list[tuple[int, int, TextMatrix]], n_rows: int, dim: int) -> TextMatrix:
    """The matrix whose rows ``lo:hi`` are each part's ``(lo, hi, rows)``, zero elsewhere; ``parts`` is emptied.

    One part covering every row is returned as it is. Sparse parts are copied into the result one by one, each let
    go once copied, so the stacking holds the result and the parts not yet copied (``sp.vstack`` held them all).
    """
    if len(parts) == 1 and parts[0][:2] == (0, n_rows):
        return parts.pop()[2]
    if not all(sp.issparse(m) for *_span, m in parts):
        out = np.zeros((n_rows, dim), dtype=np.float32)
        while parts:
            lo, hi, m = parts.pop(0)
            out[lo:hi] = m.toarray() if sp.issparse(m) else m
        return out
    if not parts:
        return empty(n_rows, dim)
    lengths = np.zeros(n_rows, dtype=np.int64)
    for lo, hi, m in parts:
        lengths[lo:hi] = np.diff(m.indptr)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.result_type(*(m.indices.dtype for *_span, m in parts)))
    while parts:
        lo, hi, m = parts.pop(0)
        data[indptr[lo] : indptr[hi]] = m.data
        indices[indptr[lo] : indptr[hi]] = m.indices
        del m
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, dim))


def dense_row(m: TextMatrix, i: int) -> np.ndarray:
    """Row ``i`` as a dense float32 vector.

    A CSR matrix in canonical form has its row's values placed from its arrays: scipy's row indexing and
    ``toarray`` made two matrices for it (22 µs of a similar list's ~500 at 100,000 directions), to the same values.
    """
    if isinstance(m, sp.csr_matrix) and 0 <= i < m.shape[0] and m.has_canonical_format:
        lo, hi = int(m.indptr[i]), int(m.indptr[i + 1])
        out = np.zeros(m.shape[1], dtype=np.float32)
        out[m.indices[lo:hi]] = m.data[lo:hi]
        return out
    if sp.issparse(m):
        return np.asarray(m[i].toarray(), dtype=np.float32).ravel()
    return np.asarray(m[i], dtype=np.float32).ravel()


def as_query(q: TextMatrix | np.ndarray) -> np.ndarray:
    """A query vector (dense or a 1-row sparse matrix) as a dense float32 1-D array."""
    if sp.issparse(q):
        return np.asarray(q.toarray(), dtype=np.float32).ravel()
    return np.asarray(q, dtype=np.float32).ravel()


def product_error(m: TextMatrix) -> float:
    """Bound on |approximate − exact| of any product of two unit rows of ``m`` (float32 sums).

    A float32 sum of n products of unit vectors is within n · 2⁻²⁴ of the exact value (Cauchy–Schwarz bounds the
    sum of the absolute products by 1); n is at most the number of non-zeros of a row (sparse) or the dimension
    (dense). Doubled for safety.
    """
    if sp.issparse(m):
        m = m.tocsr()
        n = int(np.diff(m.indptr).max()) if m.shape[0] else 0
    else:
        n = dimension(m)
    return n * _F32_ERROR


class Transposed:
    """A sparse candidate matrix kept as rows, for :func:`block_products` (see :func:`transposed`)."""

    def __init__(self, rows: sp.csr_matrix) -> None:
        self.rows = rows
        self.shape = (rows.shape[1], rows.shape[0])


def block_products(block: TextMatrix, others_t: TextMatrix | Transposed) -> np.ndarray:
    """Approximate cosines (float32, dense) of the rows of ``block`` with the columns of ``others_t``.

    ``others_t`` is the transposed candidate matrix (:func:`transposed`): sparse × sparse, or, when the
    candidates are kept as rows, the candidate rows times the block made dense (a product whose result is dense
    anyway: measured 0.75 s against 2.0 s of CPU for 400 rows × 100,000 candidates of 4,000 features, equal).
    """
    if isinstance(others_t, Transposed):
        dense = block.toarray() if sp.issparse(block) else np.asarray(block, np.float32)
        return np.ascontiguousarray(np.asarray(others_t.rows @ dense.T, dtype=np.float32).T)
    if sp.issparse(block):
        out = block @ others_t
        return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float32)
    return np.asarray(block @ others_t, dtype=np.float32)


def transposed(m: TextMatrix) -> TextMatrix | Transposed:
    """``m.T`` in the form :func:`block_products` multiplies fastest.

    Sparse rows with fewer features than rows stay rows (:class:`Transposed`): a block of queries is made dense
    (block × features, no larger than the block × candidates result); otherwise CSR of ``m.T``.
    """
    if sp.issparse(m):
        m = m.tocsr()
        return Transposed(m) if m.shape[1] <= m.shape[0] else m.T.tocsr()
    return np.ascontiguousarray(np.asarray(m, np.float32).T)


def query_products(m: TextMatrix, q: np.ndarray) -> np.ndarray:
    """Approximate cosines (float32) of every row of ``m`` with the dense vector ``q``: one product."""
    q = np.asarray(q, dtype=np.float32).ravel()
    if m.shape[0] == 0 or q.shape[0] != dimension(m):
        return np.zeros(m.shape[0], dtype=np.float32)
    return np.asarray(m @ q, dtype=np.float32).ravel()


def cosines(m: TextMatrix, rows: Sequence[int] | np.ndarray, q: np.ndarray) -> np.ndarray:
    """The canonical text scores of ``rows`` of ``m`` with ``q``: float64, clipped to [-1, 1] (see the module).

    The same numbers for the same two vectors whichever form and however many rows they come in: each is one
    CSR row's float64 product with ``q``, summed over its non-zeros in column order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    q = np.asarray(q, dtype=np.float64).ravel()
    if rows.size == 0 or q.shape[0] != dimension(m):
        return np.zeros(rows.size, dtype=np.float64)
    if isinstance(m, sp.csr_matrix):
        fast = _csr_cosines(m, rows, q)
        if fast is not None:
            return fast
    sub = m[rows] if sp.issparse(m) else np.asarray(m, np.float32)[rows]
    sub = sp.csr_matrix(sub, dtype=np.float32)
    sub.sum_duplicates()
    sub.eliminate_zeros()
    sub.sort_indices()
    sub = sub.astype(np.float64)
    return np.clip(np.asarray(sub @ q, dtype=np.float64).ravel(), -1.0, 1.0)


def _csr_cosines(m: sp.csr_matrix, rows: np.ndarray, q: np.ndarray) -> np.ndarray | None:
    """:func:`cosines` of CSR rows already in canonical form, from the matrix's arrays (None: not canonical).

    The same rows gathered and the same float64 row products as the general path (scipy's compiled kernels,
    bit-identical), without making and checking scipy matrices per call (0.6 ms of a 100,000-direction search's
    4 ms went to that for two calls of some 60 rows).
    """
    indptr, indices = m.indptr, m.indices
    if (SPARSETOOLS is None or indptr.dtype != indices.dtype or m.data.dtype != np.float32
            or not m.data.flags.c_contiguous):
        return None
    idx = rows.astype(indptr.dtype, copy=False)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= m.shape[0]):
        return None  # negative or out-of-range rows: scipy's indexing says what is wrong
    sub_indptr = np.zeros(idx.size + 1, dtype=indptr.dtype)
    np.cumsum(indptr[idx + 1] - indptr[idx], out=sub_indptr[1:])
    nnz = int(sub_indptr[-1])
    sub_indices = np.empty(nnz, dtype=indices.dtype)
    sub_data = np.empty(nnz, dtype=np.float32)
    SPARSETOOLS.csr_row_index(idx.size, idx, indptr, indices, m.data, sub_indices, sub_data)
    # Canonical (sorted, no duplicates) and no stored zeros: what sum_duplicates/eliminate_zeros/sort_indices
    # would leave unchanged. Else the general path makes it so.
    if not SPARSETOOLS.csr_has_canonical_format(idx.size, sub_indptr, sub_indices) or not sub_data.all():
        return None
    out = np.zeros(idx.size, dtype=np.float64)
    SPARSETOOLS.csr_matvec(idx.size, m.shape[1], sub_indptr, sub_indices, sub_data.astype(np.float64), q, out)
    return np.clip(out, -1.0, 1.0)


def entity_matrix(
    profiles: Sequence[Mapping[str, float]], idf: Mapping[str, float]
) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Directions × entities (CSR, float64): idf-weighted profiles scaled to unit length, and the column of each entity.

    Row i · row j equals :func:`similarity.weighted_overlap` of the two profiles before its cap at 1 (every
    weight and idf is ≥ 0, so the overlap is a plain cosine). Columns are the profiles' entities in sorted order.
    """
    columns = {e: c for c, e in enumerate(sorted({e for p in profiles for e in p}))}
    indptr = np.zeros(len(profiles) + 1, dtype=np.int64)
    indices: list[int] = []
    data: list[float] = []
    for r, p in enumerate(profiles):
        row = entity_row(p, idf, columns)
        indices.extend(row)
        data.extend(row.values())
        indptr[r + 1] = len(indices)
    m = sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
        shape=(len(profiles), len(columns)),
    )
    return m, columns


def entity_row(profile: Mapping[str, float], idf: Mapping[str, float], columns: Mapping[str, int]) -> dict[int, float]:
    """One profile as {column: value}, sorted by column: idf-weighted, scaled to unit length.

    Entities without a column count in the norm (as in :func:`similarity.weighted_overlap`) but have no column.
    """
    weighted = {e: w * idf.get(e, 0.0) for e, w in profile.items()}
    norm = math.sqrt(sum(x * x for x in weighted.values()))
    if norm == 0:
        return {}
    row = {columns[e]: x / norm for e, x in weighted.items() if x > 0 and e in columns}
    return dict(sorted(row.items()))


def selection_mask(
    scores: np.ndarray, k: int | None, *, margin: float, threshold: float | None = None
) -> np.ndarray:
    """Per row of ``scores`` (approximate; -inf = not a candidate): the candidates that may be in its best ``k``.

    Every candidate within ``margin`` of the row's k-th best (and of ``threshold``, when given) is kept, so the
    exact scores of the kept ones decide the order (``k`` None or ≥ the candidates keeps every candidate).
    """
    scores = np.atleast_2d(scores)
    n = scores.shape[1]
    finite = np.isfinite(scores)
    if k is not None and k <= 0:
        return np.zeros_like(finite)
    if k is not None and k < n:
        kth = np.partition(scores, n - k, axis=1)[:, n - k]
    else:
        kth = np.full(scores.shape[0], -np.inf)
    floor = -np.inf if threshold is None else threshold - margin
    return (scores >= np.maximum(kth - margin, floor)[:, None]) & finite
