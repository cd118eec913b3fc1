"""Find vocabulary entities in a direction's text, each mention with its field, snippet and span.

Rules (all data-driven from the vocabulary files, see :mod:`loaders.vocab`):

- Longest match wins: one Aho–Corasick automaton over every term finds, at every position, the longest
  term starting there (overlapping candidates are kept), and the longest non-overlapping ones are chosen
  (经颅聚焦超声 — a technique — beats 超声 inside it).
- A Latin term (``AD``, ``MR``, ``CT``, ``PET``) never matches inside a longer Latin word (``FAD``,
  ``ADAS``, ``MRE`` is its own term).
- Context synonyms (``AD``, ``KOA``, ``共聚焦`` …) match only with their row's context regex nearby.
- ``not_before`` / ``not_after`` veto a match (超声 followed by 刺激/调控/参数 is stimulation, not imaging).

Spans: matching runs on the loaders' normalised field text; offsets are mapped back to the exact range
of the source file with :func:`loaders.corpus.locate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fundgraph.loaders.records import Direction
from fundgraph.loaders.vocab import CONTEXT_WINDOW, Vocabulary, normalise

#: Fields searched, and how much a mention in each counts (title > keywords > content > metrics).
FIELD_WEIGHTS: dict[str, float] = {"title": 1.0, "keywords": 0.8, "content": 0.5, "metrics": 0.3,
                                   "disciplines": 1.0}
TEXT_FIELDS = ("title", "keywords", "content", "metrics")

_CLAUSE_END = re.compile(r"[。；;！？!?\n]")
_SNIPPET_MAX = 160


@dataclass(frozen=True)
class Mention:
    """One occurrence of an entity in a field of a direction."""

    entity_id: str
    entity_type: str
    field: str
    start: int  # offsets in the field text
    end: int
    surface: str
    snippet: str
    file_start: int | None = None  # offsets in the source file
    file_end: int | None = None


def _latin_ok(norm: str, start: int, end: int) -> bool:
    """A term starting/ending with an ASCII letter must not continue a Latin word on that side."""
    first, last = norm[start], norm[end - 1]
    if first.isascii() and first.isalpha() and start > 0:
        prev = norm[start - 1]
        if prev.isascii() and prev.isalpha():
            return False
    if last.isascii() and last.isalpha() and end < len(norm):
        nxt = norm[end]
        if nxt.isascii() and nxt.isalpha():
            return False
    return True


def snippet_of(text: str, start: int, end: int) -> str:
    """The clause (between 。；！？ or line ends) around [start, end) of ``text``, at most ~160 chars."""
    left = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        left = m.end()
    m = _CLAUSE_END.search(text, end)
    right = m.start() + 1 if m else len(text)
    s = text[left:right].strip()
    if len(s) > _SNIPPET_MAX:
        a = max(left, start - _SNIPPET_MAX // 2)
        s = text[a:a + _SNIPPET_MAX].strip()
    return s


def _longest_terms(norm: str, vocab: Vocabulary) -> list[tuple[int, int]]:
    """[start, end) of the longest vocabulary term starting at each position of ``norm`` that starts one.

    One pass of the vocabulary's Aho–Corasick automaton (every occurrence of every term), keeping the
    longest per start: what the former single regex ``(?=(longest|...|shortest))`` found, 3.5× faster
    on the 1,000-direction benchmark corpus (0.22 s vs 0.77 s for 4,000 field texts, normalising included).
    """
    longest: dict[int, int] = {}
    for end, length in vocab.automaton().iter(norm):
        start = end - length + 1
        if length > longest.get(start, 0):
            longest[start] = length
    return [(s, s + n) for s, n in sorted(longest.items())]


def find_mentions(text: str, vocab: Vocabulary, field: str = "content") -> list[Mention]:
    """Entity mentions in one text (offsets relative to ``text``), in text order."""
    if not text:
        return []
    norm, idx = normalise(text)
    cands: list[tuple[int, int, str]] = []
    for s, e in _longest_terms(norm, vocab):
        term = vocab.terms[norm[s:e]]
        ent = vocab.entities[term.entity_id]
        if not _latin_ok(norm, s, e):
            continue
        if term.conditional and ent.context is not None:
            window = norm[max(0, s - CONTEXT_WINDOW):e + CONTEXT_WINDOW]
            if not ent.context.search(window):
                continue
        if ent.not_before is not None and ent.not_before.search(norm, max(0, s - 8), s):
            continue
        if ent.not_after is not None and ent.not_after.match(norm, e):
            continue
        cands.append((s, e, term.entity_id))
    cands.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    taken: list[tuple[int, int, str]] = []
    occupied = bytearray(len(norm))
    for s, e, eid in cands:
        if any(occupied[s:e]):
            continue
        occupied[s:e] = b"\x01" * (e - s)
        taken.append((s, e, eid))
    taken.sort()
    out = []
    for s, e, eid in taken:
        o_start, o_end = idx[s], idx[e - 1] + 1
        out.append(Mention(entity_id=eid, entity_type=eid.split(":", 1)[0], field=field, start=o_start,
                           end=o_end, surface=text[o_start:o_end], snippet=snippet_of(text, o_start, o_end)))
    return out


def field_texts(direction: Direction) -> dict[str, str]:
    """The searchable text of each field; ``keywords`` is the field as written (before splitting)."""
    texts = {"title": direction.title or "", "content": direction.content or "",
             "metrics": direction.metrics or ""}
    kw = ""
    if "keywords" in direction.field_spans:
        try:
            from fundgraph.loaders.corpus import field_source_text

            kw = field_source_text(direction, "keywords")
        except (KeyError, ImportError):
            kw = ""
    texts["keywords"] = kw or "；".join(direction.keywords)
    return texts


def file_span(direction: Direction, field: str, start: int, end: int) -> tuple[int | None, int | None]:
    """Exact [start, end) in the file of a range of a field; the field's own span when the text is not at hand."""
    try:
        from fundgraph.loaders.corpus import locate

        return locate(direction, field, start, end)
    except (KeyError, ImportError, IndexError, ValueError):
        span = direction.field_spans.get(field)
        if span is None:
            return None, None
        # Fallback: the field's own span (exact offsets need the source text the direction carries).
        return span.start, span.end


def file_spans(direction: Direction, field: str, ranges: list[tuple[int, int]]) -> list[tuple[int | None, int | None]]:
    """:func:`file_span` of each range of one field, the field's cleaned text looked up once."""
    try:
        from fundgraph.loaders.corpus import field_clean

        cleaned = field_clean(direction, field)
    except (KeyError, ImportError, IndexError, ValueError):
        cleaned = None
    out: list[tuple[int | None, int | None]] = []
    for start, end in ranges:
        if cleaned is not None:
            try:
                out.append(cleaned.file_span(start, end))
                continue
            except (IndexError, ValueError):
                pass
        span = direction.field_spans.get(field)
        out.append((None, None) if span is None else (span.start, span.end))
    return out


def extract_direction(direction: Direction, vocab: Vocabulary, *, with_spans: bool = True) -> list[Mention]:
    """Every entity mention in a direction's title, keywords, content and metrics."""
    out: list[Mention] = []
    for field, text in field_texts(direction).items():
        found = find_mentions(text, vocab, field)
        if not with_spans or not found:
            out.extend(found)
            continue
        for m, (fs, fe) in zip(found, file_spans(direction, field, [(m.start, m.end) for m in found]), strict=True):
            out.append(Mention(m.entity_id, m.entity_type, m.field, m.start, m.end, m.surface, m.snippet, fs, fe))
    return out


def entity_ids(direction: Direction, vocab: Vocabulary, entity_type: str | None = None) -> set[str]:
    """The set of entity ids a direction mentions (optionally of one type)."""
    return {m.entity_id for m in extract_direction(direction, vocab, with_spans=False)
            if entity_type is None or m.entity_type == entity_type}
