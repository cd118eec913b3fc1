"""Layout inference: find a guideline's direction list from its text alone, and parse it.

One engine replaces the per-document parsing profiles. It works in four steps:

1. **Marks.** Every line is matched against the numbering schemes of :data:`SCHEMES` (``一、`` ``（一）``
   ``1.`` ``1.1`` ``（1）`` ``①`` ``方向一：`` ``专题1`` …) on its folded, markup-free body, and against the
   rows of markdown or HTML tables with a 序号 column.
2. **Regions.** A heading such as 研究方向 / 支持方向 / 选题 / 课题指南 opens a candidate region, closed by
   the next heading of the same rank; sections such as 申报条件 / 资助方式 / 联系方式 are excluded zones,
   so their numbered lists never become directions.
3. **Scoring.** Each scheme's marks are read as numbering sequences (1, 2, 3 … restarting at 1; ``N.M``
   under ``N``); a stray number that breaks the sequence is ignored. Each candidate list is scored on
   its length, on the field labels (研究内容 / 考核指标 …), field sub-headings repeated under each item
   (（一）研究目标 （二）主要研究内容 …) or application codes that follow its items, on
   sitting under a direction heading, and is penalised when it is introduced by a colon sentence that is
   not about directions (``应同时满足以下条件：``). The best (region, scheme) wins; a scheme ranked above
   it that numbers the lines between its runs becomes the section level, and category lines
   (``重点攻关类：``, ``（一）重点项目``) become category markers.
4. **Records.** Each direction's lines are cut into title and fields; the title ends at the first of
   line end (wrapped PDF lines are joined), 。, a field label, a bracketed code annotation (``（申报代码：…）``,
   ``（申请代码1选择E01）``) or a ``：`` (unless a one-off subtitle follows it). Category tails, notes,
   funding sentences, young-scientist notes and a duplicated overview table (merged by 申报代码) are
   handled by the same rules for every document. A title cell of an HTML table drops its tags (``<br/>`` joins
   lines) and ends at a code annotation too; category tails end in 类 / 项目 / 选题 / 课题 / 专项.

An enumeration that restarts at 1 under every item of a keyword list naming directions (方向一 … with
（1）（2） under each), with no field label or code between its items, is those items' content, not a direction list.

The result is a :class:`~fundgraph.loaders.parsers.ProfileResult` (what :func:`corpus.parse_text` turns
into records) plus a :class:`Layout` saying what was inferred. :data:`HINTS` holds per-document
configuration for documents inference alone cannot read; the five bundled documents need none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from fundgraph.loaders.parsers import (
    DISCIPLINE,
    LABEL_RE,
    SUPPORT_HEAD,
    DirectionDraft,
    Line,
    ProfileResult,
    SectionDraft,
    category_funding,
    cut_fields,
    last_content_end,
    matches_with_sentences,
    normalise_category,
    parse_overview_table,
    split_category_tail,
    split_lines,
    young_scientist_notes,
)
from fundgraph.loaders.records import Funding, Layout, Level
from fundgraph.loaders.text import Clean, chinese_numeral, clean, folded_document, to_chinese_numeral

CN = "一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

# ---------------------------------------------------------------------------------------------- schemes


@dataclass(frozen=True)
class Scheme:
    """A line-start numbering scheme: its name, how it is printed, its regex and its rank (0 = outermost)."""

    name: str
    shown: str
    pattern: re.Pattern[str]
    rank: int


_SEP = r"\s*[、.:]?\s*"
SCHEMES: tuple[Scheme, ...] = (
    Scheme("cn_dun", "一、", re.compile(rf"^(?P<n>[{CN}]{{1,3}})\s*[、.]\s*(?P<rest>.*)$"), 0),
    Scheme(
        "keyword",
        "方向一：",
        re.compile(
            rf"^(?P<kw>研究方向|方向|项目|课题|子课题|专题|任务|选题|榜单|题目)\s*(?:第\s*)?"
            rf"(?P<n>[{CN}]{{1,3}}|\d{{1,2}})(?![\d{CN}])\s*[、.:)]?\s*(?P<rest>.*)$"
        ),
        1,
    ),
    Scheme("cn_paren", "（一）", re.compile(rf"^\((?P<n>[{CN}—－\-]{{1,3}})\){_SEP}(?P<rest>.*)$"), 2),
    Scheme(
        "ar_dotted",
        "1.1",
        re.compile(r"^(?P<major>\d{1,2})\.(?P<n>\d{1,2})(?![\d.])\s*[、.:]?\s*(?P<rest>.*)$"),
        3,
    ),
    Scheme("ar_dot", "1.", re.compile(r"^(?P<n>\d{1,2})\s*[.、:]\s*(?!\d)(?P<rest>.*)$"), 3),
    Scheme("ar_paren", "（1）", re.compile(rf"^\((?P<n>\d{{1,2}})\){_SEP}(?P<rest>.*)$"), 4),
    Scheme("circled", "①", re.compile(rf"^(?P<n>[{CIRCLED}])\s*[、.:]?\s*(?P<rest>.*)$"), 5),
    Scheme(
        "ar_space",
        "1 ",
        re.compile(r"^(?P<n>\d{1,2})\s+(?P<rest>[\u4e00-\u9fff](?![个项种套篇年月日次名家人万亿倍例台件类位])\S.*)$"),
        6,
    ),
)
SCHEME = {s.name: s for s in SCHEMES}
#: Schemes whose mark at a line start cannot be the wrapped rest of a title (``2.5米`` or ``10 米`` can).
ITEM_SCHEMES = ("cn_dun", "cn_paren", "ar_dot", "ar_paren", "circled")

#: Words of a heading that opens the direction list.
DIRECTION_HEADINGS = (
    "研究方向",
    "支持方向",
    "拟资助方向",
    "资助方向",
    "申报方向",
    "指南方向",
    "领域和方向",
    "选题",
    "课题指南",
    "项目指南",
    "核心科学问题",
    "研究内容",
    "榜单",
    "攻关方向",
    "研究任务",
    "重点任务",
    "课题方向",
    "招标课题",
)
#: Words of a heading that opens a section whose numbered lists are not directions.
STOP_HEADINGS = (
    "申报对象",
    "申报条件",
    "申请条件",
    "申报要求",
    "申请要求",
    "申报资格",
    "资助方式",
    "资助强度",
    "申报材料",
    "申请材料",
    "材料报送",
    "提交材料",
    "材料提交",
    "材料要求",
    "时间安排",
    "时间要求",
    "联系方式",
    "联系人",
    "绩效管理",
    "注意事项",
    "组织实施",
    "申报程序",
    "申报方式",
    "申报流程",
    "评审",
    "知识产权",
    "经费管理",
    "其他事项",
    "有关要求",
    "工作要求",
    "限项",
    "总体要求",
    "总体目标",
    "科学目标",
    "基金简介",
    "申报说明",
    "申报办法",
    "申报须知",
    "项目管理",
    "资助计划",
)
#: Web-page navigation lines (treated as blank).
WEB_JUNK = re.compile(
    r"^(当前位置|您的位置|首页\s*>|.*点击数|.*浏览次数|.*(?:作者|编辑|来源|发布时间)\s*:.*(?:作者|编辑|点击|来源|时间)"
    r"|.*分享到|【\s*字体|.*打印本页|.*关闭窗口|【\s*打印|上一篇|下一篇)"
)
#: An attachment's prefix before a heading: 附： / 附件1： / 附录：.
ATTACHMENT = re.compile(r"^附(?:件|录)?\s*\d{0,2}\s*:\s*(?=\S)")
CATEGORY_LINE = re.compile(r"^(重点攻关类|常规支持类|青年科学家项目|青年科学家|[^\s:]{2,8}类)\s*:\s*$")
CODE_MARK = re.compile(
    r"\(\s*申报代码\s*:\s*(?P<app>[A-Z]{1,4}\d{3,6})\s*[,、;]?\s*(?:学科代码\s*:\s*(?P<disc>[^)]*))?\)"
)
#: A bracketed code annotation closing a title, whatever its label and form: （申报代码：JC01）, （申请代码1选择E01）,
#: （项目编号：…）, 【指南代码：…】. The bracket ends the title as a whole (its colon is no title end).
CODE_NOTE = re.compile(r"[(【\[]\s*[^()【】\[\]]{0,6}?(?:代码|编号|代号)[^()【】\[\]]*[)】\]]")
INLINE_LABEL = re.compile(r"(?:研究内容|考核指标|预期指标|技术指标|关键词|有关说明)\s*:")
NOTE_LINE = re.compile(r"^\(\s*注\s*:")
#: A "label: value" line (需求单位：… / 榜单金额：… / 联系人：…): a field of the item, never a wrapped title line.
FIELD_LINE = re.compile(r"^[\u4e00-\u9fff]{2,6}\s*:\s*\S")
SENTENCE_END = "。；;!！?？"


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Hints:
    """Configuration for what inference cannot see in a document's text (none of the bundled documents needs one).

    Attributes:
        direction_scheme: Only this numbering scheme (a :data:`SCHEMES` name, or ``table``) numbers directions.
        section_kind: Kind of every section (``field`` 领域, ``task`` 任务, ``topic`` 专题, ``group``), where the
            document does not say (``本专项共设 3 个任务``).
        category_raw: Category of every direction that has none of its own (``交叉重点专项项目``).
        support_type: Support type that goes with ``category_raw`` (``重点项目群``).
    """

    direction_scheme: str | None = None
    section_kind: str | None = None
    category_raw: str | None = None
    support_type: str | None = None


#: Hint sets by name: a manifest ``profile:`` names one, and ``fundgraph parse --like P`` uses P's. ``auto`` is
#: inference alone. The other names are the layouts of the five bundled guidelines (once five hand-written
#: profiles): the documents themselves parse identically with ``auto``; the hints say what a document in the same
#: layout may leave unsaid (the kind of its sections, its category), so manifests naming a layout keep working.
HINTS: dict[str, Hints] = {
    "auto": Hints(),
    # NSFC 专项: ``二、资助研究方向`` then ``（一）题目。`` + one paragraph + ``（注：…）``
    "nsfc_enumerated": Hints(direction_scheme="cn_paren", category_raw="交叉重点专项项目", support_type="重点项目群"),
    # MOST 重点专项 by category: ``重点攻关类：`` then ``1. 题目`` + labelled fields
    "most_categorised": Hints(direction_scheme="ar_dot"),
    # MOST converted to markdown: ``## 1.领域``, ``### 1.1 题目（…类）``
    "most_fields_markdown": Hints(direction_scheme="ar_dotted", section_kind="field"),
    # MOST by task: ``1. 任务`` then ``1.1 题目`` (titles broken over lines and pages)
    "most_tasks": Hints(direction_scheme="ar_dotted", section_kind="task"),
    # Guangdong joint fund: overview table, then ``专题一：`` sections listing ``1. 题目（申报代码：…）`` again
    "gd_joint_fund": Hints(direction_scheme="ar_dot", section_kind="topic"),
}


# ---------------------------------------------------------------------------------------------- marks


@dataclass
class Mark:
    """A numbered line: which scheme, which number, where its text starts."""

    i: int
    scheme: str
    n: int
    major: int | None
    code: str
    rest: str
    head_start: int
    kw: str | None = None
    fixed: str | None = None  # a numeral read with a fix (（十—） → （十一）)
    raw: str = ""  # the numeral as printed
    field: bool = False  # a field sub-heading repeated under each item (（一）研究目标 （二）主要研究内容 …)


def _numeral(s: str) -> tuple[int, str | None] | None:
    if s in CIRCLED:
        return CIRCLED.index(s) + 1, None
    fixed = re.sub(r"[—－\-]", "一", s)
    try:
        return chinese_numeral(fixed), (fixed if fixed != s else None)
    except (KeyError, ValueError):
        return None


def find_marks(lines: list[Line]) -> list[Mark]:
    """Every numbered line, once per scheme it matches."""
    out: list[Mark] = []
    for i, ln in enumerate(lines):
        if ln.blank:
            continue
        for s in SCHEMES:
            m = s.pattern.match(ln.body)
            if not m:
                continue
            got = _numeral(m.group("n"))
            if got is None:
                continue
            n, fixed = got
            major = int(m.group("major")) if s.name == "ar_dotted" else None
            if s.name == "cn_paren":
                code = f"（{to_chinese_numeral(n)}）"
            elif s.name == "ar_dotted":
                code = f"{major}.{n}"
            elif s.name == "circled":
                code = m.group("n")
            elif s.name == "cn_dun":
                code = to_chinese_numeral(n)
            elif s.name == "ar_paren":
                code = f"（{n}）"
            else:
                code = str(n)
            kw = m.groupdict().get("kw")
            if kw:
                code = f"{kw}{m.group('n')}"
            out.append(
                Mark(i, s.name, n, major, code, m.group("rest"), ln.body_off + m.start("rest"), kw, fixed, m.group("n"))
            )
    _mark_field_headings(lines, out)
    return out


def _mark_field_headings(lines: list[Line], marks: list[Mark]) -> None:
    """Flag field sub-headings: the same set of short numbered headings under each of several items.

    ``（一）研究目标 （二）主要研究内容 （三）预期成果`` under every ``一、`` item are the fields of those items: they
    open no direction list and are no directions, and they show that the items above them are directions. Under each
    item of a scheme ranked above, two or more short whole-line headings of one scheme carry the same number and words
    as under another item; a title list never repeats so (a list given twice, an overview then the text, has no item
    above each copy reading it, and titles wrapped at a narrow width are no whole lines).
    """
    wrap = _wrap_width(lines)
    for scheme in SCHEMES:
        if scheme.name == "keyword":
            continue
        above = [m.i for m in marks if SCHEME[m.scheme].rank < scheme.rank]
        segments: dict[int, list[Mark]] = {}
        for m in marks:
            # "（一）重点项目 （二）面上项目" under each 专题 are categories, not fields
            if m.scheme == scheme.name and normalise_category(m.rest) is None:
                parent = max((i for i in above if i < m.i), default=-1)
                segments.setdefault(parent, []).append(m)
        heads: list[list[tuple[tuple[int, str], Mark]]] = []
        for parent, seg in segments.items():
            sig = [((m.n, re.sub(r"[\s:。.]", "", m.rest)), m) for m in seg]
            if (
                parent >= 0
                and len(sig) >= 2
                and all(1 < len(w) <= 12 for (_n, w), _m in sig)
                and all(_width(lines[m.i]) < 0.85 * wrap for m in seg)
            ):
                heads.append(sig)
        # a heading under two items or more; an item may leave one out (no （四）经费与期限 under the last)
        counts: dict[tuple[int, str], int] = {}
        for sig in heads:
            for key in dict.fromkeys(k for k, _m in sig):
                counts[key] = counts.get(key, 0) + 1
        for sig in heads:
            shared = [m for k, m in sig if counts[k] >= 2]
            if len(shared) >= 2:
                for m in shared:
                    m.field = True


# ---------------------------------------------------------------------------------------------- regions


def _is_heading(ln: Line, mark: Mark | None) -> bool:
    body = mark.rest if mark else ln.body
    body = body.strip().rstrip(":")
    if LABEL_RE.match(ln.body) and len(ln.body) > 8:
        return False
    return 1 < len(body) <= 24 and "。" not in body and "," not in body and "，" not in body


def _has(words: tuple[str, ...], s: str) -> bool:
    return any(w in s for w in words)


@dataclass
class Region:
    """A candidate span of lines for the direction list."""

    start: int
    end: int
    heading: str | None = None
    heading_line: int | None = None


def _zones(text: str, lines: list[Line], marks: list[Mark]) -> tuple[list[tuple[int, int, str]], list[Region]]:
    """Excluded (stop) zones and direction-heading regions."""
    by_line: dict[int, list[Mark]] = {}
    for mk in marks:
        by_line.setdefault(mk.i, []).append(mk)
    heads: list[tuple[int, int, str, str]] = []  # (line, rank, kind, text)
    style: dict[int, str] = {}  # markup of heading lines: "**一、…**" and plain "一、…" are different levels
    top = 0  # the last 一、 heading number
    wrap = _wrap_width(lines)
    for i, ln in enumerate(lines):
        if ln.blank:
            continue
        if any(m.field for m in by_line.get(i, [])):
            continue
        mks = [m for m in by_line.get(i, []) if m.scheme not in ("ar_dotted", "ar_space")]
        mk = min(mks, key=lambda m: SCHEME[m.scheme].rank) if mks else None
        if mk is None and not (ln.body.endswith(":") or ln.start != ln.body_off or len(ln.body) <= 14):
            continue
        body = ATTACHMENT.sub("", ln.body)  # "附：申报有关要求" is the heading 申报有关要求
        if mk is None and (_mid_sentence(_intro_line(lines, i)) or _continues(lines, i, wrap) or ":" in body[:-1]):
            continue  # the rest of a sentence broken over lines, or a sentence with a colon: not a heading
        textv = (mk.rest if mk else body).strip()
        if not _is_heading(ln, mk):
            # "三、资助方式与资助计划以重点项目群的方式资助，…": the next top-level number with its paragraph glued on
            if not (mk and mk.scheme == "cn_dun" and mk.n == top + 1 and top > 0):
                continue
            textv = re.split(r"[。，,;；:]", textv)[0][:12]
        if mk and mk.scheme == "cn_dun":
            top = mk.n
        rank = SCHEME[mk.scheme].rank if mk else -1
        raw = text[ln.start : ln.end].strip()
        style[i] = ("#" if raw.startswith("#") else "") + ("*" if "**" in raw else "")
        words = re.sub(r"\s", "", textv).rstrip(":")  # "说　明": a heading spaced out for the page
        stop = _has(STOP_HEADINGS, words) or words.endswith("说明")  # 说明 / 编制说明 / 填报说明
        if stop and not _has(("研究方向", "支持方向", "申报方向", "指南方向"), words):
            heads.append((i, rank, "stop", textv))
        elif _has(DIRECTION_HEADINGS, textv) and not textv.startswith(("研究内容:", "研究内容：")):
            heads.append((i, rank, "dir", textv))
        elif mk is not None and mk.scheme in ("cn_dun",):
            heads.append((i, rank, "other", textv))
    stops: list[tuple[int, int, str]] = []
    regions: list[Region] = []
    for k, (i, rank, kind, textv) in enumerate(heads):
        if kind == "other":
            continue
        end = len(lines)
        for j, r2, k2, _t in heads[k + 1 :]:
            if r2 == rank >= 0 and style[j] != style[i]:
                continue
            if rank < 0 and k2 == "other" and _continues_items(by_line, i, j):
                continue  # 研究方向 over 一、…：… items: a short "四、title" line is the next item, not a section
            if (rank >= 0 and 0 <= r2 <= rank) or (rank < 0 and (k2 in ("stop", "dir") or r2 == 0)):
                end = j
                break
            if kind == "dir" and k2 == "stop" and r2 <= rank + 1 and r2 >= 0 and rank >= 0 and r2 == rank:
                end = j
                break
        if kind == "stop":
            stops.append((i, _stop_end(lines, by_line, i, end), textv))
        else:
            regions.append(Region(i + 1, end, textv, lines[i].no))
    return stops, regions


def _continues_items(by_line: dict[int, list[Mark]], start: int, at: int) -> bool:
    """Whether the ``一、`` mark of line ``at`` continues the ``一、二、…`` marks of the lines between ``start`` and it.

    Under an unnumbered heading (研究方向) the directions may be ``一、`` items whose long lines (a title, a colon and
    its description) are not headings while a short one (``四、title``) is: that one is the next item.
    """
    scheme = "cn_dun"
    head = next((m for m in by_line.get(at, []) if m.scheme == scheme), None)
    if head is None:
        return False
    seen = [m.n for i in range(start + 1, at) for m in by_line.get(i, []) if m.scheme == scheme]
    return bool(seen) and seen == list(range(1, len(seen) + 1)) and head.n == len(seen) + 1


def _stop_end(lines: list[Line], by_line: dict[int, list[Mark]], start: int, end: int) -> int:
    """Where an excluded section really ends: before numbered items that carry 研究内容 / 考核指标 fields.

    Requirements, materials and contacts never carry those labels; a ``一、总体目标`` heading followed by no other
    ``二、`` heading would otherwise exclude the direction list that comes after its paragraph.
    """
    first = next((j for j in range(start + 1, end) if LABEL_RE.match(lines[j].body)), None)
    if first is None:
        return end
    k = first - 1
    while k > start and (lines[k].blank or k in by_line):
        k -= 1
    return k + 1 if any(j in by_line for j in range(k + 1, first)) else end


# ---------------------------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One reading of a region: the direction marks (in sequence), their score, and the scheme."""

    scheme: str
    marks: list[Mark]
    score: float
    region: Region
    table: list[TableRow] | None = None


def _accept_flat(marks: list[Mark], lines: list[Line]) -> list[list[Mark]]:
    """Runs of a flat scheme: 1, 2, 3 … in order; a restart at 1 opens a new run; strays are skipped.

    A ``1`` quoted in running text (``…参见本指南第`` / ``（一）方向的要求…``, a PDF line break before the
    numeral) is no restart: it continues a sentence, or the current run's next number comes before its own 2.
    """
    runs: list[list[Mark]] = []
    for k, mk in enumerate(marks):
        if runs and mk.n == runs[-1][-1].n + 1:
            runs[-1].append(mk)
        elif runs and runs[-1][-1].n + 1 < mk.n <= runs[-1][-1].n + 3 and _continued(marks, k, lines):
            runs[-1].append(mk)  # a skipped number (13, 15, 16 …): the list goes on
        elif mk.n == 1:
            if runs:
                want = runs[-1][-1].n + 1
                nxt = next((m.n for m in marks[k + 1 :] if m.n in (2, want)), None)
                if (nxt == want and want != 2) or _mid_sentence(_intro_line(lines, mk.i)):
                    continue
            runs.append([mk])
    return runs


def _continued(marks: list[Mark], k: int, lines: list[Line]) -> bool:
    """Mark k, a few numbers ahead of its run, is an item after a skipped number.

    The next mark follows it; or it is the last mark and reads like a title (no clause punctuation), where a stray
    number in running text ("（五）这是正文中误排的编号，不应…") reads like a sentence.
    """
    mk = marks[k]
    if _mid_sentence(_intro_line(lines, mk.i)):
        return False
    if k + 1 < len(marks):
        return marks[k + 1].n == mk.n + 1
    rest = mk.rest.strip().rstrip("。")
    return 0 < len(rest) <= 40 and not any(c in rest for c in "。，,；;:")


def _continues(lines: list[Line], i: int, wrap: int) -> bool:
    """Line i goes on from the line right above it: that one is full and ends mid-sentence (hard-wrapped text)."""
    if i == 0 or lines[i - 1].blank:
        return False
    prev = lines[i - 1]
    return _width(prev) >= 0.85 * wrap and not prev.body.endswith(tuple(SENTENCE_END + ":"))


def _mid_sentence(prev: str) -> bool:
    """The line before is prose cut mid-sentence: it holds sentence punctuation but does not end with any."""
    return bool(prev) and any(c in prev for c in "。，；,;") and not prev.endswith(tuple(SENTENCE_END + ":"))


def _accept_dotted(marks: list[Mark]) -> list[list[Mark]]:
    """``N.M`` marks in sequence: 1.1 1.2 … 2.1 … (one run)."""
    run: list[Mark] = []
    for mk in marks:
        if not run:
            if mk.n == 1:
                run.append(mk)
            continue
        last = run[-1]
        if (mk.major == last.major and mk.n == last.n + 1) or (
            mk.major is not None and last.major is not None and mk.major == last.major + 1 and mk.n == 1
        ):
            run.append(mk)
    return [run] if run else []


def _intro_line(lines: list[Line], i: int) -> str:
    j = i - 1
    while j >= 0 and lines[j].blank:
        j -= 1
    return lines[j].body if j >= 0 else ""


def _item_quality(lines: list[Line], mk: Mark, nxt: int, fields: set[int]) -> float:
    """How much the item reads like a direction: 1 for a title; 2 with fields or a code after it; less for prose."""
    q = 1.0
    rest = mk.rest.strip()
    if not rest:
        q -= 0.5
    span = range(mk.i, min(nxt, mk.i + 60))
    # an application code closing the title, however many lines the title is broken over
    near = "".join(lines[j].body for j in range(mk.i, min(nxt, mk.i + 16)) if not lines[j].blank).split("。")[0]
    if (
        any(LABEL_RE.match(lines[j].body) or j in fields for j in span if j != mk.i)
        or "申报代码" in near
        or CODE_NOTE.search(near)
    ):
        q += 1.0
    code = CODE_NOTE.search(rest)
    head = rest[: code.start()] if code else rest.split("。")[0]  # the title ends at （申报代码…）
    if len(head) > 60 or (("，" in head or "," in head) and len(head) > 30):
        q -= 0.6
    if LABEL_RE.match(rest):
        q -= 1.0
    return q


def _score_runs(
    lines: list[Line], runs: list[list[Mark]], region: Region, fields: set[int]
) -> tuple[float, list[Mark]]:
    scored: list[tuple[float, list[Mark], list[float]]] = []
    for run in runs:
        intro = _intro_line(lines, run[0].i)
        above = next((j for j in range(run[0].i - 1, -1, -1) if not lines[j].blank), -1)
        if above in fields:
            continue  # the numbered points of a field (（二）主要研究内容 then 1. 2. 3.): content, not directions
        qs = [
            _item_quality(lines, mk, run[k + 1].i if k + 1 < len(run) else region.end, fields)
            for k, mk in enumerate(run)
        ]
        s = sum(qs)
        if intro.endswith(":") and not _has(("方向", "选题", "课题", "项目", "题目", "内容", "问题", "任务"), intro):
            s *= 0.3
        if len(run) == 1 and s < 1.5:
            continue
        if s < 0.5 * len(run):
            continue  # every item a long sentence (a numbered 说明 / requirements paragraph list): no titles
        scored.append((s, run, qs))
    # where whole runs carry fields or codes after every item, a run with none after any item is another kind of list
    # (申报要求 一、二、 after 一、 directions with their （一）研究目标 …)
    if len(scored) > 1 and any(all(q >= 2 for q in qs) for _s, _r, qs in scored):
        scored = [x for x in scored if any(q >= 2 for q in x[2])]
    return sum(s for s, _r, _q in scored), [m for _s, run, _q in scored for m in run]


#: Keywords that name a direction itself (方向一 / 课题1 …), not a group of directions (专题 / 领域).
DIRECTION_KEYWORDS = ("方向", "研究方向", "课题", "子课题", "任务", "项目", "选题", "榜单", "题目")


def _inner_content(lines: list[Line], inner: Candidate, parent: Candidate) -> bool:
    """``inner`` is an enumeration inside each item of ``parent`` (方向一 … then （1）（2）…): content, not directions.

    The parent numbers directions by a keyword (方向N / 课题N / 任务N / 项目N …); the inner list restarts at 1
    under every parent item that has one (under at least half of them, and at least twice), and its items carry
    no field label or code of their own between them: the fields belong to the parent item.
    """
    if parent.scheme != "keyword" or parent.marks[0].kw not in DIRECTION_KEYWORDS or inner is parent:
        return False
    if inner.scheme in ("keyword", "table") or len(parent.marks) < 2:
        return False
    bounds = [m.i for m in parent.marks] + [inner.region.end]
    runs = 0
    for a, b in pairwise(bounds):
        items = [m for m in inner.marks if a < m.i < b]
        if not items:
            continue
        if [m.n for m in items] != list(range(1, len(items) + 1)):
            return False
        if any(CODE_NOTE.search(m.rest) or "申报代码" in m.rest for m in items):
            return False
        if any(LABEL_RE.match(lines[j].body) for j in range(items[0].i + 1, items[-1].i)):
            return False
        runs += 1
    if any(m.i < parent.marks[0].i for m in inner.marks):
        return False
    return runs >= 2 and 2 * runs >= len(parent.marks)


def _in_zone(i: int, stops: list[tuple[int, int, str]]) -> bool:
    return any(a <= i < b for a, b, _ in stops)


def _candidates(
    lines: list[Line], marks: list[Mark], region: Region, stops: list[tuple[int, int, str]]
) -> list[Candidate]:
    inside = [m for m in marks if region.start <= m.i < region.end and not _in_zone(m.i, stops) and not m.field]
    fields = {m.i for m in marks if m.field}
    out: list[Candidate] = []
    for s in SCHEMES:
        # one sequence per keyword: 专题一 专题二 … and 方向1 方向2 … are two lists, never one
        for kw in dict.fromkeys(m.kw for m in inside if m.scheme == s.name):
            ms = [m for m in inside if m.scheme == s.name and m.kw == kw]
            runs = _accept_dotted(ms) if s.name == "ar_dotted" else _accept_flat(ms, lines)
            score, kept = _score_runs(lines, runs, region, fields)
            if s.name == "ar_space":
                score *= 0.6
            if kept:
                out.append(Candidate(s.name, sorted(kept, key=lambda m: m.i), score, region))
    return out


# ---------------------------------------------------------------------------------------------- tables

_TITLE_COLS = ("名称", "方向", "题目", "选题", "课题", "榜单", "项目", "内容", "任务")
#: The other columns of a direction table, by header words, first match wins: the fields a row fills (``category``
#: and ``funding`` become the direction's category and funding). 研究内容 before 内容 (a 项目 title column is
#: taken first), 考核指标 before 指标.
_FIELD_COLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("metrics", ("考核指标", "预期目标", "预期成果", "预期指标", "绩效目标", "技术指标", "指标")),
    ("keywords", ("关键词",)),
    ("category", ("类别", "类型")),
    ("funding", ("经费", "资助强度", "资助额度", "资助金额", "金额")),
    ("content", ("研究内容", "主要内容", "建设内容", "攻关内容", "需求描述", "任务描述", "内容")),
)
_UNIT = re.compile(r"(万元|亿元|元)")


class TableRow(NamedTuple):
    """A direction row of a table: its 序号 mark, its title cell and the cells of the other named columns."""

    mark: Mark
    title: Clean
    fields: dict[str, Clean]
    #: The funding column's header (``支持经费（万元）``): the unit of cells that give a bare number.
    funding_header: str = ""


def _cell_funding(cell: Clean, header: str) -> Funding | None:
    """The amount of a funding cell (``不超过150万元``; a bare ``200`` in the header's unit), else None (``2年``)."""
    f = cell.folded
    m = re.search(r"(\d+(?:\.\d+)?)\s*(万元|亿元|元)", f) or re.fullmatch(r"\s*(\d+(?:\.\d+)?)()\s*", f)
    u = (m.group(2) if m else None) or ((h := _UNIT.search(header)) and h.group(1))
    if not m or not u:
        return None
    return Funding(amount=float(m.group(1)), unit=u, scope="direction", text=f"{header}：{cell.text}")


def _table_rows(text: str, lines: list[Line], region: Region) -> list[TableRow]:
    """Rows of a markdown or HTML table with a 序号 column inside the region, with their named columns' cells.

    Cells are placed on the table's column grid: an HTML cell with ``rowspan`` (a 专题 column merged over
    its rows) or ``colspan`` keeps the columns of the rows it covers where they are. A category cell left empty
    under a filled one (merged over the rows below it in a .docx or a spreadsheet) is the one above.
    """
    rows: list[TableRow] = []
    cols: tuple[int, int] | None = None  # (序号 column, title column)
    named_cols: dict[int, str] = {}  # column → field (_FIELD_COLS)
    funding_header = ""
    category: Clean | None = None
    spans: dict[int, int] = {}  # column → rows still covered by a cell spanning down into them
    for i in range(region.start, region.end):
        ln = lines[i]
        raw = text[ln.body_off : ln.end]
        cells = _grid(_cells(raw, ln.body_off), spans)
        if not cells:
            if not raw.strip().startswith("<") or "</table" in raw:
                cols = None if not raw.strip() or "</table" in raw else cols
                if cols is None:
                    spans.clear()
            continue
        names = [text[a:b].strip() if a is not None else "" for a, b in cells]
        if any(n.replace(" ", "") == "序号" for n in names):
            no = next(k for k, n in enumerate(names) if n.replace(" ", "") == "序号")
            # the title column: a named one after 序号 first (a merged 项目类别 column may come before it)
            named = [k for k, n in enumerate(names) if k != no and _has(_TITLE_COLS, n)]
            tc = next((k for k in named if k > no), named[0] if named else None)
            cols = (no, tc if tc is not None else no + 1)
            named_cols, funding_header, category = {}, "", None
            for k, n in enumerate(names):
                field_name = next((f for f, words in _FIELD_COLS if _has(words, n)), None)
                if k not in cols and field_name and field_name not in named_cols.values():
                    named_cols[k] = field_name
                    funding_header = n if field_name == "funding" else funding_header
            continue
        if cols is None or max(cols) >= len(cells) or cells[cols[0]][0] is None or cells[cols[1]][0] is None:
            continue
        num = text[cells[cols[0]][0] : cells[cols[0]][1]].strip()
        if not num.isdigit():
            continue
        a, b = cells[cols[1]]
        title = _cell_title(clean(text, a, b))
        mk = Mark(i, "table", int(num), None, num, title.text, a)
        fields: dict[str, Clean] = {}
        for k, field_name in named_cols.items():
            cell = clean(text, *cells[k]) if k < len(cells) and cells[k][0] is not None else Clean()
            if field_name == "category":
                category = cell if cell.text else category
                cell = category or cell
            if cell.text:
                fields[field_name] = cell
        rows.append(TableRow(mk, title, fields, funding_header))
    return rows


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,60}>")


def _cell_title(cell: Clean) -> Clean:
    """A title cell's text: tags inside it dropped (``<br/>`` joins two lines), cut at a bracketed code annotation.

    The title ends where a title line of text would: at a code annotation (``（申报代码：…）``) or a 。.
    """
    keep = [True] * len(cell.text)
    for m in _TAG.finditer(cell.text):
        keep[m.start() : m.end()] = [False] * (m.end() - m.start())
    text = "".join(c for c, k in zip(cell.text, keep, strict=True) if k)
    offs = [o for o, k in zip(cell.offsets, keep, strict=True) if k]
    title = Clean(text, offs)
    f = title.folded
    code = CODE_MARK.search(f) or CODE_NOTE.search(f)
    if code:
        title = title.slice(0, code.start())
    return title.rstrip("。.")


def _grid(cells: list[tuple[int, int, int, int]], spans: dict[int, int]) -> list[tuple[int | None, int | None]]:
    """Place one row's cells (start, end, rowspan, colspan) on the column grid; covered columns are (None, None)."""
    if not cells:
        return []
    out: list[tuple[int | None, int | None]] = []
    col = 0
    queue = list(cells)
    while queue or any(c >= col and n > 0 for c, n in spans.items()):
        if spans.get(col, 0) > 0:
            spans[col] -= 1
            out.append((None, None))
            col += 1
            continue
        if not queue:
            break
        a, b, down, across = queue.pop(0)
        for _ in range(across):
            if down > 1:
                spans[col] = down - 1
            out.append((a, b))
            col += 1
    return out


_CELL_MD = re.compile(r"\|([^|]*)")
_CELL_HTML = re.compile(r"<t[dh](?P<attrs>[^>]*)>(?P<inner>.*?)</t[dh]>", re.S)
_SPAN_ATTR = re.compile(r"""(rowspan|colspan)\s*=\s*["']?(\d+)""")


def _cells(raw: str, off: int) -> list[tuple[int, int, int, int]]:
    """Cells of a markdown or HTML table row: (start, end, rowspan, colspan), offsets in the file."""
    s = raw.strip()
    if s.startswith("|"):
        lead = raw.index("|")
        out = []
        for m in _CELL_MD.finditer(raw, lead):
            if m.end() >= len(raw.rstrip()) and not m.group(1).strip():
                break
            a, b = m.start(1), m.end(1)
            out.append((off + a, off + b, 1, 1))
        if out and all(re.fullmatch(r"\s*:?-{2,}:?\s*", raw[a - off : b - off]) for a, b, _d, _c in out):
            return []
        return out
    if "<td" in s or "<th" in s:
        out = []
        for m in _CELL_HTML.finditer(raw):
            a, b = m.start("inner"), m.end("inner")
            inner = raw[a:b]
            # skip tags inside the cell (<p>, <span>)
            while inner.startswith("<") and ">" in inner:
                k = inner.index(">") + 1
                a += k
                inner = inner[k:]
            while inner.endswith(">") and "<" in inner:
                k = inner.rindex("<")
                b -= len(inner) - k
                inner = inner[:k]
            attrs = dict((k.lower(), int(v)) for k, v in _SPAN_ATTR.findall(m.group("attrs")))
            out.append((off + a, off + b, max(1, attrs.get("rowspan", 1)), max(1, min(attrs.get("colspan", 1), 20))))
        return out
    return []


# ---------------------------------------------------------------------------------------------- inference


@dataclass
class Inference:
    """The chosen reading of a document."""

    layout: Layout
    directions: list[Mark]
    sections: list[Mark] = field(default_factory=list)
    categories: list[tuple[int, str]] = field(default_factory=list)  # (line index, raw category)
    table: dict[int, TableRow] | None = None
    region: Region | None = None
    stops: list[tuple[int, int, str]] = field(default_factory=list)
    overview: tuple[int, int] | None = None  # lines of an overview table listing the directions again
    list_end: int | None = None  # the next section's line after the last direction ("（三）集成项目。" with none)
    colon_separates: bool = False  # most items read "title：content" on their first line


def infer(text: str, lines: list[Line], hints: Hints | None = None) -> Inference:
    """Infer the layout of a document: regions, the direction scheme, sections and category markers."""
    hints = hints or Hints()
    for ln in lines:
        if WEB_JUNK.match(ln.body):
            ln.page = True
    marks = find_marks(lines)
    stops, regions = _zones(text, lines, marks)
    whole = Region(0, len(lines))
    best: Candidate | None = None
    for region in [*regions, whole]:
        if region is whole and best is not None and len(best.marks) >= 2:
            break  # a list under a direction heading beats any list elsewhere
        cands = _candidates(lines, marks, region, stops)
        rows = [r for r in _table_rows(text, lines, region) if not _in_zone(r.mark.i, stops)]  # not 时间安排's table
        if len(rows) >= 2:
            cands.append(Candidate("table", [r.mark for r in rows], 2.0 * len(rows) + 1, region, rows))
        if hints.direction_scheme:
            cands = [c for c in cands if c.scheme == hints.direction_scheme]
        else:
            cands = [c for c in cands if not any(_inner_content(lines, c, p) for p in cands)]
        for c in cands:
            bonus = 1.5 if region.heading else 0.0
            c.score += bonus
            if best is None or c.score > best.score + 1e-9:
                best = c
    layout = Layout(excluded_sections=[t for _a, _b, t in stops])
    if best is None:
        return Inference(layout, [], stops=stops)
    region = best.region
    layout.heading, layout.heading_line = region.heading, region.heading_line
    layout.end_line = lines[region.end - 1].no if region.end > 0 else None
    layout.score = round(best.score, 2)
    inf = Inference(layout, best.marks, region=region, stops=stops)
    if best.table is not None:
        inf.table = {r.mark.i: r for r in best.table}
        layout.levels.append(
            Level(
                role="direction",
                scheme="table",
                shown="序号",
                count=len(best.marks),
                first_line=lines[best.marks[0].i].no,
            )
        )
        return inf
    first, last = best.marks[0].i, best.marks[-1].i
    # category markers: "重点攻关类：" lines, or numbered lines whose text is a category ("（一）重点项目")
    for i in range(region.start, region.end):
        ln = lines[i]
        if ln.blank or _in_zone(i, stops):
            continue
        m = CATEGORY_LINE.match(ln.body)
        if m and (normalise_category(m.group(1)) is not None or i < last):
            inf.categories.append((i, m.group(1)))
            continue
        m2 = SUPPORT_HEAD.match(ln.body)
        if m2 and best.scheme != "cn_paren":
            inf.categories.append((i, m2.group(2)))
    cat_lines = {i for i, _ in inf.categories}
    # sections: a scheme ranked above the directions' that numbers lines among them, in sequence
    if best.scheme == "ar_dotted":
        majors = {m.major for m in best.marks}
        sec = []
        for mk in marks:
            if mk.scheme != "ar_dot" or not region.start <= mk.i < region.end or mk.i > last:
                continue
            if (
                mk.n in majors
                and mk.n == len(sec) + 1
                and len(mk.rest) <= 60
                and "。" not in mk.rest
                and not LABEL_RE.match(mk.rest)
            ):
                sec.append(mk)
        inf.sections = sec
    else:
        inf.sections = _section_marks(text, lines, marks, best, region, stops, cat_lines)
        if inf.sections and any(s.kw == "专题" for s in inf.sections):
            inf.overview = _overview_zone(lines, inf.sections[0].i, first)
    if inf.overview:
        a, b = inf.overview
        inf.directions = [m for m in inf.directions if not a <= m.i < b]
        layout.overview_table = True
    colons = sum(":" in m.rest.rstrip(":") for m in inf.directions)
    inf.colon_separates = colons >= max(2, len(inf.directions) / 2)
    if inf.sections and inf.directions:
        s_last, d_last = inf.sections[-1], inf.directions[-1].i
        inf.list_end = next(
            (
                m.i
                for m in marks
                if m.scheme == s_last.scheme and m.kw == s_last.kw and m.n == s_last.n + 1 and d_last < m.i < region.end
            ),
            None,
        )
    if inf.sections:
        s0 = inf.sections[0]
        layout.levels.append(
            Level(
                role="section",
                scheme=s0.scheme,
                shown=f"{s0.kw}一：" if s0.kw else SCHEME[s0.scheme].shown,
                count=len(inf.sections),
                first_line=lines[s0.i].no,
            )
        )
    if inf.categories:
        layout.levels.append(
            Level(
                role="category",
                scheme="line",
                shown=inf.categories[0][1],
                count=len(inf.categories),
                first_line=lines[inf.categories[0][0]].no,
            )
        )
    d0 = inf.directions[0] if inf.directions else best.marks[0]
    layout.levels.append(
        Level(
            role="direction",
            scheme=best.scheme,
            shown=f"{d0.kw}一" if d0.kw else SCHEME[best.scheme].shown,
            count=len(inf.directions),
            first_line=lines[d0.i].no,
        )
    )
    return inf


def _section_marks(
    text: str,
    lines: list[Line],
    marks: list[Mark],
    best: Candidate,
    region: Region,
    stops: list[tuple[int, int, str]],
    cat_lines: set[int],
) -> list[Mark]:
    """Marks of the best scheme ranked above the directions that head groups of them, in sequence."""
    d_rank = SCHEME[best.scheme].rank
    first, last = best.marks[0].i, best.marks[-1].i
    dset = {m.i for m in best.marks}
    options: list[list[Mark]] = []
    d_kw = best.marks[0].kw
    for s in SCHEMES:
        # 专题一 over 方向1: another keyword of the directions' own scheme may head them
        same = s.name == best.scheme == "keyword"
        if (s.rank >= d_rank and not same) or s.name in ("ar_dotted", "ar_space"):
            continue
        ms = [
            m
            for m in marks
            if m.scheme == s.name
            and not (same and m.kw == d_kw)
            and region.start <= m.i <= last
            and m.i not in dset
            and m.i not in cat_lines
            and not _in_zone(m.i, stops)
            and len(m.rest) <= 40
            and "。" not in m.rest.rstrip("。")  # "（一）培育项目。": a heading may close with a full stop
            # "（一）重点项目" is a category line; "专题一：青年科学家项目" is a section whatever its title
            and (m.kw is not None or normalise_category(m.rest) is None)
        ]
        # must sit before the first direction or between directions, and number in sequence
        ms = [m for m in ms if m.i >= first - 40]
        # one sequence per keyword: 专题一 专题二 …, never a "方向 4 个" broken onto a line of its own between them
        for kw in dict.fromkeys(m.kw for m in ms):
            seq: list[Mark] = []
            for m in ms:
                if m.kw != kw:
                    continue
                if m.n == len(seq) + 1:
                    seq.append(m)
                elif m.n == 1 and seq and s.name == "keyword":
                    # a second listing (an overview table, then the sections): keep the later one
                    seq = [m]
            if seq and (len(seq) >= 2 or seq[0].i < first):
                # a section must head at least one direction
                if any(seq[0].i < d.i for d in best.marks):
                    options.append(seq)
    if not options:
        return []
    return max(options, key=lambda seq: (len(seq), -SCHEME[seq[0].scheme].rank))


def _overview_zone(lines: list[Line], section_start: int, first_direction: int) -> tuple[int, int] | None:
    """An overview table (``表 1 …``) before the first section that lists the directions again."""
    for i in range(section_start - 1, -1, -1):
        if re.match(r"^表\s*\d", lines[i].body):
            return (i, section_start) if i <= first_direction else None
    return None


# ---------------------------------------------------------------------------------------------- records


def _width(ln: Line) -> int:
    """A line's printed width: its body and its indentation (a paragraph's first line is indented)."""
    return len(ln.body) + min(ln.body_off - ln.start, 4)


def _hard_wrapped(lines: list[Line], wrap: int) -> bool:
    """Paragraphs are broken at a fixed width (PDF text): prose lines that are full and end mid-sentence.

    Numbered lines are left out (a title is full and ends without punctuation in any document); measured on the
    dev set and the seeds, unwrapped documents stay under 0.1, wrapped ones from 0.14 up.
    """
    n = cut = 0
    for k, ln in enumerate(lines[:-1]):
        if ln.blank or any(s.pattern.match(ln.body) for s in SCHEMES):
            continue
        j = k + 1
        while j < len(lines) - 1 and lines[j].blank and j - k < 3:  # double-spaced PDF text
            j += 1
        if lines[j].blank:
            continue
        n += 1
        cut += _width(ln) >= 0.85 * wrap and not ln.body.endswith(tuple(SENTENCE_END + ":"))
    return n > 0 and cut / n >= 0.1


def _wrap_width(lines: list[Line]) -> int:
    lens = sorted(_width(ln) for ln in lines if not ln.blank and len(ln.body) > 8)
    return lens[int(len(lens) * 0.8)] if lens else 40


def _title(
    text: str,
    head: Clean,
    lines: list[Line],
    i: int,
    i1: int,
    labelled: bool,
    wrap: int,
    wrapped: bool = False,
    subtitles: bool = False,
) -> tuple[Clean, Clean]:
    """Split a direction's head into (title, rest); with ``subtitles`` a ``：`` may open one (:func:`_subtitle`)."""
    f = head.folded
    code = CODE_MARK.search(f) or CODE_NOTE.search(f)
    dot = f.find("。")
    if code and (dot < 0 or code.start() < dot):
        return head.slice(0, code.start()).rstrip("。."), head.slice(code.end())
    if labelled and dot < 0:
        return head.rstrip("。."), Clean()
    # title lines: the first line, and wrapped continuations of full lines
    stop = len(f)
    j = i
    off_end = lines[i].end
    double = sum(ln.blank for ln in lines) > 0.4 * len(lines)  # double-spaced PDF text
    while True:
        body = lines[j].body
        if body.endswith(tuple(SENTENCE_END + ":")):
            break
        k = j + 1
        while k < i1 and lines[k].blank and double:
            k += 1
        if k >= i1 or lines[k].blank or LABEL_RE.match(lines[k].body) or FIELD_LINE.match(lines[k].body):
            break
        nxt = lines[k].body
        if any(SCHEME[n].pattern.match(nxt) for n in ITEM_SCHEMES):
            break  # a numbered line is an item of its own (one after a skipped number), never a title's tail
        dot_at = nxt.find("。")
        clause = not any(c in nxt[:dot_at] for c in "，,；;:")
        # wrapped text: a title broken before its closing 。 ("…的大" / "模型机理研究。"), on a line no longer than it
        if wrapped and clause and dot_at == len(nxt) - 1 and len(nxt) <= len(body):
            j, off_end = k, lines[k].end
            break
        if _width(lines[j]) < 0.85 * wrap:
            break
        # the title's last piece, then its first sentence (a title ending in 。 before any comma): join and stop
        ends_here = wrapped and 0 < dot_at <= wrap and clause
        if not ends_here and any(c in nxt for c in "。，,；;") and not (nxt.endswith("。") and len(nxt) < 0.5 * wrap):
            break
        j = k
        off_end = lines[j].end
        if ends_here:
            break
    for p, o in enumerate(head.offsets):
        if o >= off_end:
            stop = p
            break
    cut = min(x for x in (stop, dot if dot >= 0 else stop) if x >= 0)
    semi = re.search("[;；]", f[:cut])
    if semi:
        cut = semi.start()
    # a field label or a table cell break on the title line itself ("题目 研究内容：…", "1\t题目\t代码")
    inline = INLINE_LABEL.search(f, 1, cut)
    # past the 。 or ；, not past a next line's first character
    rest_at = cut + 1 if cut < len(f) and f[cut] in "。;；" else cut
    if inline:
        cut, rest_at = inline.start(), inline.end()
    gap = next((p for p in range(1, cut) if "\t" in text[head.offsets[p - 1] : head.offsets[p]]), None)
    if gap:
        cut = rest_at = gap
    colon = f.find(":", 0, cut)
    if 0 < colon and not (subtitles and _subtitle(f[colon + 1 : stop])):
        cut, rest_at = colon, colon + 1
    return head.slice(0, cut).rstrip("。."), head.slice(max(rest_at, cut))


#: Words that open a sentence of content rather than a subtitle.
CONTENT_OPENING = re.compile(
    r"(?:研究|开展|针对|围绕|面向|聚焦|重点|主要|包括|建立|揭示|突破|研发|开发|构建|探索|要求)"
)


def _subtitle(after: str) -> bool:
    """The words after a title's ``：`` are its subtitle (``涉外法治人才培养：现状、问题与路径``), not its content.

    A subtitle is a short phrase that ends the title line: no sentence punctuation (``：制种机械化率达到80%以上。``
    is content), no field label, and it does not open a sentence of content (``：围绕…开展研究`` / ``：研究…``).
    Only in a list where a colon is the exception: where most items read ``题目：内容``, every colon separates.
    """
    after = after.strip()
    return (
        0 < len(after) <= 20
        and not any(c in after for c in "，,；;。:!！?？")
        and not INLINE_LABEL.match(after)
        and not CONTENT_OPENING.match(after)
    )


def _support_type(raw: str | None) -> str | None:
    if not raw:
        return None
    s = re.sub(r"类$", "", raw)
    t = re.sub(r"项目$", "", s)
    return t if len(t) > 2 else s


def _section_kind(text: str, sec: Mark) -> str:
    if sec.kw == "专题":
        return "topic"
    if sec.kw == "任务":
        return "task"
    if sec.kw == "领域":
        return "field"
    # whitespace dropped: the words may be broken over lines anywhere ("三项任\n务")
    m = re.search(rf"(?:\d+|[{CN}]+)(?:个|项|大)(领域|任务|专题)", re.sub(r"\s+", "", text))
    if m:
        return {"领域": "field", "任务": "task", "专题": "topic"}[m.group(1)]
    return "group"


def parse_layout(text: str, lines: list[Line] | None = None, hints: Hints | None = None) -> ProfileResult:
    """Infer the layout and parse the directions (the ``auto`` profile)."""
    return parse_with_layout(text, lines, hints)[0]


def parse_with_layout(
    text: str, lines: list[Line] | None = None, hints: Hints | None = None
) -> tuple[ProfileResult, Layout]:
    """Infer the layout and parse: (drafts, layout); the drafts carry the layout too (``ProfileResult.layout``)."""
    hints = hints or Hints()
    lines = lines if lines is not None else split_lines(text)
    inf = infer(text, lines, hints)
    res = ProfileResult([], [], layout=inf.layout)
    if not inf.directions:
        return res, inf.layout
    region = inf.region
    assert region is not None
    wrap = _wrap_width(lines)
    wrapped = _hard_wrapped(lines, wrap)
    # events in document order
    events: list[tuple[int, str, object]] = []
    for mk in inf.sections:
        kind = hints.section_kind or _section_kind(text, mk)
        res.sections.append(SectionDraft(title="", kind=kind, code=str(mk.n), title_start=mk.head_start))
        events.append((mk.i, "section", len(res.sections) - 1))
    use_cat_sections = not inf.sections and inf.categories
    for i, raw in inf.categories:
        if use_cat_sections:
            res.sections.append(SectionDraft(title=raw, kind="category_group"))
            events.append((i, "section", len(res.sections) - 1))
        else:
            events.append((i, "category", raw))
    for mk in inf.directions:
        events.append((mk.i, "direction", mk))
    events.sort(key=lambda e: e[0])
    first_event = events[0][0]
    # the list ends at the region end or at an excluded section after the last direction
    stop = region.end
    last_dir = inf.directions[-1].i
    if inf.list_end is not None:
        stop = inf.list_end
    for a, _b, _t in inf.stops:
        if last_dir < a < stop:
            stop = a
    _section_titles_ev(text, lines, events, res, stop)
    current: int | None = None
    category: str | None = None
    for k, (i, kind, payload) in enumerate(events):
        if kind == "section":
            current = payload  # type: ignore[assignment]
            category = res.sections[current].title if use_cat_sections else None
            continue
        if kind == "category":
            category = payload  # type: ignore[assignment]
            continue
        mk: Mark = payload  # type: ignore[assignment]
        i1 = events[k + 1][0] if k + 1 < len(events) else stop
        d = _direction(text, lines, mk, i, i1, (wrap, wrapped), inf, res)
        d.section = current
        if category:
            d.category_raw = category
            d.support_type = _support_type(category)
        t, raw = split_category_tail(d.title)
        if raw:
            d.title, d.category_raw = t, raw
        res.directions.append(d)
    _qualify_restarts(res)
    _program_rules(text, lines, res, inf, first_event, stop, hints)
    if inf.overview:
        _merge_overview(text, lines, inf, res)
    _check_skips(lines, inf, res)
    _check_end(text, lines, res, inf)
    inf.layout.levels[-1].count = len(res.directions)
    return res, inf.layout


def _qualify_restarts(res: ProfileResult) -> None:
    """Numbering that restarts in each section (1. 2. … under （一）, 1. 2. … under （二）): qualify the codes.

    A direction's code becomes ``<section>-<code>`` (the section's code, or its ordinal for a category group without
    one); a restart with no section line above it is qualified by the ordinal of its run. Ids stay unique.
    """
    def unique() -> bool:
        codes = [d.code for d in res.directions]
        return len(set(codes)) == len(codes)

    if unique():
        return
    for d in res.directions:
        if d.section is not None and d.application_code is None:
            d.code = f"{res.sections[d.section].code or d.section + 1}-{d.code}"
    if unique():
        return
    run, seen = 1, set()
    for d in res.directions:
        if d.section is not None or d.application_code is not None:
            continue
        if d.code in seen:
            run, seen = run + 1, set()
        seen.add(d.code)
        d.code = f"{run}-{d.code}"


def _section_titles_ev(
    text: str, lines: list[Line], events: list[tuple[int, str, object]], res: ProfileResult, stop: int
) -> None:
    for k, (i, kind, payload) in enumerate(events):
        if kind != "section":
            continue
        s = res.sections[payload]  # type: ignore[index]
        if s.title_start is None:
            continue
        nxt = events[k + 1][0] if k + 1 < len(events) else stop
        j = i + 1
        # a heading closed by its own 。 or ： ("（一）培育项目。") does not run on into the paragraph below
        closed = lines[i].body.endswith(tuple(SENTENCE_END + ":"))
        while j < nxt and not (closed or lines[j].body.startswith("本专题") or "。" in lines[j].body):
            j += 1
        s.title = clean(text, s.title_start, last_content_end(lines, i, j)).rstrip("。.").text


def _direction(
    text: str,
    lines: list[Line],
    mk: Mark,
    i: int,
    i1: int,
    wrap: tuple[int, bool],
    inf: Inference,
    res: ProfileResult,
) -> DirectionDraft:
    if mk.fixed:
        res.warnings.append(f"line {lines[i].no}: numeral （{mk.raw}） read as （{mk.fixed}）")
    end = last_content_end(lines, i, i1)
    d = DirectionDraft(code=mk.code, start=lines[i].body_off, end=end, line=lines[i].no, title=Clean())
    if inf.table is not None:
        row = inf.table[i]
        d.start = lines[i].body_off
        d.end = lines[i].end
        d.title = row.title
        for name, cell in row.fields.items():
            if name == "category":
                d.category_raw = cell.text
                d.support_type = _support_type(cell.text)
            elif name == "funding":
                d.funding = _cell_funding(cell, row.funding_header)
            else:
                d.fields[name] = cell
        return d
    note_lines = [j for j in range(i + 1, i1) if NOTE_LINE.match(lines[j].body)]
    main_end = note_lines[0] if note_lines else i1
    head = cut_fields(text, lines, i, main_end, mk.head_start, d)
    labelled = bool(d.fields)
    title, rest = _title(text, head, lines, i, main_end, labelled, *wrap, subtitles=not inf.colon_separates)
    d.title = title
    m = CODE_MARK.search(head.folded)
    if m:
        d.code = d.application_code = m.group("app")
        d.disciplines = DISCIPLINE.findall(m.group("disc") or "")
    if rest.text and "content" not in d.fields:
        d.fields["content"] = rest
    for j in note_lines:
        jn = next((x for x in note_lines if x > j), i1)
        nend = last_content_end(lines, j, jn) if jn > j else lines[j].end
        note = clean(text, lines[j].body_off, nend).lstrip("(").rstrip(")")
        note = note.lstrip("注").lstrip(":")
        d.notes.append(note.text)
        d.fields.setdefault("notes", note)
        fm = re.search(r"(\d+(?:\.\d+)?)\s*(万元|亿元)", note.folded)
        if fm and "经费" in note.text:
            d.funding = Funding(amount=float(fm.group(1)), unit=fm.group(2), scope="direction", text=note.text)
    return d


def _program_rules(
    text: str,
    lines: list[Line],
    res: ProfileResult,
    inf: Inference,
    first_event: int,
    stop: int,
    hints: Hints,
) -> None:
    """Document-wide statements applied to every direction: category, funding, young-scientist notes."""
    pre_clean = clean(text, 0, lines[first_event].start)
    # "本交叉重点专项项目拟资助以下研究方向" / "以重点项目群的方式资助"
    cat = hints.category_raw
    sup = hints.support_type
    if cat is None:
        m = re.search(r"本([^\s,，。、本]{2,12}?项目)拟资助以下", pre_clean.folded)
        cat = m.group(1) if m else None
    if sup is None:
        m = re.search(r"以([^\s,，。、]{2,8}?)的方式资助", folded_document(text))
        sup = m.group(1) if m and cat else None
    if cat:
        for d in res.directions:
            if d.category_raw is None:
                d.category_raw = cat
                d.support_type = sup
    # funding stated for the whole program after the list ("每项200万元")
    program_funding: Funding | None = None
    if stop < len(lines):
        tail = clean(text, lines[stop].start, len(text))
        for m, sentence in matches_with_sentences(tail, r"每项\s*(\d+(?:\.\d+)?)\s*(万元|亿元)"):
            program_funding = Funding(amount=float(m.group(1)), unit=m.group(2), scope="program", text=sentence)
            break
    # funding per category stated in the preamble
    by_cat = category_funding(text, lines, first_event)
    by_support = _support_funding(text, lines, inf)
    for d in res.directions:
        if d.funding is None and d.category_raw and normalise_category(d.category_raw) in by_cat:
            d.funding = by_cat[normalise_category(d.category_raw)]
        if d.funding is None and d.support_type in by_support:
            d.funding = by_support[d.support_type]
        if d.funding is None:
            d.funding = program_funding
    codes, note = young_scientist_notes(text, lines, first_event)
    if note:
        for d in res.directions:
            if d.code in codes:
                d.notes.insert(0, note)


def _support_funding(text: str, lines: list[Line], inf: Inference) -> dict[str, Funding]:
    """资助强度 per project type (``（一）重点项目`` … ``资助强度为 50万元/项``) stated before the list."""
    upto = inf.region.start if inf.region else 0
    if inf.layout.heading_line is None:
        return {}
    upto = inf.layout.heading_line - 1
    heads = [(ln.start, m.group(2)) for ln in lines[:upto] if (m := SUPPORT_HEAD.match(ln.body))]
    if not heads:
        return {}
    preamble = clean(text, 0, lines[upto].start)
    out: dict[str, Funding] = {}
    for m, sentence in matches_with_sentences(preamble, r"资助强度为\s*(\d+(?:\.\d+)?)\s*(万元|亿元)\s*/\s*项"):
        at = preamble.offsets[m.start()]
        current = [t for off, t in heads if off < at]
        if current and current[-1] not in out:
            out[current[-1]] = Funding(amount=float(m.group(1)), unit=m.group(2), scope="category", text=sentence)
    return out


def _merge_overview(text: str, lines: list[Line], inf: Inference, res: ProfileResult) -> None:
    """Merge the overview table's rows into the directions listed again below it, by 申报代码."""
    assert inf.overview is not None
    a, b = inf.overview
    table = parse_overview_table(text, lines, a, b)
    seen = {d.code for d in res.directions}
    funding = {d.support_type: d.funding for d in res.directions if d.support_type}
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
        if code in seen:
            continue
        res.warnings.append(f"line {line_no}: {code} is only in the overview table")
        stype = "重点项目" if code.startswith("YXB") else "面上项目"
        res.directions.append(
            DirectionDraft(
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
        )


def _check_skips(lines: list[Line], inf: Inference, res: ProfileResult) -> None:
    """Say where the numbering skips a number (13, 15): the list goes on, but an item may be missing."""
    for a, b in pairwise(inf.directions):
        if a.scheme == b.scheme and a.kw == b.kw and a.major == b.major and b.n > a.n + 1:
            res.warnings.append(f"line {lines[b.i].no}: numbering skips from {a.code} to {b.code}")


def _check_end(text: str, lines: list[Line], res: ProfileResult, inf: Inference) -> None:
    """A document cut off inside its last direction: drop that direction and say where the text stops."""
    if not res.directions or inf.table is not None:
        return
    last = res.directions[-1]
    j = len(lines) - 1
    while j >= 0 and lines[j].blank:
        j -= 1
    if j < 0 or lines[j].start > last.end or lines[j].end < last.end:
        return
    body = lines[j].body
    if body.endswith(tuple(SENTENCE_END + ')）」”"')) or body.startswith("关键词"):
        return
    if not last.fields and lines[j].no == last.line:
        prev = res.directions[-2] if len(res.directions) > 1 else None
        if prev is None or not prev.fields:
            return  # a list of one-line titles: the last one is complete
        res.directions.pop()
        res.warnings.append(
            f"line {lines[j].no}: the document ends inside the title of direction {last.code}; left out"
        )
        return
    res.warnings.append(f"line {lines[j].no}: the document ends inside direction {last.code} (line {last.line})")


#: Every parser a manifest ``profile:`` may name: inference with one hint set of :data:`HINTS` (``auto``: none).
PARSERS: dict[str, Callable[[str, list[Line]], ProfileResult]] = {
    name: (lambda text, lines, _h=h: parse_layout(text, lines, _h)) for name, h in HINTS.items()
}
