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
