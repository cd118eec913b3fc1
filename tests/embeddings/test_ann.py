"""The nearest-neighbour candidate path (embeddings.ann, topk above exact_max) against the exact top-k."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from fundgraph.core.settings import Settings
from fundgraph.embeddings import ann, topk
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import Candidates, EntityInfo, ScoringConfig
from fundgraph.embeddings.topk import (
    Selection,
    candidate_sets,
    entity_matrix,
    pair_cosines,
    pair_products,
    top_k_all,
)
from fundgraph.evaluation.similarity import build_entity_graph
from fundgraph.graph.build.similarity import candidates_from_graph, encode_directions


def _clustered(n_programs=40, per_program=12, dim=600, seed=3):
    """Directions of programs on shared topics: each direction mixes its topic's words with noise words."""
    rng = np.random.default_rng(seed)
    topics = [rng.choice(dim, 25, replace=False) for _ in range(30)]
    rows, programs, entities = [], [], []
    for p in range(n_programs):
        for _d in range(per_program):
            t = int(rng.integers(len(topics)))
            v = np.zeros(dim, dtype=np.float32)
            v[rng.choice(topics[t], 12, replace=False)] = rng.random(12, dtype=np.float32) + 0.5
            v[rng.choice(dim, 20, replace=False)] += rng.random(20, dtype=np.float32) * 0.4
            rows.append(v)
            programs.append(f"p{p:02d}")
            entities.append({f"disease:t{t}": 1.0, f"keyword:k{int(rng.integers(200))}": 0.5})
    ids = [f"p{p:02d}:{d}" for p in range(n_programs) for d in range(per_program)]
    info = {e: EntityInfo(e, e.split(":")[0], e.split(":")[1]) for p in entities for e in p}
    return Candidates(ids=ids, programs=programs, vectors=vx.l2_normalise(sp.csr_matrix(np.stack(rows))),
                      entities=entities, info=info)


def test_combined_rows_multiply_to_the_combined_score():
    c = _clustered(n_programs=5)
    ents = entity_matrix(c.entities, c.idf)
    rows = ann.combined_rows(c.vectors, ents, text_weight=0.3, entity_weight=0.7)
    want = 0.3 * (c.vectors @ c.vectors.T).toarray() + 0.7 * (ents @ ents.T).toarray()
    assert np.allclose((rows @ rows.T).toarray(), want, atol=1e-5)
    dense = ann.combined_rows(c.vectors.toarray(), ents, text_weight=0.3, entity_weight=0.7)
    assert np.allclose((dense @ dense.T).toarray(), want, atol=1e-5)


@pytest.mark.parametrize("sparse", [True, False])
def test_pair_products_equal_the_block_products(sparse):
    c = _clustered(n_programs=6)
    m = c.vectors if sparse else c.vectors.toarray()
    rng = np.random.default_rng(1)
    rows = np.array([0, 5, 17, 40])
    cands = rng.integers(0, len(c.ids), size=(4, 9))
    cands[1, 3:] = -1
    got = pair_products(m, rows, cands)
    full = vx.block_products(m[rows], vx.transposed(m)).astype(np.float64)
    want = np.where(cands >= 0, np.take_along_axis(full, np.maximum(cands, 0), axis=1), 0.0)
    assert np.allclose(got, want, atol=vx.product_error(c.vectors))
    assert not got[1, 3:].any()


def test_neighbour_candidates_skip_the_row_and_reach_other_programs():
    c = _clustered()
    ents = entity_matrix(c.entities, c.idf)
    points = ann.projection(ann.combined_rows(c.vectors, ents, text_weight=0.5, entity_weight=0.5))
    codes = c.program_codes[0]
    # every program's own directions first: a program of 12 fills half of a list of 24 on its own
    skewed = points + 3.0 * np.eye(len(set(c.programs)), points.shape[1], dtype=np.float32)[codes]
    skewed /= np.linalg.norm(skewed, axis=1, keepdims=True)
    plain = ann.neighbour_candidates(skewed, 14)
    assert plain.shape == (len(c.ids), 14)
    assert not (plain == np.arange(len(c.ids))[:, None]).any()
    other = lambda found: ((found >= 0) & (codes[np.maximum(found, 0)] != codes[:, None])).sum(axis=1)  # noqa: E731
    assert other(plain).min() < 14  # the program's own directions crowd the plain lists ...
    asked = ann.neighbour_candidates(skewed, 14, groups=codes, cross_k=14)
    assert other(asked).min() >= 14  # ... and rows short of other programs are asked again with more
    assert not (asked == np.arange(len(c.ids))[:, None]).any()


def test_nearest_neighbour_path_finds_the_exact_top_k():
    c = _clustered()
    cfg = ScoringConfig()
    sels = [Selection(5, 0.2, cross_group=True), Selection(5, 0.2)]
    exact = top_k_all(c, cfg, sels)
    approx = top_k_all(c, cfg, sels, exact_max=100)
    for want_rows, got_rows in zip(exact, approx, strict=True):
        want = {(i, s.id, s.score, s.summary) for i, r in enumerate(want_rows) for s in r}
        got = {(i, s.id, s.score, s.summary) for i, r in enumerate(got_rows) for s in r}
        assert len(want) > 1000
        assert len(want & got) >= 0.98 * len(want)  # the same edges with the same scores and reasons
        assert len(got) <= len(want) + 0.02 * len(want)


def test_exact_max_keeps_small_inputs_and_column_subsets_exact():
    c = _clustered(n_programs=8)
    ents = entity_matrix(c.entities, c.idf)
    kw = dict(text_weight=0.5, entity_weight=0.5, groups=c.programs)
    sels = [Selection(3, cross_group=True)]
    (a,) = candidate_sets(c.vectors, ents, sels, exact_max=len(c.ids), **kw)
    (b,) = candidate_sets(c.vectors, ents, sels, **kw)
    assert all(list(x) == list(y) for x, y in zip(a, b, strict=True))
    cols = np.arange(0, len(c.ids), 2)
    (sub,) = candidate_sets(c.vectors, ents, sels, columns=cols, exact_max=0, **kw)  # lineage's shape: exact
    (sub_exact,) = candidate_sets(c.vectors, ents, sels, columns=cols, **kw)
    assert all(list(x) == list(y) for x, y in zip(sub, sub_exact, strict=True))


def test_bundled_corpus_default_stays_exact_and_the_index_agrees():
    settings = Settings(encoder="lexical")
    assert settings.exact_similarity_max >= 124  # the bundled corpus and the tests take the exact path
    g, docs = build_entity_graph(settings)
    ids, vectors, _enc, _lex, config = encode_directions(g, docs, settings=settings)
    cands = candidates_from_graph(g, ids, vectors, config)
    sels = [Selection(5, 0.25, cross_group=True), Selection(5, 0.25)]
    exact = top_k_all(cands, config, sels)
    approx = top_k_all(cands, config, sels, exact_max=0)
    for want_rows, got_rows in zip(exact, approx, strict=True):
        want = {(i, s.id, s.score) for i, r in enumerate(want_rows) for s in r}
        got = {(i, s.id, s.score) for i, r in enumerate(got_rows) for s in r}
        assert len(want) >= 70 and len(want & got) >= 0.98 * len(want)  # 78 pairs score ≥ 0.25 cross-program


def test_pair_cosines_equal_the_canonical_cosines_to_the_bit():
    c = _clustered(n_programs=10)
    m = vx.to_csr(c.vectors)
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(c.ids), 400)
    cols = rng.integers(0, len(c.ids), 400)
    got = pair_cosines(m, rows, cols)
    want = np.array([vx.cosines(m, [j], vx.dense_row(m, i))[0] for i, j in zip(rows, cols, strict=True)])
    assert np.array_equal(got, want)
    assert pair_cosines(m, rows[:0], cols[:0]).size == 0


def test_nearest_neighbour_path_keeps_each_candidates_canonical_cosine_to_the_bit(monkeypatch):
    from fundgraph.embeddings import topk

    c = _clustered(n_programs=12)
    cfg = ScoringConfig()
    ents = entity_matrix(c.entities, c.idf)
    sels = [Selection(5, 0.2, cross_group=True), Selection(5, 0.2)]
    kw = dict(text_weight=cfg.text_weight, entity_weight=cfg.entity_weight, groups=c.programs, exact_max=50)
    cosines: list = []
    sets = candidate_sets(c.vectors, ents, sels, cosines=cosines, **kw)
    assert len(cosines) == len(c.ids)
    m = vx.to_csr(c.vectors)
    for i, (cols, cos) in enumerate(cosines):
        assert cols.size >= 5 and np.all(np.diff(cols) > 0)
        assert np.array_equal(cos, pair_cosines(m, np.full(cols.size, i), cols))  # float64, summed the same way
        for kept in (sets[0][i], sets[1][i]):
            assert np.isin(kept, cols).all()
    # The lists equal those re-scored from cosines computed afresh (the path before the cosines were kept).
    kept = top_k_all(c, cfg, sels, exact_max=50)
    monkeypatch.setattr(topk, "candidate_sets", lambda *a, cosines=None, **k: candidate_sets(*a, **k))
    assert top_k_all(c, cfg, sels, exact_max=50) == kept
    assert sum(len(r) for r in kept[0]) > 300


def _bundled_candidates():
    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, _enc, _lex, config = encode_directions(g, docs, settings=settings)
    return candidates_from_graph(g, ids, vectors, config), config


@pytest.mark.parametrize("which", ["clustered", "bundled"])
@pytest.mark.parametrize("half_margin", [topk.HALF_MARGIN, 0.5])
def test_score_only_lists_equal_the_rescored_ones_to_the_bit(which, half_margin, monkeypatch):
    """On the nearest-neighbour path a list that only scores is made from the block's products; the same selection
    explained goes through scoring.rescore: the same rows, in the same order, with the same scores. With a margin
    of 0.5 every pair takes the exact fallback (``ScoreOnly.exact``), which must agree too."""
    monkeypatch.setattr(topk, "HALF_MARGIN", half_margin)
    c, cfg = _bundled_candidates() if which == "bundled" else (_clustered(), ScoringConfig(entity_gate=0.3))
    pairs = []
    for sel in (Selection(30, None, cross_group=True), Selection(5, 0.25), Selection(8, 0.2, cross_group=True)):
        quick, slow = top_k_all(c, cfg, [dataclasses.replace(sel, explain=False), sel], exact_max=0)
        for a, b in zip(quick, slow, strict=True):
            assert [(s.index, s.id, s.program_id, s.score) for s in a] == [(s.index, s.id, s.program_id, s.score)
                                                                           for s in b]
            pairs += a
    assert len(pairs) > 2000
    assert len({s.score for s in pairs}) > 500  # scores differ: the order is not decided by ids alone
