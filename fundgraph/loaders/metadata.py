"""Program metadata from a guideline's title lines: name, year, funder and status (征求意见稿 / 正式).

A guideline opens with its title, often broken over two or three lines (``国家重点研发计划“…”重点专项`` /
``2026 年度项目申报指南`` / ``（征求意见稿）``), next to the issuing body (``国家自然科学基金委员会``,
``临江市科学技术局``) and, on a web page, navigation and a ``来源：…`` line. :func:`infer_metadata` reads the
first lines of the text a reader gives (:mod:`loaders.readers`) and returns what it can tell; each field is
``None`` where the document does not say. The user's values (``fundgraph add --name …``) win over these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Words a guideline title ends with (after ``的通知`` and the draft marker are cut).
TITLE_WORDS = ("指南", "榜单", "研究方向", "选题", "通知", "公告", "申报", "项目", "课题")
#: A line that names an issuing body rather than the program: it ends with one of these.
BODY_ENDS = ("委员会", "科学部", "学部", "部", "厅", "局", "办公室", "政府", "委", "办", "协会", "管理局", "领导小组")
#: Bodies named inside a title (``云岭省卫生健康委医学科研课题指南`` → ``云岭省卫生健康委``).
BODY_IN_NAME = (
    re.compile(
        r"(?:^|年度)(?P<body>[\u4e00-\u9fff]{1,6}?[省市区县](?:卫生健康委员会|卫生健康委|科学技术厅|科学技术局|科技厅"
        r"|科技局|教育厅|教育局|自然科学基金委员会|中医药管理局|农业农村厅))"
    ),
    # an institute that runs its own program: ``北岭省医学影像创新研究院2026年度…``, ``2026年度东湖实验室…``
    re.compile(r"^(?P<body>[^“”\"]{2,30}(?:研究院|科学院|研究中心|实验室|研究所|大学|学院))(?=20\d\d\s*年)"),
    re.compile(r"年度(?P<body>[\u4e00-\u9fff]{2,12}?(?:研究院|科学院|研究中心|实验室|研究所))"),
)
#: Programs whose funder the name tells (the national ones every guideline names the same way).
FUNDER_OF_PROGRAM = (
    ("国家自然科学基金", "国家自然科学基金委员会"),
    ("国家重点研发计划", "科学技术部"),
    ("国家社会科学基金", "全国哲学社会科学工作办公室"),
)
DRAFT = re.compile(r"[(（]?\s*征\s*求\s*意\s*见\s*稿\s*[)）]?")
FINAL = re.compile(r"[(（]\s*正式(?:稿|版)?\s*[)）]")
YEAR = re.compile(r"(20\d\d)\s*年(?:度)?")
_MARKUP = re.compile(r"<[^>]*>|^\s*(?:#{1,6}\s*|>\s*)|\*\*|__|^\s*[-*]\s+")
_SOURCE = re.compile(
    r"(?:信息)?(?:来源|发布单位|发布机构|发文单位)\s*[:：]\s*(?P<body>[^\s　【】\]]+?)(?=[\s　【】\]]|$)"
)
_JUNK = re.compile(
    r"(当前位置|您的位置|现在的位置|首页\s*[>|]|网站首页|点击|浏览次数|阅读次数|发布时间|发布日期|字体|打印|关闭窗口|分享"
    r"|^附件\s*\d*\s*[:：]?$|^\d+$)"
)
_NOTICE = re.compile(r"^关于(?:发布|印发|公布|组织申报|组织开展|征集|开展)?(?P<core>.+?)(?:的)?(?:通知|公告)$")
_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+\s*[、.．]|[(（][一二三四五六七八九十]+[)）]|\d+\s*[.、．]\s*\S)")


@dataclass
class ProgramMetadata:
    """What a document's title lines say about its program (``None`` / empty where they say nothing)."""

    name: str | None = None
    year: int | None = None
    funder: list[str] = field(default_factory=list)
    status: str | None = None
    title_lines: list[int] = field(default_factory=list)

    @property
    def status_en(self) -> str | None:
        """The status in English (``draft for comments`` / ``final``)."""
        return {"征求意见稿": "draft for comments", "正式": "final"}.get(self.status or "")


def _unmarked(line: str) -> str:
    """A line without markup (HTML tags, markdown headings, bold), spaces kept."""
    return _MARKUP.sub("", _MARKUP.sub("", line).strip()).strip()


def _plain(line: str) -> str:
    """A line without markup, spaces next to Chinese characters removed (``2026 年度`` → ``2026年度``)."""
    return _CJK_SPACE.sub("", _unmarked(line)).strip()


def _bodies(s: str) -> list[str]:
    """The issuing bodies a line names: split at spaces and 、, and at — when every part is a body."""
    parts = [p for p in re.split(r"[\s　、,，]+", s) if p]
    out: list[str] = []
    for p in parts:
        dash = [q for q in re.split(r"[—–-]+", p) if q]
        out.extend(dash if len(dash) > 1 and all(q.endswith(BODY_ENDS) for q in dash) else [p])
    return out


def _is_body(s: str) -> bool:
    parts = _bodies(s)
    return bool(parts) and all(len(p) <= 24 and p.endswith(BODY_ENDS) for p in parts) and not _has_title_word(s)


def _has_title_word(s: str) -> bool:
    return any(w in s for w in ("指南", "榜单", "研究方向", "选题", "通知", "公告"))


def infer_metadata(lines: list[str], *, scan: int = 30) -> ProgramMetadata:
    """Name, year, funder and status from the first ``scan`` lines of a guideline.

    Args:
        lines: The document's lines (as :class:`~fundgraph.loaders.readers.DocumentText` gives them).
        scan: How many leading lines to read.
    """
    out = ProgramMetadata()
    head: list[tuple[int, str]] = []  # (line number, plain text) of the short lines before the body text
    raw_of: dict[int, str] = {}
    sources: list[str] = []
    for no, raw in enumerate(lines[: scan * 2], start=1):
        s = _plain(raw)
        if not s:
            continue
        raw_of[no] = _unmarked(raw)
        m = _SOURCE.search(raw_of[no])
        if m:
            sources.append(m.group("body"))
            continue
        if _JUNK.search(s) or s.startswith(("各", "说明")):
            continue
        if _HEADING.match(s) or len(s) > 80 or s.endswith(("。", "；", ":", "：")):
            if head:
                break  # the body text starts: the title block is over
            continue
        head.append((no, s))
        if len(head) >= 6:
            break
    if any(DRAFT.search(s) for _, s in head) or any(DRAFT.fullmatch(_plain(x)) for x in lines[:scan]):
        out.status = "征求意见稿"
    elif any(FINAL.search(s) for _, s in head):
        out.status = "正式"
    title_at = next((k for k, (_, s) in enumerate(head) if _has_title_word(DRAFT.sub("", s))), None)
    if title_at is not None:
        parts = [DRAFT.sub("", head[title_at][1]).strip()]
        used = [head[title_at][0]]
        k = title_at - 1
        # lines above the one that ends the title belong to it unless they name the issuing body
        while k >= 0 and len(parts) < 3:
            s = DRAFT.sub("", head[k][1]).strip()
            if not s or _is_body(s) or _has_title_word(s):
                break
            parts.insert(0, s)
            used.insert(0, head[k][0])
            k -= 1
        # a title line that ends with 专项/计划/基金 continues on the next line (``…专项`` / ``项目指南``)
        nxt = title_at + 1
        if nxt < len(head) and not parts[-1].endswith(TITLE_WORDS[:6]):
            s = DRAFT.sub("", head[nxt][1]).strip()
            if s and not _is_body(s) and len(s) <= 20 and s.endswith(TITLE_WORDS):
                parts.append(s)
                used.append(head[nxt][0])
        name = "".join(parts)
        notice = _NOTICE.match(name)
        if notice:
            name = notice.group("core")
        out.name = name.strip(" 　:：") or None
        out.title_lines = used
    text_for_year = out.name or " ".join(s for _, s in head)
    years = YEAR.findall(text_for_year)
    if years:
        out.year = int(years[0])
    # funder: a body line of the title block, a 来源 line, a body named in the title, a national program
    for no, s in head:
        if s and _is_body(DRAFT.sub("", raw_of[no])) and not out.funder:
            out.funder = _bodies(raw_of[no])
    if not out.funder and sources:
        out.funder = [sources[0]]
    for pattern in BODY_IN_NAME:
        m = pattern.search(out.name or "")
        if m and not out.funder:
            out.funder = [m.group("body")]
    if not out.funder and out.name:
        out.funder = [funder for word, funder in FUNDER_OF_PROGRAM if word in out.name][:1]
    return out
