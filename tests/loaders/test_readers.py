"""Format readers: the seeds rendered as .docx/.pdf/.html read back to the same directions; encodings; refusals."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pypdfium2 as pdfium
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from fundgraph.core.errors import GuidelineParseError, InputError, UnsupportedDocument
from fundgraph.core.paths import GUIDELINES_DIR
from fundgraph.loaders.corpus import parse_text, read_text
from fundgraph.loaders.readers import (
    DocumentFormat,
    _drop_running_lines,
    format_number,
    read_document,
)

SEED_FORMATS = Path(__file__).resolve().parent.parent / "data" / "seed_formats"
PROGRAMS = ["nsfc-tianyuan-sz-2023", "most-btit-2024", "most-stic-joint", "most-btit-2021", "gd-imaging-2026"]
FORMATS = {"docx": DocumentFormat.DOCX, "pdf": DocumentFormat.PDF, "html": DocumentFormat.HTML}
WEB_JUNK = ("当前位置", "首页", "点击数", "分享到", "版权所有", "上一篇", "下一篇", "备案号", "相关链接",
            "请输入关键字")


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], object]:
    return {(pid, ext): read_document(SEED_FORMATS / f"{pid}.{ext}") for pid in PROGRAMS for ext in FORMATS}


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize("program_id", PROGRAMS)
def test_every_direction_title_is_in_the_read_text(rendered, by_program, program_id, ext):
    doc = rendered[program_id, ext]
    assert doc.format is FORMATS[ext]
    flat = _flat("".join(ln for ln in doc.lines if ln.strip()))
    titles = [d.title for d in by_program[program_id].directions]
    assert titles and [t for t in titles if _flat(t) not in flat] == []


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize("program_id", PROGRAMS)
def test_read_text_parses_to_the_same_directions(rendered, by_program, program_id, ext):
    # What the parser gives once the lead wires readers in: the .txt parse's (code, title) list, in order.
    doc = rendered[program_id, ext]
    want = by_program[program_id]
    got = parse_text(doc.text, file=doc.path.name, program=want.program)
    assert [(d.code, d.title) for d in got.directions] == [(d.code, d.title) for d in want.directions]
    assert [d.id for d in got.directions] == [d.id for d in want.directions]


@pytest.mark.parametrize("program_id", PROGRAMS)
def test_pdf_drops_running_headers_and_page_numbers(rendered, by_program, program_id):
    doc = rendered[program_id, "pdf"]
    assert doc.page_count >= 5 and doc.pages is not None and len(doc.pages) == len(doc.lines)
    assert doc.pages == sorted(doc.pages) and doc.pages[0] == 1 and doc.pages[-1] == doc.page_count
    header = by_program[program_id].program.name[:40]  # the running header render_seeds.py prints
    assert _flat(header) not in {_flat(ln) for ln in doc.lines}
    page_numbers = re.compile(r"^(?:[-—]\s*\d+\s*[-—]|第\s*\d+\s*页|\d+\s*/\s*\d+|\d+)$")
    assert [ln for ln in doc.lines if page_numbers.match(ln.strip())] == []
    assert any("dropped" in w for w in doc.warnings)
    # The page of a line is where it is printed: the last direction title is on a late page.
    last = by_program[program_id].directions[-1].title
    k = max(i for i, ln in enumerate(doc.lines) if _flat(last)[:8] in _flat(ln))
    assert doc.page_of(k + 1) > doc.page_count // 2


@pytest.mark.parametrize("program_id", PROGRAMS)
def test_web_page_navigation_junk_is_dropped(rendered, program_id):
    doc = rendered[program_id, "html"]
    junk = [ln for ln in doc.lines if any(j in ln for j in WEB_JUNK) and "登录科学基金" not in ln]
    assert junk == []
    assert doc.encoding == "utf-8"


def test_docx_automatic_numbering_is_rendered(rendered):
    # The numbers of these paragraphs exist only in numbering.xml: Word computes them, so must we.
    with zipfile.ZipFile(SEED_FORMATS / "nsfc-tianyuan-sz-2023.docx") as z:
        body = z.read("word/document.xml").decode("utf-8")
    assert "（一）基于随机矩阵" not in body and ">基于随机矩阵极限理论的大模型机理研究。<" in body
    lines = rendered["nsfc-tianyuan-sz-2023", "docx"].lines
    assert "（一）基于随机矩阵极限理论的大模型机理研究。" in lines
    assert "（十四）基于核医学影像分析/判读的智能诊疗一体化基础模型与系统。" in lines
    # The .txt has a typo （十—）; Word's counter gives （十一）, as the parser reads it anyway.
    assert any(ln.startswith("（十一）颅内肿瘤") for ln in lines)

    with zipfile.ZipFile(SEED_FORMATS / "most-stic-joint.docx") as z:
        body = z.read("word/document.xml").decode("utf-8")
    assert ">1.1 " not in body and ">8." not in body
    lines = rendered["most-stic-joint", "docx"].lines
    assert "1.农业与粮食安全" in lines
    assert "1.1 未来老年功能食品的柔性增材制造技术与装备合作研究（共性关键技术类）" in lines
    assert any(ln.startswith("2.1 基于合成生物学原理") for ln in lines)  # level 2 restarts under each field


@pytest.mark.parametrize(
    ("n", "fmt", "expected"),
    [
        (1, "chineseCounting", "一"),
        (10, "chineseCounting", "十"),
        (11, "chineseCounting", "十一"),
        (23, "chineseCountingThousand", "二十三"),
        (3, "ideographTraditional", "丙"),
        (12, "ideographTraditional", "乙"),
        (3, "decimalEnclosedCircle", "③"),
        (20, "decimalEnclosedCircle", "⑳"),
        (21, "decimalEnclosedCircle", "21"),
        (2, "decimalEnclosedParen", "⑵"),
        (12, "decimalFullWidth", "１２"),
        (4, "upperRoman", "IV"),
        (14, "lowerRoman", "xiv"),
        (28, "lowerLetter", "bb"),
        (7, "decimalZero", "07"),
        (12, "chineseLegalSimplified", "拾贰"),
        (5, "decimal", "5"),
    ],
)
def test_format_number(n, fmt, expected):
    assert format_number(n, fmt) == expected


def _numbered_docx(path: Path) -> None:
    """An invented guideline: two-level automatic numbering, a restart, and a table between paragraphs."""
    d = docx.Document()
    numbering = d.part.numbering_part.element
    levels = (
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/>'
        '<w:suff w:val="space"/></w:lvl>'
    )
    numbering.insert(0, parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">{levels}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(parse_xml(
        f'<w:num {nsdecls("w")} w:numId="91"><w:abstractNumId w:val="90"/>'
        '<w:lvlOverride w:ilvl="2"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'))

    def para(text: str, num: str | None = None, ilvl: int = 0) -> None:
        p = d.add_paragraph(text)
        if num:
            p._p.get_or_add_pPr().append(parse_xml(
                f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num}"/></w:numPr>'))

    para("某市2025年度海洋装备科技计划项目申报指南")
    para("支持方向", "90", 0)
    para("深远海养殖装备", "90", 1)
    para("智能投喂系统研发", "90", 2)
    para("网箱结构健康监测", "90", 2)
    para("近海风电运维", "90", 1)
    para("运维机器人关键技术", "91", 2)  # another w:num restarting level 3 at 1
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("序号", "方向名称"), ("1", "海上浮式平台监测"), ("2", "水下机器人导航")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    para("申报要求", "90", 0)
    para("不是编号的一段说明。")
    d.save(str(path))


def test_docx_numbering_levels_restarts_and_tables_in_order(tmp_path):
    path = tmp_path / "指南.docx"
    _numbered_docx(path)
    doc = read_document(path)
    assert doc.format is DocumentFormat.DOCX and doc.encoding is None and doc.pages is None
    assert [ln for ln in doc.lines if ln] == [
        "某市2025年度海洋装备科技计划项目申报指南",
        "一、支持方向",
        "（一）深远海养殖装备",
        "1. 智能投喂系统研发",
        "2. 网箱结构健康监测",
        "（二）近海风电运维",
        "1. 运维机器人关键技术",
        "| 序号 | 方向名称 |",
        "| 1 | 海上浮式平台监测 |",
        "| 2 | 水下机器人导航 |",
        "二、申报要求",
        "不是编号的一段说明。",
    ]


def test_html_table_rows_and_declared_charset(tmp_path):
    page = (
        '<!doctype html><html><head><meta charset="gbk"><title>某市2025年度科技计划项目指南</title></head><body>'
        '<nav><a href="/">首页</a> <a href="/a">新闻</a></nav><div class="position">当前位置：首页 &gt; 通知公告</div>'
        "<div class=\"content\"><p>为加快推进本市海洋装备产业发展，现发布2025年度项目指南。</p><p>一、支持方向</p>"
        "<table><tr><th>序号</th><th>方向名称</th></tr><tr><td>1</td><td>深远海养殖平台智能投喂系统</td></tr>"
        "<tr><td>2</td><td>近海风电运维机器人关键技术</td></tr></table><p>二、申报要求</p>"
        "<p>申报单位应为本市注册的企业，具有独立法人资格。</p></div>"
        '<div class="share">分享到：微信 微博</div><div>点击数：12</div>'
        "<footer>版权所有 某市科技局</footer></body></html>"
    )
    path = tmp_path / "notice.htm"
    path.write_bytes(page.encode("gbk"))
    doc = read_document(path)
    assert doc.format is DocumentFormat.HTML and doc.encoding == "gb18030"
    assert doc.lines == [
        "为加快推进本市海洋装备产业发展，现发布2025年度项目指南。",
        "一、支持方向",
        "| 序号 | 方向名称 |",
        "| 1 | 深远海养殖平台智能投喂系统 |",
        "| 2 | 近海风电运维机器人关键技术 |",
        "二、申报要求",
        "申报单位应为本市注册的企业，具有独立法人资格。",
    ]


def test_running_lines_are_dropped_only_at_page_edges():
    def body(k: int) -> list[str]:
        season = "春夏秋冬"[k - 1]  # page text differs from page to page (digits would be masked)
        return [f"{season}季正文{c}" for c in "甲乙丙"] + ["2024"] + [f"{season}季正文{c}" for c in "丁戊"]

    pages = [["某市科技计划项目指南", *body(k), f"第 {k} 页"] for k in range(1, 5)]
    pages[2] = ["某市科技计划项目指南", "某市科技计划项目指南", *body(3)[1:], "7", "- 3 -"]  # title repeated in text
    lines, line_pages, warnings = _drop_running_lines(pages, Path("x.pdf"))
    assert lines.count("某市科技计划项目指南") == 1  # the header goes, the same words as page text stay
    assert not any(re.fullmatch(r"第 \d 页|- 3 -", ln) for ln in lines)
    assert lines.count("2024") == 4  # a number inside the page is text, not a page number
    assert "7" not in lines  # a bare number at the bottom of a page is its page number
    assert len(line_pages) == len(lines) and line_pages[0] == 1 and line_pages[-1] == 4
    assert lines[:6] == body(1)
    assert warnings and "dropped 9" in warnings[0]  # 4 headers, 3 × "第 k 页", "7", "- 3 -"


def test_two_page_document_keeps_lines_shared_by_chance():
    pages = [["申报指南", "正文甲"], ["申报指南", "正文乙"]]
    assert _drop_running_lines(pages, Path("x.pdf"))[0] == ["申报指南", "正文甲", "申报指南", "正文乙"]


# ---------------------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("program_id", ["gd-imaging-2026", "most-stic-joint"])
def test_the_same_text_in_every_encoding_reads_identically(tmp_path, entries, program_id):
    entry = next(e for e in entries if e.id == program_id)
    text = (GUIDELINES_DIR / entry.file).read_text(encoding="utf-8")
    encoded = {
        "utf-8": text.encode("utf-8"),
        "utf-8-sig": text.encode("utf-8-sig"),
        "gb18030": text.encode("gb18030"),
        "gbk": text.encode("gbk"),
        "utf-16": text.encode("utf-16"),  # with BOM
        "utf-16-le": text.encode("utf-16-le"),  # without BOM
        "utf-16-be": text.encode("utf-16-be"),
    }
    docs = {}
    for name, data in encoded.items():
        path = tmp_path / f"{name}.txt"
        path.write_bytes(data)
        docs[name] = read_document(path)
    for name, doc in docs.items():
        assert doc.format is DocumentFormat.TEXT
        assert doc.lines == docs["utf-8"].lines, name
        assert doc.text == text.replace("\r\n", "\n"), name
    assert docs["utf-8"].encoding == "utf-8" and docs["utf-8-sig"].encoding == "utf-8-sig"
    assert docs["gbk"].encoding == docs["gb18030"].encoding == "gb18030"
    assert docs["utf-16"].encoding.startswith("utf_16")
    # Today's warning when GBK is decoded, and none for Unicode encodings.
    assert docs["gbk"].warnings == [f"{'gbk.txt'}: not UTF-8; decoded as GBK (GB18030)"]
    assert all(not docs[n].warnings for n in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_text_reads_as_todays_reader(tmp_path, texts, encoding):
    path = tmp_path / "seed.md"
    for text in texts.values():
        path.write_bytes(text.encode(encoding))
        old_text, old_warnings = read_text(path)
        doc = read_document(path)
        assert doc.text == old_text and doc.warnings == old_warnings


# ------------------------------------------------------------------------------------------- refusals


def _blank_pdf(path: Path) -> None:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    pdf.new_page(595, 842)
    pdf.save(str(path))


def _zip(path: Path, names: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "<x/>")


@pytest.mark.parametrize(
    ("name", "make", "what", "todo"),
    [
        ("slides.ppt", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
         "old binary Office (.xls/.ppt)", "save it as .docx or as PDF with text"),
        ("guide.wps", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
         "WPS file", "save it as .docx"),
        ("guides.zip", lambda p: _zip(p, ["a.docx", "b.pdf"]), "zip archive", "unzip it"),
        ("slides.pptx", lambda p: _zip(p, ["ppt/presentation.xml"]), "presentation",
         "save the guideline text as .docx"),
        ("guide.odt", lambda p: _zip(p, ["content.xml"]), "OpenDocument text", "save the guideline text as .docx"),
        ("table.xlsx", lambda p: _zip(p, ["xl/workbook.xml"]), "damaged or protected spreadsheet", "save it again"),
        ("scan.pdf", _blank_pdf, "PDF with no text layer (2 pages", "run OCR"),
        ("scan.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), "image (a scan)", "run OCR"),
        ("empty.txt", lambda p: p.write_bytes(b""), "empty file", "saved completely"),
        ("blank.md", lambda p: p.write_bytes(b" \n\t\n"), "empty file", "saved completely"),
        ("broken.pdf", lambda p: p.write_bytes(b"%PDF-1.7\nnot really a pdf\n"), "PDF", "save it again"),
        ("noise.txt", lambda p: p.write_bytes(bytes(range(0x80, 0x100)) * 4), "not text", "UTF-8 text"),
    ],
)
def test_unsupported_input_says_what_is_supported_and_what_to_do(tmp_path, name, make, what, todo):
    path = tmp_path / name
    make(path)
    with pytest.raises(UnsupportedDocument) as err:
        read_document(path)
    msg = str(err.value)
    # The file, and the line where there is one to point at (an empty file: 1; undecodable bytes: their line).
    assert re.match(rf"{re.escape(str(path))}(:\d+)?: ", msg) and "\n" not in msg
    assert what in msg and todo in msg
    assert ("fundgraph reads .txt/.md (UTF-8, GB18030/GBK, UTF-16), .docx, .pdf with a text layer, .html/.htm, "
            ".xlsx/.xls/.ods; .doc/.rtf with LibreOffice") in msg
    assert isinstance(err.value, InputError) and isinstance(err.value, GuidelineParseError)
    assert err.value.code == "unsupported_document" and err.value.status_code == 422
    assert err.value.detail["file"] == str(path)


def test_missing_file_is_a_parse_error_naming_it(tmp_path):
    with pytest.raises(GuidelineParseError, match="cannot read file") as err:
        read_document(tmp_path / "nope.pdf")
    assert "nope.pdf" in str(err.value)


def test_format_is_told_by_content_not_extension(tmp_path):
    src = SEED_FORMATS / "most-btit-2021.pdf"
    disguised = tmp_path / "guide.txt"
    disguised.write_bytes(src.read_bytes())
    assert read_document(disguised).format is DocumentFormat.PDF
    page = tmp_path / "page.txt"
    page.write_text("<!DOCTYPE html><html><body><article><p>" + "某某方向研究内容说明。" * 20
                    + "</p></article></body></html>", encoding="utf-8")
    assert read_document(page).format is DocumentFormat.HTML
