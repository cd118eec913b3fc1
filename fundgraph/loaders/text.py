"""Text normalisation helpers for guideline documents, with an exact map back to the file.

The guideline files come from PDF and word-processor conversions: lines are hard-wrapped in the middle
of words, pages leave lone page numbers (``9``, ``- 137 -``), markdown conversions leave ``#`` heading
marks and ``**`` bold marks, and some copies use ASCII instead of full-width punctuation.

Two ideas keep the parsers simple and the output exact:

* :func:`fold` maps full-width ASCII variants (``（`` ``：`` ``１``) to ASCII *one character for one
  character*, so a regex run on the folded text gives positions that are valid in the original.
  Parsers match on folded text and slice the original; fields keep the document's own characters.
* :func:`clean` joins a region of the file into one line of text and keeps, for every character it
  emits, the offset of that character in the file (:class:`Clean`). Fields are slices of
  :class:`Clean` objects, so any offset inside a field maps back to an exact file offset.

Whitespace rule (the same everywhere, so re-wrapping a document never changes a field): a run of
whitespace, line breaks included, becomes one space only when the characters on both sides are ASCII
letters or digits (``DNA 存储`` → ``DNA存储``, ``10 kb`` stays, ``快速变 化`` → ``快速变化``); otherwise it
is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMERALS = "零〇一二两三四五六七八九十"

#: Lone page numbers left by PDF conversion: ``9``, ``- 137 -``.
PAGE_NUMBER = re.compile(r"^\s*(?:-\s*\d{1,4}\s*-|\d{1,4})\s*$")
#: What :func:`clean` does not copy as it is: whitespace (as ``str.isspace``), a BOM, ``**``.
_SPECIAL = re.compile(r"[\s\ufeff]|\*\*")


def fold_char(c: str) -> str:
    """ASCII form of a full-width ASCII variant (U+FF01–U+FF5E) or ideographic space; else ``c``."""
    o = ord(c)
    if 0xFF01 <= o <= 0xFF5E:
        return chr(o - 0xFEE0)
    if c == "\u3000":
        return " "
    return c


class CharMap:
    """``str.translate`` of a table from characters to strings, replacing only the characters of the table a text holds.

    ``translate`` looks every character of the text up in the table (a failed dict look-up per Chinese character):
    finding the table's characters with one regex and replacing each one found with ``str.replace`` gives the
    same text about 8x faster on the guidelines (0.34 vs 2.7 ms for the bundled corpus's 30,000 characters of
    content, where only punctuation is full-width). No replacement may hold a character of the table (so the
    order of the replacements does not matter); the constructor checks it.
    """

    __slots__ = ("_find", "table")

    def __init__(self, table: dict[int, int | str]) -> None:
        self.table = {chr(k): chr(v) if isinstance(v, int) else v for k, v in table.items()}
        if any(c in self.table for v in self.table.values() for c in v):
            raise ValueError("a replacement holds a character of the table")
        self._find = re.compile("[" + "".join(re.escape(c) for c in sorted(self.table)) + "]")

    def __call__(self, text: str) -> str:
        """``text.translate(table)``."""
        for c in set(self._find.findall(text)):
            text = text.replace(c, self.table[c])
        return text


#: :func:`fold_char` as one :class:`CharMap` (a tenth of the parse pool's CPU went to a per-character join, then
#: most of a fifth to ``str.translate``).
_FOLD = CharMap({**{o: o - 0xFEE0 for o in range(0xFF01, 0xFF5F)}, 0x3000: " "})


def fold(text: str) -> str:
    """Fold full-width ASCII variants to ASCII, character for character (the length never changes)."""
    return _FOLD(text)


_ASCII_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: What :func:`is_word_char` accepts, as a set (a look-up, not a fold and two tests: :func:`clean` asks per line).
_WORD_CHARS = frozenset(_ASCII_ALNUM) | {chr(ord(c) + 0xFEE0) for c in _ASCII_ALNUM}


def is_word_char(c: str) -> bool:
    """ASCII letter or digit, full-width forms included (the whitespace rule joins these with a space)."""
    return c in _WORD_CHARS


def chinese_numeral(text: str) -> int:
    """Convert a Chinese numeral up to 99 (一 … 九十九), or ASCII digits, to an int."""
    text = text.strip()
    if not text:
        raise ValueError("empty numeral")
    if fold(text).isdigit():
        return int(fold(text))
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS[tens] if tens else 1
        o = _CN_DIGITS[ones] if ones else 0
        return t * 10 + o
    return _CN_DIGITS[text]


def to_chinese_numeral(n: int) -> str:
    """Inverse of :func:`chinese_numeral` for 1 … 99."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def code_key(code: str) -> str:
    """ASCII key of a document code: ``（十一）`` → ``11``, ``7.`` → ``7``, ``2.10`` → ``2.10``.

    ``graph.model`` re-exports this rule: there is one definition of a direction's id.
    """
    c = code.strip().strip("（）()[]【】").rstrip(".、．")
    if c and all(ch in _CN_DIGITS or ch == "十" for ch in c):
        return str(chinese_numeral(c))
    return c


def direction_id(program_id: str, code: str) -> str:
    """Stable id of a direction: ``{program_id}:{code_key}``."""
    return f"{program_id}:{code_key(code)}"


def section_id(program_id: str, code: str | None, ordinal: int) -> str:
    """Stable id of a section: ``{program_id}:s:{code_key or ordinal}``."""
    return f"{program_id}:s:{code_key(code) if code else ordinal}"


@dataclass
class Clean:
    """Normalised text plus, for each character, its offset in the file text."""

    text: str = ""
    offsets: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.text)

    @property
    def folded(self) -> str:
        """:func:`fold` of the text (same length, so match positions are valid here)."""
        return fold(self.text)

    def slice(self, start: int = 0, end: int | None = None) -> Clean:
        """Sub-range [start, end), with surrounding whitespace trimmed."""
        end = len(self.text) if end is None else end
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return Clean(self.text[start:end], self.offsets[start:end])

    def rstrip(self, chars: str) -> Clean:
        """Drop trailing characters in ``chars`` (matched on the folded text) and whitespace."""
        end = len(self.text)
        while end and (
            self.text[end - 1].isspace()
            or fold_char(self.text[end - 1]) in chars
            or self.text[end - 1] in chars
        ):
            end -= 1
        return self.slice(0, end)

    def lstrip(self, chars: str) -> Clean:
        """Drop leading characters in ``chars`` (matched on the folded text) and whitespace."""
        start = 0
        while start < len(self.text) and (
            self.text[start].isspace() or fold_char(self.text[start]) in chars or self.text[start] in chars
        ):
            start += 1
        return self.slice(start)

    @property
    def span(self) -> tuple[int, int]:
        """[start, end) of the region of the file this text came from."""
        if not self.offsets:
            return (0, 0)
        return (self.offsets[0], self.offsets[-1] + 1)

    def file_span(self, start: int, end: int) -> tuple[int, int]:
        """File offsets [start, end) of the characters [start, end) of this text."""
        if not 0 <= start < end <= len(self.text):
            raise IndexError(f"[{start}, {end}) is outside a text of length {len(self.text)}")
        return (self.offsets[start], self.offsets[end - 1] + 1)


def line_start(text: str, pos: int) -> int:
    """Offset of the start of the line holding ``pos``."""
    return text.rfind("\n", 0, pos) + 1


def line_end(text: str, pos: int) -> int:
    """Offset of the end (the line feed, or the end of the text) of the line holding ``pos``."""
    e = text.find("\n", pos)
    return len(text) if e < 0 else e


def line_number(text: str, pos: int) -> int:
    """1-based line number of offset ``pos``."""
    return text.count("\n", 0, pos) + 1


def markup_prefix_len(line: str) -> int:
    """Length of the layout prefix of a line: indentation, markdown ``#`` marks, a ``- `` bullet, ``**``."""
    if not line or not (line[0].isspace() or line[0] in "\ufeff#-*"):
        return 0  # most lines: no layout prefix (a third of the calls' time went to finding that out)
    i = 0
    n = len(line)
    while i < n and (line[i].isspace() or line[i] == "\ufeff"):
        i += 1
    j = i
    while j < n and line[j] == "#":
        j += 1
    if j > i and (j == n or line[j].isspace()):
        i = j
        while i < n and line[i].isspace():
            i += 1
    if line.startswith("- ", i) and not PAGE_NUMBER.match(line):
        i += 2
        while i < n and line[i].isspace():
            i += 1
    while line.startswith("**", i):
        i += 2
    return i


def clean(text: str, start: int, end: int, *, base: int = 0, offsets: bool = True) -> Clean:
    """Join the file region [start, end) into one normalised line, keeping the offset of every character.

    Drops page-number lines, markdown heading marks, list bullets and ``**`` at line starts and ``**``
    anywhere, and applies the whitespace rule of this module. Deterministic and local: cleaning the
    span of any result again gives the same text.

    ``base`` is added to every offset (``text`` starts at that offset of the file); with ``offsets`` false
    the result keeps none (its text alone: half the time of a whole file's cleaning went to the offsets).
    """
    out: list[str] = []  # runs of characters
    offs: list[int] = []
    last = ""  # the last character emitted
    pending_ws: int | None = None
    pos = start
    while pos < end:
        ls = line_start(text, pos)
        le = line_end(text, pos)
        line = text[ls:le]
        seg_end = min(le, end)
        if PAGE_NUMBER.match(line):
            pos = le + 1
            if pending_ws is None and out:
                pending_ws = min(le, end - 1)
            continue
        i = pos
        if pos == ls:
            i = ls + markup_prefix_len(line)
        while i < seg_end:
            # A run of ordinary characters is copied whole (one character at a time was a tenth of the
            # parse pool's CPU); whitespace, BOMs and ``**`` are handled one by one as before.
            m = _SPECIAL.search(text, i, seg_end)
            stop = m.start() if m else seg_end
            if stop == seg_end and text[stop - 1] == "*" and text.startswith("**", stop - 1):
                stop -= 1  # a ``**`` straddling the segment's end is dropped whole, as it always was
            if stop > i:
                if pending_ws is not None:
                    if out and is_word_char(last) and is_word_char(text[i]):
                        out.append(" ")
                        if offsets:
                            offs.append(pending_ws + base)
                    pending_ws = None
                out.append(text[i:stop])
                if offsets:
                    offs.extend(range(i + base, stop + base))
                last = text[stop - 1]
                i = stop
                continue
            c = text[i]
            if c == "*":  # the start of ``**``
                i += 2
                continue
            if pending_ws is None and out:
                pending_ws = i
            i += 1
        if le < end and pending_ws is None and out:
            pending_ws = le  # the line break itself is whitespace
        pos = le + 1
    return Clean("".join(out), offs)


@lru_cache(maxsize=2)
def folded_document(text: str) -> str:
    """:func:`fold` of :func:`clean` of a whole file text (the parsers read it twice per document)."""
    return clean(text, 0, len(text), offsets=False).folded


def split_list(c: Clean, separators: str = ";；,，、") -> list[Clean]:
    """Split a cleaned field on list separators (keywords), dropping empty items and a final 。."""
    items: list[Clean] = []
    start = 0
    for i, ch in enumerate(c.text + ";"):
        if ch in separators or fold_char(ch) in separators:
            item = c.slice(start, i).rstrip("。.").lstrip("。")
            if item.text:
                items.append(item)
            start = i + 1
    return items
