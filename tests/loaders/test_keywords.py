"""Keyword extraction over the bundled corpus, and the keyword data files refused when bad."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fundgraph.core.errors import VocabularyError
from fundgraph.core.paths import VOCAB_DIR
from fundgraph.loaders.keywords import TOP_K, KeywordStats, direction_keywords, extract_keywords
from fundgraph.loaders.vocab import load_vocabularies, norm_term

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(VOCAB_DIR)


@pytest.fixture(scope="module")
def stats(corpus):
    return KeywordStats([d for doc in corpus for d in doc.directions])


@pytest.fixture(scope="module")
def extracted(corpus, vocab, stats):
    """Direction id → its keywords, for every direction without 关键词."""
    return {d.id: direction_keywords(d, vocab, stats) for doc in corpus for d in doc.directions if not d.keywords}


def names(kws):
    return [k.text for k in kws]


def test_directions_without_keywords_get_a_few_marked_extracted(extracted):
    assert len(extracted) >= 55  # all of 000 and 003, all of 004, a few of 001
    for did, kws in extracted.items():
        assert 1 <= len(kws) <= TOP_K, did
        assert all(k.extracted for k in kws), did
        assert len({k.key for k in kws}) == len(kws), did


def test_extracted_keywords_are_phrases_not_fragments(extracted, vocab):
    for did, kws in extracted.items():
        for k in kws:
            cjk = len(CJK.findall(k.text))
            # ≥ 2 Chinese characters, or Latin, or a vocabulary term (X线 is X-ray radiography)
            assert cjk >= 2 or (cjk == 0 and len(k.text) >= 2) or vocab.terms.get(k.key), (did, k.text)
            assert not re.search(r"\d", k.text) or vocab.terms.get(k.key), (did, k.text)
    every = {k.text for kws in extracted.values() for k in kws}
    for generic in ("模态", "影像", "动态", "精准", "Scaling", "Law", "研究", "技术"):
        assert generic not in every


def test_extracted_keywords_of_three_directions(extracted):
    ad = names(extracted["gd-imaging-2026:YXA0101"])
    assert {"多模态影像大模型", "阿尔茨海默病", "动态预测", "早期预警"} <= set(ad)
    rmt = names(extracted["nsfc-tianyuan-sz-2023:1"])
    assert {"随机矩阵", "大模型", "Scaling Law"} <= set(rmt)
    cancer = names(extracted["most-btit-2021:3.6"])
    assert {"生物医学大数据", "智能诊疗", "疾病风险预测", "临床决策支持"} <= set(cancer)


def test_vocabulary_terms_are_preferred(extracted, vocab):
    # every title-only 004 direction names its disease by the vocabulary term
    for did in ("gd-imaging-2026:YXA0202", "gd-imaging-2026:YXA0203", "gd-imaging-2026:YXA0501"):
        assert any(vocab.terms.get(k.key) and vocab.entities[vocab.terms[k.key].entity_id].type == "disease"
                   for k in extracted[did]), did


def test_corpus_statistics_mark_generic_words(stats):
    assert stats.n == 124
    assert stats.is_generic("模态") and stats.is_generic("影像")
    assert not stats.is_generic("阿尔茨海默病") and not stats.is_generic("随机矩阵")


def test_extraction_spans_point_at_the_keyword(corpus, vocab, stats):
    from fundgraph.loaders.entities import field_texts

    d = next(d for doc in corpus for d in doc.directions if d.id == "nsfc-tianyuan-sz-2023:1")
    texts = field_texts(d)
    for k in extract_keywords(d, vocab, stats=stats):
        assert norm_term(texts[k.field][k.start:k.end]) == k.key


@pytest.fixture()
def vocab_copy(tmp_path: Path) -> Path:
    d = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, d)
    return d


def _append(path: Path, row: str) -> int:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + row + "\n", encoding="utf-8")
    return text.count("\n") + 1


@pytest.mark.parametrize(("row", "message"), [
    ("情景导航,Another navigation", "duplicate keyword '情景导航'"),
    ("阿尔茨海默病,Alzheimer disease", "vocabulary term of disease:alzheimer"),
    ("孤行,", "zh and en are both required"),
    ("多余,extra,field", "malformed row"),
])
def test_bad_glossary_rows_are_refused(vocab_copy, row, message):
    path = vocab_copy / "keywords_en.csv"
    line = _append(path, row)
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.path == str(path) and ei.value.line == line
    assert message in ei.value.message


@pytest.mark.parametrize(("row", "message"), [
    ("研究,stop,again", "duplicate word '研究'"),
    ("某词,often,", "kind must be one of"),
    (",stop,", "word is empty"),
])
def test_bad_stopword_rows_are_refused(vocab_copy, row, message):
    path = vocab_copy / "keyword_stopwords.csv"
    line = _append(path, row)
    with pytest.raises(VocabularyError) as ei:
        load_vocabularies(vocab_copy)
    assert ei.value.path == str(path) and ei.value.line == line
    assert message in ei.value.message


def _choose_by_the_stats_methods(direction, candidates, stats, top_k=TOP_K):
    """choose_keywords as it was written before its scoring loop read each frequency once (the reference)."""
    from fundgraph.loaders.entities import snippet_of
    from fundgraph.loaders.keywords import (
        UNIT_BONUS,
        VOCAB_BONUS,
        KeywordMention,
        _overlap,
        normalise_keyword,
    )

    scored = []
    for c in candidates:
        if not c.in_vocab and stats.n > 1 and stats.is_generic(c.key):
            continue
        scored.append((c.tf * stats.idf(c.key) * (VOCAB_BONUS if c.in_vocab else 1.0)
                       * (1 + UNIT_BONUS * (c.units - 1)), c))
    scored.sort(key=lambda sc: (-sc[0], sc[1].start))
    chosen = []
    for _score, c in scored:
        key = normalise_keyword(c.text)
        if not c.in_vocab and any(_overlap(key, k) for k, _ in chosen):
            continue
        chosen.append((key, c))
        if len(chosen) >= top_k:
            break
    texts = {"title": direction.title or "", "content": direction.content or "", "metrics": direction.metrics or ""}
    return [KeywordMention(key=key, text=c.text, field=c.field, start=c.start, end=c.end,
                           snippet=snippet_of(texts[c.field], c.start, c.end), extracted=True) for key, c in chosen]


def test_choose_keywords_equals_the_stats_methods_reference(corpus, vocab, stats):
    from fundgraph.loaders.keywords import choose_keywords, keyword_candidates

    alone = KeywordStats([corpus[0].directions[0]])  # a corpus of one direction: nothing is judged generic
    seen = 0
    for doc in corpus:
        for d in doc.directions:
            candidates = keyword_candidates(d, vocab)
            stats.count(c.key for c in candidates)
            alone.count(c.key for c in candidates)
            for s in (stats, alone):
                got = choose_keywords(d, candidates, s)
                assert got == _choose_by_the_stats_methods(d, candidates, s)
                seen += len(got)
    assert seen > 500
    assert any(stats.is_generic(c.key) for doc in corpus for d in doc.directions for c in keyword_candidates(d, vocab))
