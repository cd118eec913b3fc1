"""Keywords: explicit 关键词 normalised, jieba extraction where there are none, program boilerplate.

- Explicit keywords are kept as the document gives them (display text), one Keyword per normalised
  term (full-width folded, ASCII lower-cased, spaces dropped except between Latin letters/digits).
- Directions without 关键词 (documents 000, 003, 004) get up to :data:`TOP_K` extracted keywords
  (marked ``extracted``): noun phrases of jieba part-of-speech tagging over title + content + metrics,
  with every vocabulary name and synonym in a private jieba dictionary so domain terms stay whole,
  scored by field-weighted frequency × corpus IDF, vocabulary terms and longer phrases preferred.
  Generic single words are dropped by a stop list with two halves: statistical (a non-vocabulary term
  contained in ≥ :data:`GENERIC_DF_SHARE` of all the corpus's directions, see :class:`KeywordStats`) and
  reviewed (``data/vocab/keyword_stopwords.csv``).
- English names: a vocabulary entity whose name or synonym equals the keyword gives its English name;
  otherwise the keyword glossary (``data/vocab/keywords_en.csv``); otherwise ``name_en`` is None and
  ``name_en_source`` is ``"none"`` (a test keeps that from happening for the bundled corpus) — never a
  machine guess.
- A term cited by at least :data:`BOILERPLATE_SHARE` of a program's directions (and at least
  :data:`BOILERPLATE_MIN_DIRECTIONS` of them) is that program's boilerplate (国际合作 in 002).
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from fundgraph.loaders.entities import field_texts, snippet_of
from fundgraph.loaders.records import Direction
from fundgraph.loaders.tokenizer import using_mapped_dictionary
from fundgraph.loaders.vocab import Vocabulary, fold_lower, normalise

TOP_K = 8
#: Fields extraction reads, and how much one occurrence in each counts (a title word is what the
#: direction is about; metrics are mostly targets and counts).
EXTRACT_FIELDS: dict[str, float] = {"title": 3.0, "content": 1.0, "metrics": 0.5}
#: Parts of speech a phrase is made of: nouns, proper/domain nouns (vocabulary terms are tagged nz),
#: verbal nouns, idioms, abbreviations and Latin words.
NOUN_POS = frozenset({"n", "nz", "nt", "nr", "ns", "nrt", "nl", "ng", "vn", "an", "l", "j", "eng"})
#: Modifiers glued to the token after them when it is a noun (多+模态, 早期+预警, 新型+标志物).
MODIFIER_POS = frozenset({"b", "t"})
MODIFIER_WORDS = frozenset("多 跨 超 高 低 大 全 微 单 双 非 无 自 类 抗 新型".split())
#: Longest phrase: units (a modifier glued to its noun is one unit) and characters.
MAX_UNITS = 3
MAX_CHARS = 10
#: A candidate that is not a vocabulary term is generic when at least this share of all the corpus's
#: directions contain it (模态, 影像, 精准 …): the statistical half of the stop list.
GENERIC_DF_SHARE = 0.08
GENERIC_DF_MIN = 6
#: Vocabulary terms are preferred, and so are longer phrases.
VOCAB_BONUS = 1.5
UNIT_BONUS = 0.3
BOILERPLATE_SHARE = 0.8
BOILERPLATE_MIN_DIRECTIONS = 5

_SPLIT = re.compile(r"[；;、，,]+")
_STRIP = " \t\r\n。.：:·•-—*#"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_DIGIT = re.compile(r"\d")
#: Units and bare symbols that are never keywords.
_LATIN_UNITS = frozenset("db mm cm nm um ms hz khz mhz ghz kg mg ml tb gb pb mb kb".split())


_SPACE_RUN = re.compile(r"\s+")
_ASCII_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def norm_text(text: str) -> str:
    """:func:`loaders.vocab.norm_term` of ``text`` (equal: a test compares them), without its per-character loop.

    Folded by :data:`loaders.vocab.fold_lower`, then each whitespace run dropped, or kept as one space between two
    ASCII letters or digits. Keyword extraction normalises every token and every field (half its time in the loop,
    measured).
    """
    folded = fold_lower(text)

    def space(m: re.Match[str]) -> str:
        a, b = m.start(), m.end()
        keep = a > 0 and b < len(folded) and folded[a - 1] in _ASCII_WORD_CHARS and folded[b] in _ASCII_WORD_CHARS
        return " " if keep else ""

    return _SPACE_RUN.sub(space, folded)


#: :func:`norm_text` of tokens and phrases (a corpus repeats the same few thousand words).
norm_term = lru_cache(maxsize=1 << 17)(norm_text)


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


def _find(text: str, term: str, normalised: tuple[str, list[int]] | None = None) -> tuple[int, int] | None:
    """Offsets of the first occurrence of ``term`` in ``text``, compared in normalised form.

    ``normalised``: :func:`loaders.vocab.normalise` of ``text`` when the caller has it (one per keyword list).
    """
    norm, idx = normalised if normalised is not None else normalise(text)
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
    normalised = normalise(raw) if terms else None
    for kw in terms:
        text = kw.strip(_STRIP)
        key = normalise_keyword(text)
        if not key or key in seen:
            continue
        seen.add(key)
        span = _find(raw, text, normalised)
        out.append(KeywordMention(key=key, text=text, field="keywords", start=span[0] if span else None,
                                  end=span[1] if span else None, snippet=raw, extracted=False))
    return out


class _TaggingTokenizer:
    """jieba part-of-speech tagging that tags each block of a text once per process.

    jieba cuts a text block by block (runs of Chinese characters, Latin letters and digits, split at
    punctuation and spaces), each on its own; so the tags of a text are its blocks' tags in order, and a
    block met again (a clause guidelines repeat: 发表高水平论文, 申请发明专利 …) is looked up rather than
    tagged again (its Viterbi pass is most of extraction's time). At most :attr:`MEMO` blocks are kept.
    """

    MEMO = 1 << 18

    def __init__(self, words: Iterable[str]) -> None:
        import jieba.posseg

        from fundgraph.loaders.tokenizer import (
            array_pos_tokenizer,
            mapped_tags,
            private_tokenizer,
            using_mapped_dictionary,
        )

        tok = private_tokenizer()
        for w in words:
            tok.add_word(w, freq=2000, tag="nz")
        pos_class = array_pos_tokenizer()  # jieba's tagger, its HMM pass over arrays (10x faster, same route)
        if using_mapped_dictionary():  # the tags looked up in the mapped dictionary, not read from dict.txt
            self._pos = pos_class.__new__(pos_class)
            self._pos.tokenizer, self._pos.word_tag_tab = tok, mapped_tags()
        else:
            self._pos = pos_class(tok)
        self._blocks = jieba.posseg.re_han_internal
        self._memo: dict[str, tuple[tuple[str, str], ...]] = {}

    def cut(self, text: str) -> Iterator[tuple[str, str]]:
        """(word, part of speech) of ``text``, as ``jieba.posseg.POSTokenizer.cut(text)`` gives them."""
        for block in self._blocks.split(text):
            if not block:
                continue
            tags = self._memo.get(block)
            if tags is None:
                tags = tuple((p.word, p.flag) for p in self._pos.cut(block))
                if len(self._memo) >= self.MEMO:
                    self._memo.clear()
                self._memo[block] = tags
            yield from tags


@lru_cache(maxsize=4)
def _tokenizer(words: tuple[str, ...], mapped: bool = False) -> _TaggingTokenizer:
    return _TaggingTokenizer(words)  # (``mapped``: made under tokenizer.mapped_dictionary, kept apart)


@dataclass(frozen=True)
class _VocabularyView:
    """What extraction reads of a vocabulary on every direction, derived once per vocabulary."""

    tokenizer: _TaggingTokenizer
    stop: frozenset[str]
    generic: frozenset[str]
    modifier: frozenset[str]
    #: :func:`_good` of the phrases met so far (a corpus says the same words and phrases again and again; the
    #: shape rules were a tenth of the keyword candidates' time), cleared when it holds :data:`_GOOD_MEMO` of them.
    good: dict[str, bool] = field(default_factory=dict)


#: Phrases whose :func:`_good` a vocabulary view keeps.
_GOOD_MEMO = 1 << 18


_VIEWS: dict[int, tuple[Vocabulary, _VocabularyView]] = {}


def _view(vocab: Vocabulary) -> _VocabularyView:
    hit = _VIEWS.get(id(vocab))
    if hit is not None and hit[0] is vocab:
        return hit[1]
    kinds: dict[str, set[str]] = {"stop": set(), "generic": set(), "modifier": set()}
    for w, k in vocab.keyword_stopwords.items():
        if k in kinds:
            kinds[k].add(w)
    view = _VocabularyView(_tokenizer(tuple(vocab.user_dictionary_words()), using_mapped_dictionary()),
                           **{k: frozenset(v) for k, v in kinds.items()})
    if len(_VIEWS) >= 4:
        _VIEWS.clear()
    _VIEWS[id(vocab)] = (vocab, view)
    return view


def prepare_tokenizer(vocab: Vocabulary) -> None:
    """Build the part-of-speech tokenizer with the vocabulary's words now (1-2 s, once per process)."""
    _view(vocab)


def direction_text(direction: Direction) -> str:
    """The normalised text document frequencies are counted in: title, content, metrics and keywords."""
    texts = field_texts(direction)
    return norm_text("\n".join(texts[f] for f in ("title", "content", "metrics", "keywords") if texts[f]))


def term_automaton(terms: Iterable[str]):  # -> ahocorasick.Automaton
    """One Aho–Corasick automaton over ``terms`` (each maps to itself), ready to scan texts."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for t in terms:
        if t:
            automaton.add_word(t, t)
    automaton.make_automaton()
    return automaton


def document_frequencies(texts: Iterable[str], terms: Iterable[str]) -> Counter[str]:
    """For each term, how many of ``texts`` contain it (substring), by one automaton pass over each text.

    Replaces one ``term in text`` scan of every text per term (quadratic in the corpus) by a single pass
    over the text for all terms together (overlapping occurrences included).
    """
    automaton = term_automaton(terms)
    df: Counter[str] = Counter()
    if len(automaton) == 0:
        return df
    for text in texts:
        df.update({t for _end, t in automaton.iter(text)})
    return df


class KeywordStats:
    """Document frequencies over the whole corpus: how many directions contain a term (normalised).

    Built once per build from every direction of every document, so "generic" means generic across the
    corpus, not within one program. Built from directions, it counts a term when first asked (or a batch
    of terms at once, :meth:`count`, one automaton pass over the texts); built from counts
    (:meth:`from_counts`, what the pipeline does from per-document counts), it knows only those terms.
    """

    def __init__(self, directions: Iterable[Direction] = ()):
        self._texts: list[str] | None = [direction_text(d) for d in directions]
        self._n = len(self._texts)
        self._df: dict[str, int] = {}

    @classmethod
    def from_counts(cls, n: int, df: Mapping[str, int]) -> KeywordStats:
        """Statistics of ``n`` directions from counted document frequencies (a term not in ``df``: 0)."""
        stats = cls()
        stats._texts, stats._n, stats._df = None, n, dict(df)
        return stats

    @property
    def n(self) -> int:
        """Number of directions."""
        return self._n

    def count(self, terms: Iterable[str]) -> None:
        """Count the document frequency of every term not yet counted (one pass over each text)."""
        if self._texts is None:
            return
        todo = {norm_term(t) for t in terms} - self._df.keys()
        todo.discard("")
        found = document_frequencies(self._texts, todo)
        self._df.update({t: found.get(t, 0) for t in todo})

    def df(self, term: str) -> int:
        """Directions whose text contains ``term`` (normalised substring)."""
        if term in self._df:  # already a counted (normalised) key: skip normalising it again
            return self._df[term]
        key = norm_term(term)
        if key not in self._df:
            if self._texts is None:
                return 0
            self._df[key] = sum(1 for t in self._texts if key in t)
        return self._df[key]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency."""
        return math.log((self.n + 1) / (self.df(term) + 1)) + 1.0

    def is_generic(self, term: str) -> bool:
        """Contained in so many directions that, alone, it says nothing about any of them."""
        return self.n > 0 and self.df(term) >= max(GENERIC_DF_MIN, GENERIC_DF_SHARE * self.n)


def _latin_ok(text: str) -> bool:
    """A Latin-only candidate: a phrase (``Scaling Law``), an acronym (``GNN``, ``SLeM``) or a long word."""
    if " " in text.strip():
        return True
    if text.lower() in _LATIN_UNITS:
        return False
    return sum(c.isupper() for c in text) >= 2 or (len(text) >= 4 and text[0].isupper())


def _good(text: str, vocab: Vocabulary) -> bool:
    """Shape rules: ≥ 2 Chinese characters, or an acceptable Latin term; no numbers or measurements."""
    t = text.strip()
    if not t or (_DIGIT.search(t) and not vocab.terms.get(norm_term(t))):
        return False
    cjk = len(_CJK.findall(t))
    if cjk:
        return cjk >= 2 or (vocab.terms.get(norm_term(t)) is not None and len(t) >= 2)
    if not _LATIN_WORD.fullmatch(t.replace(" ", "")) and " " not in t:
        return False
    return _latin_ok(t)


@dataclass
class _Unit:
    text: str
    start: int
    end: int
    head: str  # normalised last token (the word that decides whether the unit can end a phrase)


def _chunks(text: str, vocab: Vocabulary) -> list[list[_Unit]]:
    """Runs of noun-like units in ``text`` (offsets relative to ``text``).

    A run ends at any other part of speech, punctuation, a number or a ``stop`` word. A modifier (多, 跨,
    早期 …) is glued to the noun after it; two Latin words separated by a space are one unit
    (``Scaling Law``).
    """
    view = _view(vocab)
    stop = view.stop
    toks: list[tuple[str, str, int]] = []
    pos = 0
    for w, flag in view.tokenizer.cut(text):
        toks.append((w, flag, pos))
        pos += len(w)
    chunks: list[list[_Unit]] = []
    cur: list[_Unit] = []
    pending: tuple[str, int] | None = None  # a modifier waiting for its noun

    def close() -> None:
        nonlocal cur, pending
        if cur:
            chunks.append(cur)
        cur, pending = [], None

    for i, (w, flag, p) in enumerate(toks):
        key = norm_term(w)
        in_vocab = key in vocab.terms
        if not in_vocab and key in stop:
            close()
            continue
        if flag == "eng" and cur and pending is None:
            prev = cur[-1]
            gap = text[prev.end:p]
            if gap == " " and _LATIN_WORD.fullmatch(prev.text.split(" ")[-1] or ""):
                cur[-1] = _Unit(prev.text + " " + w, prev.start, p + len(w), key)
                continue
            if gap == "" and prev.text[-1:] in "-－" and len(cur) and prev.text[:-1].isascii():
                cur[-1] = _Unit(prev.text + w, prev.start, p + len(w), key)  # BT-IT
                continue
        if w.isspace() and cur and flag == "x":
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt and nxt[1] == "eng" and cur[-1].text[-1:].isascii() and w == " ":
                continue  # the space inside a Latin phrase
            close()
            continue
        if w in "-－" and cur and pending is None and cur[-1].text.isascii():
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt and nxt[1] == "eng" and cur[-1].end == p:
                cur[-1] = _Unit(cur[-1].text + w, cur[-1].start, p + 1, cur[-1].head)
                continue
        if flag in NOUN_POS or in_vocab:
            if pending is not None:
                cur.append(_Unit(pending[0] + w, pending[1], p + len(w), key))
                pending = None
            else:
                cur.append(_Unit(w, p, p + len(w), key))
            continue
        if flag in MODIFIER_POS or w in MODIFIER_WORDS:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt and (nxt[1] in NOUN_POS or norm_term(nxt[0]) in vocab.terms) and pending is None:
                pending = (w, p)
                continue
        close()
    close()
    return chunks


#: A phrase of a text: (key, text, start, end, units, in_vocab, kept), offsets in the text; ``kept``: whether it
#: passes the rules that depend on the phrase alone (:func:`_kept`).
_Phrase = tuple[str, str, int, int, int, bool, bool]
#: A direction's candidate phrase: (text, field, start, end, units, in_vocab, kept), offsets in the field.
_Candidate = tuple[str, str, int, int, int, bool, bool]

def _kept(key: str, units: int, head: str, first_len: int, in_vocab: bool, view: _VocabularyView) -> bool:
    """Whether a phrase passes the rules that depend on it alone (see :func:`keyword_candidates`)."""
    if not in_vocab and (key in view.generic or key in view.modifier):
        return False
    if not in_vocab and (head in view.modifier or (units == 1 and head in view.generic)):
        return False  # 早期精准, 大模型驱动: a modifier is never the head; 多模态 alone is generic
    return not (units > 1 and first_len < 2)  # 灶精准定位: a phrase does not start with a split-off character


def _spans(n: int) -> Iterator[tuple[int, int]]:
    """The sorted (start, end) spans of a run of ``n`` units that may be phrases.

    Each unit alone, and the run's suffixes of up to :data:`MAX_UNITS` units.
    """
    suffixes = max(0, n - MAX_UNITS)
    for i in range(n):
        yield i, i + 1
        if i >= suffixes and i + 1 < n:
            yield i, n


def _phrases(text: str, vocab: Vocabulary) -> list[_Phrase]:
    """Every phrase of 1..MAX_UNITS consecutive units of ``text`` that may be a keyword, first occurrence per key."""
    view = _view(vocab)
    out: list[_Phrase] = []
    seen: set[str] = set()
    for chunk in _chunks(text, vocab):
        n = len(chunk)
        # Single units anywhere; longer phrases only as suffixes of their run (a Chinese noun
        # compound ends with its head: 多模态影像大模型, never 阿尔茨海默病动态). In (start, end) order, made
        # as such (a set of spans sorted per run was an eighth of the keyword candidates' time).
        for i, j in _spans(n):
            a, b = chunk[i].start, chunk[j - 1].end
            phrase = text[a:b]
            if j - i > 1 and len(_CJK.findall(phrase)) + len(phrase.split()) > MAX_CHARS:
                continue
            good = view.good.get(phrase)
            if good is None:
                if len(view.good) >= _GOOD_MEMO:
                    view.good.clear()
                good = view.good[phrase] = _good(phrase, vocab)
            if not good:
                continue
            key = normalise_keyword(phrase)
            if key and key not in seen:
                seen.add(key)
                units = max(j - i, len(phrase.split()))  # Scaling Law: two words
                in_vocab = key in vocab.terms
                out.append((key, phrase.strip(), a, b, units, in_vocab,
                            _kept(key, units, chunk[j - 1].head, len(chunk[i].text), in_vocab, view)))
    return out


def _candidates(texts: dict[str, str], vocab: Vocabulary) -> dict[str, _Candidate]:
    """Every phrase of 1..MAX_UNITS consecutive units, first occurrence (title first), by normalised key."""
    out: dict[str, _Candidate] = {}
    for f in EXTRACT_FIELDS:
        text = texts.get(f) or ""
        if not text.strip():
            continue
        for key, phrase, a, b, units, in_vocab, kept in _phrases(text, vocab):
            if key not in out:
                out[key] = (phrase, f, a, b, units, in_vocab, kept)
    return out


def _overlap(a: str, b: str) -> bool:
    """One contains the other, or they share ≥ 2 characters at the seam (病例高维 / 高维多模态)."""
    if a in b or b in a:
        return True
    return any(a.endswith(b[:k]) or b.endswith(a[:k]) for k in range(2, min(len(a), len(b))))


class KeywordCandidate(NamedTuple):
    """A phrase that may become one of a direction's extracted keywords: everything but the corpus's say.

    What depends on the direction alone (shape, the reviewed stop list, frequency in its fields) is decided
    here, once per direction (and cached per document by the build); what depends on the whole corpus (is
    it generic, its IDF) is decided by :func:`choose_keywords`. A named tuple, immutable as the frozen dataclass
    it was: about 18 of them per direction cross from the build's workers to the parent and into the cache
    (365,806 at 20,000 directions), and a named tuple is made 2x and unpickled 2.7x faster and pickles 30 %
    smaller.
    """

    key: str
    text: str
    field: str
    start: int
    end: int
    units: int
    in_vocab: bool
    tf: float  # field-weighted frequency in the direction


def keyword_candidates(direction: Direction, vocab: Vocabulary) -> list[KeywordCandidate]:
    """The direction's keyword candidates that pass every rule not needing corpus statistics.

    Candidates are noun phrases of jieba's part-of-speech tagging (vocabulary terms kept whole as nz
    words; modifiers glued to their noun; Latin phrases merged). A candidate that is not a vocabulary term
    is dropped when it is a reviewed ``generic`` or ``modifier`` word, ends with a modifier, is a lone
    generic word, starts with a split-off character or is a lone word said once in the body only.
    """
    texts = field_texts(direction)
    if not any((texts[f] or "").strip() for f in EXTRACT_FIELDS):
        return []
    # (normalised text, weight) per field, title first (the loop below reads the title's count apart)
    normalised = [norm_text(texts[f] or "") for f in EXTRACT_FIELDS]
    weights = list(EXTRACT_FIELDS.values())
    assert next(iter(EXTRACT_FIELDS)) == "title"
    out: list[KeywordCandidate] = []
    for key, (text, f, start, end, units, in_vocab, kept) in _candidates(texts, vocab).items():
        if not kept:  # a reviewed generic or modifier word, a modifier as head, a split-off first character
            continue
        counts = [t.count(key) for t in normalised]
        if not in_vocab and units == 1 and not counts[0] and sum(counts) < 2:
            continue  # a lone word said once in the body is not what the direction is about
        tf = sum(map(operator.mul, counts, weights))  # the same sum, in field order
        out.append(KeywordCandidate(key, text, f, start, end, units, in_vocab, tf))
    return out


def choose_keywords(direction: Direction, candidates: list[KeywordCandidate], stats: KeywordStats,
                    top_k: int = TOP_K) -> list[KeywordMention]:
    """Up to ``top_k`` of a direction's candidates, best first, judged against the corpus (``stats``).

    A candidate that is not a vocabulary term is dropped when too many directions of the corpus contain it
    (only when the corpus is more than the direction itself). The rest are scored by field-weighted
    frequency × corpus inverse document frequency, with a bonus for vocabulary terms and for longer
    phrases. A phrase overlapping one already chosen is skipped unless it is a vocabulary term.
    """
    scored: list[tuple[float, KeywordCandidate]] = []
    # KeywordStats.is_generic and .idf written out on one document frequency read (they read it once each, and the
    # limit was worked out per candidate): the same tests and arithmetic.
    n = stats.n
    judged = n > 1
    limit = max(GENERIC_DF_MIN, GENERIC_DF_SHARE * n)
    for c in candidates:
        df = stats.df(c.key)
        if not c.in_vocab and judged and df >= limit:
            continue
        idf = math.log((n + 1) / (df + 1)) + 1.0
        score = c.tf * idf * (VOCAB_BONUS if c.in_vocab else 1.0) * (1 + UNIT_BONUS * (c.units - 1))
        scored.append((score, c))
    scored.sort(key=lambda sc: (-sc[0], sc[1].start))
    chosen: list[tuple[str, KeywordCandidate]] = []
    for _score, c in scored:
        key = normalise_keyword(c.text)
        if not c.in_vocab and any(_overlap(key, k) for k, _ in chosen):
            continue
        chosen.append((key, c))
        if len(chosen) >= top_k:
            break
    if not chosen:
        return []
    texts = {"title": direction.title or "", "content": direction.content or "", "metrics": direction.metrics or ""}
    return [KeywordMention(key=key, text=c.text, field=c.field, start=c.start, end=c.end,
                           snippet=snippet_of(texts[c.field], c.start, c.end), extracted=True)
            for key, c in chosen]


def extract_keywords(direction: Direction, vocab: Vocabulary, top_k: int = TOP_K,
                     stats: KeywordStats | None = None) -> list[KeywordMention]:
    """Up to ``top_k`` keywords from title, content and metrics, best first.

    :func:`keyword_candidates` then :func:`choose_keywords` against the corpus (``stats``; without it, the
    direction alone is the corpus and only the reviewed stop list applies).
    """
    candidates = keyword_candidates(direction, vocab)
    stats = stats or KeywordStats([direction])
    stats.count(c.key for c in candidates)
    return choose_keywords(direction, candidates, stats, top_k)


def direction_keywords(direction: Direction, vocab: Vocabulary,
                       stats: KeywordStats | None = None) -> list[KeywordMention]:
    """Explicit keywords where the document gives 关键词, else extracted ones (``stats``: the corpus)."""
    explicit = explicit_keywords(direction)
    return explicit if explicit else extract_keywords(direction, vocab, stats=stats)


def english_name(key: str, vocab: Vocabulary) -> tuple[str | None, str]:
    """(name_en, source) of a keyword: ``vocab:<entity id>``, ``glossary`` or (None, ``none``).

    A keyword that is a vocabulary name or synonym keeps that entity's English name.
    """
    t = vocab.terms.get(key)
    if t is not None:
        return vocab.entities[t.entity_id].name_en, f"vocab:{t.entity_id}"
    if key in vocab.keyword_glossary:
        return vocab.keyword_glossary[key], "glossary"
    return None, "none"


def boilerplate_terms(direction_terms: dict[str, set[str]], *, share: float = BOILERPLATE_SHARE,
                      min_directions: int = BOILERPLATE_MIN_DIRECTIONS) -> set[str]:
    """Terms cited by at least ``share`` of one program's directions (given direction id → its terms)."""
    n = len(direction_terms)
    if n < min_directions:
        return set()
    counts = Counter(t for terms in direction_terms.values() for t in terms)
    return {t for t, c in counts.items() if c >= share * n}
