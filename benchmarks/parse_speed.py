"""Reading speed over the rendered seeds: PDF pages per second, text/docx/html/doc documents per second.

    python benchmarks/parse_speed.py [--runs 5] [--compare]

Reads tests/data/seed_formats/*.{docx,pdf,html,doc} (.doc through LibreOffice, when ``soffice`` is on PATH) and the
five bundled .txt seeds with
fundgraph.loaders.readers.read_document (and, after reading, parses each with its seed's profile: the
"+parse" columns). Each figure is the median of --runs runs over all files of the format.

--compare also measures the libraries not chosen, on the same files and with the same checks (every
direction title of the .txt parse found in the text; parse with the seed's profile gives the same
(code, title) list; navigation-junk lines kept, for HTML):
pdfplumber against pypdfium2 for PDF, and a selectolax main-content extractor against trafilatura for HTML.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fundgraph.core.errors import GuidelineParseError  # noqa: E402
from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH  # noqa: E402
from fundgraph.loaders.corpus import load_corpus, parse_text  # noqa: E402
from fundgraph.loaders.readers import KANGXI, _drop_running_lines, read_document  # noqa: E402

SEEDS = ROOT / "tests" / "data" / "seed_formats"
JUNK = ("当前位置", "首页", "点击数", "分享到", "版权所有", "上一篇", "备案号", "登录", "相关链接", "请输入关键字")


def _median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _seed_files() -> tuple[dict[str, object], dict[str, dict[str, Path]]]:
    parsed = {d.program.id: d for d in load_corpus(MANIFEST_PATH)}
    files = {"text": {pid: GUIDELINES_DIR / d.program.source_file for pid, d in parsed.items()}}
    for ext in ("docx", "pdf", "html") + (("doc",) if shutil.which("soffice") else ()):
        files[ext] = {pid: SEEDS / f"{pid}.{ext}" for pid in parsed}
    return parsed, files


def speed(runs: int) -> None:
    parsed, files = _seed_files()
    pages = sum(read_document(p).page_count or 0 for p in files["pdf"].values())
    print(f"{'format':6} {'files':>5} {'pages':>5} {'read s':>8} {'docs/s':>8} {'pages/s':>8} {'+parse docs/s':>14}")
    for fmt, paths in files.items():
        def read(paths=paths):
            for p in paths.values():
                read_document(p)

        def read_parse(paths=paths):
            for pid, p in paths.items():
                parse_text(read_document(p).text, file=p.name, program=parsed[pid].program)

        t = _median_seconds(read, runs)
        tp = _median_seconds(read_parse, runs)
        n = len(paths)
        pg = f"{pages / t:8.1f}" if fmt == "pdf" else f"{'':>8}"
        print(f"{fmt:6} {n:5d} {pages if fmt == 'pdf' else '':>5} {t:8.3f} {n / t:8.1f} {pg} {n / tp:14.1f}")


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _quality(lines: list[str], doc) -> tuple[int, bool, int]:
    """(titles missing from the text, parse gives the same (code, title) list, junk lines kept)."""
    flat = _flat("".join(lines))
    missing = sum(1 for d in doc.directions if _flat(d.title) not in flat)
    try:
        got = parse_text("\n".join(lines), file="x", program=doc.program)
        same = [(d.code, d.title) for d in got.directions] == [(d.code, d.title) for d in doc.directions]
    except GuidelineParseError:
        same = False
    junk = sum(1 for ln in lines if any(j in ln for j in JUNK))
    return missing, same, junk


def _pdfplumber_lines(path: Path) -> list[str]:
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # one FontBBox warning per page of Chromium's PDFs
    with pdfplumber.open(path) as pdf:
        pages = [[ln.strip() for ln in (p.extract_text() or "").split("\n") if ln.strip()] for p in pdf.pages]
    lines = _drop_running_lines(pages, path)[0]
    # pdfminer reads many glyphs of these PDFs as Kangxi radicals (⼤ U+2F24 for 大); fold them as our reader does.
    return [ln.translate(KANGXI) for ln in lines]


_BLOCKS = "p, h1, h2, h3, h4, h5, h6, li, tr, pre, blockquote"


def _selectolax_lines(path: Path) -> list[str]:
    """A main-content extractor on selectolax: drop chrome tags, take the densest container, one line per block."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(path.read_bytes().decode("utf-8"))
    tree.strip_tags(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"])
    best, best_len = tree.body, 0
    for node in tree.css("article, main, section, div"):
        text_len = sum(len(p.text(strip=True)) for p in node.css("p"))
        if text_len > best_len * 1.2:  # prefer the innermost container holding most of the text
            best, best_len = node, text_len
    lines = []
    for node in best.css(_BLOCKS):
        if node.tag == "tr":
            lines.append("| " + " | ".join(c.text(strip=True) for c in node.css("td, th")) + " |")
        elif not any(n is not node and n.mem_id != node.mem_id for n in node.css(_BLOCKS)):  # css() includes node
            lines.append(node.text(strip=True))
    return [ln for ln in lines if ln]


def compare(runs: int) -> None:
    parsed, files = _seed_files()
    rows = [
        ("pdf", "pypdfium2 (chosen)", lambda p: read_document(p).lines),
        ("pdf", "pdfplumber", _pdfplumber_lines),
        ("html", "trafilatura (chosen)", lambda p: read_document(p).lines),
        ("html", "selectolax + heuristics", _selectolax_lines),
    ]
    print(f"{'format':6} {'library':26} {'titles missing':>14} {'parse same':>10} {'junk lines':>10} "
          f"{'s (5 files)':>11}")
    for fmt, name, fn in rows:
        missing = same = junk = 0
        for pid, p in files[fmt].items():
            m, s, j = _quality(fn(p), parsed[pid])
            missing, same, junk = missing + m, same + s, junk + j
        t = _median_seconds(lambda fn=fn, fmt=fmt: [fn(p) for p in files[fmt].values()], runs)
        print(f"{fmt:6} {name:26} {missing:14d} {f'{same}/5':>10} {junk:10d} {t:11.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare", action="store_true", help="also measure pdfplumber and selectolax")
    args = ap.parse_args()
    speed(args.runs)
    if args.compare:
        print()
        compare(args.runs)


if __name__ == "__main__":
    main()
