"""Keyword extraction's fast paths give what the plain ones give: text normalisation and block-memo tagging."""

import random

import jieba.posseg

from fundgraph.loaders import vocab as vocab_module
from fundgraph.loaders.keywords import _TaggingTokenizer, norm_text
from fundgraph.loaders.tokenizer import private_tokenizer


def test_norm_text_equals_the_vocabulary_normalisation(corpus_docs):
    rng = random.Random(3)
    alphabet = "aZ9 \t\n\r\u3000\u00a0\u2028\uff21\uff41\uff10\uff0d—–-.病像ＭＲＩ（）\x1f\x85"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(5000)]
    texts += [f"{d.title}\n {d.content or ''}\t{d.metrics or ''}" for doc in corpus_docs for d in doc.directions]
    for t in texts:
        assert norm_text(t) == vocab_module.norm_term(t), repr(t)


def test_tagging_by_blocks_equals_tagging_the_whole_text(corpus_docs):
    words = ("多模态影像", "脑机接口")
    memo = _TaggingTokenizer(words)
    tok = private_tokenizer()
    for w in words:
        tok.add_word(w, freq=2000, tag="nz")
    plain = jieba.posseg.POSTokenizer(tok)
    texts = [f"{d.title}。{d.content or ''} {d.metrics or ''}" for doc in corpus_docs for d in doc.directions]
    texts += ["PET-CT 与 MRI：多模态影像, 12.5% 脑机接口 Scaling Law", ""]
    for _ in range(2):  # the second pass reads every block from the memo
        for t in texts:
            assert list(memo.cut(t)) == [(p.word, p.flag) for p in plain.cut(t)]
    assert 0 < len(memo._memo) < sum(len(t) for t in texts)


def test_the_mapped_dictionary_cuts_and_tags_as_the_whole_one(corpus_docs):
    # `fundgraph add` looks jieba's dictionary up memory-mapped (tokenizer.mapped_dictionary): same words, tags
    # and frequencies, with user words added over it.
    from fundgraph.loaders.tokenizer import MappedWords, mapped_dictionary

    words = ("多模态影像", "脑机接口")
    plain = _TaggingTokenizer(words)
    with mapped_dictionary():
        mapped = _TaggingTokenizer(words)
        tk = private_tokenizer()
    assert isinstance(mapped._pos.word_tag_tab, MappedWords) and isinstance(tk.FREQ, MappedWords)
    texts = [f"{d.title}。{d.content or ''} {d.metrics or ''}" for doc in corpus_docs for d in doc.directions]
    texts += ["PET-CT 与 MRI：多模态影像, 12.5% 脑机接口 Scaling Law", "", "\0零"]
    for t in texts:
        assert list(mapped.cut(t)) == list(plain.cut(t)), t
    whole = private_tokenizer()
    assert tk.total == whole.total and tk.FREQ["研究"] == whole.FREQ["研究"] > 0
    assert ("中华人民共和国" in tk.FREQ) and ("中华人民共" in tk.FREQ) and ("共和国中华" not in tk.FREQ)
    assert tk.FREQ.get("x" * 40, -1) == -1
    tk.add_word("影像组学新词", freq=2000)
    whole.add_word("影像组学新词", freq=2000)
    for t in texts[:40]:
        assert tk.lcut(t) == whole.lcut(t), t


def test_the_mapped_dictionary_remembers_a_bounded_number_of_looked_up_words(monkeypatch, corpus_docs):
    # A server's tokeniser looks jieba's dictionary up mapped (graph/stores/embedded/queries.py: warm) and cuts every
    # search text it is sent: what it remembers is bounded; user words stay; the cuts stay the whole dictionary's.
    from fundgraph.loaders.tokenizer import MappedWords, mapped_dictionary

    monkeypatch.setattr(MappedWords, "MEMO", 64)
    with mapped_dictionary():
        tk = private_tokenizer()
    whole = private_tokenizer()
    for t in (tk, whole):
        t.add_word("影像组学新词", freq=2000)
    texts = [f"{d.title}。{d.content or ''}" for doc in corpus_docs for d in doc.directions][:60]
    for t in texts:
        assert tk.lcut(t) == whole.lcut(t), t
        assert len(tk.FREQ._memo) <= 64
    assert tk.FREQ["影像组学新词"] == 2000 and tk.lcut("影像组学新词研究") == whole.lcut("影像组学新词研究")
