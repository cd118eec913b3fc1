"""The word rows and the word mix (embeddings.words): what the build stores and both stores re-order lists by."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from fundgraph.embeddings.encoders import Lexicon, Tokeniser
from fundgraph.embeddings.words import WordVectoriser, mix_keys, mix_order, word_cosines, words

TEXTS = [
    "基于多模态影像的阿尔茨海默病早期预警研究，发表论文10篇。",
    "面向阿尔茨海默病的脑影像组学与深度学习方法。",
    "深海探测装备的耐压结构设计与海试验证。",
    "量子计算芯片的低温控制电路研究。",
]


def test_words_are_the_plain_tokenisers_on_chinese_text():
    text = TEXTS[0]
    assert words(text) == Tokeniser(Lexicon(), ())(text)
    assert "影像" in words(text) and "10" not in words(text) and "，" not in words(text)


def test_rows_are_scikit_learns_tfidf_of_the_words_and_survive_the_state():
    vec = WordVectoriser()
    rows = vec.fit_encode(TEXTS)
    reference = TfidfVectorizer(tokenizer=words, lowercase=False, token_pattern=None).fit_transform(TEXTS)
    assert rows.dtype == np.float32 and rows.has_canonical_format
    assert np.abs(rows.toarray() - reference.toarray()).max() < 1e-6
    assert np.allclose(np.asarray(rows.multiply(rows).sum(axis=1)).ravel(), 1.0, atol=1e-6)
    again = WordVectoriser.from_state(vec.state())
    assert again is not None and again.dimension == vec.dimension
    assert np.abs(again.encode(TEXTS).toarray() - rows.toarray()).max() < 1e-6
    # a text of words the vocabulary never saw: a zero row (it shares nothing), not an error
    unseen = again.encode(["火星车着陆器"])
    assert unseen.shape == (1, vec.dimension) and unseen.nnz == 0
    assert WordVectoriser.from_state(None) is None and WordVectoriser.from_state({"words": []}) is None


def _sklearn_rows(vocabulary: dict[str, int], idf: np.ndarray, texts: list[str]):
    vec = TfidfVectorizer(analyzer=words, dtype=np.float32)
    vec.vocabulary_, vec.idf_ = dict(vocabulary), idf
    return vec.transform(texts)


def test_rows_of_new_texts_are_scikit_learns_bit_for_bit(corpus_docs):
    """encode() is scikit-learn's transform re-done without it (add and the API never import it): equal bits."""
    from fundgraph.graph.build.similarity import direction_fields

    texts = [" ".join(direction_fields(d).values()) for doc in corpus_docs for d in doc.directions]
    fitted = WordVectoriser()
    fitted.fit_encode(texts)
    restored = WordVectoriser.from_state(fitted.state())
    assert restored is not None
    rng = np.random.default_rng(7)
    vocabulary = sorted(fitted.vocabulary)
    # the directions' own texts, others made of their words (repeats, English, unseen words), empty ones
    mixed = ["".join(rng.choice(vocabulary, size=int(rng.integers(1, 80)))) + rng.choice(["", " PET-CT", "火星车"])
             for _ in range(300)]
    probe = texts + mixed + ["", "   ", "zzz 无关的字"]
    for vec, idf in ((fitted, fitted.idf), (restored, restored.idf)):  # float32 idf (fitted), float64 (a state)
        ours, theirs = vec.encode(probe), _sklearn_rows(vec.vocabulary, idf, probe)
        assert ours.dtype == np.float32 and ours.has_canonical_format
        theirs = theirs.tocsr()
        theirs.sort_indices()
        assert np.array_equal(ours.indptr, theirs.indptr) and np.array_equal(ours.indices, theirs.indices)
        assert np.array_equal(ours.data.view(np.uint32), theirs.data.astype(np.float32).view(np.uint32))
    assert restored.encode(["", "zzz"]).nnz == 0


def test_encoding_a_text_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; from fundgraph.embeddings.words import WordVectoriser as W, words; "
            "t = '基于多模态影像的早期预警研究'; ws = sorted(set(words(t))); "
            "v = W.from_state({'words': ws, 'idf': [1.5] * len(ws)}); "
            "r = v.encode([t]); assert r.nnz == len(ws) > 2, r; "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_word_cosines_are_the_rows_products():
    rows = WordVectoriser().fit_encode(TEXTS)
    w = word_cosines(rows, [1, 2, 3], rows[0])
    assert w[0] > 0.1 and w[1] == w[2] == 0.0  # the two Alzheimer texts share words, the others none
    assert w[0] == pytest.approx(float((rows[0] @ rows[1].T).toarray()[0, 0]), abs=1e-6)


def test_mix_reorders_only_the_pool_and_breaks_ties_by_id():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    ids = ["e", "d", "c", "b", "a"]
    # no word overlap anywhere: the first pass's order
    assert mix_order(scores, [0, 0, 0, 0, 0], ids, 0.4) == [0, 1, 2, 3, 4]
    # weight 0: no mix, whatever the words
    assert mix_order(scores, [0, 0, 0, 0, 1], ids, 0.0) == [0, 1, 2, 3, 4]
    # the third candidate shares the most words: at weight 0.5 it rises to the top
    keys = mix_keys(np.asarray(scores[:3]), np.asarray([0.1, 0.0, 1.0]), 0.5)
    assert keys.argmax() == 2
    assert mix_order(scores, [0.1, 0.0, 1.0, 0.0, 0.0], ids, 0.5)[0] == 2
    # only the best `pool` move: the fifth cannot rise above the pool of three, however many words it shares
    assert mix_order(scores, [0, 0, 0, 0, 1.0], ids, 0.6, pool=3) == [0, 1, 2, 3, 4]
    # equal mixed keys: ordered by id, as every ranking here is
    assert mix_order([0.5, 0.5], [0.0, 0.0], ["b", "a"], 0.3) == [1, 0]
