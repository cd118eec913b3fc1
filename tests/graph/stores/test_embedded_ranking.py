"""The embedded store answers similar from the stored SIMILAR_TO lists, and ranks live through transposed products:
both must give exactly what live ranking over every candidate gives."""

from __future__ import annotations

import pytest

from fundgraph.embeddings.scoring import rank
from fundgraph.graph.stores.embedded.queries import GraphQueries


@pytest.fixture(scope="module")
def queries(corpus_built) -> GraphQueries:
    return GraphQueries(corpus_built)


def _as_tuples(ranked):
    return [(s.id, s.program_id, s.score, s.text_score, s.entity_score, s.shared, s.summary) for s in ranked]


def test_stored_similar_lists_equal_live_ranking_for_every_direction_and_k(queries):
    ctx = queries.ranking_context
    top_k = int(ctx.param("similar_top_k", 0))
    assert top_k >= 1
    cands = queries.candidates()
    answered = empty = 0
    for did in queries.direction_ids:
        row = cands.index[did]
        for k in (*range(1, top_k + 1), 12, ctx.config.word_pool):
            stored = queries.stored_similar(did, k)
            if stored is None:
                continue
            live_ranked, live_related = ctx.similar(cands, row, k, "cross-program", queries.program_of[did])
            assert stored[1] == live_related, (did, k)
            assert _as_tuples(stored[0]) == _as_tuples(live_ranked), (did, k)
            answered += 1
            empty += not stored[0]
    # Every (direction, k) pair is answered from the stored pools (re-scored and mixed), some "nothing related";
    # past the pool's width, ranked live.
    assert answered == len(queries.direction_ids) * (top_k + 2) and 0 < empty < answered
    assert queries.stored_similar(queries.direction_ids[0], ctx.config.word_pool + 1) is None
    pool = queries.pools[0]
    assert pool.shape == (len(queries.direction_ids), ctx.config.word_pool) and (pool >= 0).all()


def test_similar_answer_is_the_same_through_the_stored_lists_or_live(queries):
    did = next(d for d in queries.direction_ids if queries.stored_similar(d, 3))
    via_store = queries.similar(did, 3, "cross-program")
    cands = queries.candidates()
    ranked, related = queries.ranking_context.similar(cands, cands.index[did], 3, "cross-program",
                                                      queries.program_of[did])
    assert [i.direction.id for i in via_store.items] == [s.id for s in ranked]
    assert [i.score for i in via_store.items] == [s.score for s in ranked]
    assert via_store.no_related == (not related)


def test_transposed_products_rank_as_the_row_products(queries):
    cands = queries.candidates()
    assert cands.transposed is not None
    config = queries.ranking_context.config
    saved = cands.transposed
    for row in range(0, len(cands.ids), 7):
        fast = rank(cands.vectors[row], cands.entities[row], cands, config=config, k=12, exclude=row)
        cands.transposed = None
        try:
            slow = rank(cands.vectors[row], cands.entities[row], cands, config=config, k=12, exclude=row)
        finally:
            cands.transposed = saved
        assert _as_tuples(fast) == _as_tuples(slow)


SEARCHES = ["Alzheimer's disease PET imaging", "阿尔茨海默病早期诊断的多模态影像", "肺癌低剂量CT筛查与人工智能辅助诊断",
            "brain-computer interface and neural decoding", "cancer", "tumor imaging", "脑机接口 神经调控",
            "quantum chromodynamics of neutron stars"]


def _mixed(ctx, cands, text, first, k):
    """The first ``k`` of a search's first pass (best first) once its best are re-ordered by the word mix.

    Computed here from the word rows and embeddings.words' mix, not by the store's RankingContext.mixed: the text's
    Chinese words against each direction's stored row.
    """
    from fundgraph.embeddings.words import mix_order, word_cosines

    assert ctx.mixing and cands.words is not None
    pool = ctx.config.word_pool
    w = word_cosines(cands.words, [s.index for s in first[:pool]], ctx.words.encode_chinese(text))
    order = mix_order([s.score for s in first[:pool]], w, [s.id for s in first[:pool]], ctx.config.word_mix, pool)
    return ([first[i] for i in order] + first[pool:])[:k]


@pytest.mark.parametrize("text", SEARCHES)
def test_search_equals_exhaustive_exact_ranking_of_every_direction_with_evidence(queries, text):
    import numpy as np

    from fundgraph.embeddings import vectors as vx
    from fundgraph.embeddings.scoring import query_entities, rescore
    from fundgraph.graph.read.search import MIN_TEXT_SCORE

    ctx = queries.ranking_context
    cands = queries.candidates()
    q = vx.as_query(ctx.encoder().encode([text]))
    entities = query_entities(text, ctx.lexicon(), cands)
    every = np.arange(len(cands.ids))
    exact_text = np.round(vx.cosines(cands.vectors, every, q), 6)
    wanted = {e for e, w in entities.items() if w > 0 and cands.idf.get(e, 0) > 0}
    shares = np.array([bool(wanted & {e for e in cands.entities[i] if cands.idf.get(e, 0) > 0}) for i in every])
    rows = np.flatnonzero((exact_text >= MIN_TEXT_SCORE) | shares)
    first = rescore(q, entities, rows, cands, ctx.config.with_(entity_gate=0.0), k=ctx.config.word_pool)
    reference = _mixed(ctx, cands, text, first, 10)
    got = queries.search(text, 10, None)
    assert [(i.direction.id, i.score) for i in got.items] == [(s.id, s.score) for s in reference]
    if not reference:
        assert got.reason and got.suggestions


def test_a_search_asked_again_is_the_kept_answer(queries):
    text = "阿尔茨海默病 影像 kept-answer"
    assert queries.cached_search(text, 4, None) is None
    first = queries.search(text, 4, None)
    assert queries.cached_search(text, 4, None) is first
    assert queries.search(text, 4, None) is first
    assert queries.cached_search(text, 5, None) is None  # another k is another question


def test_suggestions_take_the_graph_counts_when_the_candidates_carry_them():
    # The Neo4j store's vocabulary holds no direction: its counts are the load's, over every direction.
    import numpy as np

    from fundgraph.embeddings.scoring import Candidates, EntityInfo
    from fundgraph.graph.read.search import suggest

    info = {"disease:a": EntityInfo("disease:a", "disease", "甲病", "Alpha disease"),
            "disease:b": EntityInfo("disease:b", "disease", "乙病", "Beta disease"),
            "keyword:c": EntityInfo("keyword:c", "keyword", "丙词", "")}
    rows = [{"disease:a": 1.0}, {"disease:a": 1.0, "keyword:c": 1.0}, {"disease:b": 1.0}]
    vectors = np.eye(3, dtype=np.float32)
    counted = Candidates(ids=["x:1", "y:1", "z:1"], programs=["x", "y", "z"], vectors=vectors, entities=rows,
                         info=info)
    assert [t.id for t in suggest("zzz", counted)] == ["disease:a", "disease:b"]
    graph = Candidates(ids=[], programs=[], vectors=np.zeros((0, 3), np.float32), entities=[], info=info,
                       idf={"disease:a": 1.0}, idf_given=True, cited={"disease:a": 2, "disease:b": 9, "keyword:c": 30})
    assert [t.id for t in suggest("zzz", graph)] == ["disease:b", "disease:a"]
    assert next(t.id for t in suggest("Beta diseases", graph)) == "disease:b"


@pytest.mark.parametrize("slack", [0.05, 0.3])
def test_pruned_products_bound_every_rows_exact_cosine(queries, slack):
    import numpy as np

    from fundgraph.embeddings import vectors as vx
    from fundgraph.embeddings.scoring import query_entities

    ctx = queries.ranking_context
    cands = queries.candidates()
    every = np.arange(len(cands.ids))
    pruned = 0
    for text in SEARCHES:
        q = ctx.query_encoder.vector(text)
        entities = query_entities(text, ctx.lexicon(), cands)
        low, spread, ent = cands.pruned_products(q, entities, slack)
        full, full_ent = cands.products(q, entities)
        exact = vx.cosines(cands.vectors, every, q)
        assert 0 <= spread <= slack * (1 + 1e-6)
        assert np.all(low <= exact + cands.text_error) and np.all(exact <= low + spread + cands.text_error)
        assert np.array_equal(ent, full_ent)  # the entity products are not pruned
        pruned += spread > 0
        if spread == 0:
            assert np.array_equal(low, full)
    assert pruned >= 2  # the lightest features of most texts are left out


def test_products_of_some_features_equal_those_of_the_query_with_the_others_zeroed(queries):
    import numpy as np

    from fundgraph.embeddings.scoring import query_entities

    ctx = queries.ranking_context
    cands = queries.candidates()
    saved = cands.transposed
    for text in SEARCHES:
        q = ctx.query_encoder.vector(text)
        entities = query_entities(text, ctx.lexicon(), cands)
        cols = np.flatnonzero(q)
        features = cols[::2]  # every other non-zero feature
        zeroed = q.copy()
        zeroed[cols[1::2]] = 0
        for transposed in (saved, None):
            cands.transposed = transposed
            try:
                got, got_ent = cands.products(q, entities, features)
                want, want_ent = cands.products(zeroed, entities)
            finally:
                cands.transposed = saved
            assert np.array_equal(got, want) and np.array_equal(got_ent, want_ent)  # bit for bit


@pytest.mark.parametrize("k", [1, 3, 40])
def test_search_of_any_k_and_programs_equals_exhaustive_exact_ranking(queries, k):
    import numpy as np

    from fundgraph.embeddings import vectors as vx
    from fundgraph.embeddings.scoring import query_entities, rescore
    from fundgraph.graph.read.search import MIN_TEXT_SCORE

    ctx = queries.ranking_context
    cands = queries.candidates()
    every = np.arange(len(cands.ids))
    programs = sorted(set(cands.programs))
    compared = 0
    for i, text in enumerate(SEARCHES):
        chosen = [programs[i % len(programs)], programs[(i + 2) % len(programs)]] if i % 2 else None
        q = ctx.query_encoder.vector(text)
        entities = query_entities(text, ctx.lexicon(), cands)
        exact_text = np.round(vx.cosines(cands.vectors, every, q), 6)
        wanted = {e for e, w in entities.items() if w > 0 and cands.idf.get(e, 0) > 0}
        shares = np.array([bool(wanted & {e for e in cands.entities[j] if cands.idf.get(e, 0) > 0}) for j in every])
        allowed = np.array([chosen is None or p in chosen for p in cands.programs])
        rows = np.flatnonzero(((exact_text >= MIN_TEXT_SCORE) | shares) & allowed)
        first = rescore(q, entities, rows, cands, ctx.config.with_(entity_gate=0.0), k=max(k, ctx.config.word_pool))
        reference = _mixed(ctx, cands, text, first, k)
        got = queries.search(text, k, chosen)
        assert [(s.direction.id, s.score, s.explanation.summary) for s in got.items] == [
            (s.id, s.score, s.summary) for s in reference], (text, k, chosen)
        compared += bool(reference)
    assert compared >= len(SEARCHES) // 2


def test_a_search_texts_vector_is_what_encode_gives_bit_for_bit(queries):
    import numpy as np

    from fundgraph.embeddings import vectors as vx

    encoder = queries.ranking_context.encoder()
    texts = [*SEARCHES, *(queries.briefs[d].title for d in queries.direction_ids), "的", "x", "数据 数据 数据"]
    for text in texts:
        want = vx.as_query(encoder.encode([text]))
        got = queries.ranking_context.query_encoder.vector(text)
        assert got.dtype == want.dtype == np.float32
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), text


def test_similar_is_the_first_pass_best_reordered_by_the_word_mix_and_edges_stay_the_first_pass(queries):
    """Every direction's cross-program list: the first pass's best 30 in mixed order; SIMILAR_TO, the first pass's."""
    from fundgraph.embeddings.scoring import rank

    ctx = queries.ranking_context
    cands = queries.candidates()
    assert ctx.mixing and 0 < ctx.config.word_mix < 1 and cands.words.shape[0] == len(cands.ids)
    top_k = int(ctx.param("similar_top_k", 0))
    moved = 0
    for did in queries.direction_ids:
        row = cands.index[did]
        first = rank(cands.vectors[row], cands.entities[row], cands, config=ctx.config, k=ctx.config.word_pool,
                     exclude=row, exclude_program=queries.program_of[did])
        related = bool(first) and ctx.related(first[0].score)
        got = queries.similar(did, 5, "cross-program")
        assert got.no_related == (not related)
        from_words = _mixed_rows(ctx, cands, row, first, 5) if related else []
        assert [(i.direction.id, i.score) for i in got.items] == [(s.id, s.score) for s in from_words], did
        moved += [s.id for s in from_words] != [s.id for s in first[:5]] and related
        # the stored SIMILAR_TO edges: the first pass's best top_k at or above the threshold, in no mixed order
        edges = sorted((e["score"], t) for t, _, e in queries.columns.out_edges(did, "SIMILAR_TO"))
        plain = [(s.score, s.id) for s in first[:top_k] if ctx.related(s.score)]
        assert sorted(edges) == sorted(plain), did
    assert moved >= 10  # the mix re-orders many lists (38 of the bundled 124 when measured)


def _mixed_rows(ctx, cands, row, first, k):
    """:func:`_mixed` for a direction: its own stored word row against the others'."""
    from fundgraph.embeddings.words import mix_order, word_cosines

    pool = ctx.config.word_pool
    w = word_cosines(cands.words, [s.index for s in first[:pool]], cands.words[row])
    order = mix_order([s.score for s in first[:pool]], w, [s.id for s in first[:pool]], ctx.config.word_mix, pool)
    return ([first[i] for i in order] + first[pool:])[:k]
