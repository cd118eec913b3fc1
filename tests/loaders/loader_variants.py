"""Re-formatted copies of the bundled guidelines, built programmatically for the robustness tests.

Each transformation changes only layout or character width, never content, so every variant must
parse to the same directions as the original.
"""

from __future__ import annotations

import re

from fundgraph.loaders.records import Direction
from fundgraph.loaders.text import fold

_CJK = re.compile(r"[\u4e00-\u9fff]")
_TERMINATORS = tuple("。：:；;")
_LABELS = ("研究内容", "考核指标", "预期指标", "技术指标", "关键词", "有关说明", "专题", "本专题", "表")
_PAGE = re.compile(r"^\s*(?:-\s*\d{1,4}\s*-|\d{1,4})\s*$")


def to_ascii(text: str) -> str:
    """Full-width punctuation, digits and letters → ASCII (``（一）`` → ``(一)``, ``：`` → ``:``)."""
    return fold(text).replace("\u3000", " ")


def split_long_lines(text: str, width: int = 17) -> str:
    """Break every line into pieces of about ``width`` characters, only between two CJK characters."""
    out: list[str] = []
    for line in text.split("\n"):
        pieces: list[str] = []
        last = 0
        i = width
        while i < len(line) - 1:
            if _CJK.match(line[i - 1]) and _CJK.match(line[i]):
                pieces.append(line[last:i])
                last = i
                i += width
            else:
                i += 1
        pieces.append(line[last:])
        out.extend(pieces)
    return "\n".join(out)


def _starts_structure(line: str) -> bool:
    s = line.strip()
    return (
        not s
        or bool(_PAGE.match(s))
        or s[0] in "#(（-*[0123456789０１２３４５６７８９"
        or s.startswith(_LABELS)
    )


def join_paragraph_lines(text: str) -> str:
    """Undo hard wrapping: join a line to the next non-blank line while the sentence runs on.

    A line is joined when it does not end a sentence or a label (。：；) and is not a heading (``#`` or a
    short line), and the next non-blank line does not start a structure (heading, numbering, list item,
    label, page number, a short line ending in ：). Two ASCII words keep a space between them.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        cur = lines[i]
        i += 1
        while True:
            s = cur.rstrip()
            if (
                not s.strip()
                or s.lstrip().startswith("#")
                or s.endswith(_TERMINATORS)
                or _PAGE.match(s)
                or len(s.strip()) < 12
            ):
                break
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j >= len(lines) or _starts_structure(lines[j]):
                break
            nxt = lines[j].strip()
            if len(nxt) < 12 and nxt.endswith(_TERMINATORS):
                break
            sep = " " if s[-1].isascii() and s[-1].isalnum() and nxt[0].isascii() and nxt[0].isalnum() else ""
            cur = s + sep + lines[j].lstrip()
            i = j + 1
        out.append(cur)
    return "\n".join(out)


def drop_blank_lines(text: str) -> str:
    """Remove every empty line (the double spacing of PDF conversions)."""
    return "\n".join(line for line in text.split("\n") if line.strip())


def comparable(d: Direction) -> dict:
    """The parts of a direction every variant must reproduce (texts compared after folding widths)."""
    return {
        "id": d.id,
        "code": d.code,
        "ordinal": d.ordinal,
        "title": fold(d.title),
        "content": fold(d.content) if d.content else None,
        "metrics": fold(d.metrics) if d.metrics else None,
        "metrics_label": d.metrics_label,
        "keywords": [fold(k) for k in d.keywords],
        "notes": [fold(n) for n in d.notes],
        "category": d.category,
        "category_raw": fold(d.category_raw) if d.category_raw else None,
        "support_type": d.support_type,
        "section": d.section,
        "section_title": fold(d.section_title) if d.section_title else None,
        "funding": (d.funding.amount, d.funding.unit, d.funding.scope) if d.funding else None,
        "application_code": d.application_code,
        "disciplines": d.disciplines,
    }
