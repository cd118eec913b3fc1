"""Parsing profiles: one per document layout, chosen by name in the manifest.

Every profile works the same way: split the text into :class:`Line` objects (matching is done on the
folded, markup-free body of each line), find section headings and direction starts with
sequence-checked numbering (so a stray ``3.8`` or ``（一）`` in running text is never a direction), then
cut each direction's lines into fields at the labels 研究内容 / 考核指标 (预期指标, 技术指标) / 关键词 /
有关说明, and :func:`loaders.text.clean` each field region. A new document in one of these layouts
needs only a manifest entry naming the profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fundgraph.loaders.records import Category, Funding
from fundgraph.loaders.text import (
    PAGE_NUMBER,
    Clean,
    chinese_numeral,
    clean,
    fold,
    markup_prefix_len,
    to_chinese_numeral,
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
    "面上项目": Category.GENERAL_PROJECT,
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
    """Raised by a profile; the caller turns it into a GuidelineParseError naming the file."""

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
    while pos <= len(text):
        e = text.find("\n", pos)
        e = len(text) if e < 0 else e
        no += 1
        raw = text[pos:e]
        k = markup_prefix_len(raw)
        body = raw[k:].rstrip()
        while body.endswith("**"):
            body = body[:-2].rstrip()
        lines.append(Line(no, pos, e, pos + k, fold(body), bool(PAGE_NUMBER.match(raw))))
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
    *,
    title_stop: Callable[[Clean], int] | None = None,
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


CATEGORY_TAIL = re.compile(r"[(]\s*([^()]{2,12}类)\s*[)]\s*$")


def split_category_tail(title: Clean) -> tuple[Clean, str | None]:
    """Split ``…研究（共性关键技术类）`` into the title and the raw category (either width of parentheses)."""
    m = CATEGORY_TAIL.search(title.folded)
    if not m:
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


# ---------------------------------------------------------------------------------------------- profiles


def parse_nsfc_enumerated(text: str, lines: list[Line]) -> ProfileResult:
    """NSFC 专项 guidelines: ``二、资助研究方向`` then ``（一）题目。`` + one paragraph + ``（注：…）``."""
    res = ProfileResult([], [])
    top = re.compile(rf"^([{CN_NUM}]+)、\s*(.+)$")
    start = next(
        (i for i, ln in enumerate(lines) if (m := top.match(ln.body)) and "研究方向" in m.group(2)), None
    )
    if start is None:
        return res
    stop = next((i for i in range(start + 1, len(lines)) if top.match(lines[i].body)), len(lines))
    dir_re = re.compile(rf"^\(([{CN_NUM}—－\-]+)\)\s*(.*)$")
    starts: list[tuple[int, str, int]] = []  # (line index, code, offset after the code)
    for i in range(start + 1, stop):
        m = dir_re.match(lines[i].body)
        if not m:
            continue
        expected = len(starts) + 1
        numeral = m.group(1)
        fixed = re.sub(r"[—－\-]", "一", numeral)
        try:
            n = chinese_numeral(fixed)
        except (KeyError, ValueError):
            continue
        if n != expected:
            continue
        if fixed != numeral:
            res.warnings.append(f"line {lines[i].no}: numeral （{numeral}） read as （{fixed}）")
        starts.append((i, f"（{to_chinese_numeral(n)}）", lines[i].body_off + m.start(2)))
    # programme-level funding: "每项200万元，有特别注明的项目，每项300万元"
    program_funding: Funding | None = None
    tail = clean(text, lines[stop].start if stop < len(lines) else len(text), len(text))
    for m, sentence in matches_with_sentences(tail, r"每项\s*(\d+(?:\.\d+)?)\s*(万元|亿元)"):
        program_funding = Funding(amount=float(m.group(1)), unit=m.group(2), scope="program", text=sentence)
        break
    for k, (i, code, body_start) in enumerate(starts):
        i1 = starts[k + 1][0] if k + 1 < len(starts) else stop
        d = DirectionDraft(
            code=code,
            start=lines[i].body_off,
            end=last_content_end(lines, i, i1),
            line=lines[i].no,
            title=Clean(),
        )
        # notes: paragraphs "（注：…）"
        note_lines = [j for j in range(i + 1, i1) if re.match(r"^\(\s*注\s*:", lines[j].body)]
        main_end = lines[note_lines[0]].start if note_lines else d.end
        head = clean(text, body_start, main_end)
        f = head.folded
        dot = f.find("。")
        if dot < 0:
            raise ParseProblem(f"direction {code} has no title ending in 。", lines[i].no)
        d.title = head.slice(0, dot).rstrip("。.")
        content = head.slice(dot + 1)
        if content.text:
            d.fields["content"] = content
        for j in note_lines:
            jn = next((x for x in note_lines if x > j), i1)
            nend = last_content_end(lines, j, jn) if jn > j else lines[j].end
            note = clean(text, lines[j].body_off, nend).lstrip("(").rstrip(")")
            note = note.lstrip("注").lstrip(":")
            d.notes.append(note.text)
            d.fields.setdefault("notes", note)
            m = re.search(r"(\d+(?:\.\d+)?)\s*(万元|亿元)", note.folded)
            if m and "经费" in note.text:
                d.funding = Funding(
                    amount=float(m.group(1)), unit=m.group(2), scope="direction", text=note.text
                )
        if d.funding is None:
            d.funding = program_funding
        d.category_raw = "交叉重点专项项目"
        d.support_type = "重点项目群"
        res.directions.append(d)
    return res


def matches_with_sentences(c: Clean, pattern: str) -> list[tuple[re.Match[str], str]]:
    """Matches of ``pattern`` in a cleaned region (folded), each with the sentence (。…。) around it."""
    f = c.folded
    out = []
    for m in re.finditer(pattern, f):
        s = f.rfind("。", 0, m.start()) + 1
        e = f.find("。", m.end())
        out.append((m, c.slice(s, e + 1 if e >= 0 else len(f)).text))
    return out


def _mark_young(res: ProfileResult, codes: set[str], note: str | None) -> None:
    if not note:
        return
    for d in res.directions:
        if d.code in codes:
            d.notes.insert(0, note)


def parse_most_categorised(text: str, lines: list[Line]) -> ProfileResult:
    """MOST 重点专项 guidelines grouped by category: ``重点攻关类：`` then ``1. 题目`` + labelled fields."""
    res = ProfileResult([], [])
    group_re = re.compile(r"^(重点攻关类|常规支持类|青年科学家项目|青年科学家|[^\s:]{2,8}类)\s*:\s*$")
    dir_re = re.compile(r"^(\d{1,2})\s*[.、]\s*(?!\d)(\S.*)$")
    events: list[tuple[str, int, object]] = []
    count = 0
    for i, ln in enumerate(lines):
        m = group_re.match(ln.body)
        if m:
            res.sections.append(SectionDraft(title=m.group(1), kind="category_group"))
            events.append(("section", i, len(res.sections) - 1))
            continue
        if not res.sections:
            continue
        m = dir_re.match(ln.body)
        if m and int(m.group(1)) == count + 1:
            count += 1
            events.append(("direction", i, (m.group(1), ln.body_off + m.start(2))))
    funding = category_funding(text, lines, events[0][1] if events else len(lines))
    _section_titles(text, lines, events, res)
    _cut_events(text, lines, events, res)
    for d in res.directions:
        group = res.sections[d.section].title if d.section is not None else None
        d.category_raw = group
        d.support_type = re.sub(r"(类|项目)$", "", group) if group else None
        if group and normalise_category(group) in funding:
            d.funding = funding[normalise_category(group)]
        t, raw = split_category_tail(d.title)
        if raw:
            d.title, d.category_raw = t, raw
    codes, note = young_scientist_notes(text, lines, events[0][1] if events else len(lines))
    _mark_young(res, codes, note)
    return res


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


def _section_titles(
    text: str, lines: list[Line], events: list[tuple[str, int, object]], res: ProfileResult
) -> None:
    """Titles of sections whose heading may run over several lines: up to the next event or paragraph."""
    for k, (kind, i, payload) in enumerate(events):
        if kind != "section":
            continue
        s = res.sections[payload]  # type: ignore[index]
        if s.title_start is None:
            continue
        stop = events[k + 1][1] if k + 1 < len(events) else len(lines)
        j = i + 1
        while j < stop and not (lines[j].body.startswith("本专题") or "。" in lines[j].body):
            j += 1
        s.title = clean(text, s.title_start, last_content_end(lines, i, j)).text


def _cut_events(
    text: str,
    lines: list[Line],
    events: list[tuple[str, int, object]],
    res: ProfileResult,
    *,
    stop: int | None = None,
) -> None:
    """Turn (section | direction, line index, payload) events into directions with fields."""
    current: int | None = None
    stop = len(lines) if stop is None else stop
    for k, (kind, i, payload) in enumerate(events):
        if kind == "section":
            current = payload  # type: ignore[assignment]
            continue
        code, head_start = payload  # type: ignore[misc]
        i1 = events[k + 1][1] if k + 1 < len(events) else stop
        d = DirectionDraft(
            code=code,
            start=lines[i].body_off,
            end=last_content_end(lines, i, i1),
            line=lines[i].no,
            title=Clean(),
            section=current,
        )
        head = cut_fields(text, lines, i, i1, head_start, d)
        d.title = head.rstrip("。.")
        res.directions.append(d)


def _scan_two_level(
    lines: list[Line],
    res: ProfileResult,
    *,
    kind: str,
    section_re: re.Pattern[str],
    direction_re: re.Pattern[str],
    is_section: Callable[[Line, re.Match[str]], bool],
) -> list[tuple[str, int, object]]:
    """Scan ``N. section`` / ``N.M direction`` numbering that must run in sequence.

    A line is a section heading only when its number is the next one and ``is_section`` agrees; a
    direction only when it is the next ``N.M`` under the current section. So a stray ``3.8`` or ``2.``
    in running text is never taken for structure. Sections are appended to ``res``.

    Returns:
        The events ``("section", line index, section index)`` and
        ``("direction", line index, (code, title start offset))`` in document order.
    """
    events: list[tuple[str, int, object]] = []
    major = 0
    minor = 0
    for i, ln in enumerate(lines):
        m = section_re.match(ln.body)
        if m and int(m.group(1)) == major + 1 and is_section(ln, m):
            major += 1
            minor = 0
            res.sections.append(
                SectionDraft(title="", kind=kind, code=m.group(1), title_start=ln.body_off + m.start(2))
            )
            events.append(("section", i, len(res.sections) - 1))
            continue
        m = direction_re.match(ln.body)
        if m and major and int(m.group(1)) == major and int(m.group(2)) == minor + 1:
            minor += 1
            events.append(("direction", i, (f"{m.group(1)}.{m.group(2)}", ln.body_off + m.start(3))))
    return events


def parse_most_fields_markdown(text: str, lines: list[Line]) -> ProfileResult:
    """MOST guidelines converted to markdown: ``## 1.领域``, ``### 1.1 题目（…类）`` at any heading depth."""
    res = ProfileResult([], [])
    events = _scan_two_level(
        lines,
        res,
        kind="field",
        section_re=re.compile(r"^(\d{1,2})\s*[.、]\s*(?!\d)(\S.{0,30})$"),
        direction_re=re.compile(r"^(\d{1,2})\.(\d{1,2})(?!\d)\s*(.*)$"),
        is_section=lambda ln, _m: not LABEL_RE.match(ln.body),
    )
    _section_titles(text, lines, events, res)
    _cut_events(text, lines, events, res)
    for d in res.directions:
        d.title, d.category_raw = split_category_tail(d.title)
    return res


def parse_most_tasks(text: str, lines: list[Line]) -> ProfileResult:
    """MOST guidelines by task: ``1. 任务`` then ``1.1 题目`` (titles broken over lines and pages)."""
    res = ProfileResult([], [])
    events = _scan_two_level(
        lines,
        res,
        kind="task",
        section_re=re.compile(r"^(\d{1,2})\s*[.、]\s*(?!\d)(\S.*)$"),
        direction_re=re.compile(r"^(\d{1,2})\.(\d{1,2})(?!\d)\s*(\S.*)$"),
        is_section=lambda _ln, m: len(m.group(2)) < 60,
    )
    _section_titles(text, lines, events, res)
    _cut_events(text, lines, events, res)
    for d in res.directions:
        t, raw = split_category_tail(d.title)
        if raw:
            d.title, d.category_raw = t, raw
    codes, note = young_scientist_notes(text, lines, events[0][1] if events else len(lines))
    _mark_young(res, codes, note)
    return res


APP_CODE = re.compile(r"YX[A-Z]\d{4}")
DISCIPLINE = re.compile(r"[A-H]\d{4}")
SUPPORT_HEAD = re.compile(r"^\(([一二三四五六七八九十]+)\)\s*(重点项目|面上项目)\s*$")


def parse_gd_joint_fund(text: str, lines: list[Line]) -> ProfileResult:
    """Guangdong joint-fund guidelines: an overview table, then 专题 sections listing each direction again.

    Both listings are parsed and merged by 申报代码 into one direction with the union of their fields.
    """
    res = ProfileResult([], [])
    # 资助强度 per project type, from the preamble
    funding: dict[str, Funding] = {}
    heads: list[tuple[int, str]] = []  # (file offset, 重点项目 | 面上项目) of the preamble's type headings
    end = len(lines)
    for i, ln in enumerate(lines):
        m = SUPPORT_HEAD.match(ln.body)
        if m:
            heads.append((ln.start, m.group(2)))
        if re.match(r"^[一二三四五六七八九十]+、.*申报方向", ln.body):
            end = i
            break
    preamble = clean(text, 0, lines[end].start if end < len(lines) else len(text))
    for m, sentence in matches_with_sentences(
        preamble, r"资助强度为\s*(\d+(?:\.\d+)?)\s*(万元|亿元)\s*/\s*项"
    ):
        at = preamble.offsets[m.start()]
        current = [t for off, t in heads if off < at]
        if current and current[-1] not in funding:
            funding[current[-1]] = Funding(
                amount=float(m.group(1)), unit=m.group(2), scope="category", text=sentence
            )
    topic_re = re.compile(rf"^专题([{CN_NUM}]+)\s*:\s*(\S.*)$")
    # where the 专题 sections start: a 专题 heading followed by "本专题…"
    section_start = None
    for i, ln in enumerate(lines):
        if topic_re.match(ln.body):
            # the heading may be wrapped: look a few lines ahead, but not past a table row
            ahead = [ln2 for ln2 in lines[i + 1 : i + 12] if not ln2.blank][:4]
            for ln2 in ahead:
                if ln2.body.startswith("本专题"):
                    section_start = i
                    break
                if re.match(r"^\d", ln2.body) or APP_CODE.search(ln2.body):
                    break
            if section_start is not None:
                break
    if section_start is None:
        return res
    table_start = next(
        (i for i, ln in enumerate(lines[:section_start]) if re.match(r"^表\s*\d", ln.body)), section_start
    )
    table = parse_overview_table(text, lines, table_start, section_start)

    dir_re = re.compile(r"^(\d{1,2})\s*[.、]\s*(?!\d)(\S.*)$")
    code_re = re.compile(r"\(\s*申报代码\s*:\s*(YX[A-Z]\d{4})\s*[,、;]?\s*学科代码\s*:\s*([^)]*)\)")
    events: list[tuple[str, int, object]] = []
    support: str | None = None
    count = 0
    for i in range(section_start, len(lines)):
        ln = lines[i]
        m = topic_re.match(ln.body)
        if m:
            n = chinese_numeral(m.group(1))
            res.sections.append(
                SectionDraft(title="", kind="topic", code=str(n), title_start=ln.body_off + m.start(2))
            )
            events.append(("section", i, len(res.sections) - 1))
            support = None
            continue
        m = SUPPORT_HEAD.match(ln.body)
        if m:
            support = m.group(2)
            count = 0
            events.append(("support", i, support))
            continue
        m = dir_re.match(ln.body)
        if m and support and int(m.group(1)) == count + 1:
            count += 1
            events.append(("direction", i, (m.group(1), ln.body_off + m.start(2), support)))
    _section_titles(text, lines, events, res)
    current: int | None = None
    for k, (kind, i, payload) in enumerate(events):
        if kind == "section":
            current = payload  # type: ignore[assignment]
            continue
        if kind != "direction":
            continue
        _num, head_start, stype = payload  # type: ignore[misc]
        i1 = events[k + 1][1] if k + 1 < len(events) else len(lines)
        end = last_content_end(lines, i, i1)
        whole = clean(text, head_start, end)
        m = code_re.search(whole.folded)
        if not m:
            raise ParseProblem("direction without （申报代码：…，学科代码：…）", lines[i].no)
        app = m.group(1)
        d = DirectionDraft(
            code=app,
            start=lines[i].body_off,
            end=end,
            line=lines[i].no,
            title=whole.slice(0, m.start()).rstrip("。."),
            section=current,
        )
        d.application_code = app
        d.disciplines = DISCIPLINE.findall(m.group(2))
        content = whole.slice(m.end())
        if content.text:
            d.fields["content"] = content
        d.support_type = stype
        d.category_raw = stype
        d.funding = funding.get(stype)
        res.directions.append(d)
    # merge with the overview table: one direction per 申报代码, union of fields
    seen = {d.code for d in res.directions}
    for d in res.directions:
        row = table.get(d.code)
        if row is None:
            res.warnings.append(f"line {d.line}: {d.code} is not in the overview table")
            continue
        title, disciplines, line_no = row
        for x in disciplines:
            if x not in d.disciplines:
                d.disciplines.append(x)
        if not d.title.text:
            d.title = title
        elif re.sub(r"\s", "", title.text) != re.sub(r"\s", "", d.title.text):
            res.warnings.append(f"line {line_no}: overview title of {d.code} differs from its section title")
    for code, (title, disciplines, line_no) in table.items():
        if code not in seen:
            res.warnings.append(f"line {line_no}: {code} is only in the overview table")
            stype = "重点项目" if code.startswith("YXB") else "面上项目"
            d = DirectionDraft(
                code=code,
                start=title.span[0],
                end=title.span[1],
                line=line_no,
                title=title,
                support_type=stype,
                category_raw=stype,
                application_code=code,
                disciplines=list(disciplines),
                funding=funding.get(stype),
            )
            res.directions.append(d)
    return res


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
    f = clean(text, 0, len(text)).folded
    for pattern in _STATED_COUNTS:
        m = pattern.search(f)
        if m:
            return sum(chinese_numeral(g) for g in m.groups())
    return None


PROFILES: dict[str, Callable[[str, list[Line]], ProfileResult]] = {
    "nsfc_enumerated": parse_nsfc_enumerated,
    "most_categorised": parse_most_categorised,
    "most_fields_markdown": parse_most_fields_markdown,
    "most_tasks": parse_most_tasks,
    "gd_joint_fund": parse_gd_joint_fund,
}
