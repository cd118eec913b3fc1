"""The per-document fast paths give what the plain ones give: folding, keyword candidates, spans, jieba's HMM pass.

Each fast path replaced an algorithm that is still here to compare with (``str.translate``, one :func:`file_span`
per mention, ``jieba.posseg.viterbi``) or whose old form is restated below.
"""

import random

import pytest

from fundgraph.core.paths import VOCAB_DIR
from fundgraph.loaders import keywords as kw
from fundgraph.loaders.entities import extract_direction, field_texts, file_span, find_mentions
from fundgraph.loaders.parsers import split_lines
from fundgraph.loaders.readers import decode_text
from fundgraph.loaders.text import CharMap, clean, fold, fold_char, is_word_char, markup_prefix_len
from fundgraph.loaders.vocab import fold_lower, load_vocabularies

_ALPHABET = "aZ9 \t\n\u3000\u00a0\uff21\uff41\uff10\uff0c\uff1b\uff08\uff09—–-.;,病像影成ＭＲＩ（）。；！？!?*#\ufeff"


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(VOCAB_DIR)


@pytest.fixture(scope="module")
def field_text_list(corpus_docs):
    return [t for doc in corpus_docs for d in doc.directions for t in field_texts(d).values() if t]


def _random_texts(n: int, seed: int, alphabet: str = _ALPHABET) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_charmap_equals_str_translate(field_text_list):
    lower = {**{o: chr(o - 0xFEE0).lower() for o in range(0xFF01, 0xFF5F)}, 0x3000: " ", ord("—"): "-",
             ord("–"): "-", **{o: chr(o + 32) for o in range(ord("A"), ord("Z") + 1)}}
    width = {**{o: o - 0xFEE0 for o in range(0xFF01, 0xFF5F)}, 0x3000: " "}
    texts = _random_texts(3000, 1) + field_text_list
    for t in texts:
        assert fold_lower(t) == t.translate(lower), repr(t)
        assert fold(t) == t.translate(width), repr(t)
    with pytest.raises(ValueError):  # a replacement another replacement would change again
        CharMap({ord("a"): "b", ord("b"): "c"})


def test_word_characters_are_the_ascii_letters_and_digits_once_folded():
    for o in range(0x10000):
        c = chr(o)
        assert is_word_char(c) == (fold_char(c).isascii() and fold_char(c).isalnum()), hex(o)


def test_clean_shifts_its_offsets_by_base_and_can_skip_them(corpus_docs):
    for doc in corpus_docs[:3]:
        for d in doc.directions[:20]:
            own = d.source_text
            assert own is not None
            for span in d.field_spans.values():
                plain = clean(own.text, span.start - own.start, span.end - own.start)
                based = clean(own.text, span.start - own.start, span.end - own.start, base=own.start)
                bare = clean(own.text, span.start - own.start, span.end - own.start, offsets=False)
                assert based.text == plain.text == bare.text and bare.offsets == []
                assert based.offsets == [o + own.start for o in plain.offsets]


def test_line_bodies_are_their_own_folded_text(corpus_docs):
    # split_lines folds the file once and slices each body from it: equal to folding each body alone.
    texts = [d.source_text.text for doc in corpus_docs for d in doc.directions[:5] if d.source_text]
    texts += ["\n".join(_random_texts(30, 2)), "＊＊标题＊＊ **\n# 一、 ＃\n- 9 -\n\ufeff  - 项目"]
    for text in texts:
        for ln in split_lines(text):
            raw = text[ln.start:ln.end]
            body = raw[markup_prefix_len(raw):].rstrip()
            while body.endswith("**"):
                body = body[:-2].rstrip()
            assert ln.body == fold(body)


def test_control_characters_make_a_file_binary_at_the_line_of_the_first(tmp_path):
    from fundgraph.core.errors import FundgraphError

    text, _enc, _w = decode_text("标题\n\x07正文\x0b\x0c\t\r\n".encode(), tmp_path / "a.txt")
    assert text == "标题\n\x07正文\x0b\x0c\t\n"
    with pytest.raises(FundgraphError) as e:
        decode_text(("一行\n二行\n" + "\x01\x02\x1f" * 10).encode(), tmp_path / "b.txt")
    assert "binary" in str(e.value) and e.value.line == 3


def _former_keyword_candidates(direction, vocab) -> list[kw.KeywordCandidate]:
    """keyword_candidates as it was: each whole field chunked, every rule applied to each first occurrence."""
    texts = field_texts(direction)
    if not any((texts[f] or "").strip() for f in kw.EXTRACT_FIELDS):
        return []
    view = kw._view(vocab)
    first: dict[str, tuple] = {}
    for f in kw.EXTRACT_FIELDS:
        text = texts.get(f) or ""
        if not text.strip():
            continue
        for chunk in kw._chunks(text, vocab):
            n = len(chunk)
            spans = {(i, i + 1) for i in range(n)} | {(i, n) for i in range(max(0, n - kw.MAX_UNITS), n)}
            for i, j in sorted(spans):
                a, b = chunk[i].start, chunk[j - 1].end
                phrase = text[a:b]
                if j - i > 1 and len(kw._CJK.findall(phrase)) + len(phrase.split()) > kw.MAX_CHARS:
                    continue
                if not kw._good(phrase, vocab):
                    continue
                key = kw.normalise_keyword(phrase)
                if key and key not in first:
                    first[key] = (phrase.strip(), f, a, b, max(j - i, len(phrase.split())), chunk[j - 1].head,
                                  len(chunk[i].text), key in vocab.terms)
    norm = {f: kw.norm_text(texts[f] or "") for f in kw.EXTRACT_FIELDS}
    out = []
    for key, (text, f, a, b, units, head, first_len, in_vocab) in first.items():
        if not in_vocab and (key in view.generic or key in view.modifier):
            continue
        if not in_vocab and (head in view.modifier or (units == 1 and head in view.generic)):
            continue
        if units > 1 and first_len < 2:
            continue
        counts = {g: norm[g].count(key) for g in kw.EXTRACT_FIELDS}
        if not in_vocab and units == 1 and not counts["title"] and sum(counts.values()) < 2:
            continue
        tf = sum(counts[g] * w for g, w in kw.EXTRACT_FIELDS.items())
        out.append(kw.KeywordCandidate(key=key, text=text, field=f, start=a, end=b, units=units, in_vocab=in_vocab,
                                       tf=tf))
    return out


def test_keyword_candidates_equal_the_former_whole_field_reading(vocab, corpus_docs):
    found = 0
    for doc in corpus_docs:
        for d in doc.directions:
            got = kw.keyword_candidates(d, vocab)
            assert got == _former_keyword_candidates(d, vocab), d.id
            found += len(got)
    assert found > 1000


def test_direction_mentions_carry_the_file_spans_of_one_lookup_per_mention(vocab, corpus_docs):
    for doc in corpus_docs:
        for d in doc.directions:
            plain = []
            for field, text in field_texts(d).items():
                for m in find_mentions(text, vocab, field):
                    fs, fe = file_span(d, field, m.start, m.end)
                    plain.append((m.entity_id, field, m.start, m.end, m.surface, m.snippet, fs, fe))
            got = [(m.entity_id, m.field, m.start, m.end, m.surface, m.snippet, m.file_start, m.file_end)
                   for m in extract_direction(d, vocab)]
            assert got == plain


def test_the_array_viterbi_gives_jiebas_route_and_score(corpus_docs):
    import re

    import jieba.posseg as posseg
    from jieba.posseg.viterbi import viterbi

    from fundgraph.loaders.tokenizer import array_pos_tokenizer, array_viterbi, private_tokenizer

    han = re.compile("[\u4e00-\u9fd5]+")
    runs = [r for doc in corpus_docs for d in doc.directions for t in field_texts(d).values() for r in han.findall(t)]
    rng = random.Random(5)
    alphabet = "".join(sorted(set("".join(runs))))
    runs += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(1500)]
    runs += ["".join(chr(rng.randint(0x4E00, 0x9FD5)) for _ in range(rng.randint(1, 8))) for _ in range(1000)]
    fast = array_viterbi()
    for r in runs:
        assert fast(r) == viterbi(r, posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P), r
    # and a whole tagger with it cuts as jieba's (unknown words are where the HMM runs)
    tagger, plain = array_pos_tokenizer()(private_tokenizer()), posseg.POSTokenizer(private_tokenizer())
    for t in runs[:3000]:
        assert [(p.word, p.flag) for p in tagger.cut(t)] == [(p.word, p.flag) for p in plain.cut(t)], t
