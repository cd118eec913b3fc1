import numpy as np

from fundgraph.embeddings.encoders import l2_normalise
from fundgraph.embeddings.scoring import Candidates, EntityInfo, ScoringConfig, entity_profile, rank, score_matrix

INFO = {
    "disease:alzheimer": EntityInfo("disease:alzheimer", "disease", "阿尔茨海默病", "Alzheimer's disease"),
    "technique:foundation-model": EntityInfo(
        "technique:foundation-model", "technique", "大模型", "Foundation model"
    ),
    "modality:PT": EntityInfo("modality:PT", "modality", "正电子发射断层成像", "PET"),
}


def _cands():
    # Four directions in three programs; same text vector for 1..3 so only entities separate them.
    v = l2_normalise(np.array([[1, 0], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], dtype=np.float32))
    ents = [
        {"disease:alzheimer": 1.0, "technique:foundation-model": 1.0},  # query-like direction, program p
        {"technique:foundation-model": 1.0},  # shares only the common entity
        {"disease:alzheimer": 1.0},  # shares the rare entity
        {"technique:foundation-model": 1.0, "modality:PT": 1.0},
    ]
    return Candidates(
        ids=["p:1", "q:1", "r:1", "s:1"], programs=["p", "q", "r", "s"], vectors=v, entities=ents, info=INFO
    )


def test_shared_rare_entity_outranks_shared_common_entity():
    c = _cands()
    assert c.idf["disease:alzheimer"] > c.idf["technique:foundation-model"]
    ranked = rank(c.vectors[0], c.entities[0], c, config=ScoringConfig(), exclude=0)
    assert next(s.id for s in ranked) == "r:1"
    top = ranked[0]
    assert top.shared["diseases"] == ["阿尔茨海默病"]
    assert top.entity_score > ranked[1].entity_score
    assert "阿尔茨海默病 (Alzheimer's disease)" in top.summary
    assert "p:1" not in [s.id for s in ranked]


def test_rank_filters_programs_and_combines_weights():
    c = _cands()
    cfg = ScoringConfig(text_weight=0.6, entity_weight=0.4)
    ranked = rank(c.vectors[0], c.entities[0], c, config=cfg, exclude=0, programs=["q", "s"], k=5)
    assert {s.program_id for s in ranked} == {"q", "s"}
    for s in ranked:
        assert abs(s.score - (0.6 * s.text_score + 0.4 * s.entity_score)) < 1e-5
    assert rank(c.vectors[0], {}, c, config=cfg, exclude=0, exclude_program="q", k=1)[0].id != "q:1"


def test_edge_props_are_flat():
    c = _cands()
    s = rank(c.vectors[0], c.entities[0], c, config=ScoringConfig(), exclude=0, k=1)[0]
    props = s.edge_props()
    assert props["shared_diseases"] == ["阿尔茨海默病"]
    assert all(isinstance(v, (int, float, str, list)) for v in props.values())
    assert set(s.explanation()) == {"text_score", "entity_score", "shared", "summary"}


def test_entity_profile_takes_strongest_field_and_skips_other_types():
    fw = ScoringConfig().entity_field_weights
    types = {"disease:alzheimer": "disease", "discipline:H09": "discipline"}
    prof = entity_profile(
        [("disease:alzheimer", "metrics"), ("disease:alzheimer", "title"), ("discipline:H09", "title")],
        ("disease",),
        types,
        fw,
    )
    assert prof == {"disease:alzheimer": fw["title"]}
    assert fw["title"] > fw["metrics"]


def test_score_matrix_matches_rank():
    c = _cands()
    cfg = ScoringConfig()
    m = score_matrix(c, cfg)
    ranked = {s.id: s.score for s in rank(c.vectors[0], c.entities[0], c, config=cfg, exclude=0)}
    for j, did in enumerate(c.ids[1:], start=1):
        assert abs(m[0, j] - ranked[did]) < 1e-5


def test_hierarchy_expansion_decays_and_keeps_the_stronger_weight():
    from fundgraph.embeddings.scoring import expand_hierarchy

    parents = {"d:ad": ["d:neurodeg"], "d:pd": ["d:neurodeg"], "d:neurodeg": ["d:nervous"]}
    ad = expand_hierarchy({"d:ad": 1.0}, parents, decay=0.5)
    assert ad == {"d:ad": 1.0, "d:neurodeg": 0.5, "d:nervous": 0.25}
    # an entity named itself keeps its own (larger) weight
    both = expand_hierarchy({"d:ad": 1.0, "d:neurodeg": 0.9}, parents, decay=0.5)
    assert both["d:neurodeg"] == 0.9 and both["d:nervous"] == 0.45
    assert expand_hierarchy({"d:ad": 1.0}, parents, decay=0.0) == {"d:ad": 1.0}
    assert "d:nervous" not in expand_hierarchy({"d:ad": 1.0}, parents, decay=0.5, depth=1)


def test_entity_profile_weighs_types_and_drops_extracted_keywords():
    from fundgraph.embeddings.scoring import entity_profile

    types = {"d:ad": "disease", "k:model": "keyword", "k:own": "keyword", "m:pet": "modality"}
    p = entity_profile(
        [("d:ad", "content"), ("k:model", "title", True), ("k:own", "keywords", False), ("m:pet", "title")],
        ("disease", "modality", "keyword"),
        types,
        {"title": 1.0, "keywords": 1.0, "content": 0.5},
        type_weights={"disease": 2.0, "keyword": 0.5},
        extracted_weight=0.0,
    )
    assert p == {"d:ad": 1.0, "k:own": 0.5, "m:pet": 1.0}


def test_a_graph_idf_given_is_kept_as_it_is_even_empty_else_counted_over_the_rows():
    # The Neo4j store's candidates are some rows of a graph whose rarity it read at load.
    from fundgraph.embeddings.scoring import rarity_weights

    rows = _cands()
    counted = Candidates(ids=rows.ids, programs=rows.programs, vectors=rows.vectors, entities=rows.entities,
                         info=INFO)
    assert counted.idf == rarity_weights(rows.entities) and counted.idf["disease:alzheimer"] > 0
    graph_idf = {"disease:alzheimer": 4.5, "technique:foundation-model": 0.25}
    given = Candidates(ids=rows.ids, programs=rows.programs, vectors=rows.vectors, entities=rows.entities,
                       info=INFO, idf=graph_idf, idf_given=True)
    assert given.idf == graph_idf
    empty = Candidates(ids=rows.ids, programs=rows.programs, vectors=rows.vectors, entities=rows.entities,
                       info=INFO, idf={}, idf_given=True)
    assert empty.idf == {} and empty.entity_matrix[0].nnz == 0  # no rarity: no entity overlap, as the graph says
    none = Candidates(ids=[], programs=[], vectors=np.zeros((0, 2), np.float32), entities=[], info=INFO, idf={},
                      idf_given=True, cited={"modality:PT": 7})
    assert none.idf == {} and none.cited == {"modality:PT": 7}


def _same_csr(a, b):
    """Bit for bit: shape, dtypes and the three arrays."""
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.indptr.dtype == b.indptr.dtype and a.indices.dtype == b.indices.dtype
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()


def test_direction_vectors_block_by_block_are_the_vectors_of_one_block(corpus_docs, monkeypatch):
    import fundgraph.embeddings.encoders as encoders
    from fundgraph.core.settings import Settings
    from fundgraph.embeddings.scoring import direction_vectors
    from fundgraph.graph.build.similarity import direction_fields

    fields = [direction_fields(d) for doc in corpus_docs for d in doc.directions]
    # directions without any text: a block of them is not encoded at all, one inside a block gets a zero row
    blank = {"title": "", "keywords": "", "content": "", "metrics": ""}
    fields = [blank, *fields[:50], blank, blank, blank, *fields[50:]]
    config = ScoringConfig(field_weights={"text": 1.0, "title": 0.5})  # two texts per direction

    def vectors(block: int, fit_rows: int = encoders.ENCODE_BLOCK_ROWS):
        monkeypatch.setattr(encoders, "ENCODE_BLOCK_ROWS", fit_rows)
        enc = encoders.encoder_from_settings(Settings(encoder="lexical"))
        enc.fit([" ".join(f.values()) for f in fields])
        return enc, direction_vectors(enc, fields, config, block=block)

    enc, whole = vectors(len(fields))
    assert enc.row_wise and whole.shape == (len(fields), len(enc.vocabulary)) and whole.nnz > 0
    assert whole[0].nnz == 0 and whole[52].nnz == 0
    for block, fit_rows in ((1, 3), (3, 2048), (7, 5), (50, 64)):
        again, blocked = vectors(block, fit_rows)
        assert again.vocabulary == enc.vocabulary and again.idf.tobytes() == enc.idf.tobytes()
        _same_csr(blocked, whole)
        assert again._fitted is None  # the fit's pieces served every block, then went


def test_direction_vectors_of_an_encoder_not_row_wise_take_every_text_at_once():
    from fundgraph.embeddings.encoders import Encoder
    from fundgraph.embeddings.scoring import direction_vectors

    class Counting(Encoder):
        name = "counting"

        def __init__(self):
            self.calls: list[int] = []

        def encode(self, texts, *, progress=False):
            self.calls.append(len(texts))
            return np.ones((len(texts), 2), dtype=np.float32)

        def state(self):
            return {"name": self.name}

    enc = Counting()
    v = direction_vectors(enc, [{"title": "甲"}, {"title": ""}, {"title": "乙"}], ScoringConfig(), block=1)
    assert enc.calls == [2] and v.shape == (3, 2)
    assert np.allclose(v[[0, 2]], np.sqrt(0.5)) and not v[1].any()
