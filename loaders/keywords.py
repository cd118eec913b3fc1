"""Keywords: explicit 关键词 normalised, jieba extraction where there are none, program boilerplate.

- Explicit keywords are kept as the document gives them (display text), one Keyword per normalised
  term (full-width folded, ASCII lower-cased, spaces dropped except between Latin letters/digits).
- Directions without 关键词 (documents 000, 003, 004) get up to :data:`TOP_K` keywords by jieba TF-IDF
  over title + content + metrics, with every vocabulary name and synonym added to a private jieba
  dictionary so multi-character domain terms stay whole; they are marked ``extracted``.
- English names: the keyword glossary (``data/vocab/keywords_en.csv``) first, then a vocabulary entity
  whose name or synonym equals the keyword; otherwise ``name_en`` is None and ``name_en_source`` is
  ``"none"`` — never a machine guess.
- A term cited by at least :data:`BOILERPLATE_SHARE` of a program's directions (and at least
  :data:`BOILERPLATE_MIN_DIRECTIONS` of them) is that program's boilerplate (国际合作 in 002).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from loaders.entities import field_texts, snippet_of
from loaders.records import Direction
from loaders.vocab import Vocabulary, norm_term, normalise

TOP_K = 8
#: Parts of speech kept by extraction: nouns, proper/domain nouns (vocabulary terms are tagged nz),
#: verbal nouns, idioms and Latin words.
ALLOW_POS = ("n", "nz", "nt", "vn", "l", "eng")
BOILERPLATE_SHARE = 0.8
BOILERPLATE_MIN_DIRECTIONS = 5

_SPLIT = re.compile(r"[；;、，,]+")
_STRIP = " \t\r\n。.：:·•-—*#"
#: Generic guideline words that TF-IDF would otherwise rank high.
STOPWORDS = frozenset("""
研究 技术 开发 建立 实现 构建 系统 方法 不少于 基于 以上 提升 开展 形成 关键 应用
平台 数据 模型 国际 合作 指标 考核 包括 其中 具有 进行 研发 能力 达到 项目 发表 论文
专利 申请 不低于 至少 验证 提出 面向 针对 结合 利用 通过 支持 完成 提高 发展 新型
相关 重点 问题 机制 分析 评估 设计 研制 国内 中外 联合 高水平 发明专利 以下 优于
不超过 能够 实现 体系 关键技术 核心 准确率 精度 一套 万例 小于 大于 功能 建设 示范
推动 标准 规范 技术体系 需求 领域 主要 重要 多种 新方法 预测 风险 理论 学习 优化 训练
规模 最优 机理 极限 线性 几何 景观 过程 特征 信息 结构 变化 作用 效率 质量
""".split())


@dataclass(frozen=True)
class KeywordMention:
    """A keyword of a direction, with where it came from."""

    key: str  # normalised term (the Keyword node's identity)
    text: str  # as written
    field: str
    start: int | None  # offsets in the field text
    end: int | None
    snippet: str
    extracted: bool


def normalise_keyword(term: str) -> str:
    """Identity of a keyword: full-width folded, ASCII lower-cased, inner spaces dropped.

    ``DNA 存储`` → ``dna存储``.
    """
    return norm_term(term.strip(_STRIP))


def split_keywords(raw: str) -> list[str]:
    """Split a 关键词 line on ；;、，, and drop empty pieces."""
    return [p.strip(_STRIP) for p in _SPLIT.split(raw or "") if p.strip(_STRIP)]


def _find(text: str, term: str) -> tuple[int, int] | None:
    """Offsets of the first occurrence of ``term`` in ``text``, compared in normalised form."""
    norm, idx = normalise(text)
    k = norm.find(norm_term(term))
    if k < 0 or not norm_term(term):
        return None
    return idx[k], idx[k + len(norm_term(term)) - 1] + 1


def explicit_keywords(direction: Direction) -> list[KeywordMention]:
    """The direction's 关键词 as given, one per normalised term, each located in the keywords field."""
    raw = field_texts(direction)["keywords"]
    out: list[KeywordMention] = []
    seen: set[str] = set()
    terms = direction.keywords or split_keywords(raw)
    for kw in terms:
        text = kw.strip(_STRIP)
        key = normalise_keyword(text)
        if not key or key in seen:
            continue
        seen.add(key)
        span = _find(raw, text)
        out.append(KeywordMention(key=key, text=text, field="keywords", start=span[0] if span else None,
                                  end=span[1] if span else None, snippet=raw, extracted=False))
    return out


@lru_cache(maxsize=4)
def _tfidf(words: tuple[str, ...]):
    import jieba
    import jieba.analyse
    import jieba.posseg

    tok = jieba.Tokenizer()
    for w in words:
        tok.add_word(w, freq=2000, tag="nz")
    tfidf = jieba.analyse.TFIDF()
    tfidf.tokenizer = tok
    tfidf.postokenizer = jieba.posseg.POSTokenizer(tok)
    tfidf.stop_words = set(tfidf.stop_words) | set(STOPWORDS)
    return tfidf


def _good(term: str) -> bool:
    t = term.strip()
    if len(t) < 2 or t in STOPWORDS:
        return False
    if re.fullmatch(r"[\d.%≥≤<>~\-+×/a-zA-Z]*\d[\d.%≥≤<>~\-+×/a-zA-Z]*", t):
        return False  # numbers, units, measurements
    return bool(re.search(r"[\u4e00-\u9fffA-Za-z]", t))


def extract_keywords(direction: Direction, vocab: Vocabulary, top_k: int = TOP_K) -> list[KeywordMention]:
    """Keywords by jieba TF-IDF over title, content and metrics (vocabulary terms kept whole)."""
    texts = field_texts(direction)
    body = "\n".join(texts[f] for f in ("title", "content", "metrics") if texts[f])
    if not body.strip():
        return []
    tfidf = _tfidf(tuple(vocab.user_dictionary_words()))
    out: list[KeywordMention] = []
    seen: set[str] = set()
    for term in tfidf.extract_tags(body, topK=top_k * 3, allowPOS=ALLOW_POS):
        if not _good(term):
            continue
        key = normalise_keyword(term)
        if key in seen:
            continue
        for f in ("title", "content", "metrics"):
            span = _find(texts[f], term)
            if span:
                out.append(KeywordMention(key=key, text=term, field=f, start=span[0], end=span[1],
                                          snippet=snippet_of(texts[f], *span), extracted=True))
                seen.add(key)
                break
        if len(out) >= top_k:
            break
    return out


def direction_keywords(direction: Direction, vocab: Vocabulary) -> list[KeywordMention]:
    """Explicit keywords where the document gives 关键词, else extracted ones."""
    explicit = explicit_keywords(direction)
    return explicit if explicit else extract_keywords(direction, vocab)


def english_name(key: str, vocab: Vocabulary) -> tuple[str | None, str]:
    """(name_en, source) of a keyword: ``glossary``, ``vocab:<entity id>`` or (None, ``none``)."""
    if key in vocab.keyword_glossary:
        return vocab.keyword_glossary[key], "glossary"
    t = vocab.terms.get(key)
    if t is not None:
        return vocab.entities[t.entity_id].name_en, f"vocab:{t.entity_id}"
    return None, "none"


def boilerplate_terms(direction_terms: dict[str, set[str]], *, share: float = BOILERPLATE_SHARE,
                      min_directions: int = BOILERPLATE_MIN_DIRECTIONS) -> set[str]:
    """Terms cited by at least ``share`` of one program's directions (given direction id → its terms)."""
    n = len(direction_terms)
    if n < min_directions:
        return set()
    counts = Counter(t for terms in direction_terms.values() for t in terms)
    return {t for t, c in counts.items() if c >= share * n}
