"""Render the five bundled seed guidelines as .docx, .pdf and .html test fixtures (tests/data/seed_formats/).

    python scripts/render_seeds.py            # needs python-docx, `chromium` and `soffice` (LibreOffice) on PATH
    python scripts/render_seeds.py --doc-only # only the .doc and .rtf, from the .docx already there

* .docx (python-docx): one paragraph per non-blank line; markdown ``#`` lines become Word headings and
  ``- `` lines bullet-list paragraphs. Two seeds use Word automatic numbering instead of typed numbers:
  nsfc-tianyuan-sz-2023 its direction list (``（%1）``, chineseCounting) and most-stic-joint its fields and
  directions (``%1.`` / ``%1.%2``, two levels), so the numbers exist only in numbering.xml.
* .pdf: an A4 HTML rendering printed by headless Chromium, with a running header and page numbers in the
  page margins (a different page-number style per seed: ``- 3 -``, ``第 3 页``, ``3 / 12``, ``3``, ``— 3 —``).
* .doc (every seed) and .rtf (two: :data:`RTF_SEEDS`; an RTF is three to five times the .doc): the .docx as
  LibreOffice saves it in Word 97 and RTF (the old formats funders' sites still offer; fundgraph reads them through
  LibreOffice too).
* .html: a web page as saved from a funder's site: navigation bar, breadcrumb (当前位置：首页 > …), date and
  hit counter, a sidebar, a share bar (分享到) and a footer around the document's lines.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH  # noqa: E402
from fundgraph.loaders.corpus import load_corpus, read_manifest  # noqa: E402

OUT = ROOT / "tests" / "data" / "seed_formats"

PAGE_NUMBERS = {
    "nsfc-tianyuan-sz-2023": '"- " counter(page) " -"',
    "most-btit-2024": '"第 " counter(page) " 页"',
    "most-stic-joint": 'counter(page) " / " counter(pages)',
    "most-btit-2021": "counter(page)",
    "gd-imaging-2026": '"— " counter(page) " —"',
}

HEADING = re.compile(r"^(#{1,6})\s+")
BULLET = re.compile(r"^-\s+")


def _markup(line: str) -> tuple[int, bool, str]:
    """(heading level or 0, is a bullet item, text without markdown marks) of one seed line."""
    level = 0
    m = HEADING.match(line)
    if m:
        level = len(m.group(1))
        line = line[m.end():]
    bullet = bool(BULLET.match(line)) and not level
    if bullet:
        line = BULLET.sub("", line)
    return level, bullet, line.replace("**", "").rstrip()


# ------------------------------------------------------------------------------------------------- docx

_ABSTRACT = (
    '<w:abstractNum {ns} w:abstractNumId="{aid}"><w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>'
)
_LEVEL = """<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/>
<w:suff w:val="{suff}"/><w:lvlJc w:val="left"/></w:lvl>"""


def _add_numbering(document, levels: list[tuple[str, str, str]]) -> str:
    """Add an abstract list with these (numFmt, lvlText, suffix) levels and a w:num using it; return its numId."""
    numbering = document.part.numbering_part.element
    aid = str(max((int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))), default=0) + 1)
    nid = str(max((int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))), default=0) + 1)
    body = "".join(_LEVEL.format(ilvl=k, fmt=f, text=t, suff=s) for k, (f, t, s) in enumerate(levels))
    abstract = parse_xml(_ABSTRACT.format(ns=nsdecls("w"), aid=aid, levels=body))
    # abstractNum elements must come before the num elements (schema order).
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{nid}"><w:abstractNumId w:val="{aid}"/></w:num>'))
    return nid


def _number(paragraph, num_id: str, ilvl: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def _auto_numbered(program_id: str, lines: list[str], direction_lines: set[int]) -> dict[int, tuple[int, str]]:
    """Lines (0-based) whose typed number becomes Word numbering: line → (level, text without the number)."""
    out: dict[int, tuple[int, str]] = {}
    if program_id == "nsfc-tianyuan-sz-2023":
        for i in direction_lines:
            m = re.match(r"^\s*（[一二三四五六七八九十—]+）\s*", lines[i])
            assert m, lines[i]
            out[i] = (0, lines[i][m.end():])
    elif program_id == "most-stic-joint":
        expect_section = 1
        for i, line in enumerate(lines):
            _, _, text = _markup(line)
            m = re.match(r"^(\d{1,2})\s*[.、]\s*(?!\d)", text)
            if HEADING.match(line) and m and int(m.group(1)) == expect_section:
                out[i] = (0, text[m.end():])
                expect_section += 1
            elif i in direction_lines:
                m = re.match(r"^(\d{1,2})\.(\d{1,2})\s*", text)
                assert m, text
                out[i] = (1, text[m.end():])
    return out


def render_docx(program_id: str, lines: list[str], direction_lines: set[int], path: Path) -> None:
    document = docx.Document()
    numbered = _auto_numbered(program_id, lines, direction_lines)
    num_id = None
    if program_id == "nsfc-tianyuan-sz-2023":
        num_id = _add_numbering(document, [("chineseCounting", "（%1）", "nothing")])
    elif program_id == "most-stic-joint":
        num_id = _add_numbering(document, [("decimal", "%1.", "nothing"), ("decimal", "%1.%2", "space")])
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        level, bullet, text = _markup(line)
        if i in numbered:
            text = numbered[i][1]
        if level:
            p = document.add_heading(text, level=min(level, 9))
        else:
            p = document.add_paragraph(text, style="List Bullet" if bullet else None)
        if i in numbered and num_id:
            _number(p, num_id, numbered[i][0])
    document.core_properties.title = program_id
    document.save(str(path))


# ------------------------------------------------------------------------------------------------- html


def _body_html(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        level, bullet, text = _markup(line)
        t = html.escape(text)
        if level:
            out.append(f"<h{level}>{t}</h{level}>")
        elif bullet:
            out.append(f"<ul><li>{t}</li></ul>")
        else:
            out.append(f"<p>{t}</p>")
    return "\n".join(out)


def render_pdf(program_id: str, name: str, lines: list[str], path: Path) -> None:
    page_number = PAGE_NUMBERS[program_id]
    doc = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(name)}</title>
<style>
@page {{ size: A4; margin: 22mm 20mm;
  @top-center {{ content: "{html.escape(name[:40])}"; font-size: 9pt; }}
  @bottom-center {{ content: {page_number}; font-size: 10pt; }} }}
body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 12pt; line-height: 1.5; }}
h1, h2, h3, h4, h5, h6 {{ font-size: 13pt; font-weight: normal; margin: 0.6em 0 0.3em; }}
p {{ margin: 0 0 0.2em; }} ul {{ margin: 0; }}
</style></head><body>
{_body_html(lines)}
</body></html>"""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{program_id}.html"
        src.write_text(doc, encoding="utf-8")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--print-to-pdf={path}", src.as_uri()],
            check=True, capture_output=True, timeout=180,
        )


def render_web_page(program_id: str, name: str, lines: list[str], path: Path) -> None:
    nav = "".join(f'<li><a href="/{k}/">{t}</a></li>' for k, t in enumerate(
        ["首页", "机构概况", "新闻中心", "通知公告", "政策法规", "办事服务", "互动交流"]))
    side = "".join(f'<li><a href="/n/{k}.html">{t}</a></li>' for k, t in enumerate(
        ["关于开展年度项目评审工作的通知", "项目管理系统操作指南", "常见问题解答", "联系我们"]))
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(name)}_通知公告</title>
<link rel="stylesheet" href="/static/site.css"><script src="/static/jquery.min.js"></script></head>
<body>
<div class="top-bar">欢迎访问！ <a href="/login">登录</a> | <a href="/register">注册</a>
| <a href="/en/">English</a></div>
<header class="site-header"><div class="logo">科技项目管理服务平台</div>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="请输入关键字"><button>搜索</button></form></header>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/3/">通知公告</a> &gt; 正文</div>
<div class="container">
<aside class="sidebar"><h3>相关链接</h3><ul>{side}</ul></aside>
<main class="content"><article>
<h1 class="article-title">{html.escape(name)}</h1>
<div class="article-info">发布时间：2024-03-18 来源：规划与项目处 作者：项目办 点击数：2386 【字体：大 中 小】</div>
<div class="article-body" id="zoom">
{_body_html(lines)}
</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a>
<a href="#">打印本页</a> <a href="#">关闭窗口</a></div>
<div class="prev-next"><p>上一篇：<a href="/n/1.html">关于召开项目推进会的通知</a></p>
<p>下一篇：<a href="/n/2.html">年度工作总结</a></p></div>
</article></main></div>
<footer class="site-footer"><p>主办单位：某某科技项目管理服务中心 版权所有</p>
<p>地址：某某市科技路1号 邮编：100000 电话：010-00000000</p>
<p>备案号：京ICP备00000000号</p></footer>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


#: The seeds also rendered as .rtf.
RTF_SEEDS = ("nsfc-tianyuan-sz-2023", "gd-imaging-2026")


def render_doc(docx_path: Path) -> None:
    """The .docx saved by LibreOffice as .doc (Word 97), and as .rtf for :data:`RTF_SEEDS`, beside it."""
    for fmt in ("doc", "rtf") if docx_path.stem in RTF_SEEDS else ("doc",):
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(["soffice", f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                            "--convert-to", fmt, "--outdir", str(docx_path.parent), str(docx_path)],
                           check=True, capture_output=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    entries = {e.id: e for e in read_manifest(MANIFEST_PATH)}
    if "--doc-only" in sys.argv[1:]:
        for pid in entries:
            render_doc(OUT / f"{pid}.docx")
        return
    for parsed in load_corpus(MANIFEST_PATH):
        pid = parsed.program.id
        text = (GUIDELINES_DIR / entries[pid].file).read_text(encoding="utf-8")
        lines = text.split("\n")
        direction_lines = {d.source.line - 1 for d in parsed.directions}
        render_docx(pid, lines, direction_lines, OUT / f"{pid}.docx")
        render_pdf(pid, parsed.program.name, lines, OUT / f"{pid}.pdf")
        render_web_page(pid, parsed.program.name, lines, OUT / f"{pid}.html")
        render_doc(OUT / f"{pid}.docx")
        sizes = ", ".join(f"{x} {(OUT / f'{pid}.{x}').stat().st_size // 1024} kB"
                          for x in ("docx", "pdf", "html", "doc", "rtf") if (OUT / f"{pid}.{x}").exists())
        print(f"{pid}: {sizes}")


if __name__ == "__main__":
    main()
