"""Format readers: a guideline file in any supported format → the plain lines a reader sees, with provenance.

One entry point, :func:`read_document`. The format is told by the file's first bytes (a ``.txt`` that is
really a PDF is read as a PDF), the extension deciding only between text and HTML:

* ``.txt`` / ``.md`` (and any other text): UTF-8 with or without BOM as today; anything else is detected
  with charset-normalizer (GB18030/GBK, UTF-16 with or without BOM, Big5…), GBK with today's warning.
* ``.docx`` (python-docx): paragraphs and tables in document order; Word's automatic numbering
  (``numbering.xml``) is computed and written in front of each numbered paragraph, so ``（%1）`` with
  ``chineseCounting`` gives ``（三）`` as the reader sees it. Table rows become ``| a | b |`` lines.
* ``.pdf`` with a text layer (pypdfium2): lines in the order pdfium gives them, with their page; running
  headers/footers (a line repeated at the top or bottom of most pages) and page numbers (``3``, ``- 3 -``,
  ``第3页``, ``3/12``) are dropped.
* ``.html`` / ``.htm`` saved from a web page (trafilatura): the main content, tables kept as ``| a | b |``
  rows; navigation, breadcrumbs (当前位置, 首页 >), hit counters and share bars dropped.
* spreadsheets, ``.xlsx`` / ``.xls`` / ``.ods`` (python-calamine): each sheet's rows as ``| a | b |`` lines, as a
  .docx table reads (a merged cell's value in its first row only); a row with one value in its first column (the
  title merged across the table, a note under it) as a line of text. Lists of directions (指南方向表, 榜单) often
  come as a spreadsheet.

* old Word ``.doc`` and ``.rtf``: converted to .docx by LibreOffice (``soffice --headless``, when it is installed:
  Debian's ``libreoffice-writer-nogui``), then read as a .docx (numbering and tables as Word shows them); without
  LibreOffice they are refused with what to do.

Everything else (``.wps``, a zip, an image, a PDF without a text layer, an empty file)
raises :class:`~fundgraph.core.errors.UnsupportedDocument` naming the file, what is supported and what to do.
"""

from __future__ import annotations

import codecs
import datetime
import io
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from fundgraph.core.errors import GuidelineParseError, MissingDependency, UnsupportedDocument
from fundgraph.loaders.text import to_chinese_numeral

#: What :func:`read_document` reads, as said in every error message.
SUPPORTED = (".txt/.md (UTF-8, GB18030/GBK, UTF-16), .docx, .pdf with a text layer, .html/.htm, .xlsx/.xls/.ods; "
             ".doc/.rtf with LibreOffice")


class DocumentFormat(StrEnum):
    """The format a document was read as."""

    TEXT = "text"
    DOCX = "docx"
    PDF = "pdf"
    HTML = "html"
    SPREADSHEET = "spreadsheet"
    DOC = "doc"  # .doc or .rtf, read through LibreOffice's .docx


@dataclass
class DocumentText:
    """The text of a document as a reader sees it, line by line, with where it came from.

    Attributes:
        path: The file read.
        format: The format it was read as (told by content, not only by extension).
        lines: The lines of text, without line feeds.
        encoding: The encoding used for text and HTML files (``utf-8``, ``utf-8-sig``, ``gb18030``,
            ``utf_16``…); ``None`` for .docx and .pdf.
        pages: For PDF, the 1-based page of each line (same length as ``lines``); else ``None``.
        page_count: Pages of a PDF; ``None`` for other formats.
        warnings: What the reader changed or guessed (an encoding, dropped running headers).
    """

    path: Path
    format: DocumentFormat
    lines: list[str]
    encoding: str | None = None
    pages: list[int] | None = None
    page_count: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The lines joined with line feeds (what a parser receives)."""
        return "\n".join(self.lines)

    def page_of(self, line: int) -> int | None:
        """Page (1-based) of a 1-based line number, for PDF; ``None`` for other formats."""
        return self.pages[line - 1] if self.pages is not None else None


def read_document(path: str | Path) -> DocumentText:
    """Read a guideline document in any supported format.

    Args:
        path: A .txt/.md, .docx, .pdf, .html/.htm or .xlsx/.xls/.ods file.

    Raises:
        GuidelineParseError: the file cannot be read (missing, unreadable).
        UnsupportedDocument: a format fundgraph does not read, a PDF with no text layer, an empty or binary
            file; the message names the file, what is supported and what to do.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GuidelineParseError(f"cannot read file: {e.strerror or e}", path=path) from e
    if not data.strip():
        raise _unsupported(path, "empty file", "check that the file was saved completely", line=1)
    kind = _sniff(data, path)
    if kind is DocumentFormat.DOCX:
        doc = _read_docx(path)
    elif kind is DocumentFormat.PDF:
        doc = _read_pdf(path)
    elif kind is DocumentFormat.HTML:
        doc = _read_html(data, path)
    elif kind is DocumentFormat.SPREADSHEET:
        doc = _read_spreadsheet(data, path)
    elif kind is DocumentFormat.DOC:
        doc = _read_doc(data, path)
    else:
        doc = _read_text(data, path)
    if not any(ln.strip() for ln in doc.lines):
        raise _unsupported(path, f"no text in this {kind.value} file", "check that the file was saved completely")
    return doc


def _unsupported(path: Path, what: str, todo: str, *, line: int | None = None) -> UnsupportedDocument:
    return UnsupportedDocument(f"{what}; fundgraph reads {SUPPORTED}: {todo}", path=path, line=line)


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, .xls, .ppt (compound file binary format)
_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta)\b", re.I | re.S)


def _sniff(data: bytes, path: Path) -> DocumentFormat:
    """Tell the format by content; refuse what fundgraph does not read, saying what to do instead."""
    suffix = path.suffix.lower()
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return DocumentFormat.PDF
    if data.startswith(_OLE2) and suffix == ".xls":
        return DocumentFormat.SPREADSHEET  # an old Excel workbook (the other compound files are refused below)
    if (data.startswith(_OLE2) and suffix == ".doc") or data.startswith(b"{\\rtf"):
        return DocumentFormat.DOC
    if data.startswith(_OLE2):
        name = "WPS" if suffix in (".wps", ".et", ".dps") else "an old binary Office (.xls/.ppt)"
        raise _unsupported(path, f"{name} file", "open it and save it as .docx or as PDF with text")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile as e:
            raise _unsupported(path, "damaged zip/Office file", "save it again as .docx or as PDF with text") from e
        if "word/document.xml" in names:
            return DocumentFormat.DOCX
        if "xl/workbook.xml" in names or (suffix == ".ods" and "content.xml" in names):
            return DocumentFormat.SPREADSHEET
        if "ppt/presentation.xml" in names or "content.xml" in names:
            raise _unsupported(path, "presentation or OpenDocument text file",
                               "save the guideline text as .docx or as PDF with text")
        raise _unsupported(path, "zip archive", "unzip it and add the documents inside one by one")
    if data.startswith(_IMAGES):
        raise _unsupported(path, "image (a scan)", "run OCR on it (e.g. ocrmypdf) or save the text as .docx")
    if suffix in (".html", ".htm", ".xhtml", ".shtml") or _HTML_START.match(data[:4096]):
        return DocumentFormat.HTML
    return DocumentFormat.TEXT


# --------------------------------------------------------------------------------------------------- text

#: charset-normalizer's names of the GB family, all decoded with GB18030 (their superset).
_GB = {"gb2312", "gbk", "gb18030", "hz", "cp936", "ms936"}
#: Control characters (below U+0020) other than the line and page breaks and tabs: many of them make a file binary.
#: One regex pass (a per-character loop over the file was a tenth of the parse pool's CPU).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


def decode_text(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    r"""Decode the bytes of a text file: UTF-8 if valid (as before), else what charset-normalizer detects.

    Returns:
        (text with ``\\n`` line ends, encoding used, warnings).

    Raises:
        UnsupportedDocument: binary content, or no encoding reads it as text.
    """
    warnings: list[str] = []
    # Valid UTF-8 is UTF-8: no detection, so every file today's reader accepts reads the same.
    try:
        if data.startswith(codecs.BOM_UTF8):
            text, encoding = data[3:].decode("utf-8"), "utf-8-sig"
        else:
            text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        # The line of the first byte UTF-8 cannot read: where to look when nothing reads the file.
        text, encoding = _detect(data, path, line=data.count(b"\n", 0, e.start) + 1)
        if encoding in _GB:
            encoding = "gb18030"
            warnings.append(f"{path.name}: not UTF-8; decoded as GBK (GB18030)")
        elif not encoding.startswith("utf"):
            warnings.append(f"{path.name}: not UTF-8; decoded as {encoding} (detected)")
    text = text.removeprefix("\ufeff")
    controls = _CONTROL.findall(text)
    if len(controls) > max(2, len(text) // 100):
        first = _CONTROL.search(text)
        assert first is not None
        raise _unsupported(path, "binary file (control characters), not text", "save the guideline as .txt or .docx",
                           line=text.count("\n", 0, first.start()) + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding, warnings


def _detect(data: bytes, path: Path, *, line: int | None = None) -> tuple[str, str]:
    try:
        from charset_normalizer import from_bytes
    except ImportError as e:  # pragma: no cover - a dependency of requests/httpx stacks; checked in tests
        raise MissingDependency("charset-normalizer", "formats", "reading non-UTF-8 text") from e
    best = from_bytes(data).best()
    if best is None:
        if b"\x00" in data:
            line = data.count(b"\n", 0, data.index(b"\x00")) + 1
            raise UnsupportedDocument(
                f"binary file (NUL bytes), not text; fundgraph reads {SUPPORTED}: "
                "save the guideline as .docx, PDF with text or UTF-8 text", path=path, line=line)
        raise _unsupported(path, "not text: no encoding (UTF-8, GBK, UTF-16…) reads it",
                           "save it as UTF-8 text, .docx or PDF with text", line=line)
    encoding = best.encoding
    codec = "gb18030" if encoding in _GB else encoding
    return data.decode(codec, errors="strict"), encoding


def _read_text(data: bytes, path: Path) -> DocumentText:
    text, encoding, warnings = decode_text(data, path)
    return DocumentText(path, DocumentFormat.TEXT, text.split("\n"), encoding=encoding, warnings=warnings)


# --------------------------------------------------------------------------------------------------- docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _w(tag: str) -> str:
    return _W + tag


def _val(el: Any, tag: str) -> str | None:
    """``w:val`` of the child ``tag`` of ``el`` (``None`` when absent)."""
    if el is None:
        return None
    child = el.find(_w(tag))
    return None if child is None else child.get(_w("val"))


_ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_EARTHLY_BRANCHES = "子丑寅卯辰巳午未申酉戌亥"
_LEGAL = "零壹贰叁肆伍陆柒捌玖"


def _roman(n: int) -> str:
    out = []
    for v, s in _ROMAN:
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


def _letters(n: int) -> str:
    # Word repeats the letter: 27 → AA, 28 → BB.
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _legal(n: int) -> str:
    s = to_chinese_numeral(n)
    return "".join(_LEGAL["零一二三四五六七八九".index(c)] if c in "零一二三四五六七八九" else "拾" for c in s)


def format_number(n: int, num_fmt: str) -> str:
    """Render counter ``n`` in a Word ``w:numFmt`` (``decimal``, ``chineseCounting``, ``ideographTraditional``…).

    Formats beyond their range (``①`` stops at 20, Chinese counting here at 99) fall back to decimal.
    """
    if num_fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting",
                   "ideographDigital", "japaneseDigitalTenThousand", "taiwaneseCountingThousand") and 0 < n < 100:
        return to_chinese_numeral(n)
    if num_fmt in ("chineseLegalSimplified", "ideographLegalTraditional") and 0 < n < 100:
        return _legal(n)
    if num_fmt == "ideographTraditional" and n > 0:
        return _HEAVENLY_STEMS[(n - 1) % 10]
    if num_fmt == "ideographZodiac" and n > 0:
        return _EARTHLY_BRANCHES[(n - 1) % 12]
    if num_fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese", "ideographEnclosedCircle") and 0 < n <= 20:
        return chr(0x2460 + n - 1)
    if num_fmt == "decimalEnclosedParen" and 0 < n <= 20:
        return chr(0x2474 + n - 1)
    if num_fmt == "decimalEnclosedFullstop" and 0 < n <= 20:
        return chr(0x2488 + n - 1)
    if num_fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    if num_fmt == "decimalZero":
        return f"{n:02d}"
    if num_fmt in ("upperRoman", "lowerRoman") and n > 0:
        r = _roman(n)
        return r if num_fmt == "upperRoman" else r.lower()
    if num_fmt in ("upperLetter", "lowerLetter") and n > 0:
        s = _letters(n)
        return s if num_fmt == "upperLetter" else s.lower()
    if num_fmt == "none":
        return ""
    return str(n)


@dataclass
class _Level:
    start: int = 1
    num_fmt: str = "decimal"
    text: str = ""
    suffix: str = "tab"
    restart: int | None = None  # restart after this (0-based) level; None = after any higher level
    legal: bool = False


class _Numbering:
    """Word's list counters over ``numbering.xml``, advanced paragraph by paragraph in document order.

    Counters belong to the abstract list (as in Word, two ``w:num`` of one abstract list continue each
    other's count), and a ``w:num``'s ``w:startOverride`` restarts its level the first time it is used.
    """

    def __init__(self, numbering_el: Any | None, styles_el: Any | None) -> None:
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.nums: dict[str, tuple[str, dict[int, int], dict[int, _Level]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.used: set[str] = set()
        self.style_num: dict[str, tuple[str | None, int | None]] = {}
        self.style_parent: dict[str, str] = {}
        if numbering_el is not None:
            for an in numbering_el.findall(_w("abstractNum")):
                self.abstract[an.get(_w("abstractNumId"))] = {
                    int(lvl.get(_w("ilvl"), "0")): self._level(lvl) for lvl in an.findall(_w("lvl"))
                }
            for num in numbering_el.findall(_w("num")):
                starts: dict[int, int] = {}
                levels: dict[int, _Level] = {}
                for ov in num.findall(_w("lvlOverride")):
                    ilvl = int(ov.get(_w("ilvl"), "0"))
                    so = _val(ov, "startOverride")
                    if so is not None:
                        starts[ilvl] = int(so)
                    lvl = ov.find(_w("lvl"))
                    if lvl is not None:
                        levels[ilvl] = self._level(lvl)
                self.nums[num.get(_w("numId"))] = (_val(num, "abstractNumId") or "", starts, levels)
        if styles_el is not None:
            for st in styles_el.findall(_w("style")):
                sid = st.get(_w("styleId"))
                parent = _val(st, "basedOn")
                if parent:
                    self.style_parent[sid] = parent
                numpr = st.find(f"{_w('pPr')}/{_w('numPr')}")
                if numpr is not None:
                    ilvl = _val(numpr, "ilvl")
                    self.style_num[sid] = (_val(numpr, "numId"), int(ilvl) if ilvl is not None else None)

    @staticmethod
    def _level(lvl: Any) -> _Level:
        restart = _val(lvl, "lvlRestart")
        return _Level(
            start=int(_val(lvl, "start") or 1),
            num_fmt=_val(lvl, "numFmt") or "decimal",
            text=_val(lvl, "lvlText") or "",
            suffix=_val(lvl, "suff") or "tab",
            restart=None if restart is None else int(restart) - 1,
            legal=lvl.find(_w("isLgl")) is not None,
        )

    def _num_of(self, p: Any) -> tuple[str | None, int]:
        ppr = p.find(_w("pPr"))
        numpr = ppr.find(_w("numPr")) if ppr is not None else None
        num_id = _val(numpr, "numId")
        ilvl = _val(numpr, "ilvl")
        style = _val(ppr, "pStyle")
        seen = set()
        while (num_id is None or ilvl is None) and style and style not in seen:
            seen.add(style)
            s_num, s_ilvl = self.style_num.get(style, (None, None))
            num_id = num_id if num_id is not None else s_num
            ilvl = ilvl if ilvl is not None else (str(s_ilvl) if s_ilvl is not None else None)
            style = self.style_parent.get(style)
        return num_id, int(ilvl or 0)

    def label(self, p: Any) -> str:
        """The number Word shows before paragraph ``p`` (with its suffix), advancing the counters; else ``""``."""
        num_id, ilvl = self._num_of(p)
        if not num_id or num_id == "0" or num_id not in self.nums:
            return ""
        abstract_id, starts, overrides = self.nums[num_id]
        levels = {**self.abstract.get(abstract_id, {}), **overrides}
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(abstract_id, {})
        if num_id not in self.used:
            self.used.add(num_id)
            for k, v in starts.items():
                counters[k] = v - 1
        lvl = levels[ilvl]
        counters[ilvl] = counters.get(ilvl, lvl.start - 1) + 1
        for k in list(counters):
            if k > ilvl and (levels.get(k, _Level()).restart is None or levels[k].restart >= ilvl):
                del counters[k]

        def value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lv = levels.get(k, _Level())
            n = counters.get(k, lv.start)
            return format_number(n, "decimal" if lvl.legal and k != ilvl else lv.num_fmt)

        if lvl.num_fmt == "bullet":
            text = "•"
        else:
            text = re.sub(r"%([1-9])", value, lvl.text)
        if not text:
            return ""
        return text + {"space": " ", "nothing": ""}.get(lvl.suffix, " ")  # a tab reads as a space


def _read_docx(path: Path) -> DocumentText:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as e:
        raise MissingDependency("python-docx", "formats", "reading .docx") from e
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise _unsupported(path, f"damaged .docx ({e})", "open it in Word/WPS and save it again as .docx") from e
    part = document.part
    numbering_el = None
    try:
        numbering_el = part.numbering_part.element
    except (NotImplementedError, KeyError):  # no numbering.xml: no automatic numbers
        numbering_el = None
    styles_el = part.styles.element if part._styles_part is not None else None
    numbering = _Numbering(numbering_el, styles_el)
    lines: list[str] = []
    for block in _blocks(document.element.body):
        if block.tag == _w("p"):
            lines.extend(_paragraph_text(block, numbering).split("\n"))
        else:
            lines.extend(_table_rows(block, numbering))
    return DocumentText(path, DocumentFormat.DOCX, [ln.rstrip() for ln in lines])


def _blocks(parent: Any) -> Iterator[Any]:
    """Paragraphs and tables of a body or cell in document order (content controls opened)."""
    for child in parent.iterchildren():
        if child.tag in (_w("p"), _w("tbl")):
            yield child
        elif child.tag == _w("sdt"):
            content = child.find(_w("sdtContent"))
            if content is not None:
                yield from _blocks(content)


def _paragraph_text(p: Any, numbering: _Numbering) -> str:
    parts: list[str] = []
    for el in p.iter(_w("t"), _w("tab"), _w("br"), _w("cr"), _w("noBreakHyphen"), _w("delText")):
        tag = el.tag
        if tag == _w("delText"):  # tracked deletions are not what a reader sees
            continue
        if tag == _w("t"):
            parts.append(el.text or "")
        elif tag == _w("tab"):
            if el.getparent().tag == _w("r"):  # not a tab stop definition in pPr
                parts.append("\t")
        elif tag in (_w("br"), _w("cr")):
            if el.get(_w("type")) in (None, "textWrapping"):
                parts.append("\n")
        else:
            parts.append("-")
    return numbering.label(p) + "".join(parts)


def _table_rows(tbl: Any, numbering: _Numbering) -> list[str]:
    rows: list[str] = []
    for tr in tbl.iterchildren(_w("tr")):
        cells: list[str] = []
        for tc in tr.iterchildren(_w("tc")):
            if _val(tc.find(_w("tcPr")), "vMerge") == "continue":
                cells.append("")  # the cell above spans this row
                continue
            texts: list[str] = []
            for block in _blocks(tc):
                if block.tag == _w("p"):
                    texts.append(_paragraph_text(block, numbering))
                else:
                    texts.extend(_table_rows(block, numbering))
            cells.append(" ".join(t.strip() for t in "\n".join(texts).split("\n") if t.strip()))
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return rows


# ------------------------------------------------------------------------------------------- .doc / .rtf

#: Seconds LibreOffice may take to convert one .doc or .rtf (its start-up is 2-3 s on 2 cores).
DOC_TIMEOUT = 120


def _read_doc(data: bytes, path: Path) -> DocumentText:
    """An old Word .doc (or .rtf) converted to .docx by LibreOffice in a private profile, then read as a .docx."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    rtf = data.startswith(b"{\\rtf")
    what = "RTF file" if rtf else "old binary Word (.doc) file"
    if soffice is None:
        raise _unsupported(path, f"{what} and no LibreOffice to convert it",
                           "install LibreOffice (Debian: libreoffice-writer-nogui), or open it and save it as .docx")
    with tempfile.TemporaryDirectory(prefix="fundgraph-doc-") as tmp:
        work = Path(tmp)
        # An ASCII name (LibreOffice derives the output's from it) whose extension is the format found by content:
        # an RTF saved as .txt must not be converted as text.
        source = work / ("in.rtf" if rtf else "in.doc")
        source.write_bytes(data)
        # A profile of its own: conversions in parallel (the build's workers) and a user's open LibreOffice never meet.
        cmd = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
               "--convert-to", "docx", "--outdir", str(work / "out"), str(source)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=DOC_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as e:
            raise _unsupported(path, f"{what} that LibreOffice did not convert within {DOC_TIMEOUT} s",
                               "open it and save it as .docx") from e
        except OSError as e:
            raise _unsupported(path, f"{what}: LibreOffice could not run ({e})", "open it and save it as .docx") from e
        out = work / "out" / "in.docx"
        if proc.returncode != 0 or not out.is_file():
            said = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise _unsupported(path, f"{what} that LibreOffice could not convert ({said[0][:200]})",
                               "open it and save it as .docx")
        try:
            doc = _read_docx(out)
        except UnsupportedDocument as e:  # LibreOffice wrote a .docx python-docx cannot read: name the user's file
            raise _unsupported(path, f"{what} whose conversion by LibreOffice could not be read",
                               "open it and save it as .docx") from e
    return DocumentText(path, DocumentFormat.DOC, doc.lines, warnings=[f"{what} read through LibreOffice's .docx"])


# ------------------------------------------------------------------------------------------- spreadsheet

#: The names a spreadsheet program gives new sheets (no heading of the sheet's content).
DEFAULT_SHEET_NAME = re.compile(r"^(?:sheet|工作表|表)\s*\d*$", re.I)


def _read_spreadsheet(data: bytes, path: Path) -> DocumentText:
    """A workbook's sheets as lines, from the bytes already read (calamine tells .xlsx, .xls and .ods by content)."""
    try:
        from python_calamine import CalamineError, CalamineWorkbook
    except ImportError as e:
        raise MissingDependency("python-calamine", "formats", "reading spreadsheets") from e
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=True)) for name in book.sheet_names]
    except (CalamineError, ValueError, OSError) as e:  # a damaged file; PasswordError: an encrypted one
        raise _unsupported(path, f"damaged or protected spreadsheet ({e})",
                           "open it and save it again as .xlsx, or save the guideline as .docx") from e
    blocks = [(name, block) for name, rows in sheets if (block := _sheet_lines(rows))]
    lines: list[str] = []
    for name, block in blocks:
        if lines:
            lines.append("")
            if not DEFAULT_SHEET_NAME.match(name.strip()):
                # A later sheet's tab is its heading (时间安排, 申报要求), apart from the directions; the first sheet
                # starts with the document's own title row.
                lines.extend([name.strip(), ""])
        lines.extend(block)
    return DocumentText(path, DocumentFormat.SPREADSHEET, lines)



def _sheet_lines(rows: list[list[Any]]) -> list[str]:
    """A sheet's rows as lines: ``| a | b |`` table rows, one-value rows in the first column as text, blanks kept."""
    out: list[str] = []
    for row in rows:
        cells = [_cell_text(v) for v in row]
        filled = [c for c in cells if c]
        if not filled:
            out.append("")
        elif len(filled) == 1 and cells[0]:
            out.append(cells[0])  # the title merged across the table, a section or a note under it
        else:
            out.append("| " + " | ".join(cells) + " |")
    while out and not out[-1]:
        out.pop()
    return out


def _cell_text(value: Any) -> str:
    """A cell as it is shown: whole numbers without ``.0`` (序号 1, not 1.0), dates as dates, lines joined."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    return " ".join(t.strip() for t in str(value).split("\n") if t.strip())


# --------------------------------------------------------------------------------------------------- pdf

#: Page numbers as printed: ``3``, ``- 3 -``, ``— 3 —``, ``第3页``, ``第 3 页 共 12 页``, ``3/12``, ``Page 3``.
PAGE_NUMBER_LINE = re.compile(
    r"^(?:[-–—－]?\s*\d{1,4}\s*[-–—－]?"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?)$",
    re.I,
)
#: Kangxi radicals and CJK radical supplements → the unified ideographs they look like (``⼤`` U+2F24 → ``大``).
#: PDF fonts often map shared glyphs to the radical code points, so the text would not match the same word typed.
KANGXI = {
    c: unicodedata.normalize("NFKC", chr(c))
    for c in range(0x2E80, 0x2FE0)
    if len(unicodedata.normalize("NFKC", chr(c))) == 1 and unicodedata.normalize("NFKC", chr(c)) != chr(c)
}
_EDGE = 3  # lines at the top and at the bottom of a page where running headers/footers are looked for


def _edge_key(line: str) -> str:
    """A running header/footer compared across pages: spaces dropped, digits (page numbers) masked."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _read_pdf(path: Path) -> DocumentText:
    try:
        import pypdfium2 as pdfium
    except ImportError as e:
        raise MissingDependency("pypdfium2", "formats", "reading PDF") from e
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        what = "password-protected or damaged PDF" if "password" in str(e).lower() else f"unreadable PDF ({e})"
        raise _unsupported(path, what, "save it again as PDF with text (no password) or as .docx") from e
    try:
        pages: list[list[str]] = []
        for page in pdf:
            textpage = page.get_textpage()
            raw = textpage.get_text_range()
            textpage.close()
            page.close()
            # pdfium reports a hyphen printed at a line break as U+FFFE ("5hmC-Seal", "脑-机"): it is a real hyphen
            raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-").translate(KANGXI)
            lines = [ln.strip() for ln in raw.split("\n")]
            pages.append([ln for ln in lines if ln])
    finally:
        pdf.close()
    if not any(pages):
        raise _unsupported(path, f"PDF with no text layer ({len(pages)} pages, a scan?)",
                           "run OCR on it (e.g. ocrmypdf) or export the original as PDF with text or .docx")
    lines, line_pages, warnings = _drop_running_lines(pages, path)
    return DocumentText(path, DocumentFormat.PDF, lines, pages=line_pages, page_count=len(pages), warnings=warnings)


def _drop_running_lines(pages: list[list[str]], path: Path) -> tuple[list[str], list[int], list[str]]:
    """Drop page numbers and lines repeated at the top or bottom of most pages (running headers/footers).

    A running line is told by its text (digits masked) *and* its place: the k-th line from the top, or from
    the bottom, on more than half of the pages (and at least 3). Body text repeated on several pages sits at
    different places, so it stays.
    """

    def places(lines: list[str]) -> Iterator[tuple[int, str, int]]:
        n = len(lines)
        for k in range(min(_EDGE, n)):
            yield k, _edge_key(lines[k]), k
        for k in range(1, min(_EDGE, n) + 1):
            if n - k >= _EDGE:  # not already a top line
                yield n - k, _edge_key(lines[n - k]), -k

    seen: Counter[tuple[str, int]] = Counter()
    for lines in pages:
        seen.update({(key, where) for _, key, where in places(lines)})
    running = {kw for kw, n in seen.items() if len(pages) >= 3 and n >= 3 and n > len(pages) / 2}
    out: list[str] = []
    out_pages: list[int] = []
    dropped = 0
    for no, lines in enumerate(pages, start=1):
        drop = {i for i, key, where in places(lines) if (key, where) in running or PAGE_NUMBER_LINE.match(lines[i])}
        dropped += len(drop)
        for i, ln in enumerate(lines):
            if i not in drop:
                out.append(ln)
                out_pages.append(no)
    warnings = [f"{path.name}: dropped {dropped} page-number/running header and footer lines"] if dropped else []
    return out, out_pages, warnings


# --------------------------------------------------------------------------------------------------- html


def _read_html(data: bytes, path: Path) -> DocumentText:
    try:
        import trafilatura
        from lxml import etree
    except ImportError as e:
        raise MissingDependency("trafilatura", "formats", "reading HTML") from e
    text, encoding, warnings = _decode_html(data, path)
    # XML output keeps the blocks (p, head, list item, table row) that the text output flattens;
    # precision mode drops the navigation and share bars that recall mode keeps on short pages.
    xml = trafilatura.extract(text, output_format="xml", include_tables=True, include_comments=False,
                              include_links=False, include_images=False, favor_precision=True, deduplicate=False)
    main = etree.fromstring(xml.encode("utf-8")).find("main") if xml else None
    lines = list(_xml_lines(main)) if main is not None else []
    if not any(ln.strip() for ln in lines):
        raise _unsupported(path, "no main text found in this web page",
                           "save the page as PDF with text or copy its text into a .txt file")
    return DocumentText(path, DocumentFormat.HTML, lines, encoding=encoding, warnings=warnings)


def _inline_text(el: Any) -> str:
    """Text of a trafilatura block, ``<lb/>`` as a line break."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _xml_lines(el: Any) -> Iterator[str]:
    """Lines of trafilatura's XML: one per paragraph, heading and list item; ``| a | b |`` per table row."""
    for child in el:
        if child.tag == "row":
            cells = [" ".join(_inline_text(c).split()) for c in child.iter("cell")]
            if any(cells):
                yield "| " + " | ".join(cells) + " |"
        elif child.tag in ("table", "list", "div", "quote") and len(child):
            yield from _xml_lines(child)
        else:
            for ln in _inline_text(child).split("\n"):
                if ln.strip():
                    yield ln.strip()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)


def _decode_html(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    """Decode a web page: its declared ``<meta charset>`` when that decodes it, else as a text file."""
    m = _META_CHARSET.search(data[:4096])
    if m:
        declared = m.group(1).decode("ascii").lower()
        codec = "gb18030" if declared in _GB else declared
        try:
            return data.decode(codec).removeprefix("\ufeff"), codec, []
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data, path)
