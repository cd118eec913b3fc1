import math
import os

import numpy as np
import pytest

from fundgraph.embeddings.encoders import l2_normalise
from fundgraph.embeddings.similarity import best_match, cosine_matrix, rarity_weights, top_k_edges, weighted_overlap


def _vectors():
    # a0 ~ b0 (programs a/b), a1 ~ a0 (same program), c0 orthogonal to everyone
    return l2_normalise(
        np.array(
            [
                [1.0, 0.1, 0.0],  # 0 a
                [0.9, 0.2, 0.0],  # 1 a
                [1.0, 0.0, 0.05],  # 2 b
                [0.0, 0.0, 1.0],  # 3 c
            ]
        )
    )


def test_cosine_matrix_is_symmetric_with_unit_diagonal():
    m = cosine_matrix(_vectors())
    assert m.shape == (4, 4)
    assert np.allclose(np.diag(m), 1.0, atol=1e-6)
    assert np.allclose(m, m.T)


def test_top_k_edges_cross_group_only_no_self_and_threshold():
    s = cosine_matrix(_vectors())
    edges = top_k_edges(s, ["a", "a", "b", "c"], top_k=2, threshold=0.5)
    pairs = {(e.source, e.target) for e in edges}
    assert all(e.source != e.target for e in edges)
    assert (0, 1) not in pairs and (1, 0) not in pairs  # same program
    assert (0, 2) in pairs and (2, 0) in pairs and (2, 1) in pairs
    assert not any(3 in p for p in pairs)  # orthogonal: below threshold
    assert all(e.score >= 0.5 for e in edges)


def test_top_k_edges_keeps_best_k_in_order_and_allows_same_group_on_request():
    s = cosine_matrix(_vectors())
    edges = top_k_edges(s, ["a", "a", "b", "c"], top_k=1, threshold=-1.0, cross_group_only=False)
    assert len(edges) == 4
    by_source = {e.source: e.target for e in edges}
    assert by_source[0] in (1, 2) and by_source[3] != 3
    edges2 = top_k_edges(s, ["a", "a", "b", "c"], top_k=3, threshold=-1.0, cross_group_only=False)
    for i in range(4):
        scores = [e.score for e in edges2 if e.source == i]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3


def test_top_k_zero_and_shape_errors():
    s = cosine_matrix(_vectors())
    assert top_k_edges(s, ["a", "a", "b", "c"], top_k=0, threshold=0) == []
    with pytest.raises(ValueError):
        top_k_edges(s, ["a", "b"], top_k=1, threshold=0)


def test_best_match_respects_threshold():
    s = cosine_matrix(_vectors())
    got = best_match(s, [0, 3], [2], threshold=0.5)
    assert got[0][0] == 2 and 3 not in got


def test_rarity_weights_rare_entity_weighs_more():
    docs = [{"disease:ad", "technique:llm"}, {"technique:llm"}, {"technique:llm"}, {"technique:llm", "x"}]
    w = rarity_weights(docs)
    assert w["technique:llm"] == 0.0
    assert math.isclose(w["disease:ad"], math.log(4))
    assert w["disease:ad"] > w["x"] - 1e-9


def test_weighted_overlap_shared_rare_beats_shared_common():
    idf = {"disease:ad": 2.0, "technique:llm": 0.3, "modality:pet": 1.5}
    query = {"disease:ad": 1.0, "technique:llm": 1.0, "modality:pet": 1.0}
    rare, c1 = weighted_overlap(query, {"disease:ad": 1.0}, idf)
    common, _c2 = weighted_overlap(query, {"technique:llm": 1.0}, idf)
    assert rare > common > 0
    assert set(c1) == {"disease:ad"} and math.isclose(sum(c1.values()), rare)
    assert weighted_overlap(query, {}, idf) == (0.0, {})
    same, _ = weighted_overlap(query, query, idf)
    assert math.isclose(same, 1.0)


def test_rarity_weights_in_first_cited_order_whatever_the_string_hash():
    import subprocess
    import sys

    code = ("from fundgraph.embeddings.similarity import rarity_weights; "
            "print(list(rarity_weights([['disease:b', 'disease:a', 'disease:b'], ['technique:c', 'disease:a'], "
            "{'modality:d': 1.0, 'disease:a': 0.5}])))")
    orders = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                             capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert orders == {"['disease:b', 'disease:a', 'technique:c', 'modality:d']\n"}
