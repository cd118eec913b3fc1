"""The parse dev set is consistent: every expected title is in its document, codes run in sequence."""

from __future__ import annotations

import re

import pytest
import yaml

from fundgraph.core.paths import PARSE_DEV_DIR
from fundgraph.evaluation.parsing import code_number, normalise_title

DEV_DIR = PARSE_DEV_DIR
EXPECTED = yaml.safe_load((DEV_DIR / "expected.yaml").read_text(encoding="utf-8"))["documents"]
BY_FILE = {d["file"]: d for d in EXPECTED}


def _doc_text(name: str) -> str:
    return (DEV_DIR / "docs" / name).read_text(encoding="utf-8")


def test_dev_set_size_and_files():
    files = sorted(p.name for p in (DEV_DIR / "docs").iterdir())
    assert files == sorted(BY_FILE), "every document has an entry and every entry a document"
    assert len(files) >= 28
    counts = [len(d["directions"]) for d in EXPECTED]
    assert all(4 <= n <= 30 for n in counts), counts
    assert sum(counts) >= 370


# what may follow a complete title: a line end, 。：；, a table cell boundary, a field label or （申报代码
TITLE_END = r"(?=\n|[。：；:;|<]|研究内容|关键词|\(申报代码)"


def _lines_text(name: str) -> str:
    """The document normalised line by line (tabs kept as cell boundaries), lines joined by newlines."""
    return "\n".join(normalise_title(line.replace("\t", "|")) for line in _doc_text(name).split("\n"))


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_titles_occur_after_their_code(name):
    text = _lines_text(name)
    for d in BY_FILE[name]["directions"]:
        title, code = d["title"], str(d["code"])
        assert title == title.strip() and not title.endswith(("。", "；", "：")), title
        t = normalise_title(title)
        c = normalise_title(code)
        assert not t.startswith(c), f"{name}: title {title!r} keeps its number"
        # the whole title (line breaks allowed anywhere inside it) ending where a title ends
        pattern = "\n*".join(re.escape(ch) for ch in t) + TITLE_END
        hits = [m.start() for m in re.finditer(pattern, text)]
        assert hits, f"{name}: title {title!r} not in the document as a complete title"
        # the title follows its code closely: after a separator, a table cell boundary or a tab
        assert any(c in text[max(0, h - len(c) - 10):h] for h in hits), f"{name}: code {code!r} not before {title!r}"


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_codes_in_sequence(name):
    dirs = BY_FILE[name]["directions"]
    prev: tuple[int, ...] | None = None
    prev_section = None
    for d in dirs:
        num = code_number(str(d["code"]))
        section = d.get("section")
        if prev is None:
            assert num[-1] == 1, f"{name}: first code {d['code']}"
        elif len(num) == 2:  # 1.1 1.2 2.1 …
            assert num in ((prev[0], prev[1] + 1), (prev[0] + 1, 1)), f"{name}: {d['code']} after {prev}"
        elif section is not None and section != prev_section:
            assert num == (1,), f"{name}: {d['code']} opens section {section}"
        else:
            assert num == (prev[0] + 1,), f"{name}: {d['code']} after {prev}"
        prev, prev_section = num, section


@pytest.mark.parametrize("name", sorted(n for n, d in BY_FILE.items() if d.get("truncated")))
def test_truncated_line_is_the_last_line(name):
    lines = _doc_text(name).split("\n")
    last = max(i for i, line in enumerate(lines, 1) if line.strip())
    assert BY_FILE[name]["truncated_line"] == last


def test_features_cover_the_issue_layouts():
    features = {f for d in EXPECTED for f in d["features"]}
    for needed in (
        "paren_cn", "paren_cn_halfwidth", "cn_dunhao_directions", "arabic_dot_space", "arabic_dunhao",
        "two_level_dotted",
        "paren_arabic", "circled_numbers", "fangxiang_arabic", "fangxiang_cn", "xiangmu_cn", "keti_arabic",
        "zhuanti_cn_directions", "renwu_arabic", "bangdan_items", "markdown_table_xuhao", "html_table_xuhao",
        "glued_number_title", "separator_colon", "separator_dunhao", "arabic_fullwidth_dot", "title_ends_period",
        "title_ends_colon", "title_ends_shenbao_daima", "title_ends_field_label_same_line", "pdf_broken_titles",
        "stray_number_in_running_text", "truncated_mid_title", "truncated_mid_content", "web_navigation_junk",
        "lists_before_not_directions", "lists_after_not_directions", "numbering_restarts_per_section",
    ):
        assert needed in features, needed
