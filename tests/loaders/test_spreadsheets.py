"""Spreadsheets (.xlsx, .xls, .ods) read as their tables; a direction table's named columns fill the directions' fields.

The fixtures (tests/data/spreadsheets, written by make_spreadsheets.py) are an invented program's list of directions
laid out as such lists usually are: a title merged across the table, a header row, a 类别 column merged over the rows
of each category, numbers stored as numbers, a note under the table, the schedule on a second sheet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fundgraph.core.errors import UnsupportedDocument
from fundgraph.loaders.layout import parse_with_layout
from fundgraph.loaders.readers import DocumentFormat, read_document

DATA = Path(__file__).resolve().parent.parent / "data" / "spreadsheets"
TITLES = ["城市内涝积水点的多源感知与分钟级预报", "老旧小区加装电梯的结构安全快速评估技术",
          "社区老年人跌倒风险的可穿戴监测与干预", "湖泊蓝藻水华的无人船巡测与早期预警",
          "农产品批发市场冷链温度的全程追溯方法"]


@pytest.mark.parametrize("name", ["donghu-2026.xlsx", "donghu-2026.xls", "donghu-2026.ods"])
def test_a_sheet_reads_as_its_rows(name):
    doc = read_document(DATA / name)
    assert doc.format is DocumentFormat.SPREADSHEET
    lines = doc.lines
    # The title merged across the table and the note under it are lines of text; the rest are table rows, with
    # the merged 类别 cell in its first row only, 序号 and amounts as shown (1, not 1.0), a cell's line break
    # joined; the second sheet comes after a blank line under its tab's name.
    assert lines[0] == "2026年度东湖市重点研发计划项目指南方向表" and lines[1] == "东湖市科学技术局"
    assert "| 序号 | 类别 | 方向名称 | 研究内容 | 考核指标 | 支持经费（万元） |" in lines
    row = next(ln for ln in lines if ln.startswith("| 1 |"))
    assert row.startswith(f"| 1 | 重点项目 | {TITLES[0]} | ") and row.endswith(" | 200 |")
    assert "方法。 在两个城区开展示范。" in row
    assert next(ln for ln in lines if ln.startswith("| 2 |")).startswith(f"| 2 |  | {TITLES[1]}")
    assert next(ln for ln in lines if ln.startswith("| 4 |")).endswith(" | 60.5 |")
    assert any(ln.startswith("注：支持经费") for ln in lines)
    assert lines[lines.index("时间安排") - 1] == "" and "| 1 | 网上申报 | 2026年3月1日至3月31日 |" in lines


@pytest.mark.parametrize("other", ["donghu-2026.xls", "donghu-2026.ods"])
def test_the_formats_read_alike(other):
    assert read_document(DATA / other).lines == read_document(DATA / "donghu-2026.xlsx").lines


def test_a_direction_table_fills_fields_category_and_funding():
    res, layout = parse_with_layout(read_document(DATA / "donghu-2026.xlsx").text)
    assert [(d.code, d.title.text) for d in res.directions] == [(str(n), t) for n, t in enumerate(TITLES, 1)]
    assert layout.levels[-1].scheme == "table"  # the schedule's table on the next sheet is not directions
    first, second, fourth = res.directions[0], res.directions[1], res.directions[3]
    assert first.fields["content"].text.startswith("融合雨量站、视频与管网液位数据")
    assert first.fields["metrics"].text == "预报提前量不少于30分钟，积水深度误差不超过10厘米。"
    # The merged 类别 cell covers the rows under it.
    assert [d.category_raw for d in res.directions] == ["重点项目", "重点项目", "一般项目", "一般项目", "一般项目"]
    # Amounts in the header's unit, with the header and the cell as their evidence.
    assert (second.funding.amount, second.funding.unit, second.funding.text) == (150.0, "万元", "支持经费（万元）：150")
    assert fourth.funding.amount == 60.5
    # Every field's text comes with its offsets in the read text: the graph can point at the cell.
    text = read_document(DATA / "donghu-2026.xlsx").text
    cell = first.fields["metrics"]
    assert text[cell.offsets[0] : cell.offsets[-1] + 1] == cell.text


def test_a_damaged_spreadsheet_names_the_file_and_what_to_do(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes((DATA / "donghu-2026.xlsx").read_bytes()[:2000])
    with pytest.raises(UnsupportedDocument) as err:
        read_document(path)
    assert str(err.value).startswith(f"{path}: damaged") and "save it again" in str(err.value)


def test_a_title_line_without_a_full_stop_keeps_the_next_lines_first_character():
    # 揭榜挂帅 榜单: the title line ends without 。 and the next line is content with no field label it knows.
    text = ("某市2026年度揭榜挂帅榜单\n\n二、榜单内容\n\n榜单一：港口堆场智能理货系统\n需求单位：某港务公司\n"
            "攻关内容：研制集装箱箱号与残损的自动识别系统。\n\n榜单二：冷库节能控制系统\n需求单位：某冷链公司\n"
            "攻关内容：研发冷库负荷预测与压缩机群控方法。\n")
    res, _ = parse_with_layout(text)
    assert [d.title.text for d in res.directions] == ["港口堆场智能理货系统", "冷库节能控制系统"]
    assert [d.fields["content"].text[:5] for d in res.directions] == ["需求单位：", "需求单位："]


def test_a_markdown_table_fills_the_same_fields_and_reads_amounts_with_their_units():
    text = ("2026年度某省科技计划项目指南\n\n一、支持方向\n\n"
            "| 序号 | 方向名称 | 主要内容 | 预期目标 | 项目类别 | 经费与期限 |\n"
            "|---|---|---|---|---|---|\n"
            "| 1 | 盐碱地耐逆作物品种筛选 | 筛选耐盐碱品种并开展区域试验。 | 筛选品种不少于5个。 | 重点项目 "
            "| 2年，100万元 |\n"
            "| 2 | 设施蔬菜病害智能监测 | 研制温室病害图像监测装置。 | 识别准确率不低于90%。 |  | 2年 |\n\n"
            "二、申报要求\n\n1. 申报单位应为省内注册的法人单位。\n")
    res, _ = parse_with_layout(text)
    first, second = res.directions
    assert (first.title.text, second.title.text) == ("盐碱地耐逆作物品种筛选", "设施蔬菜病害智能监测")
    assert first.fields["content"].text == "筛选耐盐碱品种并开展区域试验。"
    assert first.fields["metrics"].text == "筛选品种不少于5个。"
    assert first.category_raw == second.category_raw == "重点项目"  # the empty cell under it: merged
    assert (first.funding.amount, first.funding.unit) == (100.0, "万元")  # not the 2 of 2年
    assert second.funding is None  # a duration, no amount
