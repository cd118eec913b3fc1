"""The run-copying fast paths of fold, clean and vocab.normalise give what their per-character rules say."""

import random

from fundgraph.loaders.keywords import norm_text
from fundgraph.loaders.text import clean, fold, fold_char, is_word_char
from fundgraph.loaders.vocab import fold_char as vocab_fold_char
from fundgraph.loaders.vocab import normalise

ALPHABET = [*"aB1 \n\t-－—–\u3000\u00a0ＡＢ中文9.*#\ufeff", "**", "\n9\n", "\n- 12 -\n", "\n# ", "\n- ", "DNA 存储"]


def _texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 24))) for _ in range(n)]


def test_fold_is_fold_char_of_every_character():
    every = "".join(chr(o) for o in range(0x20000) if not 0xD800 <= o < 0xE000)
    assert fold(every) == "".join(fold_char(c) for c in every)


def test_normalise_maps_each_character_back_to_its_source():
    for text in _texts(3000):
        norm, idx = normalise(text)
        assert norm == norm_text(text), repr(text)
        assert len(idx) == len(norm) and idx == sorted(set(idx))
        for c, i in zip(norm, idx, strict=True):
            assert (c == " " and text[i].isspace()) or vocab_fold_char(text[i]) == c, repr(text)


def test_clean_keeps_every_character_but_whitespace_and_markup():
    for text in _texts(3000):
        for start, end in ((0, len(text)), (len(text) // 3, len(text) - 1)):
            c = clean(text, start, max(start, end))
            assert len(c.offsets) == len(c.text) and c.offsets == sorted(set(c.offsets))
            for ch, o in zip(c.text, c.offsets, strict=True):
                assert start <= o < max(start, end)
                assert ch == text[o] or ch == " ", repr(text)
            assert not any(ch.isspace() and ch != " " for ch in c.text)
            spaces = [i for i, ch in enumerate(c.text) if ch == " "]
            for i in spaces:  # a space kept or put in always sits between two ASCII letters or digits
                assert is_word_char(c.text[i - 1]) and is_word_char(c.text[i + 1]), repr(text)
            if c.text:  # cleaning the span of a result again gives the same text
                lo, hi = c.span
                assert clean(text, lo, hi).text == c.text, repr(text)
