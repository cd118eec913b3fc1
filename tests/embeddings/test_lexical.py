import numpy as np
import pytest
import scipy.sparse as sp

from fundgraph.core.errors import FundgraphError
from fundgraph.embeddings.encoders import LexicalEncoder, encoder_from_state
from fundgraph.embeddings.lexicon import Lexicon, Term

TERMS = [
    Term(
        "disease:alzheimer",
        "disease",
        "阿尔茨海默病",
        "Alzheimer's disease",
        ("阿尔兹海默病", "AD", "老年痴呆"),
    ),
    Term("modality:PT", "modality", "正电子发射断层成像", "Positron emission tomography", ("PET",)),
    Term("modality:MR", "modality", "磁共振成像", "Magnetic resonance imaging", ("MRI", "MR", "核磁共振")),
    Term("disease:depression", "disease", "抑郁症", "Depression", ("抑郁障碍",)),
]
DOCS = [
    "基于多模态影像大模型的阿尔茨海默病动态预测与早期预警研究，利用PET和MR影像。",
    "基于多模态影像的抑郁症疗效定量评估与个体化治疗预测方法研究。",
    "深海冷泉生态系统保护和利用合作研究，发表论文10篇，申请专利5项。",
    "量子计算操作系统和云平台建设国际合作研究。",
]


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.from_terms(TERMS)


@pytest.fixture(scope="module")
def encoder(lexicon):
    # min_df=1: on four documents the default (a feature must occur in two) would keep almost nothing
    return LexicalEncoder(lexicon, boilerplate=["国际合作"], min_df=1).fit(DOCS)


def test_english_phrases_map_to_chinese_canonical_names(lexicon):
    norm = lexicon.normalise("Alzheimer's disease PET imaging")
    assert "阿尔茨海默病" in norm and "正电子发射断层成像" in norm and "影像" in norm
    assert "阿尔茨海默病" in lexicon.normalise("alzheimer disease")
    assert lexicon.find_entities("Alzheimer’s disease and MRI") == {"disease:alzheimer": 1, "modality:MR": 1}
    # synonyms and abbreviations in Chinese text meet the canonical name too
    assert lexicon.find_entities("阿尔兹海默病（AD）的核磁共振") == {"disease:alzheimer": 2, "modality:MR": 1}
    # an abbreviation only as a whole word, case-sensitively: 'ad' in 'road' or 'Ad hoc' is not AD
    assert lexicon.find_entities("road to an ad hoc MRIs") == {}


def test_english_query_finds_the_ad_pet_direction(encoder):
    docs = encoder.encode(DOCS)
    q = encoder.encode(["Alzheimer's disease PET imaging"]).toarray()[0]
    scores = docs @ q
    assert int(np.argmax(scores)) == 0
    assert scores[0] > 0.2 and scores[2] == 0 and scores[3] == 0


def test_vectors_are_sparse_unit_float32(encoder):
    v = encoder.encode([*DOCS, ""])
    assert sp.isspmatrix_csr(v) and v.dtype == np.float32 and v.has_sorted_indices
    assert v.nnz < 0.5 * v.shape[0] * v.shape[1]  # rows keep only the features their text has
    dense = v.toarray()
    assert np.allclose(np.linalg.norm(dense[:4], axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(dense[4]) == 0 and not np.isnan(dense).any()  # nothing known: a zero row, not NaN


def test_metric_boilerplate_is_down_weighted(encoder):
    idf = dict(zip(encoder.state()["vocabulary"], encoder.state()["idf"], strict=True))
    assert idf["论文"] < idf["冷泉"] / 3
    assert idf["申请专利"] < idf["冷泉"] / 3
    assert idf["#论文"] < idf["#冷泉"] / 3  # the bigram block too


def test_char_bigrams_stay_inside_chinese_runs():
    from fundgraph.embeddings.encoders import char_bigrams

    assert char_bigrams("脑机接口，PET影像") == ["脑机", "机接", "接口", "影像"]
    assert char_bigrams("AD") == []


def test_bigrams_match_where_jieba_cuts_differently(lexicon):
    # jieba: 蛋白质 / 折叠 vs 蛋白 / 折叠 — the words share only 折叠, the bigrams also share 蛋白
    docs = ["蛋白质折叠预测", "蛋白折叠结构", "深海冷泉生态系统", "量子计算云平台"]
    enc = LexicalEncoder(lexicon, min_df=1).fit(docs)
    words_only = LexicalEncoder(lexicon, min_df=1, word_share=1.0).fit(docs)
    v, w = enc.encode(docs).toarray(), words_only.encode(docs).toarray()
    assert v[0] @ v[1] > w[0] @ w[1]
    assert v[0] @ v[2] == 0 and v[0] @ v[3] == 0
    # the cosine is the share-weighted sum of the two blocks' cosines
    assert 0.0 < v[0] @ v[1] <= 1.0


def test_min_df_and_max_features_bound_the_dimension(lexicon):
    docs = [*DOCS, "阿尔茨海默病的PET影像研究", "抑郁症的影像评估"]
    full = LexicalEncoder(lexicon, min_df=1).fit(docs)
    shared = LexicalEncoder(lexicon, min_df=2).fit(docs)
    capped = LexicalEncoder(lexicon, min_df=1, max_features=10).fit(docs)
    assert len(shared.vocabulary) < len(full.vocabulary)
    assert "阿尔茨海默病" in shared.vocabulary and "冷泉" not in shared.vocabulary
    assert len(capped.vocabulary) == 10 and capped.encode(docs).shape == (6, 10)


def test_state_round_trip_encodes_identically(encoder):
    import json

    state = json.loads(json.dumps(encoder.state(), ensure_ascii=False))
    again = encoder_from_state(state)
    assert state["name"] == "lexical" and state["word_share"] == 0.3 and state["default_threshold"] == 0.25
    assert (again.encode(DOCS) != encoder.encode(DOCS)).nnz == 0
    q = ["Alzheimer's disease PET imaging"]
    assert (again.encode(q) != encoder.encode(q)).nnz == 0


def test_unfitted_and_unknown_state_raise():
    with pytest.raises(FundgraphError):
        LexicalEncoder().encode(["x"])
    with pytest.raises(FundgraphError):
        encoder_from_state({"name": "nope"})


def _reference_rows(enc, texts):
    """Rows computed the plain way: Counter of each whole text's features, (1 + ln c) · idf, block weights."""
    import math
    from collections import Counter

    rows = []
    for t in texts:
        row = np.zeros(len(enc.vocabulary))
        for f, c in Counter(enc.features(t)).items():
            if f in enc.vocabulary:
                row[enc.vocabulary[f]] = (1.0 + math.log(c)) * float(enc.idf[enc.vocabulary[f]])
        rows.append(row)
    return np.asarray(rows)


def test_fit_then_encode_reuses_pieces_and_equals_cutting_whole_texts(lexicon):
    # Fields joined by spaces (as the build fits them), one naming a surface form that itself has a space.
    fields = [["阿尔茨海默病 早期预警", "基于PET和 MR影像的 Alzheimer's disease 预测研究"],
              ["抑郁症疗效评估", "多模态影像 抑郁障碍 个体化治疗"], ["", "量子计算 云平台 国际合作"]]
    joined = [" ".join(f) for f in fields]
    flat = [t for f in fields for t in f if t.strip()]
    fitted = LexicalEncoder(lexicon, min_df=1).fit(joined)
    assert fitted._pieces(joined[0]) is None  # cut whole: "Alzheimer's disease" spans a space
    assert fitted._pieces(joined[1]) == ["抑郁症疗效评估", "多模态影像", "抑郁障碍", "个体化治疗"]
    m = fitted.encode(flat)
    again = encoder_from_state(fitted.state()).encode(flat)  # no pieces kept: every text cut afresh
    assert (m != again).nnz == 0
    assert fitted._fitted is None  # the pieces were kept for one encode only
    ref = _reference_rows(fitted, flat)
    assert np.allclose(m.toarray(), _block_normalised(fitted, ref), atol=1e-6)
    # a query after the fit: features outside the vocabulary (冷泉, 热液, Zebrafish) are dropped, the rest weighed
    query = ["冷泉热液 阿尔茨海默病 早期 Zebrafish 影像", "冷泉"]
    got = encoder_from_state(fitted.state()).encode(query)
    assert got[1].nnz == 0 and got[0].nnz > 0
    assert np.allclose(got.toarray(), _block_normalised(fitted, _reference_rows(fitted, query)), atol=1e-6)


def _block_normalised(enc, ref):
    is_char = enc._char_columns()
    out = ref.copy()
    for block, share in ((is_char, 1.0 - enc.word_share), (~is_char, enc.word_share)):
        norms = np.linalg.norm(out[:, block], axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out[:, block] = out[:, block] / norms * np.sqrt(share)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def test_encoding_block_by_block_gives_the_matrix_of_one_block(lexicon, monkeypatch):
    import fundgraph.embeddings.encoders as encoders

    texts = [*DOCS, "", *DOCS[::-1], "抑郁症 量子计算"] * 3  # an empty text among them: a row of zeros
    whole = LexicalEncoder(lexicon, min_df=1).fit(texts).encode(texts)
    monkeypatch.setattr(encoders, "ENCODE_BLOCK_ROWS", 4)
    blocked = LexicalEncoder(lexicon, min_df=1).fit(texts).encode(texts)
    assert blocked.shape == whole.shape and whole.shape[0] == len(texts)
    assert blocked.dtype == np.float32 and sp.isspmatrix_csr(blocked)
    assert np.array_equal(blocked.indptr, whole.indptr) and np.array_equal(blocked.indices, whole.indices)
    assert np.array_equal(blocked.data, whole.data)
    assert whole[len(DOCS)].nnz == 0 and whole.nnz > 0
    empty = LexicalEncoder(lexicon, min_df=1).fit(texts).encode([])
    assert empty.shape == (0, whole.shape[1])


def test_kept_features_are_the_most_frequent_ties_by_name(lexicon):
    # the vocabulary as the first max_features of every feature sorted by (-df, name), then sorted by name
    names = [f"f{i:02d}" for i in range(40)][::-1]
    counts = np.array([i % 5 for i in range(40)], dtype=np.int64)
    for min_df in (0, 1, 2, 4, 5):
        for cap in (0, 1, 3, 7, 8, 9, 24, 31, 32, 40, 100):
            enc = LexicalEncoder(lexicon, min_df=min_df, max_features=cap)
            df = {t: int(c) for t, c in zip(names, counts, strict=True) if c > 0}
            kept = sorted((t for t, c in df.items() if c >= min_df), key=lambda t: (-df[t], t))
            assert enc._kept_features(names, counts) == sorted(kept[:cap]), (min_df, cap)


def test_general_idf_weighs_bigrams_by_their_specificity_in_chinese_at_large():
    from fundgraph.embeddings.encoders import CHAR_PREFIX, SHIPPED_LEXICAL
    from fundgraph.embeddings.specificity import general_idf_table

    docs = ["平台技术研究与脑机接口", "平台技术与影像组学分析", "脑机接口的影像组学平台", "影像平台的接口"]
    options = {**SHIPPED_LEXICAL, "general_idf": 0.0}
    plain = LexicalEncoder(**options).fit(docs)
    shipped = LexicalEncoder(**{**options, "general_idf": 1.0}).fit(docs)
    assert plain.vocabulary == shipped.vocabulary
    ratio = {t: shipped.idf[i] / plain.idf[i] for t, i in plain.vocabulary.items()}
    table = general_idf_table()
    bigrams = {t: t[len(CHAR_PREFIX):] for t in ratio if len(t) == len(CHAR_PREFIX) + 2}
    found = {t: table[b] for t, b in bigrams.items() if b in table}
    assert {"平台", "技术", "影像", "接口"} <= {t[len(CHAR_PREFIX):] for t in found}
    # the more common a bigram is as a word anywhere (技术 4.7, 平台 6.2), the less it keeps; the rarer (影像 8.8),
    # the more it gains; single characters and bigrams the table lacks (术研 across two words) are left alone
    by_general = sorted(found, key=found.__getitem__)
    assert [ratio[t] for t in by_general] == sorted(ratio[t] for t in by_general)
    assert ratio[CHAR_PREFIX + "技术"] < ratio[CHAR_PREFIX + "平台"] <= 1 < ratio[CHAR_PREFIX + "影像"]
    assert ratio[CHAR_PREFIX + "技术"] < 1
    assert all(0.25 - 1e-6 <= r <= 2 + 1e-6 for r in ratio.values())
    assert all(r == pytest.approx(1.0) for t, r in ratio.items() if t not in found)
    assert ratio[CHAR_PREFIX + "术研"] == pytest.approx(1.0)  # across two words: not in the table
    # the factor is part of the fitted idf: a state rebuilds the same encoder, and a re-fit from it weighs alike
    again = encoder_from_state(shipped.state())
    assert again.general_idf == 1.0 and np.array_equal(again.idf, shipped.idf)
    assert (again.encode(docs) != shipped.encode(docs)).nnz == 0
