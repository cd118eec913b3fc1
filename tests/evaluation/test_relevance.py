"""The graded evaluation's arithmetic (issue 15) and the calibration file the build and the API read."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fundgraph.embeddings.encoders import SHIPPED_LEXICAL, TERM_WEIGHTS_PATH, encoder_from_settings
from fundgraph.embeddings.scoring import ScoringConfig
from fundgraph.evaluation.relevance import (
    CALIBRATION_PATH,
    Calibration,
    GradedSet,
    LearnedRuns,
    RelevanceReport,
    bm25_scores,
    choose_confidence,
    edge_figures,
    folds,
    format_relevance,
    load_graded,
    logistic_fusion_cv,
    matrix_signal,
    multi_seed_cv,
    ndcg,
    pair_lists,
    precision,
    ranking_figures,
    reciprocal_rank_fusion,
    shared_term_weights,
    signal_run,
    untuned_spread,
)


def test_ndcg_and_precision_count_unjudged_as_zero():
    grades = {"a": 2, "b": 1, "c": 0}
    assert ndcg(["a", "b", "c"], grades) == pytest.approx(1.0)
    assert ndcg(["x", "a", "b"], grades) < ndcg(["a", "b", "x"], grades)  # x unjudged: a 0
    assert precision(["a", "x", "c", "b", "y"], grades) == pytest.approx(0.4)
    assert ndcg(["a"], {"a": 0}) == 0.0


def test_calibration_is_monotone_and_inverts_to_a_score_threshold():
    cal = Calibration.fit([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [False, False, True, False, True, True])
    ys = [y for _, y in cal.points]
    assert ys == sorted(ys) and 0 <= ys[0] and ys[-1] <= 1
    t = cal.threshold(0.9)
    assert cal(t) >= 0.9 - 1e-9 and cal(t - 1e-3) < 0.9
    assert cal.threshold(1.01) == float("inf")


def test_edges_need_the_confidence_and_no_counterpart_queries_count():
    graded = GradedSet(["q", "n"], {"q": {"a": 2, "b": 0}, "n": {"c": 0}})
    cal = Calibration([(0.0, 0.0), (1.0, 1.0)])
    run = {"q": [("a", 0.95), ("b", 0.92), ("z", 0.5)], "n": [("c", 0.3)]}
    assert edge_figures(run, graded, ["q", "n"], cal, min_confidence=0.9) == (2, 2, 1, 1, 1)


def test_bm25_prefers_documents_sharing_rare_terms():
    scores = bm25_scores([["脑机接口", "芯片"], ["脑机接口", "康复"], ["作物", "育种"], ["芯片", "作物"]])(0)
    assert scores[1] > 0 and scores[2] == 0 and scores[0] == max(scores)


def test_graded_set_and_folds():
    gs = load_graded()
    # 865 + 257 pairs of round 2 (where one query of the 10 without a counterpart got a related candidate) + 69 of
    # round 3 (where another did)
    assert len(gs.queries) == 44 and gs.pairs == 1191 and len(gs.no_counterpart) == 8
    f = folds(gs.queries)
    assert f == folds(gs.queries) and sorted(q for x in f for q in x) == sorted(gs.queries)


def test_calibration_file_has_the_shared_format():
    data = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert {"method", "points", "fitted_on", "min_confidence"} <= set(data)
    xs = [p[0] for p in data["points"]]
    ys = [p[1] for p in data["points"]]
    assert xs == sorted(xs) and ys == sorted(ys) and 0 <= ys[0] <= ys[-1] <= 1
    assert Calibration([tuple(p) for p in data["points"]])(data["score_threshold"]) >= data["min_confidence"] - 1e-6


def test_the_build_scores_with_the_fitted_point_and_features():
    """What ships (the encoder's options, the scoring defaults) is what the graded set was fitted and measured on."""
    from fundgraph.core.settings import Settings

    weights = json.loads(TERM_WEIGHTS_PATH.read_text(encoding="utf-8"))
    calibration = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    cfg = ScoringConfig()
    assert (cfg.text_weight, cfg.entity_gate, cfg.word_mix) == (weights["text_weight"], weights["entity_gate"],
                                                                weights["word_mix"])
    assert cfg.entity_weight == pytest.approx(1.0 - cfg.text_weight)
    assert weights["encoder"] == SHIPPED_LEXICAL and "1191 judged pairs" in weights["fitted_on"]
    point = {k: weights[k] for k in ("term_alpha", "text_weight", "entity_gate", "word_mix")}
    assert str(point) in calibration["fitted_on"] and "1191 judged pairs" in calibration["fitted_on"]
    enc = encoder_from_settings(Settings())
    assert {k: getattr(enc, k) for k in SHIPPED_LEXICAL} == SHIPPED_LEXICAL
    assert len(enc.term_weights) == len(weights["weights"])


def test_reciprocal_rank_fusion_rewards_agreement_and_ignores_scale():
    a = {"q": {"x": 0.9, "y": 0.5, "z": 0.4, "w": 0.1}}
    b = {"q": {"x": 900.0, "y": 1.0, "z": 800.0, "w": 3.0}}  # another scale: only the order counts
    fused = reciprocal_rank_fusion([a, b], k=60)["q"]
    assert fused["x"] == pytest.approx(2 / 61, abs=1e-9)  # first in both
    assert fused["z"] == pytest.approx(1 / 63 + 1 / 62, abs=1e-9) and fused["z"] > fused["y"]
    assert min(fused, key=fused.get) == "w"


def test_signal_run_is_cross_program_ordered_and_scores_judged_pairs():
    sig = matrix_signal(lambda i: [[1, 0.5, 0.5, 0.9], [0.5, 1, 0.2, 0.1], [0.5, 0.2, 1, 0.3], [0.9, 0.1, 0.3, 1]][i],
                        ["a", "b", "c", "d"], ["p", "r", "r", "p"], ["a"])
    assert sig == {"a": {"b": 0.5, "c": 0.5}}  # d shares a's program
    run, pairs = signal_run(sig, GradedSet(["a"], {"a": {"c": 1, "e": 0}}))
    assert run == {"a": [("b", 0.5), ("c", 0.5)]} and pairs == {("a", "c"): 0.5}


def test_logistic_fusion_is_out_of_fold_and_learns_the_informative_signal():
    queries = [f"q{i}" for i in range(10)]
    grades = {q: {f"{q}r": 1, f"{q}n": 0, f"{q}m": 0} for q in queries}
    # signal 1 puts the related candidate first; signal 2 puts it last
    good = {q: {f"{q}r": 0.8, f"{q}n": 0.3, f"{q}m": 0.2} for q in queries}
    bad = {q: {f"{q}r": 0.1, f"{q}n": 0.7, f"{q}m": 0.6} for q in queries}
    out = logistic_fusion_cv([good, bad], GradedSet(queries, grades))
    assert all(max(out[q], key=out[q].get) == f"{q}r" for q in queries)
    # a query's scores come from a model that never saw its grades: changing them changes nothing for it
    flipped = {**grades, "q3": {"q3r": 0, "q3n": 1, "q3m": 0}}
    assert logistic_fusion_cv([good, bad], GradedSet(queries, flipped))["q3"] == out["q3"]


def test_shared_term_weights_lift_topical_features_and_sink_boilerplate():
    # features: 0 topical (shared by the related pair), 1 boilerplate (shared by unrelated pairs), 2 unseen
    x = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 1, 1]], dtype=float)
    index = {"q": 0, "r": 1, "u": 2, "v": 3, "t": 3}
    graded = GradedSet(["q", "t"], {"q": {"r": 2, "u": 0, "v": 0}, "t": {"u": 0}})
    w = shared_term_weights(x, index, graded, ["q"], alpha=1.0)
    assert w[0] > 1 > w[1] and w[2] == pytest.approx(1.0)
    # only the given queries' grades count: t's pair is left out
    assert np.allclose(w, shared_term_weights(x, index, graded, ["q"], alpha=1.0))
    assert not np.allclose(w, shared_term_weights(x, index, graded, ["q", "t"], alpha=1.0))


def test_graded_set_is_the_readers_files():
    """The shipped YAML is what the two readers' files and the adjudication give (scripts/relevance_merge.py)."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "relevance_merge.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


class _PeekingLearner(LearnedRuns):
    """Ranks a query perfectly when its grades are in the training queries, backwards when they are not.

    A leak of any held-out query into what scores it would lift the cross-validated nDCG above the backwards one.
    """

    def __init__(self, graded):  # no corpus: the CV's bookkeeping is what is tested
        self.graded = graded
        self.calls: list[tuple[frozenset, frozenset]] = []

    def signal(self, point, train, queries):
        queries = list(queries)
        self.calls.append((frozenset(train), frozenset(queries)))
        out = {}
        for q in queries:
            sign = 1.0 if q in set(train) else -1.0
            out[q] = {c: sign * g + 0.01 * point["entity_gate"] for c, g in self.graded.grades[q].items()}
        return out


def _toy_graded(n=15):
    queries = [f"q{i:02d}" for i in range(n)]
    grades = {q: {f"{q}a": 2, f"{q}b": 1, f"{q}c": 0, f"{q}d": 0, f"{q}e": 0, f"{q}f": 0} for q in queries[:-3]}
    grades |= {q: {f"{q}x": 0, f"{q}y": 0} for q in queries[-3:]}  # no counterpart
    return GradedSet(queries, grades)


def test_multi_seed_cv_scores_every_query_from_folds_that_never_saw_it():
    graded = _toy_graded()
    learner = _PeekingLearner(graded)
    grid = {"term_alpha": (5.0,), "text_weight": (0.9,), "entity_gate": (0.1, 0.2)}
    spread = multi_seed_cv(learner, graded, seeds=(15, 1, 2), grid=grid)
    assert [len(s) for s in spread.splits] == [5, 5, 5] and len(spread.per_seed) == 3
    for splits in spread.splits:
        assert sorted(q for _, test in splits for q in test) == sorted(graded.queries)
        assert all(not set(train) & set(test) for train, test in splits)
    assert spread.splits[0] != spread.splits[1]  # the seeds draw different folds
    # every signal was asked for queries outside the training queries it was given (inner and outer folds)
    assert learner.calls and all(not (train & queries) for train, queries in learner.calls)
    backwards = {q: {c: -g for c, g in graded.grades[q].items()} for q in graded.queries}
    expected = ranking_figures(signal_run(backwards, graded)[0], graded, graded.queries)[0]
    assert spread.spread("ndcg") == pytest.approx((expected, expected, expected))
    assert expected < 0.5  # a peek would have given 1.0


def test_relevance_table_prints_the_multi_seed_headline():
    graded = _toy_graded()
    spread = multi_seed_cv(_PeekingLearner(graded), graded, seeds=(15, 1),
                           grid={"term_alpha": (5.0,), "text_weight": (0.9,), "entity_gate": (0.2,)})
    spread.name = "fundgraph (nested cv)"
    run = {q: sorted(g.items(), key=lambda x: -x[1]) for q, g in graded.grades.items()}
    base = untuned_spread("word TF-IDF (jieba)", run, {(q, c): float(g) for q, gs in graded.grades.items()
                                                      for c, g in gs.items()}, graded, seeds=(15, 1))
    assert base.spread("ndcg")[1] == base.spread("ndcg")[2] == pytest.approx(1.0)  # untuned: one ranking
    report = RelevanceReport([], [], [], [], {}, {}, graded, 0.0, [spread, base])
    text = format_relevance(report)
    assert "fold seeds (15, 1)" in text
    nd = spread.spread("ndcg")
    row = next(line for line in text.splitlines() if line.startswith("fundgraph (nested cv)"))
    assert f"{nd[0]:.3f} [{nd[1]:.3f}–{nd[2]:.3f}]" in row
    assert row.split()[-2] == f"{spread.spread('judged')[0]:.3f}"  # the judged share of the top 5
    assert next(line for line in text.splitlines() if line.startswith("word TF-IDF (jieba) *"))
    assert report.as_dict()["multi_seed"][0]["ndcg_mean"] == pytest.approx(nd[0])


def test_edge_confidence_is_the_lowest_whose_cross_fitted_edges_are_right_nine_in_ten():
    queries = [f"q{i:02d}" for i in range(12)]
    groups = [queries[i::4] for i in range(4)]

    def setup(high_related):
        grades = {q: {f"{q}h": int(high_related(i)), f"{q}l": 0} for i, q in enumerate(queries)}
        run = {q: [(f"{q}h", 0.8 + 0.01 * i), (f"{q}l", 0.1)] for i, q in enumerate(queries)}
        pairs = {(q, c): s for q, cs in run.items() for c, s in cs}
        return run, pairs, GradedSet(queries, grades)

    # high-scoring candidates all related: the lowest confidence already makes precise edges
    assert choose_confidence(*setup(lambda i: True), groups, (0.9, 0.95, 0.99)) == 0.9
    # only the best-scoring ones related (i ≥ 6): 0.9 lets in wrong ones under a calibration fitted elsewhere
    c = choose_confidence(*setup(lambda i: i >= 6), groups, (0.5, 0.9, 0.99))
    run, pairs, graded = setup(lambda i: i >= 6)
    cal = Calibration.fit(*pair_lists(pairs, graded, queries))
    assert c > 0.5 and edge_figures(run, graded, queries, cal, min_confidence=c)[1:3] == (6, 6)
    # nothing reaches nine in ten: the strictest
    assert choose_confidence(*setup(lambda i: i % 2 == 0), groups, (0.9, 0.95)) == 0.95


def test_query_expansion_at_zero_is_the_shipped_ranking():
    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import ExpandedRuns, ShippedRuns

    graded = load_graded()
    runs = ShippedRuns(Settings(), GradedSet(graded.queries[:4], {q: graded.grades[q] for q in graded.queries[:4]}))
    plain = LearnedRuns(runs)._ranked(0.0, [])
    same = ExpandedRuns(runs, beta=0.0)._ranked(0.0, [])
    moved = ExpandedRuns(runs, beta=0.3)._ranked(0.0, [])
    for q in plain:
        assert same[q][0] == plain[q][0] and np.allclose(same[q][1], plain[q][1], atol=1e-5)
        assert not np.allclose(np.sort(moved[q][1]), np.sort(plain[q][1]), atol=1e-5)


def test_hubness_is_the_mean_of_each_rows_best_k_in_other_programs():
    from fundgraph.evaluation.relevance import hubness

    scores = np.array([
        [1.0, 0.9, 0.2, 0.4, 0.3],
        [0.9, 1.0, 0.5, 0.1, 0.6],
        [0.2, 0.5, 1.0, 0.8, 0.7],
        [0.4, 0.1, 0.8, 1.0, 0.0],
        [0.3, 0.6, 0.7, 0.0, 1.0],
    ])
    programs = ["A", "A", "B", "B", "C"]  # row 0's other-program candidates: 2, 3, 4 (0.2, 0.4, 0.3)
    assert hubness(scores, programs, k=2) == pytest.approx([0.35, 0.55, 0.6, 0.25, 0.65])
    assert hubness(scores, programs, k=2, kth=True) == pytest.approx([0.3, 0.5, 0.5, 0.1, 0.6])
    # k above a row's candidates: the fewest any row has
    assert hubness(scores, programs, k=10)[0] == pytest.approx(0.3)


def _three_queries():
    """The first three graded queries, their shipped runs, the shipped point and its plain scores."""
    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import ShippedRuns

    graded = load_graded()
    small = GradedSet(graded.queries[:3], {q: graded.grades[q] for q in graded.queries[:3]})
    runs = ShippedRuns(Settings(), small)
    point = {"term_alpha": 0.0, "text_weight": 0.9, "entity_gate": 0.2}
    return small, runs, point, LearnedRuns(runs).signal(point, [], small.queries)


def test_csls_moves_a_pair_by_the_mean_hubness_of_its_two_directions_as_the_stores_rank():
    from fundgraph.embeddings.scoring import rank
    from fundgraph.evaluation.relevance import HUB_NEIGHBOURS, HubnessRuns, learned_config

    small, runs, point, plain = _three_queries()
    hub = HubnessRuns(runs)
    assert hub.signal({**point, "hub_weight": 0.0}, [], small.queries) == plain
    moved = hub.signal({**point, "hub_weight": 1.0}, [], small.queries)
    r = hub.hub_scores(point, [])
    # r(x) from the ranking every store makes: x's cross-program top 10, as rank() scores it
    cands, *_ = hub._pair_parts[(0.0,)]
    cfg = learned_config(point)
    for x in [*small.queries, *cands.ids[::25]]:
        i = cands.index[x]
        best = rank(cands.vectors[i], cands.entities[i], cands, config=cfg, k=HUB_NEIGHBOURS, exclude=i,
                    exclude_program=cands.programs[i])
        assert r[x] == pytest.approx(np.mean([s.score for s in best]), abs=2e-6)
    for q in small.queries:
        assert set(moved[q]) == set(plain[q])
        for c, s in plain[q].items():
            assert moved[q][c] == pytest.approx(s - (r[q] + r[c]) / 2, abs=1e-6)
    # hubs exist: the correction reorders somebody's list
    order = {q: sorted(plain[q], key=lambda c: (-plain[q][c], c))[:10] for q in small.queries}
    assert any(sorted(moved[q], key=lambda c: (-moved[q][c], c))[:10] != order[q] for q in small.queries)


def test_pool_expansion_rescores_only_the_first_pass_pool():
    from fundgraph.evaluation.relevance import PoolExpandedRuns

    small, runs, point, plain = _three_queries()
    pool = PoolExpandedRuns(runs)
    assert pool.signal({**point, "beta": 0.0}, [], small.queries) == plain
    moved = pool.signal({**point, "beta": 0.3}, [], small.queries)
    for q in small.queries:
        first = sorted(plain[q], key=lambda c: (-plain[q][c], c))
        inside, outside = first[:PoolExpandedRuns.POOL], first[PoolExpandedRuns.POOL:]
        assert any(moved[q][c] != plain[q][c] for c in inside)
        assert min(moved[q][c] for c in inside) > max(moved[q][c] for c in outside)


def test_expanded_query_weighs_each_feedback_direction_by_its_cosine():
    import scipy.sparse as sp

    from fundgraph.evaluation.relevance import expanded_query

    v = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]))
    near = np.array([1, 2])
    # q + 1 · mean(0.6 · row 1, 0 · row 2) = (1.18, 0.24, 0): the unrelated row adds nothing
    want = np.array([1.18, 0.24, 0.0])
    assert expanded_query(v, 0, near, 1.0, np.array([0.6, 0.0])) == pytest.approx(want / np.linalg.norm(want))
    # unweighted: the plain mean, β 0.5: (1, 0, 0) + 0.5 · (0.3, 0.4, 0.5)
    want = np.array([1.15, 0.2, 0.25])
    assert expanded_query(v, 0, near, 0.5) == pytest.approx(want / np.linalg.norm(want))


def test_ranking_by_pool_expansion_keeps_the_plain_edges():
    from fundgraph.evaluation.relevance import PoolExpandedRuns, PoolRankedRuns

    small, runs, point, plain = _three_queries()
    ranked = PoolRankedRuns(runs, by_cosine=True)
    expanded = {**point, "beta": 1.0, "neighbours": 3}
    # edges and confidence: the plain score at the same point, whatever the expansion
    assert ranked.separate_edges and ranked.edge_signal(expanded, [], small.queries) == plain
    # the ranking: the pool expansion's, which moves the plain order
    moved = ranked.signal(expanded, [], small.queries)
    assert moved == PoolExpandedRuns(runs, by_cosine=True).signal(expanded, [], small.queries)
    assert any(moved[q] != plain[q] for q in small.queries)
    # a point's neighbours override the default
    assert ranked.signal({**expanded, "neighbours": 1}, [], small.queries) != moved


class _SplitLearner(LearnedRuns):
    """Ranks by grade at every point; its edge score ranks by grade at entity gate 0.2 and backwards at 0.1."""

    separate_edges = True

    def __init__(self, graded):
        self.graded = graded

    def signal(self, point, train, queries):
        return {q: {c: float(g) for c, g in self.graded.grades[q].items()} for q in queries}

    def edge_signal(self, point, train, queries):
        sign = 1.0 if point["entity_gate"] == 0.2 else -1.0
        return {q: {c: sign * g for c, g in self.graded.grades[q].items()} for q in queries}


def test_edges_from_another_score_get_their_own_point_and_calibration():
    graded = _toy_graded()
    grid = {"term_alpha": (5.0,), "text_weight": (0.9,), "entity_gate": (0.1, 0.2)}
    spread = multi_seed_cv(_SplitLearner(graded), graded, seeds=(15, 1), grid=grid)
    # the ranking's point: the first of two equal ones; the edges' point: the one their own score ranks well at
    assert all(c["entity_gate"] == 0.1 and c["edge_entity_gate"] == 0.2 for cs in spread.choices for c in cs)
    assert spread.spread("ndcg") == (1.0, 1.0, 1.0)
    # edges cut from the edge score at its point (a backwards one would pick the unrelated candidates)
    for s in spread.per_seed:
        assert s.edges_judged > 0 and s.edge_precision == 1.0 and s.no_edge == s.no_counterpart == 3


class _TwoPointLearner(_SplitLearner):
    """Ranks by grade at entity gate 0.1 and backwards at 0.2; its edge score the other way round."""

    def signal(self, point, train, queries):
        sign = 1.0 if point["entity_gate"] == 0.1 else -1.0
        return {q: {c: sign * g for c, g in self.graded.grades[q].items()} for q in queries}


@pytest.mark.parametrize("one_point", ["ranking", "edges"])
def test_one_configuration_makes_both_the_ranking_and_the_edges(one_point):
    from fundgraph.evaluation.relevance import learned_fit

    graded = _toy_graded()
    grid = {"term_alpha": (5.0,), "text_weight": (0.9,), "entity_gate": (0.1, 0.2)}
    learner = _TwoPointLearner(graded)
    learner.one_point = one_point
    learner.weights = lambda alpha, train: {}
    spread = multi_seed_cv(learner, graded, seeds=(15, 1), grid=grid)
    chosen = 0.1 if one_point == "ranking" else 0.2  # the ranking's best, or the edges' best
    assert all(c["entity_gate"] == c["edge_entity_gate"] == chosen for cs in spread.choices for c in cs)
    if one_point == "ranking":  # the list reads well; its edge score ranks backwards: calibrated, it links nothing
        assert spread.spread("ndcg")[0] == 1.0 and all(s.edges == 0 for s in spread.per_seed)
    else:  # the edges right, the list ranked backwards at their point
        assert spread.spread("ndcg")[0] < 0.5
        assert all(s.edges == s.edges_related > 0 for s in spread.per_seed)
    point, _cal, _weights, _nd = learned_fit(learner, graded, grid=grid)
    assert point["entity_gate"] == chosen


class _OneRankingLearner(_SplitLearner):
    """:class:`_SplitLearner` whose ranking reads none of the grid's knobs (as the re-ranker's)."""

    rank_knobs = ()

    def __init__(self, graded):
        super().__init__(graded)
        self.calls: list[tuple[frozenset, frozenset]] = []

    def signal(self, point, train, queries):
        queries = list(queries)
        self.calls.append((frozenset(train), frozenset(queries)))
        return super().signal(point, train, queries)


def test_one_ranking_over_the_grid_is_scored_once_per_outer_fold():
    graded = _toy_graded()
    learner = _OneRankingLearner(graded)
    grid = {"term_alpha": (5.0,), "text_weight": (0.9,), "entity_gate": (0.1, 0.2)}
    spread = multi_seed_cv(learner, graded, seeds=(15, 1), grid=grid)
    # no inner CV of the ranking: one call per outer fold, for its test queries, trained on the rest
    outer = [(frozenset(tr), frozenset(te)) for splits in spread.splits for tr, te in splits]
    assert learner.calls == outer
    # the edges still get their own point by their own inner CV
    assert all(c["edge_entity_gate"] == 0.2 for cs in spread.choices for c in cs)
    assert all(s.edge_precision == 1.0 and s.edges_judged > 0 for s in spread.per_seed)


def _permuted(graded, queries, seed=0):
    """``graded`` with the grades of ``queries`` shuffled among their candidates."""
    import random

    rng = random.Random(seed)
    grades = dict(graded.grades)
    for q in queries:
        cands, values = list(grades[q]), list(grades[q].values())
        rng.shuffle(values)
        grades[q] = dict(zip(cands, values, strict=True))
    return GradedSet(graded.queries, grades)


@pytest.mark.slow  # 22 s: a nested CV of the re-ranker twice (an ablation row; the full suite runs it)
def test_reranker_never_reads_the_grades_of_the_queries_it_scores():
    import copy

    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import RerankedRuns, ShippedRuns

    full = load_graded()
    queries = full.with_counterpart[:10] + full.no_counterpart[:2]
    small = GradedSet(queries, {q: full.grades[q] for q in queries})
    test, train = queries[:3], queries[3:]
    runs = ShippedRuns(Settings(), small)

    def reranker(graded):
        r = copy.copy(runs)
        r.graded = graded
        return RerankedRuns(r)

    def scores(graded):
        return reranker(graded).signal({}, train, test)

    first = reranker(small)
    plain = first.signal({}, train, test)
    # the grade-free features: a cosine split by how common the shared terms are sums to the cosine
    names, rarity = first._static["rarity"]
    (word_names, plain_feats) = first._static["plain"]
    bands = [i for i, n in enumerate(names) if n.startswith("word_cos_df")]
    assert len(bands) == 4
    assert rarity[:, :, bands].sum(axis=2) == pytest.approx(plain_feats[:, :, word_names.index("word_cos")], abs=1e-5)
    shuffled = _permuted(small, test)
    assert any(shuffled.grades[q] != small.grades[q] for q in test)
    assert scores(shuffled) == plain
    # the training queries' grades are what it learns from: shuffling them moves the scores
    assert scores(_permuted(small, train)) != plain
    # the pool (30 by default) is re-ranked above the first pass's rest, which keeps its scores (≤ 1)
    for q in test:
        above = [c for c, s in plain[q].items() if s >= 2.0]
        assert len(above) == 30 and all(s <= 1.0 for c, s in plain[q].items() if c not in above)


def test_reranker_trains_on_first_pass_scores_fitted_without_the_training_query():
    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import INNER_FOLDS, SEED, RerankedRuns, ShippedRuns

    full = load_graded()
    queries = full.with_counterpart[:8]
    small = GradedSet(queries, {q: full.grades[q] for q in queries})
    rr = RerankedRuns(ShippedRuns(Settings(), small))
    point, parts = rr._first_pass(queries)
    alpha = float(point["term_alpha"])
    for t in folds(queries, INNER_FOLDS, SEED):
        rest = [q for q in queries if q not in t]
        for q in t:
            assert parts[q] is rr._ranked(alpha, rest)[q]
    if alpha > 0:  # weights fitted with the query would score it otherwise
        q = queries[0]
        assert not np.array_equal(parts[q][1], rr._ranked(alpha, queries)[q][1])


def test_pairwise_ranker_learns_the_order_within_a_query_not_its_base_rate():
    from fundgraph.evaluation.relevance import PairwiseLogistic

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 6)
    grade = np.tile([2, 1, 0, 0, 0, 0], 20)
    informative = grade + rng.normal(0, 0.3, len(grade))
    # a per-query offset as large as the signal: it says nothing about which candidate of a query is better
    offset = np.repeat(rng.normal(0, 3, 20), 6)
    noise = rng.normal(0, 1, len(grade))
    x = np.column_stack([informative + offset, noise])
    model = PairwiseLogistic(1.0).fit(x, grade, groups)
    w = model.model.coef_.ravel()
    assert w[0] > 0 and abs(w[1]) < 0.2 * w[0]
    p = model.predict_proba(x)[:, 1]
    for g in range(20):
        rows = np.flatnonzero(groups == g)
        assert np.argmax(p[rows]) == 0


@pytest.mark.slow  # ~27 s: a nested CV of the union re-ranker three times (an ablation row; the full suite runs it)
def test_union_reranker_never_reads_the_grades_of_the_queries_it_scores():
    import copy

    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import ShippedRuns, UnionRerankedRuns, learned_config

    full = load_graded()
    queries = full.with_counterpart[:10] + full.no_counterpart[:2]
    small = GradedSet(queries, {q: full.grades[q] for q in queries})
    test, train = queries[:3], queries[3:]
    runs = ShippedRuns(Settings(), small)
    # every way word TF-IDF comes in: the pool, the re-ranked score's mix, the first pass's mix
    options = {"model": "pairwise", "word_pool": 10, "word_mixes": (0.0, 0.3), "first_mixes": (0.0, 0.3)}

    def reranker(graded):
        r = copy.copy(runs)
        r.graded = graded
        return UnionRerankedRuns(r, **options)

    first = reranker(small)
    plain = first.signal({}, train, test)
    shuffled = _permuted(small, test)
    assert any(shuffled.grades[q] != small.grades[q] for q in test)
    assert reranker(shuffled).signal({}, train, test) == plain
    # the training queries' grades are what it learns from: shuffling them moves the scores
    assert reranker(_permuted(small, train)).signal({}, train, test) != plain
    # the pool is the first pass's top 30 united with word TF-IDF's top 10, re-ranked above the rest (≤ 1)
    point, _model, _mix = first._trained(train)
    parts = first._ranked(float(point["term_alpha"]), train)
    for q in test:
        cands = parts[q][0]
        s, w = first._first_scores(q, parts[q], learned_config(point, first.config), float(point["first_mix"]))
        by_first = [cands[j] for j in np.lexsort((np.asarray(cands), -s))[:30]]
        by_word = [cands[j] for j in np.lexsort((np.asarray(cands), -w))[:10]]
        above = {c for c, x in plain[q].items() if x >= 2.0}
        assert above == set(by_first) | set(by_word)
        assert len(above) > 30 or set(by_word) <= set(by_first)
        assert all(x <= 1.0 for c, x in plain[q].items() if c not in above)


def test_prior_factors_smooth_toward_the_predicted_prior_and_at_gamma_zero_toward_one():
    from fundgraph.evaluation.relevance import prior_term_factors

    # terms: 0 shared by related pairs, 1 by unrelated ones, 2 and 3 unseen with a high and a low prior
    rel, seen, p0 = np.array([4.0, 0.0, 0.0, 0.0]), np.array([4.0, 6.0, 0.0, 0.0]), 0.2
    prior = np.array([0.2, 0.2, 0.4, 0.05])
    flat = prior_term_factors(rel, seen, p0, prior, alpha=5.0, gamma=0.0)
    assert flat == pytest.approx((rel + 5.0 * p0) / (seen + 5.0) / p0)
    assert flat[2] == flat[3] == pytest.approx(1.0)
    w = prior_term_factors(rel, seen, p0, prior, alpha=5.0, gamma=1.0)
    assert w[2] == pytest.approx(2.0) and w[3] == pytest.approx(0.25)  # unseen: p(t)/p0
    assert w[0] > 1 > w[1] and w[:2] == pytest.approx(flat[:2])  # prior at p0: as shipped
    assert prior_term_factors(rel, seen, p0, prior, alpha=5.0, gamma=0.5)[2] == pytest.approx(2.0 ** 0.5)
    assert prior_term_factors(rel, seen, p0, prior, alpha=math.inf, gamma=1.0) == pytest.approx(prior / p0)


def test_term_corpus_features_read_the_corpus_not_the_grades():
    from fundgraph.embeddings.encoders import LexicalEncoder
    from fundgraph.evaluation.relevance import TERM_FEATURES, term_corpus_features

    fields = [
        {"title": "脑机接口", "keywords": "", "content": "量子计算芯片", "metrics": "论文不少于十篇"},
        {"title": "脑机接口", "keywords": "", "content": "量子计算芯片", "metrics": "论文不少于十篇"},
        {"title": "作物育种", "keywords": "", "content": "水稻基因", "metrics": "论文不少于十篇"},
        {"title": "深海探测", "keywords": "", "content": "海底地形", "metrics": "专利"},
    ]
    enc = LexicalEncoder(**SHIPPED_LEXICAL).fit([" ".join(f.values()) for f in fields])
    vectors = enc.encode([" ".join(f.values()) for f in fields])
    x = term_corpus_features(enc, fields, ["a", "b", "a", "b"], vectors)
    col = {n: i for i, n in enumerate(TERM_FEATURES)}
    v = enc.vocabulary
    assert x.shape == (len(v), len(TERM_FEATURES))
    assert np.allclose(x.mean(axis=0), 0.0, atol=1e-9)
    # 脑机 sits in two identical directions (cosine 1) of two programs; 论文 in three rather different ones
    assert x[v["#脑机"], col["pair_cosine"]] > x[v["#论文"], col["pair_cosine"]]
    assert x[v["#论文"], col["log_df"]] > x[v["#脑机"], col["log_df"]]
    assert x[v["#论文"], col["metrics_share"]] > x[v["#脑机"], col["metrics_share"]]
    assert x[v["#脑机"], col["title_share"]] > x[v["#量子"], col["title_share"]]
    assert x[v["#脑机"], col["bigram"]] > x[v["#脑"], col["bigram"]]
    # spread evenly over the two programs vs held by one
    assert x[v["#脑机"], col["program_entropy"]] > x[v["#水稻"], col["program_entropy"]]


@pytest.mark.slow  # ~15 s: the prior row's encodings for three training sets
def test_prior_weights_never_read_the_grades_of_the_queries_they_score():
    import copy

    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.relevance import PriorRuns, ShippedRuns

    full = load_graded()
    queries = full.with_counterpart[:10] + full.no_counterpart[:2]
    small = GradedSet(queries, {q: full.grades[q] for q in queries})
    test, train = queries[:3], queries[3:]
    runs = ShippedRuns(Settings(), small)
    first = PriorRuns(runs, gamma=1.0)
    point = {"term_alpha": 10.0, "text_weight": 0.9, "entity_gate": 0.2}

    def prior(graded):
        r = copy.copy(runs)
        r.graded = graded
        return PriorRuns(r, gamma=1.0, features=first.features)

    plain = first.signal(point, train, test)
    shuffled = _permuted(small, test)
    assert any(shuffled.grades[q] != small.grades[q] for q in test)
    assert prior(shuffled).signal(point, train, test) == plain
    # the training queries' grades are what it learns from: shuffling them moves the scores
    assert prior(_permuted(small, train)).signal(point, train, test) != plain
    # a term no training pair shares gets the prior's p(t)/p0, not 1 (the shipped weights leave it at 1)
    w = first.weights(10.0, train)
    shipped = LearnedRuns.weights(first, 10.0, train)
    unseen = [t for t in w if t not in shipped]
    assert unseen and len(w) > len(shipped)
    assert all(first.df[first.vocabulary[t]] >= 2 for t in w)


def test_pair_fitted_prior_lifts_the_kind_of_term_related_pairs_share():
    from fundgraph.evaluation.relevance import TERM_FEATURES, fit_pair_prior

    rng = np.random.default_rng(0)
    n_terms, n_dirs = 40, 60
    features = rng.normal(size=(n_terms, len(TERM_FEATURES)))
    good = np.arange(n_terms) < 20  # terms whose "pair_cosine" is high: the kind related pairs share
    features[:, TERM_FEATURES.index("pair_cosine")] = np.where(good, 1.0, -1.0) + rng.normal(0, 0.1, n_terms)
    x = np.zeros((n_dirs, n_terms))
    grades: dict[str, dict[str, int]] = {}
    for k in range(20):  # query 3k, its related candidate 3k+1 (a good term shared), an unrelated one 3k+2
        q, r, u = 3 * k, 3 * k + 1, 3 * k + 2
        x[[q, r], k] = 1.0
        x[[q, u], 20 + k] = 1.0
        x[[q, r, u], (k + 1) % 20] += 0.1
        grades[f"d{q}"] = {f"d{r}": 2, f"d{u}": 0}
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = {f"d{i}": i for i in range(n_dirs)}
    graded = GradedSet(list(grades), grades)
    df = (x > 0).sum(axis=0)
    w = fit_pair_prior(x, features, df, index, graded, list(grades))
    assert w.shape == (n_terms,) and (w > 0).all()
    assert w[good].mean() > 1.5 * w[~good].mean()
    assert w[good].mean() > 1.0 > w[~good].mean()  # scaled around 1 over the shared terms


def test_general_idf_factors_lower_common_words_and_leave_unknown_features_neutral():
    from fundgraph.evaluation.relevance import general_idf_factors, general_idf_table

    table = {"技术": 4.0, "孪生": 16.0, "的": 1.0, "研究": 8.0, "孪": 8.0, "甲": 20.0, "乙": 20.0, "丙": 20.0}
    features = ["#技术", "#孪生", "#的", "#研究", "#x1", "#孪"]  # found: 4, 16, 1, 8, 8 → reference (median) 8
    f = general_idf_factors(features, table, gamma=1.0)
    assert f == pytest.approx([0.5, 2.0, 0.25, 1.0, 1.0, 1.0])  # 的: 1/8 clipped at 0.25; x1 absent: 1
    assert general_idf_factors(features, table, gamma=0.5)[:2] == pytest.approx([0.5 ** 0.5, 2.0 ** 0.5])
    assert general_idf_factors(features, table, gamma=0.0) == pytest.approx(np.ones(6))
    # absent "median": the table's median idf (8, 16 → 12) over the reference 8
    assert general_idf_factors(features, table, gamma=1.0, absent="median")[4] == pytest.approx(1.5)
    with pytest.raises(ValueError):
        general_idf_factors(features, table, gamma=1.0, absent="zero")
    # lowering only; single characters left neutral
    assert general_idf_factors(features, table, gamma=1.0, clip=(0.25, 1.0))[1] == pytest.approx(1.0)
    bigram = general_idf_factors(features, table, gamma=1.0, bigrams_only=True)  # found: 4, 16, 8 → reference 8
    assert bigram[2] == bigram[5] == 1.0 and bigram[0] == pytest.approx(4.0 / 8.0)
    real = general_idf_table()
    assert len(real) > 250_000 and real["技术"] < real["孪生"] and real["的"] < 1.0


def test_general_idf_weights_multiply_the_learned_weights():
    import scipy.sparse as sp

    from fundgraph.evaluation.relevance import GeneralIdfRuns

    runs = object.__new__(GeneralIdfRuns)
    # directions q, r (related: share 孪生), u (unrelated: shares 技术 with q)
    runs.ids = ["q", "r", "u"]
    runs.vocabulary = {"#孪生": 0, "#技术": 1, "#影像": 2}
    runs.base = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    runs.graded = GradedSet(["q"], {"q": {"r": 2, "u": 0}})
    runs.factors = np.array([1.0, 0.5, 2.0])
    learned = LearnedRuns.weights(runs, 5.0, ["q"])
    w = runs.weights(5.0, ["q"])
    assert w["#孪生"] == pytest.approx(learned["#孪生"], abs=1e-4) and learned["#孪生"] > 1
    assert w["#技术"] == pytest.approx(learned["#技术"] * 0.5, abs=1e-4)
    assert w["#影像"] == pytest.approx(2.0)  # no judged pair shares it: the factor alone
    assert runs.weights(0.0, ["q"]) == {"#技术": 0.5, "#影像": 2.0}  # α 0: the factor alone


def test_word_mix_reorders_only_the_first_pass_pool_and_keeps_the_plain_edges():
    from fundgraph.evaluation.relevance import WordMixRuns

    small, runs, point, plain = _three_queries()
    mix = WordMixRuns(runs, pool=10)
    assert mix.separate_edges
    assert mix.edge_signal({**point, "word_mix": 0.4}, [], small.queries) == plain
    assert mix.signal({**point, "word_mix": 0.0}, [], small.queries) == plain
    mixed = mix.signal({**point, "word_mix": 0.4}, [], small.queries)
    moved = False
    for q in small.queries:
        first = sorted(plain[q], key=lambda c: (-plain[q][c], c))
        now = sorted(mixed[q], key=lambda c: (-mixed[q][c], c))
        # the pool (the first pass's best 10) stays the top 10, in another order; the rest keep their order below
        assert set(now[:10]) == set(first[:10]) and now[10:] == first[10:]
        moved |= now[:10] != first[:10]
    assert moved
    # every candidate mixed (pool 0): a candidate from below the first pass's best 10 may rise into them
    assert WordMixRuns(runs, pool=0).signal({**point, "word_mix": 0.6}, [], small.queries) != mixed


def test_rjieba_words_are_the_plain_tokenisers_on_chinese_text():
    from fundgraph.embeddings.encoders import Lexicon, Tokeniser
    from fundgraph.evaluation.relevance import rjieba_words

    text = "基于多模态影像的阿尔茨海默病早期预警研究，发表论文10篇。"
    assert rjieba_words(text) == Tokeniser(Lexicon(), ())(text)
    assert "影像" in rjieba_words(text) and "10" not in rjieba_words(text)
