"""Blocked top-k (embeddings.topk) gives exactly what scoring.rank gives, row by row."""

import numpy as np
import pytest
import scipy.sparse as sp

from fundgraph.core.settings import Settings
from fundgraph.embeddings.scoring import Candidates, EntityInfo, ScoringConfig, rank
from fundgraph.embeddings.similarity import weighted_overlap
from fundgraph.embeddings.topk import Selection, candidate_sets, entity_matrix, top_k_all
from fundgraph.evaluation.similarity import build_entity_graph
from fundgraph.graph.build.similarity import candidates_from_graph, encode_directions


def _unit(rows):
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _handmade():
    vectors = _unit([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.8, 0.6], [0.5, 0.5, 0.7], [1, 0, 0.01]])
    entities = [
        {"disease:ad": 1.5, "technique:mri": 1.0},
        {"disease:ad": 1.0},
        {"technique:mri": 1.0, "keyword:x": 0.5},
        {"keyword:x": 0.5},
        {},
        {"disease:ad": 1.5, "technique:mri": 1.0},  # same profile as row 0: ties broken by id
    ]
    info = {e: EntityInfo(e, e.split(":")[0], e.split(":")[1]) for p in entities for e in p}
    return Candidates(ids=["p:1", "q:1", "q:2", "r:1", "r:2", "p:2"], programs=["p", "q", "q", "r", "r", "p"],
                      vectors=vectors, entities=entities, info=info)


def _same(got, want):
    assert [s.id for s in got] == [s.id for s in want]
    for a, b in zip(got, want, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-6)
        assert a.text_score == pytest.approx(b.text_score, abs=1e-6)
        assert a.entity_score == pytest.approx(b.entity_score, abs=1e-6)
        assert (a.shared, a.summary, a.program_id) == (b.shared, b.summary, b.program_id)


def test_entity_matrix_rows_multiply_to_weighted_overlap():
    c = _handmade()
    m = entity_matrix(c.entities, c.idf)
    assert sp.isspmatrix_csr(m) and m.shape == (6, 3)
    prod = (m @ m.T).toarray()
    for i in range(6):
        for j in range(6):
            assert min(1.0, prod[i, j]) == pytest.approx(weighted_overlap(c.entities[i], c.entities[j], c.idf)[0])
    assert not prod[4].any()  # an empty profile overlaps nothing


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3, 10])
@pytest.mark.parametrize("block_rows", [1, 4, None])
def test_handmade_equals_rank(exact, k, block_rows):
    c = _handmade()
    cfg = ScoringConfig()
    every, cross = top_k_all(c, cfg, [Selection(k), Selection(k, cross_group=True)], exact=exact,
                             block_rows=block_rows)
    for i in range(6):
        _same(every[i], rank(c.vectors[i], c.entities[i], c, config=cfg, k=k, exclude=i))
        _same(cross[i], rank(c.vectors[i], c.entities[i], c, config=cfg, k=k, exclude=i,
                             exclude_program=c.programs[i]))
    assert every[0][0].id == "p:2" and cross[0][0].id != "p:2"


def test_threshold_cuts_like_the_build_loop():
    c = _handmade()
    cfg = ScoringConfig()
    (got,) = top_k_all(c, cfg, [Selection(3, threshold=0.5)])
    for i in range(6):
        want = [s for s in rank(c.vectors[i], c.entities[i], c, config=cfg, k=3, exclude=i) if s.score >= 0.5]
        _same(got[i], want)
    assert any(got) and not all(len(g) == 3 for g in got)


def test_candidates_never_include_the_row_or_its_group_and_sparse_text_agrees():
    c = _handmade()
    ents = entity_matrix(c.entities, c.idf)
    sel = [Selection(2, cross_group=True)]
    (dense,) = candidate_sets(c.vectors, ents, sel, text_weight=0.5, entity_weight=0.5, groups=c.programs)
    (sparse,) = candidate_sets(sp.csr_matrix(c.vectors), ents, sel, text_weight=0.5, entity_weight=0.5,
                               groups=c.programs)
    for i, ((cols, text), (cols2, text2)) in enumerate(zip(dense, sparse, strict=True)):
        assert i not in cols and all(c.programs[j] != c.programs[i] for j in cols)
        assert len(cols) >= 2
        assert list(cols) == list(cols2) and np.allclose(text, text2, atol=1e-6)
        assert np.allclose(text, c.vectors[cols] @ c.vectors[i], atol=1e-6)


def test_no_rows_and_no_neighbours():
    c = _handmade()
    ents = entity_matrix(c.entities, c.idf)
    assert candidate_sets(c.vectors[:0], ents[:0], [Selection(3)], text_weight=0.5, entity_weight=0.5) == [[]]
    (none,) = candidate_sets(c.vectors, ents, [Selection(0)], text_weight=0.5, entity_weight=0.5)
    assert len(none) == 6 and all(len(cols) == 0 for cols, _ in none)
    with pytest.raises(ValueError):
        candidate_sets(c.vectors, ents[:3], [Selection(1)], text_weight=0.5, entity_weight=0.5)
    with pytest.raises(ValueError):
        candidate_sets(c.vectors, ents, [Selection(1, cross_group=True)], text_weight=0.5, entity_weight=0.5)


# -- the bundled corpus: every direction, both modes, the build's k and threshold -------------------------
@pytest.fixture(scope="module")
def corpus_cands():
    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, _enc, _lex, config = encode_directions(g, docs, settings=settings)
    return candidates_from_graph(g, ids, vectors, config), config


def test_bundled_corpus_equals_rank_for_every_direction(corpus_cands):
    cands, config = corpus_cands
    assert len(cands.ids) == 124
    selections = [Selection(5, 0.25, cross_group=True), Selection(5, 0.25), Selection(20, None, cross_group=True)]
    results = top_k_all(cands, config, selections, block_rows=37)
    for sel, got in zip(selections, results, strict=True):
        kept = 0
        for i in range(len(cands.ids)):
            want = rank(cands.vectors[i], cands.entities[i], cands, config=config, k=sel.k, exclude=i,
                        exclude_program=cands.programs[i] if sel.cross_group else None)
            if sel.threshold is not None:
                want = [s for s in want if s.score >= sel.threshold]
            _same(got[i], want)
            kept += len(want)
        assert kept >= (50 if sel.threshold else 124 * sel.k * 0.9)


def test_bundled_corpus_fast_text_is_within_rounding_of_rank(corpus_cands):
    cands, config = corpus_cands
    (got,) = top_k_all(cands, config, [Selection(5, cross_group=True)], exact=False)
    for i in range(len(cands.ids)):
        want = rank(cands.vectors[i], cands.entities[i], cands, config=config, k=5, exclude=i,
                    exclude_program=cands.programs[i])
        assert {s.id: s.score for s in got[i]} == pytest.approx({s.id: s.score for s in want}, abs=2.01e-6)
