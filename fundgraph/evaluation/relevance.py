"""Graded relevance of cross-program similar directions (issue 15): nDCG@5, P@5, edge precision, calibration.

The graded set (``fundgraph/data/eval/graded_similar.yaml``, rubric and readers' files in ``tests/data/relevance``)
grades (query, candidate) pairs 0/1/2, pooled from four systems' cross-program top 10. Rules:

- **nDCG@5**: gain = grade, discount log2(rank + 1), ideal = the query's best five judged grades; averaged over
  the queries with a related candidate (grade ≥ 1). **P@5**: share of the top 5 graded ≥ 1, same queries.
- **Unjudged candidates count as 0** (not related). A system that surfaces pairs the pool never held is
  penalised for them, so every row also reports its **judged share** of the top 5 (pool bias made visible).
- **SIMILAR_TO edges** of a query: its cross-program top ``k`` with a calibrated confidence ≥ ``min_confidence``.
  Edge precision counts judged edges only (graded ≥ 1 = right). **No-counterpart share**: of the queries with
  no related candidate, the share that get no edge.
- **Cross-validation**: 5 folds over queries (fixed by :data:`SEED`). Anything tuned — the scoring weights
  (:data:`GRID`) and the calibration — is tuned on four folds and measured on the fifth. **The headline** repeats
  the shipped method's nested CV under five fold seeds (:data:`SEEDS`, :func:`multi_seed_cv`): mean, min and max of
  nDCG@5 and P@5, edges pooled over the seeds; one split of 44 queries moves nDCG@5 by ±0.02.
- **The shipped method** (sessions 8–9): character 1-2 gram TF-IDF of the text as written (every non-space
  character, every feature) whose idf carries term weights learned from the graded pairs (:func:`fit_term_weights`,
  package data ``term_weights.json``) and, since session 23, each bigram's general-language specificity
  (:mod:`fundgraph.embeddings.specificity`, no grades) plus gated entity overlap. Its CV row is nested
  (:func:`learned_cv`): weights, α, the entity gate, the calibration and the edges' confidence (:data:`CONFIDENCES`)
  are fitted inside the training folds (the text/entity balance is fixed at 0.9, :data:`LEARNED_GRID`); the shipped
  calibration is isotonic over out-of-fold scores (:func:`learned_fit`). Since session 24 the lists are that
  score's best 30 re-ordered by a mix with word TF-IDF (:class:`WordMixRuns`, :mod:`fundgraph.embeddings.words`,
  as the build and both stores rank): its weight is chosen with α and the gate on the mixed lists
  (:data:`SHIPPED_GRID`), one point for the list and the edges (``one_point="ranking"``), the edges and their
  confidence from the score at that point. "first pass only" is the score's own nested CV in the same run.
- **Fusion and learned term weights over plain TF-IDF** (``--ablation`` only): reciprocal rank fusion of word TF-IDF,
  character TF-IDF and ours; a logistic regression over their scores fitted on four folds, applied to the fifth;
  TF-IDF with each feature reweighted by how often the judged pairs sharing it are related (nested CV). They
  measure how far these go and whether their scores still make precise edges.
- **Hubness and pool expansion** (``--ablation`` only, :data:`HUB_ABLATION`): CSLS (a pair's score less the mean of
  its two directions' hubness, :func:`hubness`), query expansion re-scoring only the first pass's best 50, both,
  and a reciprocal-neighbour penalty, each multi-seed nested CV'd with its calibration and edges refitted. Session
  11: the ranking by that pool expansion with the edges and their confidence from the unexpanded score
  (:class:`PoolRankedRuns`: the expansion reorders the list, it cannot add an edge).
- **A learned re-ranker** (``--ablation`` only, :data:`RERANK_ABLATION`, session 13): the first pass's best 30
  re-ranked by a logistic (pointwise or pairwise) or boosted model over pair features whose meaning is the same
  for every query (:class:`RerankedRuns`), trained on first-pass scores that are themselves out of fold; edges from
  the plain score. Session 14 (:data:`UNION_RERANK_ABLATION`, :class:`UnionRerankedRuns`): word TF-IDF let in
  beside the first pass: its top 10/20 added to the pool, its score mixed with the model's, or mixed into the
  first pass before the pool is cut (weights by inner CV).
- **Term weights with a predicted prior** (``--ablation`` only, :data:`PRIOR_ABLATION`, session 16): the shipped
  weights smooth every term toward 1, so a held-out query's own terms keep weight 1; :class:`PriorRuns` smooths
  each toward a prior predicted from the term's corpus features (:data:`TERM_FEATURES`: document frequency, spread
  over programs, fields, jieba frequency, the cosine of the directions sharing it), the prior model fitted on the
  training queries' judged pairs only; each row under :data:`SEEDS` and :data:`CHECK_SEEDS`.
- **A general-language specificity prior** (``--ablation`` only, :func:`general_idf_ablation`, session 22): each
  feature's idf also multiplied by ``(jieba idf / median)^γ`` from jieba's general-Chinese idf table
  (:func:`general_idf_factors`; no grades, so it reaches terms no judged pair shares), on top of the learned
  weights or alone (:class:`GeneralIdfRuns`); each row under :data:`SEEDS` and :data:`CHECK_SEEDS`. Its bigrams-only
  γ 1 row ships since session 23 (in the encoder: ``SHIPPED_LEXICAL["general_idf"]``).
- **The first pass's best re-ordered by a mix with word TF-IDF** (``scripts/relevance_word_mix.py``,
  :data:`WORD_MIX_ABLATION`, session 23; shipped in session 24): :class:`WordMixRuns`, edges from the plain score.
- **Calibration**: isotonic regression of "graded ≥ 1" on the score, over every judged pair of the fitted
  queries; piecewise linear and non-decreasing, written as ``fundgraph/data/eval/calibration.json``.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fundgraph.core.errors import InputError
from fundgraph.core.paths import EVAL_DIR
from fundgraph.core.settings import Settings
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.encoders import (
    CHAR_PREFIX,
    SHIPPED_LEXICAL,
    TERM_WEIGHTS_PATH,
    CompositeEncoder,
    Encoder,
    LexicalEncoder,
    PlainTfidfEncoder,
    Tokeniser,
)
from fundgraph.embeddings.lexicon import Lexicon
from fundgraph.embeddings.scoring import ScoringConfig, rank
from fundgraph.embeddings.specificity import CLIP as GENERAL_IDF_CLIP
from fundgraph.embeddings.specificity import general_idf_factors as _word_factors
from fundgraph.embeddings.specificity import general_idf_table
from fundgraph.embeddings.words import WORD_POOL, WordVectoriser, mix_keys, words

GRADED_PATH = EVAL_DIR / "graded_similar.yaml"
CALIBRATION_PATH = EVAL_DIR / "calibration.json"
#: Seed of the query folds.
SEED = 15
#: Fold seeds of the multi-seed nested CV (the headline): :data:`SEED` and four fixed others. One split of 44
#: queries moves the nested-CV nDCG@5 by ±0.02 (session 9: 0.715–0.748 over these five), so the shipped method is
#: quoted as the mean, min and max over them.
SEEDS = (15, 1, 2, 3, 4)
#: Five other fold seeds, a check of how much of a row's margin is the split (session 14: a row at 0.724 over
#: :data:`SEEDS` gave 0.705–0.712 over these).
CHECK_SEEDS = (5, 6, 7, 8, 9)
FOLDS = 5
K = 5
#: Confidence a pair needs to become a SIMILAR_TO edge (stated as a confidence, not a score): edges should be
#: right nine times in ten (issue 15's bar for edge precision).
MIN_CONFIDENCE = 0.9
#: Stricter confidences the shipped method may cut its edges at: the lowest whose edges stay right
#: :data:`MIN_CONFIDENCE` of the time under a calibration cross-fitted inside the training folds
#: (:func:`choose_confidence`). At 0.9 alone, one of the five fold seeds gave 29/34 = 0.85 edge precision.
CONFIDENCES = (0.9, 0.95, 0.97, 0.99)

#: The shipped scoring before issue 15 (the pooling commit): what the ablation switches back to.
BEFORE: dict[str, Any] = {
    "text_weight": 0.5,
    "entity_gate": 0.0,
    "content_first": False,
    "min_df": 2,
    "whole_text": False,
    "user_words": True,
    "composite": False,
}
#: Scoring knobs tuned by cross-validation (each a change the ablation switches off).
GRID: dict[str, tuple[Any, ...]] = {
    "text_weight": (0.5, 0.6, 0.7, 0.8, 0.9),
    "entity_gate": (0.0, 0.1, 0.2),
    "content_first": (False, True),
    "min_df": (2, 1),
    "whole_text": (False, True),
    "user_words": (True, False),
    "composite": (False, True),
}
#: Field weights of the text vector: the old ones (title as heavy as the content) and content-first ones.
FIELD_WEIGHTS = {
    False: {"title": 1.0, "keywords": 0.5, "content": 1.0, "metrics": 0.2},
    True: {"title": 0.5, "keywords": 0.5, "content": 1.0, "metrics": 0.2},
}
#: The text vector of the whole direction (its fields joined and encoded as one text).
WHOLE_TEXT = {"text": 1.0}


@dataclass
class GradedSet:
    """Grades per query: candidate id → 0/1/2."""

    queries: list[str]
    grades: dict[str, dict[str, int]]
    agreement: dict[str, Any] = field(default_factory=dict)

    @property
    def with_counterpart(self) -> list[str]:
        """Queries with at least one candidate graded ≥ 1."""
        return [q for q in self.queries if max(self.grades.get(q, {}).values(), default=0) >= 1]

    @property
    def no_counterpart(self) -> list[str]:
        """Queries whose every candidate was graded 0 (the right answer is "nothing related")."""
        return [q for q in self.queries if max(self.grades.get(q, {}).values(), default=0) < 1]

    @property
    def pairs(self) -> int:
        """Judged pairs."""
        return sum(len(g) for g in self.grades.values())


def load_graded(path: Path = GRADED_PATH) -> GradedSet:
    """Read the graded YAML."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        grades: dict[str, dict[str, int]] = defaultdict(dict)
        for p in data["pairs"]:
            grades[str(p["query"])][str(p["candidate"])] = int(p["grade"])
        return GradedSet([str(q) for q in data["queries"]], dict(grades), dict(data.get("agreement") or {}))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"cannot read the graded similarity set: {e}", path=path) from e


# -- metrics -------------------------------------------------------------------------------------------------


def _dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = K) -> float:
    """nDCG@k with gain = grade, unjudged candidates counting 0; ideal = the k best judged grades."""
    ideal = _dcg(sorted(grades.values(), reverse=True)[:k])
    return _dcg(grades.get(c, 0) for c in ranked[:k]) / ideal if ideal else 0.0


def precision(ranked: Sequence[str], grades: Mapping[str, int], k: int = K) -> float:
    """Share of the top k graded ≥ 1 (unjudged: 0)."""
    return sum(grades.get(c, 0) >= 1 for c in ranked[:k]) / k


#: One system's output: query → its cross-program candidates, best first, with their scores.
Run = dict[str, list[tuple[str, float]]]
#: Scores every judged pair: (query, candidate) → score.
PairScores = dict[tuple[str, str], float]


@dataclass
class Calibration:
    """A piecewise-linear, non-decreasing map from score to the probability that a pair is related."""

    points: list[tuple[float, float]]

    def __call__(self, score: float) -> float:
        """Confidence of a score (clipped at the ends)."""
        xs, ys = zip(*self.points, strict=True)
        return float(np.interp(score, xs, ys))

    def threshold(self, min_confidence: float) -> float:
        """The lowest score whose confidence reaches ``min_confidence`` (inf when none does)."""
        for (x0, y0), (x1, y1) in itertools.pairwise(self.points):
            if y1 >= min_confidence > y0:
                return x0 + (x1 - x0) * (min_confidence - y0) / (y1 - y0)
        return self.points[0][0] if self.points[0][1] >= min_confidence else math.inf

    @classmethod
    def fit(cls, scores: Sequence[float], related: Sequence[bool]) -> Calibration:
        """Isotonic regression of ``related`` on ``scores`` (scikit-learn), as its breakpoints."""
        from sklearn.isotonic import IsotonicRegression

        if not scores:
            return cls([(0.0, 0.0), (1.0, 0.0)])
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(np.asarray(scores, dtype=float), np.asarray(related, dtype=float))
        pts = [(round(float(x), 6), round(float(y), 4)) for x, y in zip(iso.X_thresholds_, iso.y_thresholds_,
                                                                         strict=True)]
        if len(pts) == 1:
            pts.append((pts[0][0] + 1e-6, pts[0][1]))
        return cls(pts)


@dataclass
class SystemScore:
    """One system's figures on the graded set."""

    name: str
    ndcg: float
    p_at_k: float
    judged: float
    edges: int = 0
    edges_judged: int = 0
    edges_related: int = 0
    no_edge: int = 0
    no_counterpart: int = 0
    cv: bool = False
    note: str = ""

    @property
    def edge_precision(self) -> float:
        """Share of the judged edges graded ≥ 1 (1.0 with no judged edge)."""
        return self.edges_related / self.edges_judged if self.edges_judged else 1.0

    @property
    def no_edge_share(self) -> float:
        """Share of no-counterpart queries left without an edge."""
        return self.no_edge / self.no_counterpart if self.no_counterpart else 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**self.__dict__, "edge_precision": self.edge_precision, "no_edge_share": self.no_edge_share}


def ranking_figures(run: Run, graded: GradedSet, queries: Sequence[str], k: int = K) -> tuple[float, float, float]:
    """Mean nDCG@k and P@k over ``queries`` with a counterpart, and the mean judged share of every top k."""
    rel = [q for q in queries if q in graded.with_counterpart]
    nd = [ndcg([c for c, _ in run[q]], graded.grades[q], k) for q in rel]
    pk = [precision([c for c, _ in run[q]], graded.grades[q], k) for q in rel]
    judged = [sum(c in graded.grades.get(q, {}) for c, _ in run[q][:k]) / k for q in queries]
    return (float(np.mean(nd)) if nd else 0.0, float(np.mean(pk)) if pk else 0.0,
            float(np.mean(judged)) if judged else 0.0)


def edge_figures(
    run: Run, graded: GradedSet, queries: Sequence[str], calibration: Calibration, *, k: int = K,
    min_confidence: float = MIN_CONFIDENCE,
) -> tuple[int, int, int, int, int]:
    """(edges, judged edges, related judged edges, no-counterpart queries with no edge, no-counterpart queries)."""
    edges = judged = related = no_edge = n_none = 0
    none = set(graded.no_counterpart)
    for q in queries:
        out = [c for c, s in run[q][:k] if calibration(s) >= min_confidence]
        edges += len(out)
        for c in out:
            if c in graded.grades.get(q, {}):
                judged += 1
                related += graded.grades[q][c] >= 1
        if q in none:
            n_none += 1
            no_edge += not out
    return edges, judged, related, no_edge, n_none


def folds(queries: Sequence[str], n: int = FOLDS, seed: int = SEED) -> list[list[str]]:
    """``n`` folds of the queries, shuffled with ``seed`` (the same folds on every run)."""
    qs = sorted(queries)
    random.Random(seed).shuffle(qs)
    return [sorted(qs[i::n]) for i in range(n)]


def pair_lists(pairs: PairScores, graded: GradedSet, queries: Iterable[str]) -> tuple[list[float], list[bool]]:
    """Scores and relatedness (grade ≥ 1) of every judged pair of ``queries``."""
    xs, ys = [], []
    for q in queries:
        for c, gr in graded.grades.get(q, {}).items():
            if (q, c) in pairs:
                xs.append(pairs[(q, c)])
                ys.append(gr >= 1)
    return xs, ys


def held_out_edges(
    s: SystemScore, run: Run, pairs: PairScores, graded: GradedSet, train: Sequence[str], test: Sequence[str], *,
    k: int, min_confidence: float,
) -> list[tuple[float, bool]]:
    """Calibrate on ``train``, add the edge figures of ``test`` to ``s``; the test pairs' (confidence, related).

    ``run``: the ranking the edges are cut from (its top k at or above the confidence).
    """
    cal = Calibration.fit(*pair_lists(pairs, graded, train))
    e = edge_figures(run, graded, test, cal, k=k, min_confidence=min_confidence)
    s.edges += e[0]
    s.edges_judged += e[1]
    s.edges_related += e[2]
    s.no_edge += e[3]
    s.no_counterpart += e[4]
    xs, ys = pair_lists(pairs, graded, test)
    return [(cal(x), y) for x, y in zip(xs, ys, strict=True)]


def score_system(
    name: str, run: Run, pairs: PairScores, graded: GradedSet, *, k: int = K, min_confidence: float = MIN_CONFIDENCE,
    seed: int = SEED, edge_run: Run | None = None,
) -> tuple[SystemScore, list[tuple[float, bool]]]:
    """Figures of a system with nothing tuned but its calibration (fitted out of fold).

    ``edge_run``: the ranking of the score its edges are cut from, when the list is ordered otherwise (the word
    mix; default ``run``). Returns the score and the out-of-fold (confidence, related) of every judged pair (for
    the reliability table).
    """
    nd, pk, judged = ranking_figures(run, graded, graded.queries, k)
    s = SystemScore(name, nd, pk, judged)
    oof: list[tuple[float, bool]] = []
    for test in folds(graded.queries, seed=seed):
        train = [q for q in graded.queries if q not in test]
        oof.extend(held_out_edges(s, run if edge_run is None else edge_run, pairs, graded, train, test, k=k,
                                  min_confidence=min_confidence))
    return s, oof


def reliability(oof: Sequence[tuple[float, bool]], bins: Sequence[float] = (0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)
                ) -> list[tuple[float, float, int, float, float]]:
    """(low, high, pairs, mean confidence, observed share related) per confidence bin."""
    out = []
    for lo, hi in itertools.pairwise(bins):
        inside = [(c, y) for c, y in oof if lo <= c < hi]
        if inside:
            out.append((lo, min(hi, 1.0), len(inside), float(np.mean([c for c, _ in inside])),
                        float(np.mean([y for _, y in inside]))))
    return out


# -- the systems ---------------------------------------------------------------------------------------------


def matrix_run(m: vx.TextMatrix, ids: Sequence[str], programs: Sequence[str], queries: Sequence[str],
               graded: GradedSet, *, depth: int = 10,
               scores_of: Callable[[int], np.ndarray] | None = None) -> tuple[Run, PairScores]:
    """Cross-program top ``depth`` of each query by cosine of rows of ``m`` (or by ``scores_of(row)``)."""
    index = {d: i for i, d in enumerate(ids)}
    progs = np.asarray(programs)
    id_arr = np.asarray(ids)
    run: Run = {}
    pairs: PairScores = {}
    for q in queries:
        i = index[q]
        s = scores_of(i) if scores_of else vx.query_products(m, vx.as_query(vx.dense_row(m, i))).astype(np.float64)
        s = np.round(s, 6)
        s[progs == progs[i]] = -np.inf
        order = np.lexsort((id_arr, -s))[:depth]
        run[q] = [(ids[j], float(s[j])) for j in order]
        for c in graded.grades.get(q, {}):
            pairs[(q, c)] = float(s[index[c]])
    return run, pairs


def bm25_scores(tokens: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> Callable[[int], np.ndarray]:
    """Okapi BM25 of every document against document ``i``'s distinct terms (numpy over a sparse tf matrix)."""
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, toks in enumerate(tokens):
        for t, c in Counter(toks).items():
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
            vals.append(c)
    tf = sp.csr_matrix((vals, (rows, cols)), shape=(len(tokens), len(vocab)), dtype=np.float64)
    n = len(tokens)
    dl = np.asarray(tf.sum(axis=1)).ravel()
    df = np.bincount(tf.indices, minlength=len(vocab))
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
    w = tf.copy()
    norm = k1 * (1 - b + b * dl / max(dl.mean(), 1e-9))
    w.data = w.data * (k1 + 1) / (w.data + np.repeat(norm, np.diff(w.indptr)))
    w = (w @ sp.diags(idf)).tocsr()

    def scores(i: int) -> np.ndarray:
        q = (tf[i] > 0).astype(np.float64)
        return np.asarray((w @ q.T).todense()).ravel()

    return scores


def shipped_config(choice: Mapping[str, Any]) -> tuple[ScoringConfig, int]:
    """The scoring config and lexical ``min_df`` of a grid point."""
    tw = float(choice["text_weight"])
    fields = WHOLE_TEXT if choice.get("whole_text") else FIELD_WEIGHTS[bool(choice["content_first"])]
    cfg = ScoringConfig(text_weight=tw, entity_weight=round(1.0 - tw, 6), entity_gate=float(choice["entity_gate"]),
                        field_weights=dict(fields))
    return cfg, int(choice["min_df"])


class ShippedRuns:
    """fundgraph's scoring over the graded queries for any grid point (encodings cached per text setting)."""

    def __init__(self, settings: Settings, graded: GradedSet) -> None:
        from fundgraph.evaluation.similarity import build_entity_graph

        self.settings = settings
        self.graded = graded
        self.g, self.docs = build_entity_graph(settings)
        self._vectors: dict[tuple[bool, int], tuple[list[str], Any]] = {}
        self._runs: dict[tuple, tuple[Run, PairScores]] = {}
        self._all: dict[tuple, dict[str, dict[str, float]]] = {}

    def run(self, choice: Mapping[str, Any], *, depth: int = 10) -> tuple[Run, PairScores]:
        """Cross-program top ``depth`` (through :func:`scoring.rank`, as the stores rank) and every judged pair."""
        from fundgraph.graph.build.similarity import candidates_from_graph, encode_directions, lexicon_from_graph

        key = tuple(sorted(choice.items()))
        if key in self._runs:
            return self._runs[key]
        cfg, min_df = shipped_config(choice)
        composite = bool(choice.get("composite"))
        # The composite encoder weighs its blocks itself (fixed in encoders.COMPOSITE_BLOCKS): field weights and
        # user words do not apply to it.
        vkey = (("composite",), min_df, False) if composite else (
            tuple(sorted(cfg.field_weights.items())), min_df, bool(choice["user_words"]))
        if vkey not in self._vectors:
            enc: Encoder = (CompositeEncoder(lexicon_from_graph(self.g), min_df=min_df) if composite else
                            LexicalEncoder(lexicon_from_graph(self.g), min_df=min_df,
                                           user_words=bool(choice["user_words"])))
            ids, vectors, *_ = encode_directions(self.g, self.docs, settings=self.settings, encoder=enc, config=cfg)
            self._vectors[vkey] = (ids, vectors)
        ids, vectors = self._vectors[vkey]
        cands = candidates_from_graph(self.g, ids, vectors, cfg)
        run, pairs, self._all[key] = rank_graded(cands, cfg, self.graded, depth)
        self._runs[key] = (run, pairs)
        return run, pairs

    def all_scores(self, choice: Mapping[str, Any]) -> dict[str, dict[str, float]]:
        """Query → every cross-program candidate's score at a grid point (for fusion)."""
        self.run(choice)
        return self._all[tuple(sorted(choice.items()))]


def grid_points(frozen: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every grid point, with the ``frozen`` knobs held at their given values."""
    frozen = frozen or {}
    keys = list(GRID)
    values = [(frozen[k],) if k in frozen else GRID[k] for k in keys]
    return [dict(zip(keys, v, strict=True)) for v in itertools.product(*values)]


def cross_validate(
    runs: ShippedRuns, graded: GradedSet, *, frozen: Mapping[str, Any] | None = None, k: int = K,
    min_confidence: float = MIN_CONFIDENCE,
) -> tuple[SystemScore, list[dict[str, Any]], list[tuple[float, bool]]]:
    """Weights tuned (best train nDCG@k) and calibration fitted on four folds, measured on the fifth.

    Returns the cross-validated figures, each fold's choice, and the out-of-fold (confidence, related) pairs.
    """
    points = grid_points(frozen)
    s = SystemScore("", 0.0, 0.0, 0.0, cv=True)
    nd_sum = pk_sum = judged_sum = 0.0
    n_rel = n_all = 0
    choices = []
    oof: list[tuple[float, bool]] = []
    for test in folds(graded.queries):
        train = [q for q in graded.queries if q not in test]
        best = max(points, key=lambda p: (round(ranking_figures(runs.run(p)[0], graded, train, k)[0], 9),
                                          -sum(p[x] != BEFORE[x] for x in p)))
        choices.append(best)
        run, pairs = runs.run(best)
        nd, pk, judged = ranking_figures(run, graded, test, k)
        r = len([q for q in test if q in graded.with_counterpart])
        nd_sum += nd * r
        pk_sum += pk * r
        judged_sum += judged * len(test)
        n_rel += r
        n_all += len(test)
        oof.extend(held_out_edges(s, run, pairs, graded, train, test, k=k, min_confidence=min_confidence))
    s.ndcg, s.p_at_k, s.judged = nd_sum / max(n_rel, 1), pk_sum / max(n_rel, 1), judged_sum / max(n_all, 1)
    return s, choices, oof


# -- fusion of several signals (the ablation's extra rows: how far combining rankers goes) --------------------

#: Reciprocal rank fusion's constant (Cormack et al. 2009: 60; 10–60 gave the same nDCG@5 here).
RRF_K = 60
#: A signal: query → candidate id → score, over the query's cross-program candidates.
Signal = dict[str, dict[str, float]]


def matrix_signal(scores_of: Callable[[int], np.ndarray], ids: Sequence[str], programs: Sequence[str],
                  queries: Sequence[str]) -> Signal:
    """Every cross-program candidate's score of each query, from ``scores_of(row)`` (a cosine or BM25 row)."""
    index = {d: i for i, d in enumerate(ids)}
    out: Signal = {}
    for q in queries:
        i = index[q]
        s = np.round(np.asarray(scores_of(i), dtype=np.float64), 6)
        out[q] = {ids[j]: float(s[j]) for j in range(len(ids)) if programs[j] != programs[i]}
    return out


def signal_run(signal: Signal, graded: GradedSet, *, depth: int = 10) -> tuple[Run, PairScores]:
    """A signal's cross-program top ``depth`` (ties by id) and its score of every judged pair."""
    run: Run = {}
    pairs: PairScores = {}
    for q, by_id in signal.items():
        run[q] = sorted(by_id.items(), key=lambda x: (-x[1], x[0]))[:depth]
        for c in graded.grades.get(q, {}):
            if c in by_id:
                pairs[(q, c)] = by_id[c]
    return run, pairs


def reciprocal_rank_fusion(signals: Sequence[Signal], *, k: int = RRF_K) -> Signal:
    """Σ 1 / (k + rank) over the signals (rank 1 = best, ties by id): unsupervised, scale-free."""
    out: Signal = {}
    for q in signals[0]:
        fused: dict[str, float] = defaultdict(float)
        for sig in signals:
            for r, (c, _s) in enumerate(sorted(sig[q].items(), key=lambda x: (-x[1], x[0])), start=1):
                fused[c] += 1.0 / (k + r)
        out[q] = {c: round(v, 9) for c, v in fused.items()}
    return out


def fusion_features(signals: Sequence[Signal], q: str) -> tuple[list[str], np.ndarray]:
    """Each candidate's score under each signal and that score over the query's best (per-query scale)."""
    cands = sorted(signals[0][q])
    cols = []
    for sig in signals:
        v = np.asarray([sig[q].get(c, 0.0) for c in cands], dtype=np.float64)
        cols.extend((v, v / max(float(v.max()), 1e-9)))
    return cands, np.column_stack(cols)


def logistic_fusion_cv(signals: Sequence[Signal], graded: GradedSet) -> Signal:
    """Out-of-fold scores of a logistic regression of "graded ≥ 1" on :func:`fusion_features`.

    Fitted on the judged pairs of four folds, applied to the fifth (each query scored by a model that never saw
    its grades); one probability scale across folds, so the out-of-fold calibration applies as for any score.
    """
    from sklearn.linear_model import LogisticRegression

    out: Signal = {}
    for test in folds(graded.queries):
        xs, ys = [], []
        for q in (q for q in graded.queries if q not in test):
            cands, x = fusion_features(signals, q)
            for c, row in zip(cands, x, strict=True):
                if c in graded.grades.get(q, {}):
                    xs.append(row)
                    ys.append(graded.grades[q][c] >= 1)
        model = LogisticRegression(max_iter=2000).fit(np.asarray(xs), np.asarray(ys))
        for q in test:
            cands, x = fusion_features(signals, q)
            out[q] = {c: round(float(p), 9) for c, p in zip(cands, model.predict_proba(x)[:, 1], strict=True)}
    return out


#: Smoothing (pseudo-pairs at the base rate) and strength of :func:`shared_term_weights`, chosen by nested CV.
TERM_WEIGHT_GRID: tuple[tuple[float, float], ...] = tuple(itertools.product((2.0, 5.0, 20.0), (0.5, 1.0)))


def shared_term_weights(x: Any, index: Mapping[str, int], graded: GradedSet, queries: Iterable[str], *,
                        alpha: float) -> np.ndarray:
    """Per feature of ``x``: how much likelier a judged pair sharing it is related than a judged pair in general.

    ``(related pairs sharing t + α·p0) / (pairs sharing t + α) / p0`` over the judged pairs of ``queries`` (p0: their
    share related), so an unseen feature weighs 1 and one shared only by unrelated pairs (boilerplate) tends to 0.
    """
    rel, seen, p0 = shared_term_counts(x, index, graded, queries)
    return (rel + alpha * p0) / (seen + alpha) / p0


def term_weighted_cv(matrices: Mapping[str, Any], ids: Sequence[str], programs: Sequence[str],
                     graded: GradedSet) -> Signal:
    """Out-of-fold cosines of TF-IDF rows reweighted by :func:`shared_term_weights` (nested cross-validation).

    The matrix and (α, γ) are chosen by an inner 4-fold CV on the outer training queries, and the weights are
    fitted on those queries' grades only: the outer fold's grades are never seen.
    """
    import scipy.sparse as sp

    index = {d: i for i, d in enumerate(ids)}

    def signal(name: str, alpha: float, gamma: float, train: Sequence[str], queries: Sequence[str]) -> Signal:
        x = vx.to_csr(matrices[name])
        w = shared_term_weights(x, index, graded, train, alpha=alpha) ** gamma
        m = vx.l2_normalise(vx.to_csr((x @ sp.diags(w)).astype(np.float32)))
        return matrix_signal(lambda i: vx.query_products(m, vx.as_query(vx.dense_row(m, i))), ids, programs, queries)

    def mean_ndcg(sig: Signal, queries: Sequence[str]) -> float:
        return ranking_figures(signal_run(sig, graded)[0], graded, queries)[0]

    points = [(name, a, g) for name in matrices for a, g in TERM_WEIGHT_GRID]
    out: Signal = {}
    for test in folds(graded.queries):
        train = [q for q in graded.queries if q not in test]
        inner = folds(train, 4)
        best = max(points, key=lambda p: float(np.mean([
            mean_ndcg(signal(*p, [q for q in train if q not in t], t), t) for t in inner])))
        out.update(signal(*best, train, test))
    return out


# -- the shipped method: learned term weights in the lexical encoder, entity overlap as a gated lift ------------

#: The shipped method's knobs, tuned by nested cross-validation: the smoothing α of the learned term weights
#: (0: none; pseudo-pairs at the base rate, so a term seen in few judged pairs stays near 1), the text/entity
#: balance and the entity gate (entities lift a candidate the text supports, never carry one it does not).
LEARNED_GRID: dict[str, tuple[float, ...]] = {
    "term_alpha": (0.0, 5.0, 10.0, 20.0),
    # 0.9: every outer fold chose it from 0.6–0.9 in session 8, and all but one with the session-9 features
    # (that fold took 0.8 on a 4-fold inner estimate and lost: nested CV 0.737 offering 0.6–0.9, 0.748 at 0.9;
    # offering 0.9 and 1.0, every fold keeps 0.9: 0.748). 1.0 (text only) is measured in the ablation but not
    # offered: shared entities must be able to lift a candidate (and a search answer name them).
    # The fold split matters as much: with fold seeds 1-4 instead of SEED the nested CV gives 0.715-0.737 (edges
    # 19/19 to 29/34), offering 0.6-0.9 0.720-0.733, and the raw character row 0.715-0.731 (session 9).
    # Mean over the five SEEDS (session 9, nDCG@5): this grid 0.733; balance 0.6-0.9 by inner CV 0.730; α up to 80
    # 0.730; weights shrunk (w ** 0.5 offered) 0.730; each feature capped at 0.2 of a unit row 0.734 (0.12: 0.722);
    # bigrams only offered 0.723; query expansion (ExpandedRuns) β 0.3 fixed 0.748, β 0/0.3/0.6 by inner CV 0.740.
    "text_weight": (0.9,),
    "entity_gate": (0.1, 0.2, 0.3),
}
#: The folds that fit and choose inside each outer training set.
INNER_FOLDS = 4
#: The mix weights of the word mix (:mod:`fundgraph.embeddings.words`; 0: none) offered to the inner CV.
WORD_MIX_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
#: What ships is chosen over: the first pass's knobs, then the word mix's weight on top of them.
SHIPPED_GRID: dict[str, tuple[float, ...]] = {**LEARNED_GRID, "word_mix": WORD_MIX_WEIGHTS}
#: How the shipped method's one configuration is chosen (:attr:`LearnedRuns.one_point`).
SHIPPED_ONE_POINT = "ranking"


def fit_term_weights(vectors: Any, vocabulary: Mapping[str, int], ids: Sequence[str], graded: GradedSet,
                     queries: Iterable[str], *, alpha: float) -> dict[str, float]:
    """Feature → idf factor from the judged pairs of ``queries`` (:func:`shared_term_weights`; 1 left out).

    ``vectors``: the directions' rows under an encoder fitted without weights (its ``vocabulary``); the factors
    are keyed by feature, so any corpus's encoder applies them (:class:`LexicalEncoder` ``term_weights``).
    """
    if alpha <= 0:
        return {}
    w = shared_term_weights(vectors, {d: i for i, d in enumerate(ids)}, graded, queries, alpha=alpha)
    return {t: round(float(w[j]), 4) for t, j in sorted(vocabulary.items()) if abs(w[j] - 1.0) >= 1e-4}


def learned_config(point: Mapping[str, float], base: ScoringConfig | None = None) -> ScoringConfig:
    """The scoring config of a :data:`LEARNED_GRID` point (field weights and the rest from ``base``)."""
    tw = float(point["text_weight"])
    return (base or ScoringConfig()).with_(text_weight=tw, entity_weight=round(1.0 - tw, 6),
                                           entity_gate=float(point["entity_gate"]))


class LearnedRuns:
    """The shipped scoring with term weights fitted on any set of training queries (exact :func:`rank` scores).

    Per (α, training queries): the encoder is fitted with those weights and every graded query ranked once; a
    point's text/entity balance then only recombines the pairs' text and entity scores (:func:`combine`).
    """

    def __init__(self, runs: ShippedRuns, *, encoder_options: Mapping[str, Any] | None = None,
                 config: ScoringConfig | None = None) -> None:
        from fundgraph.graph.build.similarity import encode_directions, lexicon_from_graph

        self.runs = runs
        self.graded = runs.graded
        self.lexicon = lexicon_from_graph(runs.g)
        self.options = dict(SHIPPED_LEXICAL if encoder_options is None else encoder_options)
        self.config = config or ScoringConfig()
        self.ids, self.base, enc, *_ = encode_directions(
            runs.g, runs.docs, settings=runs.settings, encoder=LexicalEncoder(self.lexicon, **self.options),
            config=self.config)
        self.vocabulary = dict(enc.vocabulary)  # type: ignore[attr-defined]
        self._parts: dict[tuple, dict[str, tuple[list[str], np.ndarray, np.ndarray]]] = {}
        self._encoder: tuple[LexicalEncoder, Any, np.ndarray, list[dict[str, str]]] | None = None

    def weights(self, alpha: float, train: Iterable[str]) -> dict[str, float]:
        """The term weights fitted on ``train``'s judged pairs."""
        return fit_term_weights(self.base, self.vocabulary, self.ids, self.graded, train, alpha=alpha)

    def _ranked(self, alpha: float, train: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
        from fundgraph.graph.profiles import candidates_from_graph

        key = self._key(alpha, train)
        if key not in self._parts:
            cfg = self.config
            ids, vectors = self._vectors(self.weights(alpha, train))
            cands = candidates_from_graph(self.runs.g, ids, vectors, cfg)
            self._encoded(key, cands)
            parts = {}
            for q in self.graded.queries:
                i = cands.index[q]
                ranked = rank(self._query_row(cands, i), cands.entities[i], cands, config=cfg, exclude=i,
                              exclude_program=cands.programs[i])
                parts[q] = ([s.id for s in ranked], np.asarray([s.text_score for s in ranked]),
                            np.asarray([s.entity_score for s in ranked]))
            self._parts[key] = parts
        return self._parts[key]

    def _vectors(self, weights: Mapping[str, float]) -> tuple[list[str], vx.TextMatrix]:
        """The directions' text vectors under the encoder with ``weights``, as :func:`encode_directions` makes them.

        The corpus is cut into features once: ``weights`` only scale the idf (as :meth:`LexicalEncoder.fit` does,
        after the boilerplate factor), and each encoding reuses the fitted pieces' feature ids.
        """
        from fundgraph.embeddings.scoring import direction_vectors
        from fundgraph.graph.build.similarity import direction_fields

        if self._encoder is None:
            fields = [direction_fields(d) for doc in self.runs.docs for d in doc.directions]
            enc = LexicalEncoder(self.lexicon, **self.options).fit([" ".join(f.values()) for f in fields])
            self._encoder = (enc, enc._fitted, enc.idf.copy(), fields)
        enc, fitted, idf, fields = self._encoder
        enc.idf = idf.copy()
        for t, w in weights.items():
            i = enc.vocabulary.get(t)
            if i is not None:
                enc.idf[i] *= w
        enc.term_weights = dict(weights)
        enc._fitted = fitted
        return list(self.ids), direction_vectors(enc, fields, self.config)

    @staticmethod
    def _key(alpha: float, train: Sequence[str]) -> tuple:
        """What the encoding of (α, training queries) is cached under (α 0 fits nothing: one encoding)."""
        return (alpha, tuple(sorted(train))) if alpha > 0 else (0.0,)

    def _encoded(self, key: tuple, cands: Any) -> None:
        """Called once per encoding with its candidates (:class:`HubnessRuns` keeps what it needs of them)."""

    def _query_row(self, cands: Any, i: int) -> np.ndarray:
        """The text vector direction ``i`` is ranked by (its own row; :class:`ExpandedRuns` expands it)."""
        return vx.dense_row(cands.vectors, i)

    def signal(self, point: Mapping[str, float], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """Every cross-program candidate's score for ``queries``, weights fitted on ``train``."""
        from fundgraph.embeddings.scoring import combine

        cfg = learned_config(point, self.config)
        parts = self._ranked(float(point["term_alpha"]), train)
        out: Signal = {}
        for q in queries:
            cands, text, ent = parts[q]
            out[q] = dict(zip(cands, np.round(combine(text, ent, cfg), 6).tolist(), strict=True))
        return out

    #: Whether SIMILAR_TO edges and their confidence come from another score than the ranking
    #: (:meth:`edge_signal`); False: both from :meth:`signal`.
    separate_edges = False
    #: The knobs of a point that :meth:`edge_signal` reads (its point is chosen on them alone).
    edge_knobs: tuple[str, ...] = ("term_alpha", "text_weight", "entity_gate")
    #: The knobs of a point that :meth:`signal` reads (None: all of them); with one ranking over the grid and the
    #: edges from :meth:`edge_signal`, :func:`learned_cv` chooses only the edges' point.
    rank_knobs: tuple[str, ...] | None = None
    #: With :attr:`separate_edges`, one configuration makes both, as a build does (the word mix): ``"edges"``,
    #: the ranking's point keeps the edges' knobs (chosen first, on the edge score) and chooses only the others;
    #: ``"ranking"``, the edges take the ranking's point (chosen on the ranking); None: each its own.
    one_point: str | None = None

    def edge_signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The scores edges are cut from and calibrated on (here the ranking's own, :meth:`signal`)."""
        return self.signal(point, train, queries)

    def oof(self, point: Mapping[str, float], queries: Sequence[str], n: int, *, seed: int = SEED,
            edges: bool = False) -> Signal:
        """Out-of-fold scores of ``queries`` at ``point`` (``n`` folds: each scored by weights fitted on the rest).

        ``edges``: of :meth:`edge_signal` instead of :meth:`signal`.
        """
        score = self.edge_signal if edges else self.signal
        out: Signal = {}
        for t in folds(queries, n, seed):
            out.update(score(point, [q for q in queries if q not in t], t))
        return out


class ExpandedRuns(LearnedRuns):
    """:class:`LearnedRuns` with pseudo-relevance feedback on the query's text vector.

    The query's vector plus ``beta`` times the mean of its ``neighbours`` nearest directions (any program, text
    cosine), renormalised (Rocchio; no grades involved). Measured in the ablation only: the build, the API and
    search do not expand.
    """

    def __init__(self, runs: ShippedRuns, *, beta: float, neighbours: int = 3, **options: Any) -> None:
        super().__init__(runs, **options)
        self.beta = beta
        self.neighbours = neighbours
        self._csr: tuple[Any, Any] | None = None

    def _query_row(self, cands: Any, i: int) -> np.ndarray:
        if self._csr is None or self._csr[0] is not cands:
            self._csr = (cands, vx.to_csr(cands.vectors))
        v = self._csr[1]
        sims = np.asarray((v @ v[i].T).todense()).ravel()
        sims[i] = -np.inf
        near = np.argsort(-sims, kind="stable")[: self.neighbours]
        return expanded_query(v, i, near, self.beta).astype(np.float32)


def expanded_query(v: Any, i: int, near: np.ndarray, beta: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Rocchio: row ``i`` of the CSR matrix ``v`` plus ``beta`` times the mean of its rows ``near``, unit length.

    ``weights``: each of the rows ``near`` multiplied by its weight before the mean (their cosines with row ``i``).
    """
    feedback = v[near] if weights is None else v[near].multiply(np.asarray(weights, dtype=np.float64)[:, None])
    qv = v[i].toarray().ravel() + beta * np.asarray(feedback.mean(axis=0)).ravel()
    return qv / np.linalg.norm(qv)


#: Strengths of :class:`ExpandedRuns` offered to the inner CV (0: no expansion).
EXPANSION_BETAS = (0.0, 0.3, 0.6)


#: Neighbours whose mean score is a direction's hubness (Conneau et al. 2018, CSLS: k = 10, fixed a priori).
HUB_NEIGHBOURS = 10


def hubness(scores: np.ndarray, programs: Sequence[str], *, k: int = HUB_NEIGHBOURS,
            kth: bool = False) -> np.ndarray:
    """Each row's mean score with its ``k`` best candidates of other programs (``scores``: rows × rows).

    ``kth``: the ``k``-th best score instead of the mean (the bar a candidate clears to be among the row's best k).
    """
    progs = np.asarray(programs)
    m = np.where(progs[:, None] == progs[None, :], -np.inf, np.asarray(scores, dtype=np.float64))
    k = min(k, max(int((m > -np.inf).sum(axis=1).min()), 1))
    top = -np.partition(-m, k - 1, axis=1)[:, :k]
    if kth:
        return np.where(np.isfinite(top[:, k - 1]), top[:, k - 1], 0.0)
    return np.where(np.isfinite(top), top, 0.0).mean(axis=1)


class HubnessRuns(LearnedRuns):
    """:class:`LearnedRuns` with the hubness correction of CSLS (Conneau et al. 2018), weighted by ``hub_weight``.

    ``score' = s(q, c) − hub_weight · (r(q) + r(c)) / 2``, ``r(x)`` = :func:`hubness` (mean score of ``x`` with its
    :data:`HUB_NEIGHBOURS` best cross-program candidates, under the same term weights and point); ``hub_weight`` 1
    is CSLS halved (the same order and calibration). For a query's ranking only ``−r(c)`` moves: a hub direction
    that sits near everything ("buzzword neighbours") drops. A point without ``hub_weight`` is the plain score.
    """

    def __init__(self, runs: ShippedRuns, *, mutual: bool = False, **options: Any) -> None:
        super().__init__(runs, **options)
        #: Reciprocal-neighbour penalty instead of CSLS: ``s − hub_weight · max(0, r_k(c) − s)`` with ``r_k(c)`` the
        #: candidate's :data:`HUB_NEIGHBOURS`-th best cross-program score (0 when the query is among its best k).
        self.mutual = mutual
        self._pair_parts: dict[tuple, tuple[Any, np.ndarray, np.ndarray, list[str]]] = {}
        self._hub: dict[tuple, dict[str, float]] = {}

    def _encoded(self, key: tuple, cands: Any) -> None:
        v = vx.to_csr(cands.vectors).astype(np.float64)
        text = np.clip(np.round((v @ v.T).toarray(), 6), -1.0, 1.0)
        ents = cands.entity_matrix[0]
        ent = np.minimum((ents @ ents.T).toarray(), 1.0) if ents.shape[1] else np.zeros_like(text)
        self._pair_parts[key] = (cands, text, ent, list(cands.programs))

    def hub_scores(self, point: Mapping[str, Any], train: Sequence[str]) -> dict[str, float]:
        """Direction id → r(direction) at ``point`` with the term weights fitted on ``train``."""
        from fundgraph.embeddings.scoring import combine

        alpha = float(point["term_alpha"])
        key = self._key(alpha, train)
        cfg = learned_config(point, self.config)
        hkey = (key, cfg.text_weight, cfg.entity_gate)
        if hkey not in self._hub:
            self._ranked(alpha, train)
            cands, text, ent, programs = self._pair_parts[key]
            r = hubness(np.round(combine(text, ent, cfg), 6), programs, kth=self.mutual)
            self._hub[hkey] = dict(zip(cands.ids, np.round(r, 6).tolist(), strict=True))
        return self._hub[hkey]

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """:meth:`LearnedRuns.signal` less ``hub_weight · (r(q) + r(c)) / 2``."""
        queries = list(queries)
        base = super().signal(point, train, queries)
        w = float(point.get("hub_weight", 0.0))
        if not w:
            return base
        r = self.hub_scores(point, train)
        if self.mutual:
            return {q: {c: round(s - w * max(0.0, r[c] - s), 6) for c, s in by_id.items()}
                    for q, by_id in base.items()}
        return {q: {c: round(s - w * (r[q] + r[c]) / 2, 6) for c, s in by_id.items()} for q, by_id in base.items()}


#: Weights of the hubness correction offered to the inner CV (0: none; 1: CSLS).
HUB_WEIGHTS = (0.0, 0.5, 1.0)


class PoolExpandedRuns(HubnessRuns):
    """Query expansion on the first pass's candidate pool only (what a build can afford: no second full pass).

    The first pass (the plain score at the point) ranks every candidate; its best :data:`POOL` are re-scored with
    the text vector ``q + β · mean(q's 3 nearest directions by text, any program)`` renormalised (the entity score
    unchanged); candidates outside the pool keep their place below it. ``β`` is the point's ``beta`` (0: none).
    With ``hub_weight``, the hubness correction applies to the re-scored pool. ``neighbours`` and ``pool`` change
    the 3 and the 50 (a point's ``neighbours`` the 3 too); ``by_cosine`` weighs each feedback direction by its
    text cosine with the query.
    """

    POOL = 50

    def __init__(self, runs: ShippedRuns, *, neighbours: int = 3, feedback_first: bool = False,
                 by_cosine: bool = False, pool: int | None = None, entity_side: bool = False,
                 **options: Any) -> None:
        super().__init__(runs, **options)
        self.neighbours = neighbours
        #: Each feedback direction weighted by its text cosine with the query (so β 1 needs no tuning: a
        #: neighbour as close as the query itself would count fully, a loose one little).
        self.by_cosine = by_cosine
        #: The entity profile expanded too, with the same feedback directions and weights (the entity score of
        #: the pool then is the overlap with the expanded profile).
        self.entity_side = entity_side
        #: How many of the first pass's best are re-scored (:data:`POOL` unless given).
        self.pool = self.POOL if pool is None else pool
        #: The feedback directions: the first pass's best cross-program candidates (True) or the query's nearest
        #: directions by text in any program (False, as :class:`ExpandedRuns`).
        self.feedback_first = feedback_first

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The pool re-scored with the expanded query text (β), then the hubness correction (``hub_weight``)."""
        from fundgraph.embeddings.scoring import combine

        queries = list(queries)
        beta = float(point.get("beta", 0.0))
        plain = {k: v for k, v in point.items() if k not in ("beta", "neighbours")}
        neighbours = int(point.get("neighbours", self.neighbours))
        out = super().signal(plain, train, queries)
        if not beta:
            return out
        alpha = float(point["term_alpha"])
        self._ranked(alpha, train)
        cands, text, ent, _programs = self._pair_parts[self._key(alpha, train)]
        cfg = learned_config(point, self.config)
        v = vx.to_csr(cands.vectors).astype(np.float64)
        ents = cands.entity_matrix[0]
        w = float(point.get("hub_weight", 0.0))
        r = self.hub_scores(point, train) if w else {}
        first = LearnedRuns.signal(self, {k: v for k, v in plain.items() if k != "hub_weight"}, train, queries)
        for q in queries:
            i = cands.index[q]
            pool = sorted(first[q].items(), key=lambda x: (-x[1], x[0]))[: self.pool]
            if self.feedback_first:
                near = np.asarray([cands.index[c] for c, _ in pool[:neighbours]])
            else:
                sims = text[i].copy()
                sims[i] = -np.inf
                near = np.argsort(-sims, kind="stable")[:neighbours]
            qv = expanded_query(v, i, near, beta, text[i, near] if self.by_cosine else None)
            cols = np.asarray([cands.index[c] for c, _ in pool])
            t = np.clip(np.round(np.asarray(v[cols] @ qv).ravel(), 6), -1.0, 1.0)
            e = ent[i, cols]
            if self.entity_side and ents.shape[1]:
                ev = expanded_query(ents, i, near, beta, text[i, near] if self.by_cosine else None) \
                    if ents[i].nnz else np.zeros(ents.shape[1])
                e = np.minimum(np.asarray(ents[cols] @ ev).ravel(), 1.0)
            s = np.round(combine(t, e, cfg), 6)
            if w:
                s = np.round(s - w * (r[q] + np.asarray([r[c] for c, _ in pool])) / 2, 6)
            floor = float(s.min())
            scored = dict(zip([c for c, _ in pool], s.tolist(), strict=True))
            out[q] = {c: scored.get(c, min(x, floor - 1e-6)) for c, x in out[q].items()}
        return out


class PoolRankedRuns(PoolExpandedRuns):
    """:class:`PoolExpandedRuns`' ranking, with SIMILAR_TO edges and their confidence from the first pass's score.

    The expansion reorders the list only: edges are cut from, and calibrated on, the unexpanded score at the
    same point (the shipped edges when the point is the shipped one), so the expansion cannot add a weak edge.
    """

    separate_edges = True

    def edge_signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The unexpanded score (the point without ``beta`` and ``neighbours``)."""
        return PoolExpandedRuns.signal(self, {k: v for k, v in point.items() if k not in ("beta", "neighbours")},
                                       train, queries)


class FeatureChoice(LearnedRuns):
    """Several feature settings (each a :class:`LearnedRuns`) as one more grid knob, ``features``.

    A point's ``features`` names the runs that score it, so the inner CV picks the features as it picks α.
    """

    def __init__(self, choices: Mapping[str, LearnedRuns]) -> None:
        self.choices = dict(choices)
        self.graded = next(iter(self.choices.values())).graded

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The named runs' :meth:`LearnedRuns.signal` at the rest of the point."""
        rest = {k: v for k, v in point.items() if k != "features"}
        return self.choices[str(point["features"])].signal(rest, train, queries)


#: Session 10's rows of ``eval similarity --ablation`` (each a multi-seed nested CV): name, the runs, the knobs
#: added to :data:`LEARNED_GRID` (a tuple of one value is fixed a priori, of several chosen by the inner CV).
#: Measured (five-seed mean nDCG@5 [range], worst seed's edge precision; shipped 0.733 [0.715–0.748], 0.96): CSLS
#: 0.728 [0.716–0.737] 0.90 (no-counterpart 8/9 on two seeds); CSLS weight by inner CV 0.735, 0.89; pool-50
#: expansion β 0.3 0.748 [0.730–0.761] 0.89, β by inner CV 0.738, 0.89; feedback from the first pass's top 3 β 0.3
#: 0.733, by inner CV 0.726; CSLS 1 + pool 0.3 0.734, 0.86; both by inner CV 0.745 [0.728–0.762] but 0.87 (26/30,
#: seed 2); the reciprocal-neighbour penalty 0.726 at 1, 0.729 by inner CV. None meets issue 15's bar (mean ≥
#: 0.744 with edges ≥ 0.90 on every seed), so none is shipped.
HUB_ABLATION: tuple[tuple[str, Callable[[ShippedRuns], LearnedRuns], dict[str, tuple[float, ...]]], ...] = (
    ("CSLS k=10 (weight 1)", HubnessRuns, {"hub_weight": (1.0,)}),
    ("CSLS weight by inner cv", HubnessRuns, {"hub_weight": HUB_WEIGHTS}),
    ("pool-50 expansion β 0.3", PoolExpandedRuns, {"beta": (0.3,)}),
    ("pool-50 expansion β by inner cv", PoolExpandedRuns, {"beta": EXPANSION_BETAS}),
    ("pool-50 exp. from 1st-pass top 3, cv", lambda r: PoolExpandedRuns(r, feedback_first=True),
     {"beta": EXPANSION_BETAS}),
    ("CSLS 1 + pool expansion 0.3", PoolExpandedRuns, {"beta": (0.3,), "hub_weight": (1.0,)}),
    ("CSLS + pool expansion by inner cv", PoolExpandedRuns, {"beta": EXPANSION_BETAS, "hub_weight": HUB_WEIGHTS}),
    ("mutual-rank penalty by inner cv", lambda r: HubnessRuns(r, mutual=True), {"hub_weight": HUB_WEIGHTS}),
)

#: A finer grid of β for the inner CV (session 11).
FINE_BETAS = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75)


def _cosine_ranked(**options: Any) -> Callable[[ShippedRuns], LearnedRuns]:
    """:class:`PoolRankedRuns` with feedback weighted by cosine (and ``options``), for a row of the table."""
    return lambda runs: PoolRankedRuns(runs, by_cosine=True, **options)


#: (Sessions 10–11 measured these rows, and the hubness rows above, on the 1,122-pair graded set; round 3's 69 pairs
#: lowered every figure: on 1,191 pairs the row "rank exp cos, nbrs by inner cv" gives 0.708 [0.706–0.712] against
#: word TF-IDF 0.621, edges 121/128.)
#: Session 11's rows: the list ranked by the pool expansion, edges and confidence from the unexpanded score
#: (:class:`PoolRankedRuns`; each edge score's point chosen by its own inner CV, so the edges are the shipped
#: method's: 111/114 pooled over the seeds, worst seed 25/26 = 0.96, no-counterpart 9/9 on every seed, in every
#: row below). Measured (five-seed mean nDCG@5 [min–max]; word TF-IDF 0.6443, so the bar is a mean ≥ 0.7443):
#: β 0.3 0.748 [0.730–0.761] (picked after session 10 saw 0/0.3/0.6: tuned, it does not count); β by inner CV
#: from 0/0.3/0.6 0.738 [0.720–0.746], from 0–0.75 in steps of 0.15 0.739 [0.731–0.749]; β 0.75, the textbook
#: Rocchio weight (Manning, Raghavan & Schütze 2008, §9.1.1), fixed before measuring, 0.752 [0.725–0.764], but
#: with 5 neighbours 0.736 and the neighbours (1/3/5) by inner CV 0.733; each of the 3 neighbours weighted by its
#: text cosine with the query, β 1 (no strength to set; fixed before measuring; effective β 0.23 on average,
#: 0.11–0.34) 0.748 [0.738–0.763], the same with pools of 20 and 100, with 1 neighbour 0.746 [0.728–0.766], with 5
#: 0.739 [0.729–0.747], the neighbours by inner CV 0.745 [0.728–0.756] (+0.101: the one tuned form that meets
#: the bar, by 0.001), the entity profile expanded too 0.745 [0.736–0.767]. The 3 neighbours came with session
#: 10's expansion; every form that meets the bar needs them (5 fall short). At the shipped point (cosine weights,
#: in sample) the expansion changes the top-5 set of 14 of 44 queries; 3 of 45 edges fall outside the expanded
#: top 5 and 9 lists show a confidence rising down the list (the price of edges from the unexpanded score). Not
#: shipped in session 11 (the build's lists, both stores and search would all rank with it).
RANK_EXPANSION_ABLATION: tuple[tuple[str, Callable[[ShippedRuns], LearnedRuns], dict[str, tuple[float, ...]]],
                               ...] = (
    ("rank exp β0.3, plain edges", PoolRankedRuns, {"beta": (0.3,)}),
    ("rank exp β by inner cv", PoolRankedRuns, {"beta": EXPANSION_BETAS}),
    ("rank exp β 0-0.75 by inner cv", PoolRankedRuns, {"beta": FINE_BETAS}),
    ("rank exp β0.75 (Rocchio)", PoolRankedRuns, {"beta": (0.75,)}),
    ("rank exp β0.75, 5 nbrs", lambda runs: PoolRankedRuns(runs, neighbours=5), {"beta": (0.75,)}),
    ("rank exp β0.75, nbrs by inner cv", PoolRankedRuns, {"beta": (0.75,), "neighbours": (1, 3, 5)}),
    ("rank exp cos-weighted, 3 nbrs", _cosine_ranked(), {"beta": (1.0,)}),
    ("rank exp cos-weighted, pool 20", _cosine_ranked(pool=20), {"beta": (1.0,)}),
    ("rank exp cos-weighted, 1 nbr", _cosine_ranked(neighbours=1), {"beta": (1.0,)}),
    ("rank exp cos-weighted, 5 nbrs", _cosine_ranked(neighbours=5), {"beta": (1.0,)}),
    ("rank exp cos, nbrs by inner cv", _cosine_ranked(), {"beta": (1.0,), "neighbours": (1, 3, 5)}),
    ("rank exp cos, entity side too", _cosine_ranked(entity_side=True), {"beta": (1.0,)}),
)


# -- a learned re-ranker over pair features whose meaning is the same for every query (session 13) ----------

#: Feature groups of :class:`RerankedRuns` (each dropped in turn by the ablation): the first pass's scores; their
#: per-query normalisations and rank; plain word/char TF-IDF cosines and BM25; per-field cosines; shared entities
#: per type; hubness and mutual rank.
RERANK_GROUPS = ("scores", "per_query", "plain", "fields", "entities", "hubness", "rarity")
#: Bands of document frequency (share of the directions having a feature) that split a cosine in the ``rarity``
#: group: a pair sharing only common terms (大模型, 平台, 国际合作) has its cosine in the last band.
RARITY_BANDS = ((0.0, 0.02), (0.02, 0.05), (0.05, 0.15), (0.15, 1.0))
#: Entity types whose shared mentions are counted (count and idf-weighted) by the ``entities`` group.
RERANK_ENTITY_TYPES = ("disease", "modality", "technique", "discipline", "keyword")
#: Inverse regularisation of the logistic re-ranker offered to its inner CV.
RERANK_CS = (0.001, 0.01, 0.1, 1.0, 10.0)
#: Weights of the first pass's standardised score added to the model's log-odds, offered to the inner CV.
RERANK_BLENDS = (0.0, 0.5, 1.0, 2.0)
#: Boosting rounds of the gradient-boosted re-ranker offered to its inner CV (depth 2 trees: shallow, 1,191 pairs).
RERANK_ROUNDS = (50, 150)


class RerankedRuns(LearnedRuns):
    """The shipped first pass, its best ``pool`` re-ranked by a model of "graded ≥ 1" on query-independent features.

    Why: the shipped term weights are per character n-gram, so the terms of a held-out query get no learned weight
    (in sample 0.783, nested 0.702). Features that mean the same for every query (scores and their per-query
    normalisations, plain TF-IDF and BM25, per-field cosines, shared entities per type, hubness, mutual rank)
    may carry across queries where per-term weights cannot.

    Nested with no leak (:meth:`signal` of training queries ``train`` for ``queries``): the first pass's point is
    chosen by an inner CV of the plain shipped score on ``train`` (:data:`LEARNED_GRID`, as the shipped method);
    the training queries' features come from term weights fitted WITHOUT them (their inner out-of-fold first
    pass), the queries' from weights fitted on all of ``train``; the model's strength is chosen by an inner CV over
    ``train``'s queries and it is fitted on ``train``'s judged pairs in their pools. ``queries``' grades are never
    read. Edges and their confidence come from the plain score (:meth:`edge_signal`, as :class:`PoolRankedRuns`):
    the re-ranker reorders the list, it cannot add an edge. Candidates below the pool keep their first-pass order
    below it. Measured in the ablation only.
    """

    separate_edges = True
    #: The ranking reads none of a point's knobs (it chooses its own first pass): :func:`learned_cv` need not
    #: choose a ranking point, only the edges'.
    rank_knobs: tuple[str, ...] | None = ()

    def __init__(self, runs: ShippedRuns, *, pool: int = 30, model: str = "logistic", target: str = "related",
                 drop: Sequence[str] = (), blends: Sequence[float] = (0.0,), **options: Any) -> None:
        super().__init__(runs, **options)
        self.pool = pool
        self.model = model
        #: "related": every judged pair weighs 1; "gain": a pair graded 2 weighs 2 (the gain nDCG gives it).
        self.target = target
        self.drop = tuple(drop)
        #: Weights of the first-pass score added to the model's log-odds, offered to the inner CV (0: none).
        self.blends = tuple(blends)
        self._static = self._grade_free_features()
        self._first: dict[tuple, tuple[dict[str, float], dict[str, tuple]]] = {}
        self._models: dict[tuple, Any] = {}
        #: (training queries, the first pass's point, the model's setting) of every fit, for the report.
        self.fitted: dict[tuple, dict[str, Any]] = {}

    def variant(self, **changes: Any) -> RerankedRuns:
        """A copy with other ``pool``/``model``/``target``/``drop`` sharing this one's encodings and features."""
        import copy

        out = copy.copy(self)
        for k, v in changes.items():
            setattr(out, k, tuple(v) if k in ("drop", "blends") else v)
        out._models, out.fitted = {}, {}
        return out

    # -- features ------------------------------------------------------------------------------------------

    def _grade_free_features(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Group → (names, array graded query × direction × feature) of everything that reads no grade."""
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer

        from fundgraph.embeddings.scoring import combine
        from fundgraph.graph.build.similarity import direction_fields
        from fundgraph.graph.profiles import candidates_from_graph, direction_mentions, entity_type_of

        g, docs = self.runs.g, self.runs.docs
        directions = [d for doc in docs for d in doc.directions]
        fields = [direction_fields(d) for d in directions]
        texts = [" ".join(f.values()) for f in fields]
        rows = np.asarray([self.ids.index(q) for q in self.graded.queries])
        n = len(self.ids)

        def cos(m: Any, other: Any = None) -> np.ndarray:
            a = vx.to_csr(m).astype(np.float64)
            b = a if other is None else vx.to_csr(other).astype(np.float64)
            return np.asarray((a[rows] @ b.T).todense())

        out: dict[str, tuple[list[str], np.ndarray]] = {}
        word = PlainTfidfEncoder().fit(texts).encode(texts)
        char = vx.l2_normalise(vx.to_csr(TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
                                         .fit_transform(texts).astype(np.float32)))
        bm = bm25_scores([Tokeniser(Lexicon())(t) for t in texts])
        bm25 = np.vstack([bm(i) for i in rows])
        bm25 = bm25 / np.maximum(bm25.max(axis=1, keepdims=True), 1e-9)
        out["plain"] = (["word_cos", "char_cos", "bm25_rel"], np.stack([cos(word), cos(char), bm25], axis=2))
        # Each field on its own under the shipped encoder without term weights (no grade involved).
        enc = LexicalEncoder(self.lexicon, **self.options).fit(texts)
        by_field = {}
        for name in ("title", "keywords", "content"):
            ft = [f[name] or " " for f in fields]
            by_field[name] = vx.l2_normalise(vx.to_csr(enc.encode(ft)).astype(np.float32))
        t, k, c = by_field["title"], by_field["keywords"], by_field["content"]
        out["fields"] = (["title_title", "content_content", "title_content", "content_title", "keywords_keywords"],
                         np.stack([cos(t), cos(c), cos(t, c), cos(c, t), cos(k)], axis=2))
        # Shared entities per type: how many, and their idf sum (idf over the directions that mention them).
        mentions = direction_mentions(g, self.ids)
        cols: dict[str, int] = {}
        types: list[str] = []
        ri, ci = [], []
        for i, d in enumerate(self.ids):
            for ent, e in mentions[d]:
                t_ = entity_type_of(g, ent)
                if t_ in RERANK_ENTITY_TYPES and not e.get("boilerplate") and not e.get("extracted"):
                    if ent not in cols:
                        cols[ent] = len(cols)
                        types.append(t_)
                    ri.append(i)
                    ci.append(cols[ent])
        b = sp.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(n, len(cols)))
        b.data[:] = 1.0
        df = np.asarray(b.sum(axis=0)).ravel()
        idf = np.log(n / np.maximum(df, 1.0))
        names, feats = [], []
        for t_ in RERANK_ENTITY_TYPES:
            mask = sp.diags((np.asarray(types) == t_).astype(np.float64))
            bt = (b @ mask).tocsr()
            feats.append(np.asarray((bt[rows] @ bt.T).todense()))
            feats.append(np.asarray((bt[rows] @ sp.diags(idf) @ bt.T).todense()))
            names.extend((f"{t_}_shared", f"{t_}_idf"))
        out["entities"] = (names, np.stack(feats, axis=2))
        # Hubness and mutual rank under the shipped score without term weights at the default point.
        cfg = self.config
        cands = candidates_from_graph(g, self.ids, self.base, cfg)
        v = vx.to_csr(cands.vectors).astype(np.float64)
        text = np.clip(np.round((v @ v.T).toarray(), 6), -1.0, 1.0)
        ents = cands.entity_matrix[0]
        ent = np.minimum((ents @ ents.T).toarray(), 1.0) if ents.shape[1] else np.zeros_like(text)
        s = np.round(combine(text, ent, cfg), 6)
        progs = np.asarray(cands.programs)
        hub = hubness(s, cands.programs)
        kth = hubness(s, cands.programs, kth=True)
        other = np.where(progs[:, None] == progs[None, :], -np.inf, s)
        # the query's rank in each candidate's cross-program list (1 = the candidate's best)
        back = np.stack([(other > other[:, [r]]).sum(axis=1) + 1 for r in rows]).astype(np.float64)
        # Each cosine split by how common the shared features are (word TF-IDF, the shipped features unweighted),
        # and the shipped score without term weights.
        names, feats = [], []
        for label, m in (("word", word), ("char", self.base)):
            a = vx.to_csr(m).astype(np.float64)
            share = np.bincount(a.indices, minlength=a.shape[1]) / n
            for lo, hi in RARITY_BANDS:
                band = (a @ sp.diags(((share > lo) & (share <= hi)).astype(np.float64))).tocsr()
                feats.append(np.asarray((band[rows] @ a.T).todense()))
                names.append(f"{label}_cos_df_{lo}_{hi}")
        out["rarity"] = ([*names, "shipped_unweighted"], np.stack([*feats, s[rows]], axis=2))
        out["hubness"] = (["hub_candidate", "hub_query", "mutual_top10", "back_rank_log", "above_kth"],
                          np.stack([np.broadcast_to(hub[None, :], (len(rows), n)),
                                    np.broadcast_to(hub[rows][:, None], (len(rows), n)),
                                    (back <= HUB_NEIGHBOURS).astype(np.float64), np.log1p(back),
                                    s[rows] - kth[None, :]], axis=2))
        return out

    def _pool_features(self, q: str, parts: tuple[list[str], np.ndarray, np.ndarray], cfg: ScoringConfig
                       ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The first pass's pool of ``q`` (best first), every candidate's features, and its first-pass score."""
        from fundgraph.embeddings.scoring import combine

        cands, text, ent = parts
        s = np.round(combine(text, ent, cfg), 6)
        order = np.lexsort((np.asarray(cands), -s))
        pool = order[: self.pool]
        ids = [cands[j] for j in pool]
        text, ent, s = text[pool], ent[pool], s[pool]
        qi = self.graded.queries.index(q)
        col = np.asarray([self.ids.index(c) for c in ids])
        groups: dict[str, np.ndarray] = {
            "scores": np.column_stack([text, ent, s]),
            "per_query": np.column_stack([
                s / max(float(s[0]), 1e-9), s - s[min(K - 1, len(s) - 1)], np.log1p(np.arange(len(s))),
                text / max(float(text.max()), 1e-9), (s - s.mean()) / max(float(s.std()), 1e-9)]),
            **{name: arr[qi, col] for name, (_, arr) in self._static.items()},
        }
        x = np.column_stack([groups[g] for g in RERANK_GROUPS if g not in self.drop])
        return ids, x, s

    # -- the nested fit -----------------------------------------------------------------------------------

    def _first_pass(self, train: Sequence[str]) -> tuple[dict[str, float], dict[str, tuple]]:
        """The first pass's point chosen by inner CV on ``train``, and each training query's parts at it.

        Each training query's parts come from the term weights fitted on the other inner folds (out of fold).
        """
        key = tuple(sorted(train))
        if key not in self._first:
            inner = folds(train, INNER_FOLDS, SEED)
            scored = []
            for p in learned_points():
                sig: Signal = {}
                for t in inner:
                    sig.update(LearnedRuns.signal(self, p, [q for q in train if q not in t], t))
                scored.append((round(ranking_figures(signal_run(sig, self.graded)[0], self.graded, train)[0], 9), p))
            best = max(scored, key=lambda x: x[0])[1]
            alpha = float(best["term_alpha"])
            parts = {}
            for t in inner:
                fitted = self._ranked(alpha, [q for q in train if q not in t])
                parts.update({q: fitted[q] for q in t})
            self._first[key] = (best, parts)
        return self._first[key]

    def _estimator(self, setting: float) -> Any:
        """The pointwise model (logistic or boosting; the pairwise one is fitted by :meth:`_fit` on pairs)."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.model == "logistic":
            return make_pipeline(StandardScaler(), LogisticRegression(C=setting, max_iter=5000))
        if self.model == "boosting":
            return HistGradientBoostingClassifier(max_depth=2, learning_rate=0.05, max_iter=int(setting),
                                                  min_samples_leaf=20, random_state=0)
        raise ValueError(f"unknown re-ranker model {self.model!r}")

    def _fit(self, pools: Mapping[str, tuple[list[str], np.ndarray, np.ndarray]], queries: Sequence[str],
             setting: float) -> Any:
        """The model fitted on the judged pairs in the pools of ``queries``."""
        xs, grades_, groups = [], [], []
        for g, q in enumerate(queries):
            ids, x, _ = pools[q]
            grades = self.graded.grades.get(q, {})
            for c, row in zip(ids, x, strict=True):
                if c in grades:
                    xs.append(row)
                    grades_.append(grades[c])
                    groups.append(g)
        x, grade = np.asarray(xs), np.asarray(grades_)
        if self.model == "pairwise":
            return PairwiseLogistic(setting).fit(x, grade, np.asarray(groups))
        w = np.maximum(grade, 1).astype(np.float64) if self.target == "gain" else np.ones(len(grade))
        key = "logisticregression__sample_weight" if self.model == "logistic" else "sample_weight"
        return self._estimator(setting).fit(x, grade >= 1, **{key: w})

    @staticmethod
    def _reranked(model: Any, ids: list[str], x: np.ndarray, s: np.ndarray, blend: float) -> dict[str, float]:
        """The pool's re-ranked scores in (0, 1).

        The model's log-odds plus ``blend`` × the first-pass score standardised over the pool (0: the model alone).
        """
        p = np.clip(model.predict_proba(x)[:, 1], 1e-12, 1 - 1e-12)
        z = np.log(p / (1 - p)) + blend * (s - s.mean()) / max(float(s.std()), 1e-9)
        return dict(zip(ids, np.round(1.0 / (1.0 + np.exp(-z)), 9).tolist(), strict=True))

    def _inner_cv(self, pools: Mapping[str, tuple], train: Sequence[str], options: Sequence[float],
                  scored: Callable[[Any, tuple, float], dict[str, float]]) -> tuple[tuple[float, float], float]:
        """The (model setting, option) whose pools scored by ``scored(model, pool, option)`` rank ``train`` best.

        Inner CV: each setting's model fitted without an inner fold scores that fold's pools under each option;
        the best nDCG@5 over ``train`` wins (the first of equals, settings before options). Returns it and its nDCG.
        """
        settings = RERANK_ROUNDS if self.model == "boosting" else RERANK_CS
        runs: dict[tuple[float, float], Run] = defaultdict(dict)
        for setting in settings:
            for t in folds(train, INNER_FOLDS, SEED):
                m = self._fit(pools, [q for q in train if q not in t], setting)
                for q in t:
                    for option in options:
                        r = scored(m, pools[q], option)
                        runs[(setting, option)][q] = sorted(r.items(), key=lambda x: (-x[1], x[0]))
        nd, choice = max(((round(ranking_figures(run, self.graded, train)[0], 9), so) for so, run in runs.items()),
                         key=lambda x: x[0])
        return choice, nd

    def _trained(self, train: Sequence[str]) -> tuple[dict[str, float], Any, float]:
        """The first pass's point, the model fitted on ``train`` and the blend (both chosen by inner CV there)."""
        key = tuple(sorted(train))
        if key not in self._models:
            point, parts = self._first_pass(train)
            cfg = learned_config(point, self.config)
            pools = {q: self._pool_features(q, parts[q], cfg) for q in train}
            (setting, blend), nd = self._inner_cv(pools, train, self.blends,
                                                  lambda m, pool, blend: self._reranked(m, *pool, blend))
            self._models[key] = (point, self._fit(pools, train, setting), blend)
            self.fitted[key] = {**point, "setting": setting, "blend": blend, "inner_ndcg": nd}
        return self._models[key]

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The first pass's pool re-ranked by the model (2 + probability), the rest at its first-pass score."""
        from fundgraph.embeddings.scoring import combine

        point_, model, blend = self._trained(train)
        cfg = learned_config(point_, self.config)
        parts = self._ranked(float(point_["term_alpha"]), train)
        out: Signal = {}
        for q in queries:
            ids, x, first = self._pool_features(q, parts[q], cfg)
            cands, text, ent = parts[q]
            out[q] = dict(zip(cands, np.round(combine(text, ent, cfg), 6).tolist(), strict=True))
            out[q].update({c: 2.0 + p for c, p in self._reranked(model, ids, x, first, blend).items()})
        return out

    def edge_signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The plain shipped score at the point (the edges the headline makes)."""
        return LearnedRuns.signal(self, point, train, queries)


class PairwiseLogistic:
    """A linear pairwise ranker (Herbrich et al. 2000; Joachims 2002), standardised features, no intercept.

    A logistic regression on the feature differences of a query's pairs of differently graded candidates. It
    learns only which of two candidates of one query ranks higher, so a query's base rate (how many related
    candidates it has) cannot pull its scores. ``predict_proba``: the sigmoid of the linear score (an order, not a
    probability).
    """

    def __init__(self, c: float) -> None:
        self.c = c

    def fit(self, x: np.ndarray, grade: np.ndarray, groups: np.ndarray) -> PairwiseLogistic:
        """Fit on every within-group pair with different grades (both orders, so the classes balance)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler().fit(x)
        z = self.scaler.transform(x)
        diffs = []
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            i, j = np.meshgrid(rows, rows, indexing="ij")
            better = grade[i] > grade[j]
            diffs.append(z[i[better]] - z[j[better]])
        d = np.vstack(diffs) if diffs else np.zeros((0, x.shape[1]))
        self.model = LogisticRegression(C=self.c, fit_intercept=False, max_iter=5000).fit(
            np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(1 − p, p) with p the sigmoid of the linear score."""
        p = 1.0 / (1.0 + np.exp(-(self.scaler.transform(x) @ self.model.coef_.ravel())))
        return np.column_stack([1.0 - p, p])


#: Session 13's re-ranker rows (each a five-seed nested CV, edges from the plain score): name, the options of a
#: :meth:`RerankedRuns.variant` of one :class:`RerankedRuns` (so the rows share encodings).
#: Measured in one run beside the shipped headline (five-seed mean nDCG@5 [min–max], P@5; shipped 0.702
#: [0.688–0.713], 0.533; every row's edges are the headline's, 121/128 pooled, worst seed 0.90, no-counterpart 8/8
#: on every seed): logistic over the top 30 0.706 [0.672–0.728], 0.528 (C chosen 0.01 in 17 of 25 folds; 0–1
#: unjudged pairs in a seed's 220 top-5 places); top 20 0.704; gain-weighted 0.704; **pairwise logistic 0.715
#: [0.701–0.726], 0.541** (the best, every top 5 judged; C 0.001 in 22 of 25 folds); boosting (depth 2, 50 or
#: 150 rounds) 0.683 [0.662–0.710] (7–12 unjudged pairs in a seed's top 5s); the first-pass blend by inner CV
#: 0.701 logistic, 0.711 pairwise. Dropping a group from the logistic row:
#: scores 0.701, per-query normalisations 0.703, plain TF-IDF/BM25 0.706, field cosines 0.716 (they hurt),
#: entities 0.708, hubness and mutual rank 0.684 (the group that carries it), rarity bands 0.703; pairwise without
#: rarity 0.710. Tried after seeing these (so they do not count): pairwise with C down to 1e-4 offered 0.717
#: [0.701–0.725] (the folds took 3e-4 or 1e-4 in 15 of 25), pairwise without field cosines 0.715 [0.693–0.732].
#: None reaches issue 15's bar (mean ≥ 0.721), so none is shipped.
RERANK_ABLATION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("re-rank top 30, logistic", {}),
    ("re-rank top 20, logistic", {"pool": 20}),
    ("re-rank top 30, logistic gain-weighted", {"target": "gain"}),
    ("re-rank top 30, boosting depth 2", {"model": "boosting"}),
    ("re-rank top 30, pairwise logistic", {"model": "pairwise"}),
    *((f"re-rank top 30, logistic - {g}", {"drop": (g,)}) for g in RERANK_GROUPS),
    ("re-rank top 30, pairwise - rarity", {"model": "pairwise", "drop": ("rarity",)}),
    ("re-rank top 30, logistic + blend by cv", {"blends": RERANK_BLENDS}),
    ("re-rank top 30, pairwise + blend by cv", {"model": "pairwise", "blends": RERANK_BLENDS}),
)


# -- the re-ranker with word TF-IDF beside the first pass (session 14) ----------------------------------------

#: Weights of word TF-IDF (max-normalised per query) in a mix, offered to an inner CV: in the first pass's score
#: (``first_mixes``) or beside the re-ranker's probability (``word_mixes``). Fixed before measuring.
class UnionRerankedRuns(RerankedRuns):
    """:class:`RerankedRuns` whose pool and features take word TF-IDF (jieba) in beside the shipped first pass.

    Why: where character bigrams mislead the first pass (神经微分方程 "neural ODE" ranks neuroscience directions),
    the related candidates are not in its top 30, so a re-ranker of that pool cannot lift them; word TF-IDF often
    has them in its top 10. Three ways to let it in, each measured as its own nested row:

    - ``word_pool`` > 0: the pool is the first pass's top ``pool`` united with word TF-IDF's cross-program top
      ``word_pool``; every pooled candidate gets the same features (its first-pass rank and score normalised by
      the first pass's top ``pool``, its word cosine, word rank and word cosine over the query's best, and whether
      each list holds it). Candidates outside the pool keep their first-pass score, below it.
    - ``word_mixes``: the pooled candidates scored by (1 − w) × the model's probability + w × the word cosine over
      the query's best, w chosen with the model's strength by the inner CV.
    - ``first_mixes``: the first pass replaced by (1 − m) × the shipped score over the query's best + m × the word
      cosine over its best, m chosen by the inner CV of that mix alone on the training queries' out-of-fold scores.

    No leak, as :class:`RerankedRuns`: the word TF-IDF reads no grade; every weight and strength is chosen on
    training queries whose first-pass scores are out of fold. Every mode adds the word features to the model's.
    """

    def __init__(self, runs: ShippedRuns, *, word_pool: int = 0, word_mixes: Sequence[float] = (0.0,),
                 first_mixes: Sequence[float] = (0.0,), **options: Any) -> None:
        super().__init__(runs, **options)
        self.word_pool = word_pool
        self.word_mixes = tuple(word_mixes)
        self.first_mixes = tuple(first_mixes)

    @classmethod
    def of(cls, base: RerankedRuns, **changes: Any) -> UnionRerankedRuns:
        """A union re-ranker sharing ``base``'s encodings, first passes and grade-free features."""
        import copy

        out = copy.copy(base)
        out.__class__ = cls
        out.word_pool, out.word_mixes, out.first_mixes = 0, (0.0,), (0.0,)
        for k, v in changes.items():
            setattr(out, k, tuple(v) if k in ("drop", "blends", "word_mixes", "first_mixes") else v)
        out._models, out.fitted = {}, {}
        return out

    def _columns(self, cands: Sequence[str]) -> np.ndarray:
        """The directions' rows (in :attr:`ids`) of ``cands``, by one sorted search."""
        if not hasattr(self, "_sorted_ids"):
            self._id_order = np.argsort(np.asarray(self.ids))
            self._sorted_ids = np.asarray(self.ids)[self._id_order]
        return self._id_order[np.searchsorted(self._sorted_ids, np.asarray(cands))]

    def _word(self, q: str, cands: Sequence[str]) -> np.ndarray:
        """Word TF-IDF cosine of ``q`` with each of ``cands`` (grade-free, from the ``plain`` group)."""
        names, arr = self._static["plain"]
        return arr[self.graded.queries.index(q), self._columns(cands), names.index("word_cos")]

    def _first_scores(self, q: str, parts: tuple[list[str], np.ndarray, np.ndarray], cfg: ScoringConfig, mix: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate's first-pass score (the shipped one, or its mix with word TF-IDF) and word cosine."""
        from fundgraph.embeddings.scoring import combine

        cands, text, ent = parts
        s = np.round(combine(text, ent, cfg), 6)
        w = self._word(q, cands)
        if mix > 0:
            s = np.round((1 - mix) * s / max(float(s.max()), 1e-9) + mix * w / max(float(w.max()), 1e-9), 6)
        return s, w

    def _pool_features(self, q: str, parts: tuple[list[str], np.ndarray, np.ndarray], cfg: ScoringConfig,
                       mix: float = 0.0) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The pool of ``q`` (first-pass order), every pooled candidate's features, and its word cosine / best."""
        cands, text, ent = parts
        s, w = self._first_scores(q, parts, cfg, mix)
        ids_arr = np.asarray(cands)
        order = np.lexsort((ids_arr, -s))
        first_rank = np.empty(len(s), dtype=np.int64)
        first_rank[order] = np.arange(len(s))
        word_order = np.lexsort((ids_arr, -w))
        word_rank = np.empty(len(w), dtype=np.int64)
        word_rank[word_order] = np.arange(len(w))
        in_first = first_rank < self.pool
        in_word = word_rank < self.word_pool
        pool = order[(in_first | in_word)[order]]
        top = order[: self.pool]  # what normalises every pooled candidate's first-pass features
        s_top, t_max = float(s[order[0]]), float(text[top].max())
        s_k, mean, sd = float(s[order[min(K, len(order)) - 1]]), float(s[top].mean()), float(s[top].std())
        w_max, w_k = max(float(w[word_order[0]]), 1e-9), float(w[word_order[min(K, len(w)) - 1]])
        ids = [cands[j] for j in pool]
        col = self._columns(ids)
        qi = self.graded.queries.index(q)
        sp_, tp, ep, wp = s[pool], text[pool], ent[pool], w[pool]
        groups: dict[str, np.ndarray] = {
            "scores": np.column_stack([tp, ep, sp_]),
            "per_query": np.column_stack([
                sp_ / max(s_top, 1e-9), sp_ - s_k, np.log1p(first_rank[pool]), tp / max(t_max, 1e-9),
                (sp_ - mean) / max(sd, 1e-9)]),
            **{name: arr[qi, col] for name, (_, arr) in self._static.items()},
        }
        word = np.column_stack([wp / w_max, np.log1p(word_rank[pool]), wp - w_k, in_first[pool], in_word[pool]])
        x = np.column_stack([*(groups[g] for g in RERANK_GROUPS if g not in self.drop), word])
        return ids, x, wp / w_max

    def _mixed(self, model: Any, ids: list[str], x: np.ndarray, wn: np.ndarray, mix: float) -> dict[str, float]:
        """The pool's scores: (1 − ``mix``) × the model's probability + ``mix`` × word cosine over the best."""
        p = model.predict_proba(x)[:, 1]
        return dict(zip(ids, np.round((1 - mix) * p + mix * wn, 9).tolist(), strict=True))

    def _first_mix(self, train: Sequence[str], parts: Mapping[str, tuple], cfg: ScoringConfig) -> float:
        """The first pass's word weight with the best nDCG@5 of the mix alone on ``train``'s out-of-fold scores."""
        if len(self.first_mixes) == 1:
            return self.first_mixes[0]
        scored = []
        for m in self.first_mixes:
            sig = {q: dict(zip(parts[q][0], self._first_scores(q, parts[q], cfg, m)[0].tolist(), strict=True))
                   for q in train}
            scored.append((round(ranking_figures(signal_run(sig, self.graded)[0], self.graded, train)[0], 9), m))
        return max(scored, key=lambda x: x[0])[1]

    def _trained(self, train: Sequence[str]) -> tuple[dict[str, float], Any, float]:
        """The first pass's point and mix, the model fitted on ``train`` and the word mix (all by inner CV)."""
        key = tuple(sorted(train))
        if key not in self._models:
            point, parts = self._first_pass(train)
            cfg = learned_config(point, self.config)
            first_mix = self._first_mix(train, parts, cfg)
            pools = {q: self._pool_features(q, parts[q], cfg, first_mix) for q in train}
            (setting, mix), nd = self._inner_cv(pools, train, self.word_mixes,
                                                lambda m, pool, mix: self._mixed(m, *pool, mix))
            self._models[key] = ({**point, "first_mix": first_mix}, self._fit(pools, train, setting), mix)
            self.fitted[key] = {**point, "first_mix": first_mix, "setting": setting, "word_mix": mix,
                                "inner_ndcg": nd}
        return self._models[key]

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The pool re-ranked (2 + its score), the rest at its first-pass score (≤ 1)."""
        point_, model, mix = self._trained(train)
        cfg = learned_config(point_, self.config)
        parts = self._ranked(float(point_["term_alpha"]), train)
        out: Signal = {}
        for q in queries:
            s, _ = self._first_scores(q, parts[q], cfg, float(point_["first_mix"]))
            out[q] = dict(zip(parts[q][0], s.tolist(), strict=True))
            ids, x, wn = self._pool_features(q, parts[q], cfg, float(point_["first_mix"]))
            out[q].update({c: 2.0 + p for c, p in self._mixed(model, ids, x, wn, mix).items()})
        return out


#: Session 14's rows (each a five-seed nested CV, pairwise logistic as session 13's best row, C by inner CV from
#: :data:`RERANK_CS`, edges from the plain score): name, the options of a :meth:`UnionRerankedRuns.of` of the one
#: :class:`RerankedRuns` the session 13 rows share. Measured in one run beside the shipped headline (five-seed mean
#: nDCG@5 [min–max], P@5; shipped 0.702 [0.688–0.713], 0.533; word TF-IDF 0.621, 0.439; session 13's pairwise row
#: 0.715 [0.701–0.726], 0.541 in the same run; every row's edges are the headline's, 121/128 pooled,
#: no-counterpart 8/8 on every seed): the pool with word TF-IDF's top 10 0.714 [0.703–0.723], 0.542 (2 unjudged
#: pairs in one seed's 220 top-5 places); with its top 20 0.716 [0.702–0.723], 0.539; the top 20 and the model's
#: probability mixed with the word cosine (weight by inner CV: 0.3 in 12 of 25 folds, 0 in 1) **0.724
#: [0.708–0.736], 0.539**; the first pass mixed with word TF-IDF before the pool is cut (weight by the inner CV of
#: the mix alone: 0.3–0.4 in 17 of 25 folds, 0 in 3) **0.724 [0.714–0.742], 0.541**. Every top 5 judged but the
#: one noted. These four were declared before any was measured; two meet issue 15's bar (mean ≥ 0.721 with every
#: seed ≥ 0.70, +0.10 over word TF-IDF): the two that let word TF-IDF reorder the list rather than only add
#: candidates to it. Added after seeing them (so they do not count): both the mixed first pass and word TF-IDF's
#: top 20 in the pool 0.722 [0.712–0.735], 0.540; the word features with no word candidates added to the pool (a
#: control: the features alone do not help) 0.713 [0.691–0.728]. Under five other fold seeds (5–9; not the bar's,
#: a check of how much of the margin is the split) the gain over the shipped method holds but shrinks: shipped
#: 0.693 [0.688–0.704], mixed first pass 0.705 [0.690–0.732], word-mixed union 0.712 [0.695–0.729], session 13's
#: pairwise row 0.696 [0.671–0.727]; word TF-IDF 0.621, so neither is +0.10 there (edges 114/123, 8/8). Seed 15's
#: per-query nDCG@5: the mixed first pass gains on 12 queries and loses on 7; 神经微分方程 (most-stic-joint:4.3)
#: stays where the shipped method has it. Not shipped (the build, both stores and search would all rank with it).
UNION_RERANK_ABLATION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("re-rank top 30 + word top 10, pairwise", {"model": "pairwise", "word_pool": 10}),
    ("re-rank top 30 + word top 20, pairwise", {"model": "pairwise", "word_pool": 20}),
    ("re-rank top 30 + word top 20, word mix by cv", {"model": "pairwise", "word_pool": 20,
                                                      "word_mixes": WORD_MIX_WEIGHTS}),
    ("first pass + word mix by cv, re-rank top 30", {"model": "pairwise", "first_mixes": WORD_MIX_WEIGHTS}),
    ("first pass + word mix by cv, top 30 + word 20", {"model": "pairwise", "word_pool": 20,
                                                       "first_mixes": WORD_MIX_WEIGHTS}),
    ("re-rank top 30, pairwise + word features", {"model": "pairwise"}),
)


# -- learned term weights smoothed toward a prior predicted from the term's corpus features (session 16) ------

#: Grade-free features of a term (a vocabulary feature of the shipped encoder) that mean the same for every query,
#: from which :class:`PriorRuns` predicts how often a judged pair sharing the term is related: its log document
#: frequency; how many programs hold it and the entropy of its directions over them; the share of its occurrences
#: in each field; a bigram or a single character; Chinese or not; its log frequency in jieba's general dictionary
#: (平台, 发展, 人工智能 are common words anywhere); whether it is part of an entity vocabulary name; the mean
#: text cosine of the direction pairs sharing it, less its own part (a term that links unrelated directions has a
#: low one); and
#: whether it is a jieba word rather than a character n-gram (constant, so inert, in the shipped char-only encoder).
TERM_FEATURES = ("log_df", "log_programs", "program_entropy", "title_share", "keywords_share", "content_share",
                 "metrics_share", "bigram", "cjk", "jieba_freq", "vocabulary", "pair_cosine", "word")
#: Inverse L2 regularisation of the prior model (standardised features; fixed before measuring).
PRIOR_C = 1.0
#: Powers γ on the prior's ratio p(t)/p0 offered to the inner CV (0: the shipped smoothing toward 1).
PRIOR_GAMMAS = (0.0, 0.5, 1.0)
_CJK = frozenset(range(0x4E00, 0xA000))


def term_corpus_features(encoder: LexicalEncoder, fields: Sequence[Mapping[str, str]], programs: Sequence[str],
                         vectors: Any) -> np.ndarray:
    """:data:`TERM_FEATURES` of every column of a fitted ``encoder`` (rows: columns), standardised; no grades.

    ``fields``: each direction's texts by field (:func:`direction_fields`); ``vectors``: its unit text rows (the
    pair cosine of a term: the mean cosine of the ``n (n − 1)`` ordered pairs of the ``n`` directions holding it,
    ``|Σ v|² − n`` over them, less the term's own part of those cosines).
    """
    import jieba
    import scipy.sparse as sp

    n_terms = len(encoder.vocabulary)
    names = ("title", "keywords", "content", "metrics")
    per_field = np.zeros((n_terms, len(names)))
    rows, cols = [], []
    for i, f in enumerate(fields):
        held: set[int] = set()
        for k, name in enumerate(names):
            for j, c in encoder.counts(f.get(name) or "").items():
                per_field[j, k] += c
                held.add(j)
        rows.extend([i] * len(held))
        cols.extend(held)
    b = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(fields), n_terms))
    df = np.asarray(b.sum(axis=0)).ravel()
    progs = sorted(set(programs))
    by_prog = np.column_stack([np.asarray(b[[i for i, p in enumerate(programs) if p == pr]].sum(axis=0)).ravel()
                               for pr in progs])
    share = by_prog / np.maximum(by_prog.sum(axis=1, keepdims=True), 1)
    entropy = -np.where(share > 0, share * np.log(np.where(share > 0, share, 1)), 0).sum(axis=1) / math.log(len(progs))
    v = vx.to_csr(vectors).astype(np.float64)
    gram = (v @ v.T).toarray()
    bt = b.T.tocsr()
    summed = np.asarray((bt @ gram) * bt.toarray()).sum(axis=1) if n_terms else np.zeros(0)
    # less the term's own part of those cosines (Σ_i≠j v_i(t) v_j(t)): 数字孪生 alone makes its holders look alike
    own = np.asarray(v.sum(axis=0)).ravel() ** 2 - np.asarray(v.multiply(v).sum(axis=0)).ravel()
    summed = summed - own
    pairs = df * (df - 1)
    overall = (gram.sum() - np.trace(gram)) / max(len(fields) * (len(fields) - 1), 1)
    pair_cos = np.where(pairs > 0, (summed - df) / np.maximum(pairs, 1), overall)
    jieba.dt.check_initialized()
    vocab_parts: set[str] = set()
    for t in encoder.lexicon.terms.values():
        name = t.name.lower()
        vocab_parts.update(name)
        vocab_parts.update(name[i:i + 2] for i in range(len(name) - 1))
    terms = sorted(encoder.vocabulary, key=encoder.vocabulary.__getitem__)
    text = [t[len(CHAR_PREFIX):] if t.startswith(CHAR_PREFIX) else t for t in terms]
    x = np.column_stack([
        np.log(np.maximum(df, 1)),
        np.log((by_prog > 0).sum(axis=1).clip(1)),
        entropy,
        *(per_field / np.maximum(per_field.sum(axis=1, keepdims=True), 1)).T,
        [len(t) >= 2 for t in text],
        [all(ord(ch) in _CJK for ch in t) for t in text],
        [math.log1p(jieba.dt.FREQ.get(t, 0)) for t in text],
        [t in vocab_parts for t in text],
        pair_cos,
        [not t.startswith(CHAR_PREFIX) for t in terms],
    ]).astype(np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def shared_term_counts(x: Any, index: Mapping[str, int], graded: GradedSet, queries: Iterable[str]
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per feature of ``x``: judged pairs of ``queries`` sharing it that are related, all that share it; and p0."""
    b = vx.to_csr(x).astype(bool).astype(np.float64).tocsr()
    pairs = [(index[q], index[c], grade >= 1) for q in queries for c, grade in graded.grades.get(q, {}).items()]
    if not pairs:
        return np.zeros(b.shape[1]), np.zeros(b.shape[1]), 1e-9
    qi, ci, related = (np.asarray(v) for v in zip(*pairs, strict=True))
    shared = b[qi].multiply(b[ci]).tocsr()  # one row per judged pair: the features both sides hold
    rel = np.asarray(shared.T @ related.astype(np.float64)).ravel()
    seen = np.asarray(shared.sum(axis=0)).ravel()
    return rel, seen, max(float(related.mean()), 1e-9)


def fit_term_prior(features: np.ndarray, rel: np.ndarray, seen: np.ndarray, *, c: float = PRIOR_C) -> Any:
    """Logistic regression of "a judged pair sharing the term is related" on the term's features.

    Each term with evidence is two weighted rows (its related and its unrelated sharing pairs), so a term shared by
    many judged pairs counts as many observations: the same binomial likelihood as the pairs themselves.
    """
    from sklearn.linear_model import LogisticRegression

    has = seen > 0
    x = np.vstack([features[has], features[has]])
    y = np.r_[np.ones(has.sum()), np.zeros(has.sum())]
    w = np.r_[rel[has], seen[has] - rel[has]]
    keep = w > 0
    return LogisticRegression(C=c, max_iter=2000).fit(x[keep], y[keep], sample_weight=w[keep])


def prior_term_factors(rel: np.ndarray, seen: np.ndarray, p0: float, prior: np.ndarray, *, alpha: float,
                       gamma: float) -> np.ndarray:
    """``(related sharing t + α·p'(t)) / (pairs sharing t + α) / p0`` with ``p'(t) = p0 · (p(t)/p0)^γ``.

    γ 0 is :func:`shared_term_weights` (every term smoothed toward 1); an unseen term weighs ``(p(t)/p0)^γ``;
    α ``inf``: the prior alone.
    """
    p = p0 * (np.clip(prior, 1e-6, 1.0) / p0) ** gamma
    if math.isinf(alpha):
        return p / p0
    return (rel + alpha * p) / (seen + alpha) / p0


#: The features whose quartiles (over the terms of two directions or more) are the basis of :func:`fit_pair_prior`.
PAIR_BASIS = ("log_df", "program_entropy", "title_share", "content_share", "metrics_share", "jieba_freq",
              "pair_cosine")


def fit_pair_prior(vectors: Any, features: np.ndarray, df: np.ndarray, index: Mapping[str, int], graded: GradedSet,
                   queries: Iterable[str], *, c: float = PRIOR_C) -> np.ndarray:
    """Per term, a factor on its idf fitted so that the judged pairs' cosines tell related from unrelated.

    A pair's cosine is a sum over the terms both directions hold; split by a basis of the term's features
    (:data:`PAIR_BASIS` quartiles, one-hot, and a constant) it is one column per basis function. A logistic
    regression of "graded ≥ 1" on those columns over ``queries``' judged pairs gives each basis function a
    coefficient; their sum over a term's basis functions is its squared factor (a product's two sides each carry
    it), clipped positive and scaled to a median of 1 over the terms of two directions or more.
    """
    from sklearn.linear_model import LogisticRegression

    shared = df >= 2
    basis = [np.ones(features.shape[0])]
    for name in PAIR_BASIS:
        col = features[:, TERM_FEATURES.index(name)]
        band = np.digitize(col, np.quantile(col[shared], [0.25, 0.5, 0.75]))
        basis.extend((band == b).astype(np.float64) for b in range(4))
    psi = np.column_stack(basis)
    x = vx.to_csr(vectors).astype(np.float64)
    pairs = [(index[q], index[cand], grade >= 1) for q in queries for cand, grade in graded.grades.get(q, {}).items()]
    qi, ci, related = (np.asarray(v) for v in zip(*pairs, strict=True))
    columns = np.asarray(x[qi].multiply(x[ci]).tocsr() @ psi)
    model = LogisticRegression(C=c, max_iter=5000).fit(columns, related)
    squared = psi @ model.coef_.ravel()
    squared = np.clip(squared, 1e-3 * np.abs(squared).max(), None)
    return np.sqrt(squared / np.median(squared[shared]))


class PriorRuns(LearnedRuns):
    """The shipped method with each term's weight smoothed toward a prior predicted from its corpus features.

    Why: the shipped weights smooth every feature toward 1, so a held-out query's terms, which no training pair
    shares, keep weight 1 (in sample 0.783, nested 0.702). Here the smoothing target of term t is ``p(t)``, a
    logistic model's probability that a judged pair sharing t is related, predicted from :data:`TERM_FEATURES`
    (the same for every query, computed from the corpus) and fitted on the training queries' judged pairs only
    (:func:`fit_term_prior`); ``gamma`` is the power on ``p(t)/p0`` (:func:`prior_term_factors`). One instance
    per γ (:class:`FeatureChoice` lets the inner CV pick it); the features are shared between instances.
    """

    def __init__(self, runs: ShippedRuns, *, gamma: float = 1.0, features: np.ndarray | None = None,
                 c: float = PRIOR_C, fit: str = "terms", **options: Any) -> None:
        super().__init__(runs, **options)
        self.gamma = gamma
        self.c = c
        #: "terms": :func:`fit_term_prior` (each term's sharing pairs); "pairs": :func:`fit_pair_prior` (the
        #: weights that make the judged pairs' cosines separate related from unrelated).
        self.fit = fit
        self.features = self.corpus_features() if features is None else features
        self.df = np.bincount(vx.to_csr(self.base).indices, minlength=len(self.vocabulary))
        #: training queries → the fitted prior model (for the report's coefficients)
        self.models: dict[tuple[str, ...], Any] = {}

    def corpus_features(self) -> np.ndarray:
        """:func:`term_corpus_features` of the unweighted encoder's columns (the columns of :attr:`base`)."""
        from fundgraph.graph.build.similarity import direction_fields

        directions = [d for doc in self.runs.docs for d in doc.directions]
        fields = [direction_fields(d) for d in directions]
        enc = LexicalEncoder(self.lexicon, **self.options).fit([" ".join(f.values()) for f in fields])
        if enc.vocabulary != self.vocabulary:
            raise InputError("the term features' encoder does not match the base encoding")
        return term_corpus_features(enc, fields, [d.program_id for d in directions], self.base)

    def prior_model(self, train: Iterable[str]) -> Any:
        """The prior model fitted on ``train``'s judged pairs."""
        key = tuple(sorted(train))
        if key not in self.models:
            rel, seen, _p0 = shared_term_counts(self.base, {d: i for i, d in enumerate(self.ids)}, self.graded, key)
            self.models[key] = fit_term_prior(self.features, rel, seen, c=self.c)
        return self.models[key]

    def weights(self, alpha: float, train: Iterable[str]) -> dict[str, float]:
        """Feature → factor: evidence of ``train``'s judged pairs smoothed toward the predicted prior."""
        if alpha <= 0:
            return {}
        train = list(train)
        if not self.gamma:
            return super().weights(alpha, train)
        index = {d: i for i, d in enumerate(self.ids)}
        rel, seen, p0 = shared_term_counts(self.base, index, self.graded, train)
        if self.fit == "pairs":
            prior = p0 * fit_pair_prior(self.base, self.features, self.df, index, self.graded, train, c=self.c)
        else:
            prior = self.prior_model(train).predict_proba(self.features)[:, 1]
        w = prior_term_factors(rel, seen, p0, prior, alpha=alpha, gamma=self.gamma)
        # A term of one direction links no pair: the prior (fitted on shared terms) would only rescale its row.
        w[self.df < 2] = 1.0
        return {t: round(float(w[j]), 4) for t, j in sorted(self.vocabulary.items()) if abs(w[j] - 1.0) >= 1e-4}

    def _key(self, alpha: float, train: Sequence[str]) -> tuple:
        return (*super()._key(alpha, train), self.gamma, self.fit)


def prior_choice(runs: ShippedRuns, gammas: Sequence[float] = PRIOR_GAMMAS, **options: Any) -> FeatureChoice:
    """One :class:`PriorRuns` per γ as a :class:`FeatureChoice` (grid knob ``features``: the γ's text)."""
    first = PriorRuns(runs, gamma=gammas[0], **options)
    return FeatureChoice({str(g): first if i == 0 else PriorRuns(runs, gamma=g, features=first.features, **options)
                          for i, g in enumerate(gammas)})



def _prior(gammas: Sequence[float] = PRIOR_GAMMAS, **options: Any) -> Callable[[ShippedRuns], LearnedRuns]:
    """:func:`prior_choice` with ``gammas`` and ``options``, for a row of the table."""
    return lambda runs: prior_choice(runs, gammas, **options)


#: Session 16's rows (each a multi-seed nested CV under :data:`SEEDS` and :data:`CHECK_SEEDS`): name, the runs, the
#: knobs added to :data:`LEARNED_GRID` (``features``: the γ of :class:`PriorRuns`, several chosen by the inner CV).
#: Measured (mean nDCG@5 [min–max] and mean P@5 over seeds 15, 1–4 | over seeds 5–9; edges right/judged pooled,
#: the worst seed's edge precision; no-counterpart 1.00 on every seed in every row; every top 5 judged but ≤ 0.5%).
#: The shipped method in the same code: 0.702 [0.688–0.713] 0.533, 121/128, 0.90 | 0.693 [0.688–0.704] 0.533,
#: 114/123, 0.81 (seed 5: 26/32). The term prior with γ by inner CV: 0.706 [0.692–0.719] 0.528, 127/140, 0.85 |
#: 0.686 [0.674–0.704] 0.520, 119/129, 0.81 (the folds took γ 0.5 in 13 of 25, 0 in 10, on 15, 1–4). γ 1: 0.698
#: [0.684–0.708] 0.510, 106/118, 0.84 | 0.684 [0.674–0.691] 0.503, 83/87, 0.92. The prior alone (α ∞): 0.627
#: [0.614–0.633] 0.460 | 0.628 [0.622–0.637] 0.459, and in sample (fitted on all 44 queries) 0.608 against 0.620
#: with no weights at all: the per-term related rate that the logistic predicts from these features is no usable
#: weight (its largest coefficients: the pair cosine +0.96 and the program entropy +0.54, standardised; 孪生 gets
#: 3.1× and 神经 2.0×). With the jieba word channel (word share 0.3; γ 0 or 1 by inner CV, which took 0 in 23 of
#: 25 folds): 0.680 [0.659–0.691] 0.519, 113/119, 0.87 | 0.667 [0.651–0.683] 0.522, 117/128, 0.88. Added after
#: seeing these (so it does not count): the prior fitted on the pairs instead of per term (:func:`fit_pair_prior`,
#: factors 0.6–1.3; alone, in sample 0.635): 0.705 [0.685–0.721] 0.538, 124/131, 0.92 | 0.693 [0.686–0.703] 0.531,
#: 121/130, 0.82. None reaches issue 15's bar (mean ≥ 0.721 on 15, 1–4 and ≥ 0.715 on 5–9, edges ≥ 0.90 on every
#: seed), so none is shipped: corpus features of a term do not say what a held-out query's own terms are worth.
PRIOR_ABLATION: tuple[tuple[str, Callable[[ShippedRuns], LearnedRuns], dict[str, tuple[Any, ...]]], ...] = (
    ("term prior, γ by cv", _prior(), {"features": tuple(map(str, PRIOR_GAMMAS))}),
    ("term prior, γ 1", _prior((1.0,)), {"features": ("1.0",)}),
    ("term prior alone (α ∞)", _prior((1.0,)), {"features": ("1.0",), "term_alpha": (math.inf,)}),
    ("pair-fitted prior, γ by cv", _prior(fit="pairs"), {"features": tuple(map(str, PRIOR_GAMMAS))}),
    ("term prior + words, γ by cv", _prior((0.0, 1.0), encoder_options={**SHIPPED_LEXICAL, "word_share": 0.3}),
     {"features": ("0.0", "1.0")}),
)


# -- session 22: an unsupervised general-language specificity prior (jieba's idf table) -----------------------

#: Powers γ of the factor offered (γ 0: no factor; :class:`FeatureChoice` lets the inner CV pick one).
GENERAL_IDF_GAMMAS = (0.0, 0.5, 1.0)


def general_idf_factors(features: Sequence[str], table: Mapping[str, float], **options: Any) -> np.ndarray:
    """:func:`fundgraph.embeddings.specificity.general_idf_factors` of encoder features (``CHAR_PREFIX`` + text)."""
    return _word_factors([t.removeprefix(CHAR_PREFIX) for t in features], table, **options)


class GeneralIdfRuns(LearnedRuns):
    """The shipped method with every feature's idf also multiplied by its general-language factor.

    Why: the learned term weights move only the features some training pair shares; buzzwords (平台, 技术, 大模型,
    国际合作) that link unrelated held-out directions keep weight 1. jieba's general idf says how common a word is
    in Chinese at large, with no grades (:func:`general_idf_factors`). The factor multiplies the learned weight, so
    α, the balance, the gate, the calibration and the edges are nested-CV'd as shipped (α 0: the factor alone).
    """

    def __init__(self, runs: ShippedRuns, *, gamma: float, absent: str = "one",
                 clip: tuple[float, float] = GENERAL_IDF_CLIP, bigrams_only: bool = False,
                 table: Mapping[str, float] | None = None, **options: Any) -> None:
        # on the features without the shipped factor (session 23 ships γ 1 on bigrams in the encoder itself)
        options.setdefault("encoder_options", {**SHIPPED_LEXICAL, "general_idf": 0.0})
        super().__init__(runs, **options)
        self.gamma = gamma
        #: what the encodings are cached under besides (α, training queries)
        self.variant = (gamma, absent, clip, bigrams_only)
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        self.factors = general_idf_factors(terms, general_idf_table() if table is None else table, gamma=gamma,
                                           absent=absent, clip=clip, bigrams_only=bigrams_only)

    def weights(self, alpha: float, train: Iterable[str]) -> dict[str, float]:
        """Feature → the learned weight (1 when none) times the general-language factor."""
        learned = super().weights(alpha, train)
        out = {}
        for t, j in sorted(self.vocabulary.items()):
            w = learned.get(t, 1.0) * float(self.factors[j])
            if abs(w - 1.0) >= 1e-4:
                out[t] = round(w, 4)
        return out

    def _key(self, alpha: float, train: Sequence[str]) -> tuple:
        return (*super()._key(alpha, train), *self.variant)


#: Session 22's figures (``python scripts/relevance_general_idf.py``; each row a multi-seed nested CV with the
#: confidences of :data:`CONFIDENCES`): mean nDCG@5 [min–max], mean P@5, edges right/judged pooled, the worst
#: seed's edge precision, over seeds 15, 1–4 | over seeds 5–9; no-counterpart 1.00 on every seed of every row.
#: The shipped method in the same run: 0.702 [0.688–0.713] 0.533, 121/128, 0.90 | 0.693 [0.688–0.704] 0.533,
#: 114/123, 0.81. On top of the learned weights, every n-gram looked up (the brief): γ 0.5 0.700 [0.691–0.720]
#: 0.537, 140/149, 0.88 | 0.697 [0.692–0.704] 0.537, 111/123, 0.82; γ 1 0.698 [0.682–0.711] 0.534, 128/138, 0.91 |
#: 0.692 [0.681–0.705] 0.538, 113/120, 0.86; γ 0/0.5/1 by inner CV 0.696, 140/153, 0.86 | 0.695, 117/127, 0.83;
#: γ 1 with absent features at the table's median 0.690 [0.670–0.709] 0.541, 178/191, 0.90 | 0.695 [0.670–0.719]
#: 0.541, 160/174, 0.87. The factor alone (α 0) does lift plain character TF-IDF (0.614 [0.611–0.620] 0.478 on both
#: sets): γ 0.5 0.638 | 0.641, γ 1 0.630 | 0.632 (it mostly cuts 的 于 和 对, which the learned weights cut anyway).
#: Added after seeing those: lowering only (factor ≤ 1) 0.702, 143/155, 0.86 | 0.685, 124/132, 0.88; single
#: characters left at 1 (their table idf is the character as a word on its own: 研 9.6, 究 8.8 beside 研究 4.3), the
#: factor on bigrams only, γ 1: 0.712 [0.699–0.726] 0.548, 129/135, 0.92 | 0.700 [0.688–0.709] 0.537, 121/128, 0.92,
#: and on fresh seeds 10–14 0.712 [0.700–0.727] 0.543, 116/124, 0.86 against the shipped 0.697 [0.686–0.711]
#: 0.524, 106/118, 0.84 (per seed ≥ the shipped on 14 of 15, by −0.003 to +0.029); γ 0.5 0.707, 135/142, 0.88 |
#: 0.695, 125/136, 0.85; γ 2 0.710, 131/142, 0.88 | 0.703, 115/122, 0.91; alone (α 0) 0.620 | 0.622. None reaches
#: issue 15's bar (mean ≥ 0.721 on 15, 1–4 and ≥ 0.715 on 5–9, edges ≥ 0.90 on every seed): the bigram factor is a
#: steady +0.01 that is not shipped (its variant was chosen after seeing the others on these queries).
def general_idf_ablation(runs: ShippedRuns, shipped: LearnedRuns | None = None
                         ) -> list[tuple[str, LearnedRuns, dict[str, tuple[Any, ...]]]]:
    """Session 22's rows (figures in the comment above): name, the runs, the knobs added to :data:`LEARNED_GRID`.

    One :class:`GeneralIdfRuns` per (γ, absent) shared by the rows (each encoding made once); ``shipped`` (γ 0:
    the method as shipped until session 23, without the factor the encoder now applies) too, so its row and the
    γ-by-CV row reuse its encodings.
    """
    shipped = shipped or LearnedRuns(runs, encoder_options={**SHIPPED_LEXICAL, "general_idf": 0.0})
    table = general_idf_table()
    by_gamma = {str(g): shipped if g == 0 else GeneralIdfRuns(runs, gamma=g, table=table) for g in GENERAL_IDF_GAMMAS}
    alone = {"term_alpha": (0.0,)}
    bigrams = GeneralIdfRuns(runs, gamma=1.0, bigrams_only=True, table=table)
    return [
        ("no general idf (shipped until session 23)", shipped, {}),
        ("general idf γ 0.5", by_gamma["0.5"], {}),
        ("general idf γ 1", by_gamma["1.0"], {}),
        ("general idf γ by cv", FeatureChoice(by_gamma), {"features": tuple(by_gamma)}),
        ("general idf γ 1, absent: median", GeneralIdfRuns(runs, gamma=1.0, absent="median", table=table), {}),
        ("shipped α 0 (no weights)", shipped, alone),
        ("general idf γ 0.5 alone (α 0)", by_gamma["0.5"], alone),
        ("general idf γ 1 alone (α 0)", by_gamma["1.0"], alone),
        # added after seeing rows 0-7 on seeds 15, 1-4
        ("general idf γ 1, lowering only (≤ 1)", GeneralIdfRuns(runs, gamma=1.0, clip=(0.25, 1.0), table=table), {}),
        ("general idf γ 1, bigrams only", bigrams, {}),
        # added after seeing row 9
        ("general idf γ 0.5, bigrams only", GeneralIdfRuns(runs, gamma=0.5, bigrams_only=True, table=table), {}),
        ("general idf γ 2, bigrams only", GeneralIdfRuns(runs, gamma=2.0, bigrams_only=True, table=table), {}),
        ("general idf γ 1, bigrams only, alone (α 0)", bigrams, alone),
    ]


# -- session 23: the first pass's best re-ordered by a mix with word TF-IDF (shipped in session 24) --------------

#: How many of the first pass's best a :class:`WordMixRuns` re-orders (the re-rankers' pool).
WORD_MIX_POOL = WORD_POOL


#: The words :class:`Tokeniser` keeps of a text (no lexicon), cut by jieba-rs: the build's word mix's
#: (:func:`fundgraph.embeddings.words.words`).
rjieba_words = words


class WordMixRuns(LearnedRuns):
    """The shipped first pass, its best ``pool`` re-ordered by ``(1 − m) · s / s_max + m · w / w_max``.

    ``s``: the shipped score; ``w``: the plain word TF-IDF cosine (jieba, :class:`PlainTfidfEncoder`, of the
    direction's fields joined: the baseline's vectors), each over its best in the pool; ``m`` (the grid knob
    ``word_mix``, :data:`WORD_MIX_WEIGHTS`) chosen by the inner CV with the rest of the point. ``pool`` 0: every
    candidate is mixed (each score over its best among all of them). Candidates below the pool keep their order
    below it. Why: where the character bigrams mislead (神经微分方程 meets neuroscience), word TF-IDF often has the
    related directions; session 14 let it in through a learned re-ranker (:class:`UnionRerankedRuns`), this
    mix needs no model. Edges and their confidence come from the plain score (:meth:`edge_signal`), so the mix
    reorders the list and cannot add an edge. No grade is read by ``w``.
    """

    separate_edges = True

    def __init__(self, runs: ShippedRuns, *, pool: int = WORD_MIX_POOL, words: str = "jieba",
                 one_point: str | None = None, **options: Any) -> None:

        from fundgraph.graph.build.similarity import direction_fields

        super().__init__(runs, **options)
        self.pool = pool
        self.one_point = one_point
        texts = [" ".join(direction_fields(d).values()) for doc in runs.docs for d in doc.directions]
        if words == "jieba":
            word = vx.to_csr(PlainTfidfEncoder().fit(texts).encode(texts)).astype(np.float64)
        elif words == "rjieba":  # the build's word rows (embeddings.words)
            word = WordVectoriser().fit_encode(texts).astype(np.float64)
        else:
            raise ValueError(f"words: 'jieba' or 'rjieba', not {words!r}")
        rows = [self.ids.index(q) for q in self.graded.queries]
        self._word = np.asarray((word[rows] @ word.T).todense())
        self._column = {d: j for j, d in enumerate(self.ids)}

    def signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The first pass's scores with its best ``pool`` mixed (2 + the mix: above the rest)."""
        m = float(point.get("word_mix", 0.0))
        plain = self.edge_signal(point, train, queries)
        if m <= 0:
            return plain
        out: Signal = {}
        for q, scores in plain.items():
            cands = list(scores)
            s = np.asarray([scores[c] for c in cands])
            w = self._word[self.graded.queries.index(q), [self._column[c] for c in cands]]
            order = np.lexsort((np.asarray(cands), -s))
            top = order[: self.pool] if self.pool else order
            mixed = np.round(s / max(float(s.max()), 1e-9), 6)
            # The build's mix (embeddings.words.mix_keys), above the rest; ties by id, as the build breaks them.
            mixed[top] = 2 + mix_keys(s[top], w[top], m)
            out[q] = dict(zip(cands, mixed.tolist(), strict=True))
        return out

    def edge_signal(self, point: Mapping[str, Any], train: Sequence[str], queries: Iterable[str]) -> Signal:
        """The plain score (the point without ``word_mix``)."""
        return LearnedRuns.signal(self, {k: v for k, v in point.items() if k != "word_mix"}, train, queries)


#: Session 23's rows (``python scripts/relevance_word_mix.py``; each a multi-seed nested CV, edges from the plain
#: score): name, the options of a :class:`WordMixRuns`, the knobs added to :data:`LEARNED_GRID`. Measured over the
#: shipped first pass (general-language factor included): mean nDCG@5 [min–max], P@5, edges right/judged pooled,
#: the worst seed's edge precision, over fold seeds 15, 1–4 | 5–9 | 10–14; no-counterpart 1.00 on every seed. The
#: first pass alone (the shipped method): 0.712 [0.699–0.726] 0.548, 129/135, 0.92 | 0.700 [0.688–0.709] 0.537,
#: 121/128, 0.92 | 0.712 [0.700–0.727] 0.543, 116/124, 0.86. **The top 30 mixed: 0.724 [0.713–0.732] 0.544 |
#: 0.722 [0.710–0.733] 0.548 | 0.730 [0.712–0.749] 0.550**; every candidate mixed: 0.726 [0.713–0.737] 0.546 | 0.722
#: [0.717–0.734] 0.547 | 0.729 [0.712–0.745] 0.548 (edges: the first pass's, as above). The folds chose m 0.2–0.4 in
#: 22 of 25 (every candidate mixed, seeds 15, 1–4). Without the general-language factor, every candidate mixed:
#: 0.711 [0.700–0.719] 0.533 (seeds 15, 1–4). Word TF-IDF 0.621 on every seed: the top-30 mix is +0.103 / +0.101 /
#: +0.109 over it, the +0.10 issue 15 asks (session 23: measured in the evaluation only).
#: The top 30 mixed with the words cut by jieba-rs (:func:`rjieba_words`, 11× jieba's speed: what a build could
#: afford at 100,000 directions): 0.723 [0.709–0.733] 0.540 | 0.729 [0.720–0.735] 0.546 | 0.725 [0.716–0.745] 0.547.
#: Word TF-IDF's cosine concatenated into the text vector instead (``cos = (1 − m) char + m word``, m 0.2/0.35/0.5
#: by inner CV), the one form every store could rank with as it is: 0.725 [0.710–0.736] | 0.710 [0.696–0.726], and
#: its edges (from that score) fall to 0.84 / 0.88 on the worst seed: not that way.
#: Session 24, one configuration for the list and the edges, as a build has (:attr:`LearnedRuns.one_point`), jieba-rs
#: words: **chosen on the mixed lists (shipped): 0.723 [0.709–0.733] | 0.729 [0.720–0.735] | 0.725 [0.716–0.745],
#: edges 133/140, 0.89 | 112/119, 0.86 | 125/135, 0.83**; the mix weight chosen with the score's own point held:
#: 0.721 [0.701–0.751] | 0.718 [0.710–0.729] | 0.716 [0.708–0.739] (edges the first pass's); the shipped choice
#: mixing the best 10 only: 0.719 [0.699–0.729] | 0.713 [0.704–0.727].
WORD_MIX_ABLATION: tuple[tuple[str, dict[str, Any], dict[str, tuple[float, ...]]], ...] = (
    ("word mix in the top 30, by cv", {}, {"word_mix": WORD_MIX_WEIGHTS}),
    ("word mix over every candidate, by cv", {"pool": 0}, {"word_mix": WORD_MIX_WEIGHTS}),
    ("word mix in the top 30, rjieba words, by cv", {"words": "rjieba"}, {"word_mix": WORD_MIX_WEIGHTS}),
    ("word mix, its weight on the score's own point", {"words": "rjieba", "one_point": "edges"},
     {"word_mix": WORD_MIX_WEIGHTS}),
    ("word mix in the top 10, one point (as shipped)", {"words": "rjieba", "one_point": "ranking", "pool": 10},
     {"word_mix": WORD_MIX_WEIGHTS}),
)
#: The shipped method's row (what ``fundgraph eval similarity`` headlines): name, options, knobs.
SHIPPED_WORD_MIX: tuple[str, dict[str, Any], dict[str, tuple[float, ...]]] = (
    "shipped: word mix in the top 30, one point", {"words": "rjieba", "one_point": SHIPPED_ONE_POINT},
    {"word_mix": WORD_MIX_WEIGHTS})
#: A third draw of the outer folds (README and the closing notes quote all three sets).
THIRD_SEEDS = (10, 11, 12, 13, 14)


def run_rows(rows: Sequence[tuple[str, LearnedRuns, Mapping[str, tuple[Any, ...]]]], graded: GradedSet,
             seed_sets: Sequence[Sequence[int]], *, knob: str, json_path: str | None = None) -> list[SeedSpread]:
    """Each row's multi-seed nested CV under each seed set, printed as it ends (an ablation script's loop).

    ``rows``: name, the runs, the knobs added to :data:`LEARNED_GRID`; ``knob``: the grid knob whose choices by
    the folds are printed beside α. Prints the headline table of every row at the end; ``json_path``: also writes
    the spreads there.
    """
    spreads = []
    for seeds in seed_sets:
        for name, learner, extra in rows:
            sp = multi_seed_cv(learner, graded, seeds=seeds, confidences=CONFIDENCES,
                               grid={**LEARNED_GRID, **extra}, name=f"{name} s{seeds[0]}-{seeds[-1]}")
            spreads.append(sp)
            print("\n".join(format_spreads([sp])[2:3]), flush=True)
            picks = Counter((c.get(knob), c["term_alpha"]) for seed in sp.choices for c in seed)
            print(f"    folds' ({knob}, α): {dict(picks)}; per-seed edges "
                  f"{[(x.edges_related, x.edges_judged) for x in sp.per_seed]}", flush=True)
    print("\n".join(format_spreads(spreads)))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump([x.as_dict() for x in spreads], f, ensure_ascii=False, indent=1)
    return spreads


def learned_points(frozen: Mapping[str, float] | None = None,
                   grid: Mapping[str, Sequence[float]] | None = None) -> list[dict[str, float]]:
    """Every point of ``grid`` (:data:`LEARNED_GRID`), with the ``frozen`` knobs held at their given values."""
    frozen = frozen or {}
    grid = LEARNED_GRID if grid is None else grid
    keys = list(grid)
    values = [(frozen[k],) if k in frozen else tuple(grid[k]) for k in keys]
    return [dict(zip(keys, v, strict=True)) for v in itertools.product(*values)]


#: The shipped features (session 9: the raw character TF-IDF of "shared-term weights (nested cv)" in the shipped
#: encoder) with each one put back to its session-8 value (:class:`LexicalEncoder` options), the rest of the method
#: nested-CV'd as shipped. Session 8's features (all four put back) gave 0.692; shipped 0.748.
FEATURE_ABLATION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("with session 8's min_df 2", {"min_df": 2}),
    ("with session 8's 4000-feature cap", {"max_features": 4000}),
    ("with session 8's lexicon normalisation", {"normalise": True}),
    ("with session 8's Chinese characters only", {"all_chars": False}),
    ("with all four (session 8's features)", {"min_df": 2, "max_features": 4000, "normalise": True,
                                              "all_chars": False}),
)

#: The shipped method's ablation: one knob held, the rest chosen by nested CV.
LEARNED_ABLATION: tuple[tuple[str, dict[str, float]], ...] = (
    ("shipped (nested cv)", {}),
    ("- learned term weights (α 0)", {"term_alpha": 0.0}),
    ("- entity overlap (text only: text_weight 1.0)", {"text_weight": 1.0}),
)


def learned_cv(learned: LearnedRuns, graded: GradedSet, *, k: int = K, min_confidence: float = MIN_CONFIDENCE,
               frozen: Mapping[str, float] | None = None, seed: int = SEED,
               grid: Mapping[str, Sequence[float]] | None = None, confidences: Sequence[float] | None = None,
               outer_folds: int = FOLDS) -> tuple[SystemScore, list[dict[str, float]], list[tuple[float, bool]]]:
    """Nested CV of the shipped method: each outer fold's grades are seen by nothing that scores it.

    On the four training folds an inner :data:`INNER_FOLDS`-fold CV picks the point (weights fitted on three
    inner folds, nDCG@k measured on the fourth) and fits the calibration (isotonic over those inner out-of-fold
    scores); the weights are then fitted on all four training folds and the fifth is ranked and given edges.
    ``seed`` draws the outer and inner folds; ``outer_folds`` sets how many outer folds (more folds, more training
    queries per fold: the learning curve). With ``confidences``, the edges' confidence is chosen inside the
    training folds too (:func:`choose_confidence`; recorded in the fold's choice as ``min_confidence``). When the
    runs take their edges from another score (:attr:`LearnedRuns.separate_edges`), that score's point is chosen by
    its own inner CV (recorded as ``edge_<knob>``), and the calibration and the confidence are fitted on it.
    Returns the figures, each fold's point, and the out-of-fold (confidence, related) pairs.
    """
    points = learned_points(frozen, grid)
    s = SystemScore("", 0.0, 0.0, 0.0, cv=True)
    outer: Signal = {}
    choices: list[dict[str, float]] = []
    oof: list[tuple[float, bool]] = []
    for test in folds(graded.queries, outer_folds, seed=seed):
        train = [q for q in graded.queries if q not in test]
        rankings = {tuple((x, v) for x, v in p.items() if learned.rank_knobs is None or x in learned.rank_knobs)
                    for p in points}
        if learned.separate_edges:
            # The edges' own point, chosen by the inner CV of the edge score's ranking (the shipped method's
            # choice when the edge score is the shipped one), so the ranking's knobs cannot move the edges.
            edge_points = {tuple((k, v) for k, v in p.items() if k in learned.edge_knobs): p for p in points}
            inner_e = {key: learned.oof(p, train, INNER_FOLDS, seed=seed, edges=True) for key, p in edge_points.items()}
            edge_key = max(inner_e, key=lambda e: round(ranking_figures(signal_run(inner_e[e], graded)[0], graded,
                                                                        train, k)[0], 9))
        ranked_points = points
        if learned.separate_edges and learned.one_point == "edges":
            # One configuration, as a build has: the ranking's point is the edges' with the rest chosen on top.
            ranked_points = [p for p in points if all(p[x] == v for x, v in edge_key)]
        if learned.separate_edges and len(rankings) == 1:
            best = points[0]  # one ranking over the grid (it reads none of these knobs): nothing to choose
        else:
            inner = {tuple(p.items()): learned.oof(p, train, INNER_FOLDS, seed=seed) for p in ranked_points}
            best = max(ranked_points, key=lambda p: round(ranking_figures(
                signal_run(inner[tuple(p.items())], graded)[0], graded, train, k)[0], 9))
        if learned.separate_edges and learned.one_point == "ranking":
            # One configuration, as a build has: the edges' point is the ranking's.
            edge_key = tuple((x, best[x]) for x in learned.edge_knobs if x in best)
        sig = learned.signal(best, train, test)
        outer.update(sig)
        if learned.separate_edges:
            sig = learned.edge_signal(edge_points[edge_key], train, test)
            inner_edges = inner_e[edge_key]
            best = {**best, **{f"edge_{k}": v for k, v in edge_key}}
        else:
            inner_edges = inner[tuple(best.items())]
        run, pairs = signal_run(sig, graded)
        inner_run, inner_pairs = signal_run(inner_edges, graded)
        cal = Calibration.fit(*pair_lists(inner_pairs, graded, train))
        conf = min_confidence
        if confidences:
            conf = choose_confidence(inner_run, inner_pairs, graded, folds(train, INNER_FOLDS, seed), confidences,
                                     k=k, target=min_confidence)
            best = {**best, "min_confidence": conf}
        choices.append(best)
        e = edge_figures(run, graded, test, cal, k=k, min_confidence=conf)
        s.edges, s.edges_judged, s.edges_related = s.edges + e[0], s.edges_judged + e[1], s.edges_related + e[2]
        s.no_edge, s.no_counterpart = s.no_edge + e[3], s.no_counterpart + e[4]
        xs, ys = pair_lists(pairs, graded, test)
        oof.extend((cal(x), y) for x, y in zip(xs, ys, strict=True))
    s.ndcg, s.p_at_k, s.judged = ranking_figures(signal_run(outer, graded)[0], graded, graded.queries, k)
    return s, choices, oof


def choose_confidence(run: Run, pairs: PairScores, graded: GradedSet, groups: Sequence[Sequence[str]],
                      confidences: Sequence[float], *, k: int = K, target: float = MIN_CONFIDENCE) -> float:
    """The lowest of ``confidences`` whose edges are right ``target`` of the time when the calibration is cross-fitted.

    ``run``/``pairs``: out-of-fold scores of the queries of ``groups``; each group's edges are cut with a calibration
    fitted on the other groups' pairs (what a held-out fold meets), pooled. The highest when none reaches ``target``.
    """
    for c in sorted(confidences):
        related = judged = 0
        for t in groups:
            cal = Calibration.fit(*pair_lists(pairs, graded, [q for g in groups if g is not t for q in g]))
            e = edge_figures(run, graded, t, cal, k=k, min_confidence=c)
            judged += e[1]
            related += e[2]
        if not judged or related / judged >= target:
            return c
    return max(confidences)


@dataclass
class SeedSpread:
    """One system's figures under several fold seeds (:data:`SEEDS`): each seed a whole cross-validation."""

    name: str
    per_seed: list[SystemScore]
    seeds: tuple[int, ...]
    #: Tuned on the graded set (nested CV per seed); False: nothing tuned, only its edges' calibration is fitted
    #: out of fold, so its nDCG@5 and P@5 are the same under every seed.
    tuned: bool = True
    choices: list[list[dict[str, float]]] = field(default_factory=list)
    #: Each seed's outer folds as (training queries, test queries): what :func:`multi_seed_cv` held out.
    splits: list[list[tuple[list[str], list[str]]]] = field(default_factory=list)
    seconds: float = 0.0

    def spread(self, attr: str) -> tuple[float, float, float]:
        """(mean, min, max) of a :class:`SystemScore` attribute over the seeds."""
        xs = [float(getattr(s, attr)) for s in self.per_seed]
        return float(np.mean(xs)), min(xs), max(xs)

    @property
    def pooled_edges(self) -> tuple[int, int]:
        """(related, judged) edges summed over the seeds."""
        return sum(s.edges_related for s in self.per_seed), sum(s.edges_judged for s in self.per_seed)

    @property
    def pooled_edge_precision(self) -> float:
        """Related share of the judged edges of every seed together."""
        rel, judged = self.pooled_edges
        return rel / judged if judged else 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name, "seeds": list(self.seeds), "tuned": self.tuned, "seconds": self.seconds,
            **{f"{a}_{w}": v for a in ("ndcg", "p_at_k", "edge_precision", "no_edge_share")
               for w, v in zip(("mean", "min", "max"), self.spread(a), strict=True)},
            "pooled_edge_precision": self.pooled_edge_precision,
            "per_seed": [s.as_dict() for s in self.per_seed],
            "choices": self.choices,
        }


def multi_seed_cv(learned: LearnedRuns, graded: GradedSet, *, seeds: Sequence[int] = SEEDS, k: int = K,
                  name: str = "fundgraph (nested cv)", **options: Any) -> SeedSpread:
    """:func:`learned_cv` once per fold seed.

    ``options``: its ``frozen``, ``grid``, ``min_confidence``, ``outer_folds``.
    """
    t0 = time.perf_counter()
    out = SeedSpread(name, [], tuple(seeds))
    for seed in seeds:
        s, choices, _ = learned_cv(learned, graded, k=k, seed=seed, **options)
        s.name = f"{name} seed {seed}"
        out.per_seed.append(s)
        out.choices.append(choices)
        out.splits.append([([q for q in graded.queries if q not in t], t)
                           for t in folds(graded.queries, options.get("outer_folds", FOLDS), seed=seed)])
    out.seconds = time.perf_counter() - t0
    return out


def untuned_spread(name: str, run: Run, pairs: PairScores, graded: GradedSet, *, seeds: Sequence[int] = SEEDS,
                   k: int = K) -> SeedSpread:
    """An untuned system under the same seeds: only its edges' out-of-fold calibration moves with the seed."""
    return SeedSpread(name, [score_system(name, run, pairs, graded, k=k, seed=s)[0] for s in seeds], tuple(seeds),
                      tuned=False)


def learned_fit(learned: LearnedRuns, graded: GradedSet, *, k: int = K,
                grid: Mapping[str, Sequence[float]] | None = None
                ) -> tuple[dict[str, float], Calibration, dict[str, float], float]:
    """What ships: the point with the best out-of-fold nDCG@k, its weights, and the calibration of its scores.

    The point is the one whose 5-fold out-of-fold nDCG@k over the whole set is best; its weights are fitted on
    every judged pair; the isotonic calibration is fitted on its out-of-fold scores (the kind of score a pair the
    weights never saw gets). When the edges come from another score (:attr:`LearnedRuns.separate_edges`), the
    calibration is that score's at its own best point, or at the ranking's (:attr:`LearnedRuns.one_point`, as
    :func:`learned_cv` chooses them). Returns the
    point, the calibration, the term weights and the point's out-of-fold nDCG@k.
    """
    points = learned_points(grid=grid)

    def best_of(candidates: Sequence[dict[str, float]], edges: bool) -> tuple[float, dict[str, float], Signal]:
        scored = []
        for p in candidates:
            sig = learned.oof(p, graded.queries, FOLDS, edges=edges)
            scored.append((round(ranking_figures(signal_run(sig, graded)[0], graded, graded.queries, k)[0], 9), p,
                           sig))
        return max(scored, key=lambda x: x[0])

    if learned.separate_edges and learned.one_point == "ranking":
        nd, best, _ = best_of(points, False)
        calibrated = learned.oof(best, graded.queries, FOLDS, edges=True)
    elif learned.separate_edges:
        edge_points = {tuple((x, v) for x, v in p.items() if x in learned.edge_knobs): p for p in points}
        _, edge_point, calibrated = best_of(list(edge_points.values()), True)
        if learned.one_point == "edges":
            points = [p for p in points if all(p[x] == edge_point[x] for x in learned.edge_knobs if x in p)]
        nd, best, _ = best_of(points, False)
    else:
        nd, best, calibrated = best_of(points, False)
    cal = Calibration.fit(*pair_lists(signal_run(calibrated, graded)[1], graded, graded.queries))
    return best, cal, learned.weights(float(best["term_alpha"]), graded.queries), nd


@dataclass
class RelevanceReport:
    """Everything ``fundgraph eval similarity`` prints about the graded set."""

    systems: list[SystemScore]
    reliability: list[tuple[float, float, int, float, float]]
    ablation: list[tuple[str, float, float]]
    choices: list[dict[str, Any]]
    chosen: dict[str, Any]
    calibration: dict[str, Any]
    graded: GradedSet
    seconds: float = 0.0
    #: The headline: the shipped method's nested CV under each of :data:`SEEDS`, the baselines beside.
    spreads: list[SeedSpread] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "multi_seed": [s.as_dict() for s in self.spreads],
            "systems": [s.as_dict() for s in self.systems],
            "reliability": [dict(zip(("low", "high", "pairs", "confidence", "related"), r, strict=True))
                            for r in self.reliability],
            "ablation": [{"change": a, "cv_ndcg": b, "cv_edge_precision": c} for a, b, c in self.ablation],
            "fold_choices": self.choices,
            "chosen": {k: (len(v) if k == "term_weights" else v) for k, v in self.chosen.items()},
            "calibration": self.calibration,
        }


#: The ablation: each change of issue 15 switched off (held at its :data:`BEFORE` value), the rest tuned by CV.
ABLATION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("all changes (tuned by CV)", {}),
    ("- text/entity balance (text_weight 0.5)", {"text_weight": BEFORE["text_weight"]}),
    ("- entity gate (entities carry alone)", {"entity_gate": BEFORE["entity_gate"]}),
    ("- content-first field weights", {"content_first": BEFORE["content_first"]}),
    ("- rare shared terms (min_df 2)", {"min_df": BEFORE["min_df"]}),
    ("- whole text as one vector (fields apart)", {"whole_text": BEFORE["whole_text"]}),
    ("- no jieba user words (vocabulary names cut as one word)", {"user_words": BEFORE["user_words"]}),
    ("- composite blocks (field vectors summed into one)", {"composite": BEFORE["composite"]}),
    ("none (the scoring before issue 15)", dict(BEFORE)),
)


def evaluate_relevance(settings: Settings, *, path: Path = GRADED_PATH, ablation: bool = False,
                       k: int = K) -> RelevanceReport:
    """Shipped scoring (before and after issue 15, and cross-validated) and the baselines, in one run."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from fundgraph.graph.build.similarity import direction_fields

    t0 = time.perf_counter()
    graded = load_graded(path)
    runs = ShippedRuns(settings, graded)
    directions = [d for doc in runs.docs for d in doc.directions]
    ids = [d.id for d in directions]
    programs = [d.program_id for d in directions]
    unknown = sorted({q for q in graded.queries if q not in set(ids)}
                     | {c for g in graded.grades.values() for c in g if c not in set(ids)})
    if unknown:
        raise InputError(f"graded set names unknown directions: {unknown[:5]}", path=path)
    texts = [" ".join(direction_fields(d).values()) for d in directions]

    systems: list[SystemScore] = []
    shipped_choice = current_choice(settings)
    systems.append(score_system("fundgraph (before issue 15)", *runs.run(dict(BEFORE)), graded, k=k)[0])
    # What ships, as the build ranks (the packaged term weights were fitted on every judged pair: in sample).
    run, pairs, edge_run = shipped_run(runs)
    systems.append(score_system("fundgraph (shipped, in sample)", run, pairs, graded, k=k, edge_run=edge_run)[0])
    # The shipped method with nothing it is scored on seen by what scores it: weights, point and calibration
    # fitted inside the training folds (nested CV). This is the figure to quote.
    # The shipped first pass with its best 30 re-ordered by the word mix (embeddings.words), the mix weight chosen
    # on top of the first pass's point, the edges from the first pass's score.
    learned = WordMixRuns(runs, **SHIPPED_WORD_MIX[1])
    cv, choices, shipped_oof = learned_cv(learned, graded, k=k, confidences=CONFIDENCES, grid=SHIPPED_GRID)
    cv.name = f"fundgraph (nested cv, seed {SEED})"
    systems.append(cv)
    spreads = [multi_seed_cv(learned, graded, k=k, confidences=CONFIDENCES, grid=SHIPPED_GRID)]
    # The first pass alone (the shipped method without the word mix): what the mix adds, in the same run.
    plain = LearnedRuns(runs)
    spreads.append(multi_seed_cv(plain, graded, k=k, confidences=CONFIDENCES, name="first pass only (no word mix)"))
    point, fitted, weights, oof_ndcg = learned_fit(learned, graded, k=k, grid=SHIPPED_GRID)
    # The edges' confidence as the folds chose it, on the shipped point's out-of-fold scores (the edges' score).
    oof_run, oof_pairs = signal_run(learned.oof(point, graded.queries, FOLDS, edges=True), graded)
    min_confidence = choose_confidence(oof_run, oof_pairs, graded, folds(graded.queries), CONFIDENCES, k=k)

    word = PlainTfidfEncoder().fit(texts).encode(texts)
    char = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    tok = Tokeniser(Lexicon())
    bm = bm25_scores([tok(t) for t in texts])
    for name, base in (
        ("word TF-IDF (jieba)", matrix_run(word, ids, programs, graded.queries, graded)),
        ("char TF-IDF (1-2 grams)", matrix_run(vx.l2_normalise(vx.to_csr(char.astype(np.float32))), ids, programs,
                                               graded.queries, graded)),
        ("BM25 (jieba words)", matrix_run(word, ids, programs, graded.queries, graded, scores_of=bm)),
    ):
        systems.append(score_system(name, *base, graded, k=k)[0])
        spreads.append(untuned_spread(name, *base, graded, k=k))

    rows = []
    if ablation:
        word_sig = matrix_signal(lambda i: vx.query_products(word, vx.as_query(vx.dense_row(word, i))), ids,
                                 programs, graded.queries)
        char_m = vx.l2_normalise(vx.to_csr(char.astype(np.float32)))
        char_sig = matrix_signal(lambda i: vx.query_products(char_m, vx.as_query(vx.dense_row(char_m, i))), ids,
                                 programs, graded.queries)
        composite = {**shipped_choice, "composite": True, "user_words": False}
        for name, sigs in (("RRF word+char+shipped", (word_sig, char_sig, runs.all_scores(shipped_choice))),
                           ("RRF word+char+composite", (word_sig, char_sig, runs.all_scores(composite)))):
            systems.append(score_system(name, *signal_run(reciprocal_rank_fusion(sigs), graded), graded, k=k)[0])
        fused = score_system("logistic fusion word+char+comp.",
                             *signal_run(logistic_fusion_cv((word_sig, char_sig, runs.all_scores(composite)), graded),
                                         graded), graded, k=k)[0]
        fused.cv = True
        systems.append(fused)
        weighted = score_system("shared-term weights (nested cv)",
                                *signal_run(term_weighted_cv({"word": word, "char": char}, ids, programs, graded),
                                            graded), graded, k=k)[0]
        weighted.cv = True
        systems.append(weighted)
        for label, frozen in ABLATION:
            a, _, _ = cross_validate(runs, graded, frozen=frozen, k=k)
            rows.append((f"old scoring {label}", a.ndcg, a.edge_precision))
        grid_cv, _, _ = cross_validate(runs, graded, k=k)
        grid_cv.name = "old grid incl. composite (cv)"
        systems.append(grid_cv)
        for label, frozen in LEARNED_ABLATION:
            a, _, _ = learned_cv(learned, graded, k=k, frozen=frozen, confidences=CONFIDENCES, grid=SHIPPED_GRID)
            rows.append((label, a.ndcg, a.edge_precision))
        for label, options in FEATURE_ABLATION:
            a, _, _ = learned_cv(LearnedRuns(runs, encoder_options={**SHIPPED_LEXICAL, **options}), graded, k=k,
                                 confidences=CONFIDENCES)
            rows.append((f"shipped (nested cv) {label}", a.ndcg, a.edge_precision))
        # The balance chosen inside the training folds too (shipped: fixed at 0.9 after session 8's folds chose it).
        spreads.append(multi_seed_cv(plain, graded, k=k, confidences=CONFIDENCES,
                                     grid={**LEARNED_GRID, "text_weight": (0.6, 0.7, 0.8, 0.9)},
                                     name="balance 0.6-0.9 by inner cv"))
        # Pseudo-relevance feedback, its strength chosen inside the training folds (0 = none): a lead, not shipped.
        expansion = FeatureChoice({str(b): plain if b == 0 else ExpandedRuns(runs, beta=b) for b in EXPANSION_BETAS})
        spreads.append(multi_seed_cv(expansion, graded, k=k, confidences=CONFIDENCES,
                                     grid={"features": tuple(map(str, EXPANSION_BETAS)), **LEARNED_GRID},
                                     name="+ query expansion (not shipped)"))
        # Session 10 (none shipped): hubness correction (CSLS, k = 10 a priori), expansion of the first pass's
        # pool only, their combination, a reciprocal-neighbour penalty; one run object each, so the encodings of
        # a (weights, training queries) are made once per row. Session 11 (none shipped): the list ranked by the
        # pool expansion, the edges from the unexpanded score.
        for name, learner, extra in (*HUB_ABLATION, *RANK_EXPANSION_ABLATION):
            spreads.append(multi_seed_cv(learner(runs), graded, k=k, confidences=CONFIDENCES,
                                         grid={**LEARNED_GRID, **extra}, name=name))
        # Session 13 (not shipped): the first pass's pool re-ranked by a model of query-independent pair features,
        # edges from the plain score; one RerankedRuns shared by the rows, so each encoding is made once.
        reranked = RerankedRuns(runs)
        for name, options in RERANK_ABLATION:
            spreads.append(multi_seed_cv(reranked.variant(**options), graded, k=k, confidences=CONFIDENCES,
                                         name=name))
        # Session 14 (not shipped): word TF-IDF let into the re-ranker's pool, its score or its first pass.
        for name, options in UNION_RERANK_ABLATION:
            spreads.append(multi_seed_cv(UnionRerankedRuns.of(reranked, **options), graded, k=k,
                                         confidences=CONFIDENCES, name=name))
        # Session 16 (not shipped): the learned term weights smoothed toward a prior predicted from the terms'
        # corpus features. Session 22: the idf times a general-language factor from jieba's idf table, no grades
        # (its bigrams-only γ 1 row shipped in session 23, in the encoder; the rows measure it on the features
        # without it). Each row under the headline's seeds and under CHECK_SEEDS (a second draw of the folds).
        prior_rows = ((name, make(runs), extra) for name, make, extra in PRIOR_ABLATION)  # made one at a time
        for name, learner, extra in itertools.chain(prior_rows, general_idf_ablation(runs)):
            for seeds in (SEEDS, CHECK_SEEDS):
                spreads.append(multi_seed_cv(learner, graded, k=k, seeds=seeds, confidences=CONFIDENCES,
                                             grid={**LEARNED_GRID, **extra}, name=f"{name} s{seeds[0]}-{seeds[-1]}"))
    calibration = {
        # The format embeddings/calibration.py reads: method is "isotonic" or "logistic".
        "method": "isotonic",
        "encoder": "lexical",
        "points": [[x, y] for x, y in fitted.points],
        "fitted_on": f"grade ≥ 1 on the shipped score, out of fold (term weights fitted on the other 4 of 5 folds); "
                     f"{path.name}: {graded.pairs} judged pairs of {len(graded.queries)} queries; point {point} "
                     f"(out-of-fold nDCG@{k} {oof_ndcg:.3f})",
        "min_confidence": min_confidence,
        # rounded up: a knot pair a millionth apart puts the threshold between two 6-decimal scores
        "score_threshold": math.ceil(fitted.threshold(min_confidence) * 1e6 - 1e-6) / 1e6,
    }
    chosen = {**point, "term_weights": weights, "encoder": dict(SHIPPED_LEXICAL), "graded": path.name,
              "pairs": graded.pairs}
    return RelevanceReport(systems, reliability(shipped_oof), rows, choices, chosen, calibration, graded,
                           time.perf_counter() - t0, spreads)


def shipped_run(runs: ShippedRuns, *, depth: int = 10) -> tuple[Run, PairScores, Run]:
    """The shipped ranking as a build makes it: the settings' encoder (packaged weights), default scoring.

    Returns the lists (the first pass's best re-ordered by the word mix, as the stores answer ``similar``), the
    judged pairs' scores, and the first pass's lists (the ones SIMILAR_TO edges are cut from).
    """
    from fundgraph.graph.build.similarity import direction_fields, direction_words, encode_directions
    from fundgraph.graph.profiles import candidates_from_graph

    ids, vectors, _enc, _lex, cfg = encode_directions(runs.g, runs.docs, settings=runs.settings)
    cands = candidates_from_graph(runs.g, ids, vectors, cfg)
    edge_run, pairs, _all = rank_graded(cands, cfg, runs.graded, depth)
    cands.words = direction_words([direction_fields(d) for doc in runs.docs for d in doc.directions])[1]
    run, _pairs, _all = rank_graded(cands, cfg, runs.graded, depth)
    return run, pairs, edge_run


def rank_graded(cands: Any, cfg: ScoringConfig, graded: GradedSet, depth: int
                ) -> tuple[Run, PairScores, dict[str, dict[str, float]]]:
    """Each graded query's cross-program ranking: its top ``depth``, the judged pairs' scores, every score by id.

    With word rows (``cands.words``) and a mix weight, the top ``depth`` is that of the list re-ordered by the word
    mix (:meth:`RankingContext.mixed`); the scores stay the first pass's.
    """
    from fundgraph.graph.read.ranking import RankingContext

    context = RankingContext({"scoring": cfg.state()}, {})
    run: Run = {}
    pairs: PairScores = {}
    every: dict[str, dict[str, float]] = {}
    for q in graded.queries:
        i = cands.index[q]
        ranked = rank(vx.dense_row(cands.vectors, i), cands.entities[i], cands, config=cfg, exclude=i,
                      exclude_program=cands.programs[i])
        if cands.words is not None:
            ranked = context.mixed(ranked, cands.words[i], cands, len(ranked))
        run[q] = [(x.id, x.score) for x in ranked[:depth]]
        every[q] = by_id = {x.id: x.score for x in ranked}
        for c in graded.grades.get(q, {}):
            pairs[(q, c)] = by_id[c]
    return run, pairs, every


def current_choice(settings: Settings) -> dict[str, Any]:
    """The grid point the shipped defaults correspond to."""
    from fundgraph.embeddings.encoders import encoder_from_settings

    cfg = ScoringConfig()
    return {
        "text_weight": cfg.text_weight,
        "entity_gate": cfg.entity_gate,
        "content_first": cfg.field_weights == FIELD_WEIGHTS[True],
        "min_df": LexicalEncoder().min_df,
        "whole_text": cfg.field_weights == WHOLE_TEXT,
        "user_words": LexicalEncoder().user_words,
        "composite": isinstance(encoder_from_settings(settings), CompositeEncoder),
    }


def write_calibration(report: RelevanceReport, path: Path = CALIBRATION_PATH,
                      weights_path: Path = TERM_WEIGHTS_PATH) -> Path:
    """Write what the graded set fits for the build and the API (package data): the calibration and term weights.

    The calibration maps the shipped score, so it is written with the term weights that make that score.
    """
    cal = dict(report.calibration)
    points = ",\n  ".join(json.dumps(p) for p in cal.pop("points"))
    head = json.dumps(cal, ensure_ascii=False, indent=1)[:-2]
    path.write_text(f'{head},\n "points": [\n  {points}\n ]\n}}\n', encoding="utf-8")
    chosen = dict(report.chosen)
    weights = chosen.pop("term_weights")
    rows = ",\n  ".join(f"{json.dumps(t, ensure_ascii=False)}: {w}" for t, w in sorted(weights.items()))
    head = json.dumps({"fitted_on": f"{chosen.pop('graded')}: {chosen.pop('pairs')} judged pairs "
                                    "(shared_term_weights, fundgraph.evaluation.relevance)", **chosen},
                      ensure_ascii=False, indent=1)[:-2]
    weights_path.write_text(f'{head},\n "weights": {{\n  {rows}\n }}\n}}\n', encoding="utf-8")
    return path


def format_spreads(spreads: Sequence[SeedSpread]) -> list[str]:
    """The headline table: mean [min–max] over the fold seeds, edges pooled over them."""
    if not spreads:
        return []
    seeds = ", ".join(map(str, spreads[0].seeds))
    lines = [
        f"headline: nested {FOLDS}-fold CV repeated over {len(spreads[0].seeds)} fold seeds ({seeds}); "
        "each cell: the mean over the seeds, then the lowest and highest seed's figure",
        f"{'system':32s} {'nDCG@5':>19s} {'P@5':>19s} {'edge P pooled':>17s} {'min':>5s} {'no-edge':>17s} "
        f"{'judged':>6s} {'s':>5s}",
    ]

    def cell(sp: SeedSpread, attr: str) -> str:
        m, lo, hi = sp.spread(attr)
        return f"{m:.3f} [{lo:.3f}–{hi:.3f}]"

    for sp in spreads:
        rel, judged = sp.pooled_edges
        ep = f"{rel}/{judged}={sp.pooled_edge_precision:.2f}"
        name = sp.name + ("" if sp.tuned else " *")
        lines.append(f"{name:32s} {cell(sp, 'ndcg'):>19s} {cell(sp, 'p_at_k'):>19s} {ep:>17s} "
                     f"{sp.spread('edge_precision')[1]:5.2f} {cell(sp, 'no_edge_share'):>17s} "
                     f"{sp.spread('judged')[0]:6.3f} {f'{sp.seconds:5.1f}' if sp.tuned else '-':>5s}")
    lines.append("* untuned: its ranking (nDCG@5, P@5) is the same under every seed; only its edges' calibration is "
                 "fitted out of fold. min = the worst seed's edge precision; judged = the mean share of the top 5 "
                 "that the readers graded.")
    return lines


def format_relevance(report: RelevanceReport) -> str:
    """The graded-set tables for the terminal."""
    gs = report.graded
    lines = [
        f"graded set: {len(gs.queries)} queries ({len(gs.no_counterpart)} with no counterpart), {gs.pairs} judged "
        f"pairs, Cohen's kappa {gs.agreement.get('cohen_kappa', '-')}; unjudged candidates count as 0",
        *format_spreads(report.spreads),
        "",
        f"one split (folds seed {SEED}):",
        f"{'system':32s} {'nDCG@5':>7s} {'P@5':>6s} {'judged':>6s} {'edges':>5s} {'edge P':>11s} {'no-edge':>8s}",
    ]
    for s in report.systems:
        ep = f"{s.edges_related}/{s.edges_judged}={s.edge_precision:.2f}"
        lines.append(f"{s.name:32s} {s.ndcg:7.3f} {s.p_at_k:6.3f} {s.judged:6.2f} {s.edges:5d} {ep:>11s} "
                     f"{s.no_edge:>3d}/{s.no_counterpart:<2d}{'':2s}")
    lines.append(f"edges: top {K} with out-of-fold confidence ≥ {MIN_CONFIDENCE} (calibration fitted on the other "
                 f"folds; the shipped rows: the lowest of {CONFIDENCES} whose cross-fitted edges inside the training "
                 f"folds are right ≥ {MIN_CONFIDENCE}); no-edge: no-counterpart queries without an edge; folds: "
                 f"{FOLDS} over queries, seed {SEED}")
    lines.append("fold choices: " + "; ".join(
        ",".join(f"{k}={v}" for k, v in c.items()) for c in report.choices))
    lines.append("")
    lines.append("reliability of the shipped confidence (out of fold, judged pairs):")
    lines.append(f"{'confidence':>12s} {'pairs':>6s} {'mean conf':>9s} {'related':>8s}")
    for lo, hi, n, c, y in report.reliability:
        lines.append(f"{lo:5.1f}–{hi:<5.1f}  {n:6d} {c:9.3f} {y:8.3f}")
    if report.ablation:
        lines.append("")
        lines.append("ablation (each change held at its old value, the rest tuned by 5-fold CV):")
        lines.append(f"{'change':58s} {'cv nDCG@5':>9s} {'cv edge P':>9s}")
        for label, nd, ep in report.ablation:
            lines.append(f"{label:58s} {nd:9.3f} {ep:9.3f}")
    return "\n".join(lines)
