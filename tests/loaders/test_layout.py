"""Layout inference on invented documents (tests/data/layout): schemes, headings, stop sections, tables, cut-offs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fundgraph.loaders.corpus import parse_text
from fundgraph.loaders.layout import parse_with_layout
from fundgraph.loaders.parsers import split_lines
from fundgraph.loaders.records import Program

ROOT = Path(__file__).resolve().parents[1] / "data" / "layout"
EXPECTED = yaml.safe_load((ROOT / "expected.yaml").read_text(encoding="utf-8"))


def _parse(name: str):
    text = (ROOT / name).read_text(encoding="utf-8")
    return parse_with_layout(text, split_lines(text))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_codes_and_titles(name):
    res, _layout = _parse(name)
    assert [[d.code, d.title.text] for d in res.directions] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_records_through_parse_text(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    program = Program(id="fixture", name="x", name_en="x", funder=["x"], source_file=name, profile="auto")
    doc = parse_text(text, file=name, program=program)
    assert [d.title for d in doc.directions] == [t for _c, t in EXPECTED[name]]
    for d in doc.directions:
        assert text[d.source.start : d.source.end].strip()


def test_inline_label_ends_title_and_becomes_content():
    res, layout = _parse("fangxiang_colon.txt")
    assert [(lv.role, lv.scheme) for lv in layout.levels] == [("direction", "keyword")]
    assert layout.heading == "支持方向"
    assert "申报条件" in layout.excluded_sections
    assert res.directions[2].fields["content"].text == "建立分钟级更新的排水模型。"


def test_two_levels_are_reported():
    res, layout = _parse("circled_sections.txt")
    assert [(lv.role, lv.scheme, lv.count) for lv in layout.levels] == [
        ("section", "ar_dot", 2),
        ("direction", "circled", 5),
    ]
    assert [s.title for s in res.sections] == ["先进金属材料", "电子信息材料"]


def test_cut_off_document_warns_with_the_line():
    res, _layout = _parse("truncated.txt")
    assert len(res.directions) == 2
    assert any(w.startswith("line 7:") for w in res.warnings)


def test_stray_and_requirement_numbers_are_not_directions():
    res, _layout = _parse("stray_numbers.txt")
    assert "这是正文中误排的编号" not in "".join(d.title.text for d in res.directions)
    assert "申请人须为本校在职教师" not in "".join(d.title.text for d in res.directions)


def test_html_table_rows_and_web_junk():
    res, layout = _parse("html_table.html.txt")
    assert layout.levels[0].scheme == "table"
    assert res.directions[0].title.text == "山区县域急救网络的布局优化"


def test_label_value_lines_are_not_wrapped_title_lines():
    res, _layout = _parse("label_lines_after_title.txt")
    assert all("发榜单位" not in d.title.text for d in res.directions)
    assert len(res.directions) == 3  # the 揭榜要求 list after it is not taken


def test_numeral_quoted_in_running_text_is_no_restart():
    res, _layout = _parse("quoted_numeral.txt")
    assert [d.code for d in res.directions] == ["（一）", "（二）", "（三）"]
    assert "（一）方向的统一要求执行" in res.directions[0].fields["content"].text


def test_html_rowspan_and_colspan_keep_the_columns():
    res, layout = _parse("html_rowspan.html.txt")
    assert (layout.levels[0].scheme, layout.levels[0].count) == ("table", 4)
    assert [d.code for d in res.directions] == ["1", "2", "3", "4"]


def test_dev_set_scores():
    from fundgraph.core.paths import EVAL_DIR
    from fundgraph.evaluation.parsing import evaluate_parsing, profile_parse_fn

    dev = EVAL_DIR / "parse_dev"
    auto, baseline = evaluate_parsing(profile_parse_fn("auto"), dev).methods
    assert auto.recall >= 0.95 and auto.precision >= 0.95, (auto.recall, auto.precision)
    assert auto.recall > baseline.recall and auto.precision > baseline.precision
    right = {d.file for d in auto.documents if d.fully_right}
    assert {"13_bangdan_jiebang.txt", "17_stray_numbers_pdf.txt", "32_html_table_rowspan_sections.html.txt"} <= right


def test_bracketed_code_annotations_end_the_title_and_known_category_tails_are_split():
    res, _layout = _parse("code_annotations.txt")
    assert not any("代码" in d.title.text or "编号" in d.title.text for d in res.directions)
    assert [d.category_raw for d in res.directions] == ["重点项目"] * 3 + ["面上项目"] * 2 + ["青年科学家项目"]
    # numbering restarts under each category line: codes are qualified, so ids stay unique
    assert len({d.code for d in res.directions}) == 6


@pytest.mark.parametrize(
    ("title", "kept", "raw"),
    [
        ("海藻养殖的碳汇核算（基础研究类）", "海藻养殖的碳汇核算", "基础研究类"),
        ("海藻养殖的碳汇核算(青年科学家项目)", "海藻养殖的碳汇核算", "青年科学家项目"),
        ("海藻养殖的碳汇核算（青年项目）", "海藻养殖的碳汇核算", "青年项目"),
        ("海藻养殖的碳汇核算（试点）", "海藻养殖的碳汇核算（试点）", None),
        ("海藻养殖的碳汇核算（重点选题）", "海藻养殖的碳汇核算", "重点选题"),
        ("海藻养殖的碳汇核算(自选课题)", "海藻养殖的碳汇核算", "自选课题"),
        ("海藻养殖的碳汇核算（培育专项）", "海藻养殖的碳汇核算", "培育专项"),
        ("海藻养殖的碳汇核算（2024年课题）", "海藻养殖的碳汇核算（2024年课题）", None),
    ],
)
def test_category_tail(title, kept, raw):
    from fundgraph.loaders.parsers import split_category_tail
    from fundgraph.loaders.text import clean

    t, got = split_category_tail(clean(title, 0, len(title)))
    assert (t.text, got) == (kept, raw)


def test_numbering_restarting_under_sections_closed_by_a_full_stop():
    res, layout = _parse("section_restart.txt")
    assert [(lv.role, lv.scheme) for lv in layout.levels] == [("section", "cn_paren"), ("direction", "ar_dot")]
    assert [s.title for s in res.sections] == ["培育项目", "重点支持项目"]
    # the empty （三）集成项目 section ends the list: its sentence is not the last direction's content
    assert "content" not in res.directions[-1].fields


def test_skipped_number_neither_ends_nor_corrupts_the_list():
    res, _layout = _parse("skipped_number.txt")
    assert [s.title for s in res.sections] == ["历史与文化", "城乡社会"]
    assert "line 19: numbering skips from 5 to 7" in res.warnings
    # the numbered 说明 sentences before the list are not directions
    assert not any("申请人" in d.title.text for d in res.directions)
    last, _layout = _parse("skipped_last.txt")
    assert "content" not in last.directions[2].fields
    assert "line 8: numbering skips from 3 to 5" in last.warnings


def test_title_colon_subtitle_versus_content():
    # one item in a list reads "主题：副题" on its line: the subtitle belongs to the title ...
    res, _layout = _parse("skipped_number.txt")
    assert res.directions[2].title.text == "博物馆社教活动：模式、成效与改进"
    # ... where every item reads "题目：内容。", the colon separates the content
    text = (
        "一、研究方向\n1.潮汐能电站选址：评估沿海潮差资源。\n2.波浪能浮标阵列：优化阵列间距。\n"
        "3.海流能叶轮：降低空化损伤。\n"
    )
    res2, _ = parse_with_layout(text, split_lines(text))
    assert [d.title.text for d in res2.directions] == ["潮汐能电站选址", "波浪能浮标阵列", "海流能叶轮"]
    assert res2.directions[0].fields["content"].text == "评估沿海潮差资源。"


def test_two_keywords_are_two_levels():
    res, layout = _parse("zhuanti_fangxiang.txt")
    assert [(lv.role, lv.scheme, lv.count) for lv in layout.levels] == [
        ("section", "keyword", 2),
        ("direction", "keyword", 3),
    ]
    assert [(s.kind, s.title) for s in res.sections] == [("topic", "智慧养殖"), ("topic", "农产品加工")]
    assert [d.section for d in res.directions] == [0, 0, 1]


def test_field_sub_headings_show_the_directions():
    res, layout = _parse("yi_field_headings.txt")
    # （二）主要研究内容 repeated under each item opens no direction list; 附件1：申报要求 is an excluded section
    assert layout.heading is None and "申报要求" in layout.excluded_sections
    assert "研究目标" in res.directions[0].fields["content"].text
    # without the attachment heading, the 一、二、 requirements (no fields under them) are still not directions
    text = (ROOT / "yi_field_headings.txt").read_text(encoding="utf-8").replace("附件1：申报要求", "其他")
    res2, _ = parse_with_layout(text, split_lines(text))
    assert [d.code for d in res2.directions] == ["一", "二", "三"]


def test_field_sub_headings_may_be_left_out_under_an_item():
    text = (ROOT / "yi_field_headings.txt").read_text(encoding="utf-8")
    text = text.replace("（三）经费与期限\n　　省级补助经费120万元，研究期限3年。\n", "")
    res, layout = parse_with_layout(text, split_lines(text))
    assert layout.heading is None
    assert [d.code for d in res.directions] == ["一", "二", "三"]


def test_code_annotation_in_square_brackets():
    text = "一、研究方向\n1. 盐碱地水稻的耐盐机理【指南代码：YD01】\n2. 滩涂光伏与养殖互补模式【指南代码：YD02】\n"
    res, _ = parse_with_layout(text, split_lines(text))
    assert [d.title.text for d in res.directions] == ["盐碱地水稻的耐盐机理", "滩涂光伏与养殖互补模式"]


def test_selection_category_tails_are_categories():
    res, _layout = _parse("xuanti_category_tails.txt")
    assert [d.category_raw for d in res.directions] == ["重点选题", "一般选题", "自选课题"]


def test_html_title_cell_line_break_joins_and_code_annotation_ends_the_title():
    res, _layout = _parse("html_table_cell_br.html.txt")
    assert not any("<" in d.title.text or "代码" in d.title.text for d in res.directions)
    # the title's offsets still point at its characters in the file
    text = (ROOT / "html_table_cell_br.html.txt").read_text(encoding="utf-8")
    t = res.directions[0].title
    assert "".join(text[o] for o in t.offsets) == t.text


def test_items_restarting_under_every_keyword_direction_are_its_content():
    res, layout = _parse("keti_inner_items.txt")
    assert [(lv.role, lv.scheme) for lv in layout.levels] == [("direction", "keyword")]
    assert "预抽空策略" in res.directions[2].fields["content"].text
    # with a field label between them, numbered items are directions of their own under 课题 sections
    text = (ROOT / "keti_inner_items.txt").read_text(encoding="utf-8")
    text = text.replace("；\n2.", "；\n考核指标：完成验证。\n2.")
    res2, layout2 = parse_with_layout(text, split_lines(text))
    assert [lv.role for lv in layout2.levels] == ["section", "direction"]
    assert len(res2.directions) == 7
