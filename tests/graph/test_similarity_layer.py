"""The similarity layer on the real corpus, after the real entity layer (lexical encoder)."""

from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401 - sp.linalg.norm

from fundgraph.core.settings import Settings
from fundgraph.embeddings.calibration import calibration_for
from fundgraph.embeddings.scoring import ScoringConfig, query_entities, rank
from fundgraph.evaluation.similarity import load_gold, unrelated_directions
from fundgraph.graph.build.similarity import candidates_from_graph, lexicon_from_graph


@pytest.fixture(scope="module")
def settings():
    return Settings(encoder="lexical")


@pytest.fixture(scope="module")
def built(corpus_built, corpus_docs):
    """The session's corpus graph (tests/conftest.py: lexical encoder, default settings), its documents, vectors."""
    return corpus_built.graph, corpus_docs, corpus_built


def _edges(g, rel):
    return [(u, v, d) for u, v, d in g.edges(data=True) if d.get("type") == rel]


def test_result_vectors_cover_every_direction(built):
    _g, _docs, res = built
    assert len(res.direction_ids) == 124 == res.vectors.shape[0]
    assert sp.isspmatrix_csr(res.vectors) and res.vectors.dtype == np.float32
    assert res.vectors.nnz < 0.2 * res.vectors.shape[0] * res.vectors.shape[1]  # sparse: never made dense
    assert np.allclose(sp.linalg.norm(res.vectors, axis=1), 1.0, atol=1e-5)
    assert res.encoder_state["name"] == "lexical"
    assert {"scoring", "lexicon", "vocabulary", "idf"} <= set(res.encoder_state)


def test_similar_to_edges_cross_program_top_k_above_threshold(built, settings):
    g, _, _ = built
    edges = _edges(g, "SIMILAR_TO")
    # 32 on the bundled corpus: only pairs whose calibrated confidence reaches 0.9 (issue 15)
    assert len(edges) >= 30
    per_source = Counter(u for u, _, _ in edges)
    assert max(per_source.values()) <= settings.similar_top_k
    cut = calibration_for("lexical").min_score()
    assert 0.2 < cut < 0.3
    for u, v, d in edges:
        assert u != v
        assert g.nodes[u]["program_id"] != g.nodes[v]["program_id"]
        assert d["score"] >= cut  # the calibrated threshold as a score (settings leave it unset)
        assert d["method"] == "lexical+entities"
        # the shipped formula: tw · text + ew · entities · min(1, text / gate) (entities lift what the text supports)
        cfg = ScoringConfig()
        gate = min(1.0, max(0.0, d["text_score"]) / cfg.entity_gate)
        expected = cfg.text_weight * d["text_score"] + cfg.entity_weight * d["entity_score"] * gate
        assert abs(d["score"] - expected) < 1e-4
        for k in ("shared_diseases", "shared_modalities", "shared_techniques", "shared_keywords"):
            assert isinstance(d[k], list)
        assert d["summary"]


def test_known_related_pairs_are_linked_with_reasons(built):
    g, _, _ = built

    def targets(src):
        return {v: d for _, v, d in g.out_edges(src, data=True) if d.get("type") == "SIMILAR_TO"}

    dna = targets("most-btit-2024:1")
    assert "most-btit-2021:1.1" in dna  # DNA storage for information security, 2024 ↔ 2021
    nuc = targets("nsfc-tianyuan-sz-2023:14")
    assert "most-stic-joint:2.7" in nuc  # nuclear-medicine imaging + large model theranostics
    dep = targets("most-stic-joint:2.2")
    assert "gd-imaging-2026:YXB0102" in dep
    assert "抑郁症" in dep["gd-imaging-2026:YXB0102"]["shared_diseases"]


def test_continues_goes_from_later_to_earlier_edition(built):
    g, _, _ = built
    edges = _edges(g, "CONTINUES")
    assert edges
    for u, v, d in edges:
        assert g.nodes[u]["program_id"] == "most-btit-2024"
        assert g.nodes[v]["program_id"] == "most-btit-2021"
        assert d["from_year"] == 2024 and d["to_year"] == 2021 and d["score"] >= 0.20
    pairs = {(u, v) for u, v, _ in edges}
    assert ("most-btit-2024:1", "most-btit-2021:1.1") in pairs
    assert ("most-btit-2024:2", "most-btit-2021:1.4") in pairs
    assert len({u for u, _ in pairs}) == len(pairs)  # one predecessor per direction


def test_communities_are_labelled_and_partition_directions(built):
    g, _, _ = built
    comms = [n for n, d in g.nodes(data=True) if d.get("label") == "Community"]
    assert len(comms) >= 5
    member_of = Counter(u for u, _, _ in _edges(g, "IN_COMMUNITY"))
    assert max(member_of.values()) == 1
    # the rest have no neighbour above the encoder's score threshold 0.25 (52 of 124 under session 9's character
    # features, whose cosines run lower; 70 or more under session 8's)
    assert sum(member_of.values()) >= 50
    for c in comms:
        d = g.nodes[c]
        assert d["name"] and d["name_en"] and d["size"] >= 2 and d["terms"]
        names = d["name"].split(" / ")
        assert len(names) == len(set(names)), d["name"]
        assert d["size"] == sum(1 for _, v, e in _edges(g, "IN_COMMUNITY") if v == c)


def test_communities_are_stable_across_builds(built, corpus_rebuilt):
    g, _docs, _ = built
    # corpus_rebuilt: a second, independent build of the same corpus (through the CLI)
    a = sorted((u, v) for u, v, _ in _edges(g, "IN_COMMUNITY"))
    b = sorted((u, v) for u, v, _ in _edges(corpus_rebuilt.graph, "IN_COMMUNITY"))
    assert a
    assert a == b


def test_unrelated_directions_get_at_most_weak_links(built, settings):
    g, docs, _ = built
    unrelated = set(unrelated_directions(docs, load_gold()))
    assert len(unrelated) == 25  # 002: 矿产 3.x (6), 量子 5.x (10), 深海 7.x (3), 极地 8.x (6)
    linked = {x for u, v, _ in _edges(g, "SIMILAR_TO") for x in (u, v) if x in unrelated}
    assert len(linked) <= 2, sorted(linked)


def test_english_query_finds_alzheimer_pet_directions(built):
    g, _, res = built
    from fundgraph.embeddings.encoders import encoder_from_state
    from fundgraph.embeddings.scoring import ScoringConfig

    enc = encoder_from_state(res.encoder_state)
    config = ScoringConfig.from_state(res.encoder_state["scoring"])
    cands = candidates_from_graph(g, res.direction_ids, res.vectors, config)
    text = "Alzheimer's disease PET imaging"
    ents = query_entities(text, lexicon_from_graph(g), cands)
    assert any(e.startswith("disease:") for e in ents) and any(e.startswith("modality:") for e in ents)
    top = [s.id for s in rank(enc.encode([text])[0], ents, cands, config=config, k=5)]
    assert "gd-imaging-2026:YXA0101" in top[:3]
    assert not any(t.startswith("most-stic-joint:7") or t.startswith("most-stic-joint:8") for t in top)


def test_hierarchy_links_parkinson_and_alzheimer_through_neurodegeneration(built):
    g, _, res = built
    from fundgraph.embeddings.scoring import ScoringConfig

    config = ScoringConfig.from_state(res.encoder_state["scoring"])
    cands = candidates_from_graph(g, res.direction_ids, res.vectors, config)
    ad = cands.entities[cands.index["gd-imaging-2026:YXA0101"]]
    assert ad["disease:alzheimer"] > ad["disease:neurodegenerative-disease"] > 0  # inherited, decayed
    # extracted (jieba) keywords are not in the profile; explicit ones are
    mentions = [
        (v, d) for _, v, d in g.out_edges("gd-imaging-2026:YXA0101", data=True) if d.get("type") == "MENTIONS"
    ]
    assert all(
        v not in ad for v, d in mentions if d.get("extracted") and not v.startswith(("disease:", "modality:"))
    )


def test_the_score_alone_finds_the_designated_partners_clearly_better_than_plain_tfidf():
    """The first pass (the combined score, no word mix): the earlier gold set's bar of the similarity issue."""
    from fundgraph.embeddings.scoring import ScoringConfig
    from fundgraph.evaluation.similarity import build_entity_graph, evaluate_baseline, evaluate_method, load_gold

    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    gold = load_gold()
    score = evaluate_method("score alone", g, docs, gold, settings=settings, encoder=None,
                            config=ScoringConfig(word_mix=0.0), cv=False)
    baseline = evaluate_baseline(docs, gold)
    # measured: 0.874 / 0.717 against 0.699 / 0.629
    assert score.recall_at_k >= baseline.recall_at_k + 0.15
    assert score.mrr >= baseline.mrr + 0.07


def test_explicit_threshold_in_settings_wins():
    from fundgraph.embeddings.encoders import LexicalEncoder, SentenceTransformerEncoder
    from fundgraph.graph.build.similarity import similar_threshold

    assert similar_threshold(Settings(), LexicalEncoder()) == 0.25
    assert similar_threshold(Settings(), SentenceTransformerEncoder("x")) == 0.78
    assert similar_threshold(Settings(similar_threshold=0.4), LexicalEncoder()) == 0.4


def test_eval_shipped_clearly_above_plain_tfidf_baseline(corpus_eval):
    shipped, baseline = corpus_eval
    assert shipped.queries == baseline.queries >= 50
    # measured: shipped 0.813 / 0.696 vs baseline 0.699 / 0.629; 2-fold cross-validated 0.839 / 0.766. The lists
    # are the score's best re-ordered by the word mix (issue 15's graded set: nDCG@5 0.712 → 0.723); the score
    # alone finds the designated partners more often (0.874 / 0.717, next test): in 4 queries a partner leaves the
    # top 5 for candidates the graded set's readers also graded related.
    assert shipped.recall_at_k >= baseline.recall_at_k + 0.10
    assert shipped.mrr >= baseline.mrr + 0.06
    assert shipped.cv_recall_at_k >= baseline.recall_at_k + 0.10
    assert shipped.cv_mrr >= baseline.mrr + 0.07
    assert shipped.unrelated_with_edges <= 2
    assert 50 <= shipped.similar_edges <= 150
