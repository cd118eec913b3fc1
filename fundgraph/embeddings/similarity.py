"""Pure similarity maths over given vectors and score matrices (no model, no graph, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Edge:
    """A directed similarity edge between row ``source`` and row ``target``."""

    source: int
    target: int
    score: float


def cosine_matrix(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarities of the rows of ``a`` and ``b`` (default ``a``); rows must be L2-normalised."""
    a = np.asarray(a, dtype=np.float32)
    b = a if b is None else np.asarray(b, dtype=np.float32)
    if a.size == 0 or b.size == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float32)
    return np.clip(a @ b.T, -1.0, 1.0)


def top_k_edges(
    scores: np.ndarray, groups: Sequence[str], *, top_k: int, threshold: float, cross_group_only: bool = True
) -> list[Edge]:
    """For each row, its ``top_k`` best columns with score ≥ ``threshold``; never itself.

    Args:
        scores: square matrix, scores[i, j] = similarity of i to j.
        groups: group (program) of each row; with ``cross_group_only`` a row links only to other groups.
        top_k: edges kept per row (the best first; ties broken by column index for stable output).
        threshold: minimum score of an edge.
        cross_group_only: skip candidates of the same group.

    Returns:
        Edges ordered by source row, then by descending score.
    """
    n = scores.shape[0]
    if scores.shape != (n, n) or len(groups) != n:
        raise ValueError("scores must be square and match groups")
    edges: list[Edge] = []
    if top_k <= 0:
        return edges
    for i in range(n):
        row = scores[i]
        cands = [
            j
            for j in range(n)
            if j != i and row[j] >= threshold and not (cross_group_only and groups[j] == groups[i])
        ]
        cands.sort(key=lambda j: (-float(row[j]), j))
        edges.extend(Edge(i, j, float(row[j])) for j in cands[:top_k])
    return edges


def best_match(
    scores: np.ndarray, rows: Iterable[int], cols: Sequence[int], *, threshold: float
) -> dict[int, tuple[int, float]]:
    """For each row in ``rows``, the best column among ``cols`` if its score reaches ``threshold``."""
    out: dict[int, tuple[int, float]] = {}
    cols = list(cols)
    if not cols:
        return out
    for i in rows:
        j = max(cols, key=lambda c: (float(scores[i, c]), -c))
        if float(scores[i, j]) >= threshold:
            out[i] = (j, float(scores[i, j]))
    return out


def rarity_weights(doc_entities: Iterable[Iterable[str]]) -> dict[str, float]:
    """Inverse document frequency of each entity over the documents (directions): ln(N / df).

    An entity every direction cites weighs 0; one cited by a single direction weighs ln N. Entities are in the
    order first cited (each direction's entities deduplicated in their own order, not as a set: a set's order
    follows the process's string hash, and the store wrote the weights in it, so two builds of one corpus
    wrote ``profiles.json`` differently).
    """
    n = 0
    df: dict[str, int] = {}
    for d in doc_entities:
        n += 1
        for e in dict.fromkeys(d):
            df[e] = df.get(e, 0) + 1
    return {e: math.log(n / c) for e, c in df.items()} if n else {}


def weighted_overlap(
    a: Mapping[str, float], b: Mapping[str, float], idf: Mapping[str, float]
) -> tuple[float, dict[str, float]]:
    """Cosine of two idf-weighted entity profiles, and each shared entity's share of it.

    Args:
        a: entity id → weight in one direction (field weight: title > keywords > content > metrics).
        b: the same for the other direction.
        idf: entity id → rarity weight; entities missing from it weigh 0.

    Returns:
        (score in [0, 1], {shared entity id: contribution}), contributions summing to the score.
    """
    return profile_overlap(*idf_profile(a, idf), *idf_profile(b, idf))


def idf_profile(a: Mapping[str, float], idf: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """A profile weighted by rarity, and its length: the half of :func:`weighted_overlap` one side needs.

    A query computes its own once for all its candidates (:func:`embeddings.scoring.rescore`).
    """
    va = {e: w * idf.get(e, 0.0) for e, w in a.items()}
    return va, math.sqrt(sum(x * x for x in va.values()))


def profile_overlap(
    va: Mapping[str, float], na: float, vb: Mapping[str, float], nb: float
) -> tuple[float, dict[str, float]]:
    """:func:`weighted_overlap` of two :func:`idf_profile` results (the same arithmetic, in the same order)."""
    if na == 0 or nb == 0:
        return 0.0, {}
    contrib = {e: va[e] * vb[e] / (na * nb) for e in va.keys() & vb.keys() if va[e] * vb[e] > 0}
    # fsum: the correctly rounded sum whatever the order; the shared ids' set is iterated in an order that depends on
    # the process's string hash seed, and a plain sum then moved the last bit between two builds of the same corpus.
    return float(min(1.0, math.fsum(contrib.values()))), contrib
