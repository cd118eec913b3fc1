"""Blocked top-k (embeddings.topk) gives exactly what scoring.rank gives, row by row."""

import numpy as np
import pytest
import scipy.sparse as sp

from fundgraph.core.settings import Settings
from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import (
    Candidates,
    EntityInfo,
    Neighbour,
    Scored,
    ScoringConfig,
    combine,
    explain,
    rank,
    rescore,
    rescore_selections,
)
from fundgraph.embeddings.similarity import weighted_overlap
from fundgraph.embeddings.topk import Selection, candidate_sets, entity_matrix, top_k_all
from fundgraph.evaluation.similarity import build_entity_graph
from fundgraph.graph.build.similarity import candidates_from_graph, encode_directions


def _unit(rows):
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _handmade(sparse=True):
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
                      vectors=sp.csr_matrix(vectors) if sparse else vectors, entities=entities, info=info)


def _same(got, want):
    assert [s.id for s in got] == [s.id for s in want]
    for a, b in zip(got, want, strict=True):
        assert (a.score, a.text_score, a.entity_score) == (b.score, b.text_score, b.entity_score)
        assert (a.shared, a.summary, a.program_id) == (b.shared, b.summary, b.program_id)


def brute_force(c, i, cfg, *, k=None, cross=False, programs=None, threshold=None):
    """The reference: every candidate scored in Python with the canonical arithmetic, sorted (no selection)."""
    cols = [j for j in range(len(c.ids)) if j != i and not (cross and c.programs[j] == c.programs[i])
            and (programs is None or c.programs[j] in programs)]
    return rescore(vx.dense_row(c.vectors, i), c.entities[i], cols, c, cfg, k=k, threshold=threshold)


def test_entity_matrix_rows_multiply_to_weighted_overlap():
    c = _handmade()
    m = entity_matrix(c.entities, c.idf)
    assert sp.isspmatrix_csr(m) and m.shape == (6, 3)
    prod = (m @ m.T).toarray()
    for i in range(6):
        for j in range(6):
            assert min(1.0, prod[i, j]) == pytest.approx(weighted_overlap(c.entities[i], c.entities[j], c.idf)[0])
    assert not prod[4].any()  # an empty profile overlaps nothing


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3, 10])
@pytest.mark.parametrize("block_rows", [1, 4, None])
def test_handmade_equals_brute_force_and_rank(sparse, k, block_rows):
    c = _handmade(sparse)
    cfg = ScoringConfig()
    every, cross = top_k_all(c, cfg, [Selection(k), Selection(k, cross_group=True)], block_rows=block_rows)
    for i in range(6):
        _same(every[i], brute_force(c, i, cfg, k=k))
        _same(cross[i], brute_force(c, i, cfg, k=k, cross=True))
        _same(every[i], rank(c.vectors[i], c.entities[i], c, config=cfg, k=k, exclude=i))
        _same(cross[i], rank(c.vectors[i], c.entities[i], c, config=cfg, k=k, exclude=i,
                             exclude_program=c.programs[i]))
    assert every[0][0].id == "p:2" and cross[0][0].id != "p:2"


def test_sparse_and_dense_vectors_score_to_the_bit():
    cfg = ScoringConfig()
    (a,), (b,) = (top_k_all(_handmade(sparse), cfg, [Selection(10)]) for sparse in (True, False))
    for x, y in zip(a, b, strict=True):
        _same(x, y)
    assert sum(len(x) for x in a) == 30


def test_rows_and_columns_rank_like_a_program_filter():
    c = _handmade()
    cfg = ScoringConfig()
    q_cols = [1, 2]  # the directions of program q
    (got,) = top_k_all(c, cfg, [Selection(2)], rows=[0, 3, 1], columns=q_cols)
    for i, ranked in zip([0, 3, 1], got, strict=True):
        _same(ranked, brute_force(c, i, cfg, k=2, programs={"q"}))
        _same(ranked, rank(c.vectors[i], c.entities[i], c, config=cfg, k=2, exclude=i, programs=["q"]))
    assert [s.id for s in got[2]] == ["q:2"]  # a row is never its own candidate


def test_threshold_cuts_like_the_build_loop():
    c = _handmade()
    cfg = ScoringConfig()
    (got,) = top_k_all(c, cfg, [Selection(3, threshold=0.5)])
    for i in range(6):
        _same(got[i], brute_force(c, i, cfg, k=3, threshold=0.5))
    assert any(got) and not all(len(g) == 3 for g in got)


def test_candidates_never_include_the_row_or_its_group_and_sparse_agrees():
    c = _handmade(False)
    ents = entity_matrix(c.entities, c.idf)
    sel = [Selection(2, cross_group=True)]
    (dense,) = candidate_sets(c.vectors, ents, sel, text_weight=0.5, entity_weight=0.5, groups=c.programs)
    (sparse,) = candidate_sets(sp.csr_matrix(c.vectors), ents, sel, text_weight=0.5, entity_weight=0.5,
                               groups=c.programs)
    for i, (cols, cols2) in enumerate(zip(dense, sparse, strict=True)):
        assert i not in cols and all(c.programs[j] != c.programs[i] for j in cols)
        assert len(cols) >= 2
        assert list(cols) == list(cols2)


def test_no_rows_and_no_neighbours():
    c = _handmade(False)
    ents = entity_matrix(c.entities, c.idf)
    assert candidate_sets(c.vectors[:0], ents[:0], [Selection(3)], text_weight=0.5, entity_weight=0.5) == [[]]
    (none,) = candidate_sets(c.vectors, ents, [Selection(0)], text_weight=0.5, entity_weight=0.5)
    assert len(none) == 6 and all(len(cols) == 0 for cols in none)
    (no_cols,) = candidate_sets(c.vectors, ents, [Selection(2)], text_weight=0.5, entity_weight=0.5, columns=[])
    assert len(no_cols) == 6 and all(len(cols) == 0 for cols in no_cols)
    with pytest.raises(ValueError):
        candidate_sets(c.vectors, ents[:3], [Selection(1)], text_weight=0.5, entity_weight=0.5)
    with pytest.raises(ValueError):
        candidate_sets(c.vectors, ents, [Selection(1, cross_group=True)], text_weight=0.5, entity_weight=0.5)


def test_float32_products_stay_within_the_stated_error():
    rng = np.random.default_rng(7)
    dense = np.zeros((300, 2000), dtype=np.float32)
    for r in range(300):
        cols = rng.choice(2000, rng.integers(1, 400), replace=False)
        dense[r, cols] = rng.random(cols.size, dtype=np.float32)
    m = vx.l2_normalise(sp.csr_matrix(dense))
    approx = vx.block_products(m, vx.transposed(m)).astype(np.float64)
    exact = np.stack([vx.cosines(m, np.arange(300), vx.dense_row(m, i)) for i in range(300)])
    err = np.abs(approx - exact).max()
    assert 0 < err <= vx.product_error(m)
    assert vx.product_error(m) < 1e-4


# -- the bundled corpus: every direction, both modes, the build's k and threshold -------------------------
@pytest.fixture(scope="module")
def corpus_cands():
    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, _enc, _lex, config = encode_directions(g, docs, settings=settings)
    return candidates_from_graph(g, ids, vectors, config), config


def test_bundled_corpus_equals_brute_force_for_every_direction(corpus_cands):
    cands, config = corpus_cands
    assert len(cands.ids) == 124 and sp.isspmatrix_csr(cands.vectors)
    selections = [Selection(5, 0.25, cross_group=True), Selection(5, 0.25), Selection(20, None, cross_group=True)]
    results = top_k_all(cands, config, selections, block_rows=37)
    for sel, got in zip(selections, results, strict=True):
        kept = 0
        for i in range(len(cands.ids)):
            want = brute_force(cands, i, config, k=sel.k, cross=sel.cross_group, threshold=sel.threshold)
            _same(got[i], want)
            if i % 4 == 0:
                _same(rank(cands.vectors[i], cands.entities[i], cands, config=config, k=sel.k, exclude=i,
                           exclude_program=cands.programs[i] if sel.cross_group else None)[:len(want)], want)
            kept += len(want)
        assert kept >= (50 if sel.threshold else 124 * sel.k * 0.9)


@pytest.mark.parametrize("sparse", [True, False])
def test_a_selection_not_explained_keeps_the_same_ids_and_scores(corpus_cands, sparse):
    # the communities' lists: the neighbours and scores of the explained list, without shared entities or summary
    cands, config = corpus_cands
    if not sparse:
        cands = cands.with_vectors(np.asarray(cands.vectors.todense(), dtype=np.float32))
    wanted = [Selection(6, 0.2), Selection(6, 0.2, cross_group=True), Selection(12, None)]
    plain = [Selection(s.k, s.threshold, s.cross_group, explain=False) for s in wanted]
    mixed = top_k_all(cands, config, [wanted[1], *plain], block_rows=29)
    full = top_k_all(cands, config, wanted)
    assert mixed[0] == full[1]  # an explained list beside unexplained ones is unchanged
    for want, got in zip(full, mixed[1:], strict=True):
        assert [[(s.index, s.id, s.program_id, s.score) for s in row] for row in want] == \
               [[tuple(n) for n in row] for row in got]
        assert all(isinstance(n, Neighbour) for row in got for n in row)
    assert sum(len(row) for row in mixed[1]) >= 100


@pytest.mark.parametrize("gate", [0.0, 0.3, 0.9])
def test_entity_gate_keeps_blocked_top_k_equal_to_rank(gate):
    # the gated score is not the linear one: the selection must still hold every exact top-k member
    c = _handmade()
    cfg = ScoringConfig(text_weight=0.4, entity_weight=0.6, entity_gate=gate)
    (got,) = top_k_all(c, cfg, [Selection(2)])
    for i in range(6):
        _same(got[i], brute_force(c, i, cfg, k=2))
        _same(got[i], rank(c.vectors[i], c.entities[i], c, config=cfg, k=2, exclude=i))
    # an entity overlap with no text behind it adds nothing under the gate
    far = rescore(vx.dense_row(c.vectors, 0), c.entities[0], [2], c, cfg)[0]
    assert far.text_score == 0 and (far.score == 0) == (gate > 0) and far.entity_score > 0


def _reference(c, i, cols, cfg, k=None):
    """rescore's arithmetic written out: weighted_overlap per pair, explain for the kept, array combine."""
    text = vx.cosines(c.vectors, np.asarray(cols), vx.dense_row(c.vectors, i)).tolist()
    rows = []
    for j, tj in zip(cols, text, strict=True):
        t = round(tj, 6)
        e, _ = weighted_overlap(c.entities[i], c.entities[j], c.idf)
        score = float(combine(np.asarray([t]), np.asarray([e]), cfg)[0])
        rows.append((round(score, 6), c.ids[j], j, t))
    rows.sort(key=lambda r: (-r[0], r[1]))
    out = []
    for _s, did, j, t in rows[:k]:
        full, e, shared, summary = explain(c.entities[i], c.entities[j], c, t, cfg)
        out.append(Scored(j, did, c.programs[j], round(full, 6), t, round(e, 6), shared, summary))
    return out


@pytest.mark.parametrize("gate", [0.0, 0.2])
def test_rescore_selections_equal_each_selection_rescored_alone_and_the_reference(corpus_cands, gate):
    cands, config = corpus_cands
    cfg = config.with_(entity_gate=gate)
    rng = np.random.default_rng(3)
    for i in range(0, len(cands.ids), 7):
        cols = np.sort(rng.choice([j for j in range(len(cands.ids)) if j != i], size=12, replace=False))
        subsets = [cols, np.sort(rng.choice(cols, size=6, replace=False))]
        text = vx.cosines(cands.vectors, cols, vx.dense_row(cands.vectors, i))
        got = rescore_selections(cands.entities[i], cols, text, cands, cfg,
                                 [(subsets[0], 5, 0.25), (subsets[1], 3, None)])
        assert got[0] == rescore(vx.dense_row(cands.vectors, i), cands.entities[i], subsets[0], cands, cfg,
                                 k=5, threshold=0.25)
        _same(got[1], _reference(cands, i, subsets[1].tolist(), cfg, k=3))
        _same(got[0], [s for s in _reference(cands, i, cols.tolist(), cfg, k=5) if s.score >= 0.25])
        # a pair both lists keep is explained once
        assert all(a is b for a in got[0] for b in got[1] if a.index == b.index)


def test_combine_of_floats_equals_the_array_form_to_the_bit():
    rng = np.random.default_rng(5)
    text, ent = rng.uniform(-0.2, 1.0, 500), rng.uniform(0.0, 1.0, 500)
    for cfg in (ScoringConfig(), ScoringConfig(entity_gate=0.0), ScoringConfig(entity_gate=0.35, text_weight=0.7)):
        arrays = combine(text, ent, cfg)
        assert [combine(float(t), float(e), cfg) for t, e in zip(text, ent, strict=True)] == arrays.tolist()


def test_a_subset_takes_the_whole_sets_entity_rows_and_ranks_with_given_profiles_as_without(corpus_cands):
    from fundgraph.embeddings.similarity import idf_profile
    from fundgraph.graph.build.similarity import candidate_subset

    cands, config = corpus_cands
    rows = list(range(3, len(cands.ids), 3))
    assert cands.entity_matrix[0].shape[0] == len(cands.ids)  # made before lineage's subsets, as in the build
    taken = candidate_subset(cands, rows)
    own = candidate_subset(cands, rows)
    own._entity_matrix = None  # made from the rows' own profiles, as before
    a, b = taken.entity_matrix[0], own.entity_matrix[0]
    assert a.shape[0] == b.shape[0] == len(rows) and a.shape[1] >= b.shape[1]
    assert np.array_equal((a @ a.T).toarray(), (b @ b.T).toarray())  # the same products, to the bit
    sels = [Selection(2)]
    later, earlier = list(range(0, len(rows), 2)), list(range(1, len(rows), 2))
    profiles = [idf_profile(e, cands.idf) for e in taken.entities]
    (plain,) = top_k_all(own, config, sels, rows=later, columns=earlier)
    (given,) = top_k_all(taken, config, sels, rows=later, columns=earlier, profiles=profiles)
    assert sum(len(r) for r in plain) == 2 * len(later)
    assert given == plain


def test_edge_props_with_the_groups_given_equal_those_it_reads_itself(corpus_cands):
    from fundgraph.embeddings.scoring import shared_groups

    cands, config = corpus_cands
    ranked = [s for i in range(0, len(cands.ids), 5) for s in rescore(
        vx.dense_row(cands.vectors, i), cands.entities[i], [j for j in range(len(cands.ids)) if j != i], cands,
        config, k=5)]
    groups = list(shared_groups().values())
    assert any(s.shared.get(g) for s in ranked for g in groups)  # some pairs do share entities
    for s in ranked:
        assert list(s.edge_props(groups).items()) == list(s.edge_props().items())
