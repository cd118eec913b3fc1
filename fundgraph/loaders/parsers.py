"""Shared parsing rules: lines, drafts, field cutting and the statements every guideline layout makes.

The layout inference engine (:mod:`loaders.layout`) finds a document's direction list; this module holds what it
builds with: :class:`Line` (matching is done on the folded, markup-free body of each line), the drafts a parse
yields, :func:`cut_fields` (cut a direction's lines into fields at the labels 研究内容 / 考核指标 (预期指标,
技术指标) / 关键词 / 有关说明, each region :func:`loaders.text.clean`-ed), category names and tails, young-scientist
notes, funding sentences, the overview table of a joint fund and the direction count a document states.
(The five hand-written per-document profiles that once lived here are hint sets of the engine now:
:data:`loaders.layout.HINTS`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fundgraph.loaders.records import Category, Funding, Layout
from fundgraph.loaders.text import (
    PAGE_NUMBER,
    Clean,
    chinese_numeral,
    clean,
    fold,
    folded_document,
    markup_prefix_len,
)

CN_NUM = "一二三四五六七八九十"

#: Raw category text (spaces and parentheses removed) → normalised category.
CATEGORY_SYNONYMS: dict[str, Category] = {
    "共性关键技术类": Category.KEY_TECHNOLOGY,
    "关键共性技术类": Category.KEY_TECHNOLOGY,
    "共性关键技术": Category.KEY_TECHNOLOGY,
    "关键共性技术": Category.KEY_TECHNOLOGY,
    "基础研究类": Category.BASIC_RESEARCH,
    "基础研究": Category.BASIC_RESEARCH,
    "应用示范类": Category.APPLICATION_DEMO,
    "示范应用类": Category.APPLICATION_DEMO,
    "应用示范": Category.APPLICATION_DEMO,
    "示范应用": Category.APPLICATION_DEMO,
    "重点攻关类": Category.KEY_CHALLENGE,
    "重点攻关": Category.KEY_CHALLENGE,
    "常规支持类": Category.REGULAR,
    "常规支持": Category.REGULAR,
    "青年科学家项目": Category.YOUNG_SCIENTIST,
    "青年科学家类": Category.YOUNG_SCIENTIST,
    "青年科学家": Category.YOUNG_SCIENTIST,
    "重点项目": Category.KEY_PROJECT,
    "重点": Category.KEY_PROJECT,  # a table's short tail: 珊瑚礁…恢复技术（重点）
    "面上项目": Category.GENERAL_PROJECT,
    "一般项目": Category.GENERAL_PROJECT,
    "交叉重点专项项目": Category.CROSS_KEY_PROJECT,
    "交叉重点专项": Category.CROSS_KEY_PROJECT,
}


def normalise_category(raw: str | None) -> Category | None:
    """Map a document's category text (any width of parentheses, any spacing) to :class:`Category`."""
    if not raw:
        return None
    key = re.sub(r"[\s()（）:：]", "", fold(raw))
    return CATEGORY_SYNONYMS.get(key)


LABELS = {
    "研究内容": "content",
    "考核指标": "metrics",
    "预期指标": "metrics",
    "技术指标": "metrics",
    "关键词": "keywords",
    "有关说明": "notes",
}
LABEL_RE = re.compile(r"^(研究内容|考核指标|预期指标|技术指标|关键词|有关说明)\s*:")


class ParseProblem(Exception):
    """Raised by a parser; the caller turns it into a GuidelineParseError naming the file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Line:
    """One line of the file: offsets, and the folded body without layout markup."""

    no: int
    start: int
    end: int
    body_off: int
    body: str
    page: bool

    @property
    def blank(self) -> bool:
        """True for empty lines and page-number lines."""
        return self.page or not self.body


def split_lines(text: str) -> list[Line]:
    """Split into :class:`Line` objects (1-based numbers, file offsets, folded markup-free bodies)."""
    lines: list[Line] = []
    pos = 0
    no = 0
    folded = fold(text)  # character for character: a line's folded body is a slice of it (one fold per file)
    while pos <= len(text):
        e = text.find("\n", pos)
        e = len(text) if e < 0 else e
        no += 1
        raw = text[pos:e]
        k = markup_prefix_len(raw)
        body = raw[k:].rstrip()
        while body.endswith("**"):
            body = body[:-2].rstrip()
        lines.append(Line(no, pos, e, pos + k, folded[pos + k:pos + k + len(body)], bool(PAGE_NUMBER.match(raw))))
        pos = e + 1
    return lines


@dataclass
class SectionDraft:
    """A section as a profile finds it."""

    title: str
    kind: str
    code: str | None = None
    parent: int | None = None
    title_start: int | None = None  # file offset where the title starts, when it may run over lines


@dataclass
class DirectionDraft:
    """A direction as a profile finds it, before it becomes a record."""

    code: str
    start: int  # file offset of the first character of the direction
    end: int  # file offset after its last character
    line: int
    title: Clean
    section: int | None = None
    fields: dict[str, Clean] = field(default_factory=dict)
    category_raw: str | None = None
    support_type: str | None = None
    notes: list[str] = field(default_factory=list)
    funding: Funding | None = None
    application_code: str | None = None
    disciplines: list[str] = field(default_factory=list)
    metrics_label: str | None = None


@dataclass
class ProfileResult:
    """What a profile yields."""

    sections: list[SectionDraft]
    directions: list[DirectionDraft]
    warnings: list[str] = field(default_factory=list)
    layout: Layout | None = None  # what inference found (loaders.layout)


def last_content_end(lines: list[Line], i0: int, i1: int) -> int:
    """File offset after the last non-blank line in lines[i0:i1]."""
    for i in range(i1 - 1, i0 - 1, -1):
        if not lines[i].blank:
            return lines[i].start + len(fold_rstrip(lines, i))
    return lines[i0].start


def fold_rstrip(lines: list[Line], i: int) -> str:
    """The raw text of line i up to its last non-space character (as a length carrier)."""
    ln = lines[i]
    return " " * (ln.body_off - ln.start) + ln.body


def cut_fields(
    text: str,
    lines: list[Line],
    i0: int,
    i1: int,
    head_start: int,
    d: DirectionDraft,
) -> Clean:
    """Cut lines[i0:i1] of one direction into head (title) and labelled fields; fill ``d.fields``.

    Returns the cleaned head (everything before the first label), which the caller turns into a title.
    """
    labels: list[tuple[int, str, int]] = []  # (line index, field, offset where the value starts)
    seen: set[str] = set()
    for i in range(i0, i1):
        m = LABEL_RE.match(lines[i].body)
        # each field is labelled once: a second "研究内容：" is running text ("…主要研究内容：…")
        if m and LABELS[m.group(1)] not in seen:
            seen.add(LABELS[m.group(1)])
            labels.append((i, m.group(1), lines[i].body_off + m.end()))
    end = last_content_end(lines, i0, i1)
    head_end = lines[labels[0][0]].start if labels else end
    head = clean(text, head_start, head_end)
    for k, (_i, label, vstart) in enumerate(labels):
        vend = lines[labels[k + 1][0]].start if k + 1 < len(labels) else end
        value = clean(text, vstart, max(vstart, vend))
        name = LABELS[label]
        if name == "metrics":
            d.metrics_label = label
        if name == "notes":
            if value.text:
                d.notes.append(value.text)
            d.fields.setdefault("notes", value)
            continue
        if name in d.fields:  # a second block with the same label: append
            prev = d.fields[name]
            value = Clean(prev.text + value.text, prev.offsets + value.offsets)
        d.fields[name] = value
    return head


CATEGORY_TAIL = re.compile(r"[(]\s*([^()]{2,12})\s*[)]\s*$")
#: Words a category tail ends in: a kind (…类) or a type of funded item (项目 / 选题 / 课题 / 专项).
CATEGORY_KINDS = ("类", "项目", "选题", "课题", "专项")
_NOT_CATEGORY = re.compile(r"[\d,，、;；:：。]")


def split_category_tail(title: Clean) -> tuple[Clean, str | None]:
    """Split ``…研究（共性关键技术类）`` into the title and the raw category (either width of parentheses).

    A tail is a category when it names a kind or a funded item's type (``…类``, ``（青年项目）``, ``（重点选题）``,
    ``（自选课题）``) in a short phrase with no digit or punctuation, or a known category (``（青年科学家）``);
    any other bracket (``（试点）``, ``（2026—2028年）``) stays in the title.
    """
    m = CATEGORY_TAIL.search(title.folded)
    raw = m.group(1).strip() if m else ""
    kind = raw.endswith(CATEGORY_KINDS) and not _NOT_CATEGORY.search(raw)
    if not m or not (kind or normalise_category(raw) is not None):
        return title, None
    raw = title.slice(m.start(1), m.end(1)).text
    return title.slice(0, m.start()).rstrip("。."), raw


def young_scientist_notes(text: str, lines: list[Line], upto: int) -> tuple[set[str], str | None]:
    """Codes a MOST preamble opens to young scientists (``其中 1.1、1.2 … 方向支持青年科学家申报…``)."""
    pre = clean(text, 0, lines[upto].start) if upto < len(lines) else clean(text, 0, len(text))
    f = pre.folded
    m = re.search(r"((?:\d+\.\d+\s*[、,]\s*)*\d+\.\d+)\s*方向支持青年科学家申报([^。]*)", f)
    if not m:
        return set(), None
    codes = set(re.findall(r"\d+\.\d+", m.group(1)))
    rest = pre.text[m.start(2) : m.end(2)]
    return codes, "本方向支持青年科学家申报" + rest + "（见指南总述）"


# ---------------------------------------------------------------------------------------------- shared rules


def matches_with_sentences(c: Clean, pattern: str) -> list[tuple[re.Match[str], str]]:
    """Matches of ``pattern`` in a cleaned region (folded), each with the sentence (。…。) around it."""
    f = c.folded
    out = []
    for m in re.finditer(pattern, f):
        s = f.rfind("。", 0, m.start()) + 1
        e = f.find("。", m.end())
        out.append((m, c.slice(s, e + 1 if e >= 0 else len(f)).text))
    return out


def category_funding(text: str, lines: list[Line], upto: int) -> dict[Category, Funding]:
    """Per-category amounts stated in a MOST preamble (``…青年科学家项目 5 项，每个项目 300 万元``)."""
    pre = clean(text, 0, lines[upto].start if upto < len(lines) else len(text))
    f = pre.folded
    out: dict[Category, Funding] = {}
    for m in re.finditer(
        r"部署([^,;。、]{2,10}?)(?:项目)?\s*\d+\s*项\s*[,]\s*每\s*个?\s*项目\s*(\d+(?:\.\d+)?)\s*(万元|亿元)",
        f,
    ):
        cat = normalise_category(m.group(1))
        if cat:
            s = f.rfind("。", 0, m.start()) + 1
            e = f.find("。", m.end())
            sentence = pre.slice(s, e + 1 if e >= 0 else len(f)).text
            out[cat] = Funding(amount=float(m.group(2)), unit=m.group(3), scope="category", text=sentence)
    return out


APP_CODE = re.compile(r"YX[A-Z]\d{4}")
DISCIPLINE = re.compile(r"[A-H]\d{4}")
SUPPORT_HEAD = re.compile(r"^\(([一二三四五六七八九十]+)\)\s*(重点项目|面上项目)\s*$")


def parse_overview_table(
    text: str, lines: list[Line], i0: int, i1: int
) -> dict[str, tuple[Clean, list[str], int]]:
    """Rows of the overview table (表1): 申报代码 → (title, 学科代码, line)."""
    row_re = re.compile(r"^(\d{1,2})\s*[.、]\s*(?!\d)(\S.*)$")
    starts = [i for i in range(i0, i1) if row_re.match(lines[i].body)]
    rows: dict[str, tuple[Clean, list[str], int]] = {}
    for k, i in enumerate(starts):
        j = starts[k + 1] if k + 1 < len(starts) else i1
        m = row_re.match(lines[i].body)
        assert m
        row = clean(text, lines[i].body_off + m.start(2), last_content_end(lines, i, j))
        c = APP_CODE.search(row.folded)
        if not c:
            continue
        title = row.slice(0, c.start()).rstrip("。.")
        after = row.folded[c.end() :]
        stop = re.search(r"专\s*题|研究方向", after)
        disciplines = DISCIPLINE.findall(after[: stop.start()] if stop else after)
        rows[c.group(0)] = (title, disciplines, lines[i].no)
    return rows


_STATED_COUNTS = [
    re.compile(r"拟启动\s*(\d+)\s*个研究方向"),
    re.compile(r"共计\s*(\d+)\s*个(?:二级)?指南方向"),
    re.compile(r"设置\s*(\d+)\s*个重点项目支持方向和\s*(\d+)\s*个面上项目支持方向"),
    re.compile(rf"上述([{CN_NUM}]+)个研究(?:方向|内容)"),
]


def stated_direction_count(text: str) -> int | None:
    """How many directions the document says it has (``拟启动 16 个研究方向``, ``共计 55 个…指南方向``)."""
    f = folded_document(text)
    for pattern in _STATED_COUNTS:
        m = pattern.search(f)
        if m:
            return sum(chinese_numeral(g) for g in m.groups())
    return None
