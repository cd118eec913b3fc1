"""The bundled corpus parses exactly: counts, worst-broken titles, fields, categories, 004 dedup, ids."""

from __future__ import annotations

import pytest

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.graph.model import direction_id as graph_direction_id
from fundgraph.loaders.corpus import keyword_spans, load_corpus, locate, parse_text
from fundgraph.loaders.parsers import normalise_category
from fundgraph.loaders.records import Category

EXPECTED_COUNTS = {
    "nsfc-tianyuan-sz-2023": 14,
    "most-btit-2024": 15,
    "most-stic-joint": 55,
    "most-btit-2021": 16,
    "gd-imaging-2026": 24,
}


def test_exact_counts_in_manifest_order(corpus, entries):
    assert [d.program.id for d in corpus] == [e.id for e in entries]
    assert {d.program.id: len(d.directions) for d in corpus} == EXPECTED_COUNTS
    assert sum(len(d.directions) for d in corpus) == 124


def test_every_direction_has_title_and_source(corpus, texts):
    for doc in corpus:
        text = texts[doc.program.id]
        for k, d in enumerate(doc.directions, start=1):
            assert d.title.strip(), d.id
            assert not d.title.endswith("。"), d.id
            assert "\n" not in d.title and "#" not in d.title and "**" not in d.title, d.id
            assert d.ordinal == k
            assert d.program_id == doc.program.id
            assert d.source.file == doc.program.source_file
            assert 0 <= d.source.start < d.source.end <= len(text)
            assert d.source.line == text.count("\n", 0, d.source.start) + 1
            # the span starts at the direction's own numbering / title
            assert text[d.source.start : d.source.end].strip()


def test_programs_come_from_manifest(corpus, entries):
    for doc, e in zip(corpus, entries, strict=True):
        p = doc.program
        assert (p.id, p.name, p.name_en, p.funder, p.year, p.status) == (
            e.id,
            e.name,
            e.name_en,
            e.funder,
            e.year,
            e.status,
        )
        assert p.source_file == e.file and p.profile == e.profile


@pytest.mark.parametrize(
    ("program_id", "key", "title"),
    [
        # （十—） with an em-dash
        ("nsfc-tianyuan-sz-2023", "11", "颅内肿瘤多模态数据融合的可通用诊疗模型及系统"),
        ("nsfc-tianyuan-sz-2023", "14", "基于核医学影像分析/判读的智能诊疗一体化基础模型与系统"),
        ("most-btit-2024", "10", "基于生成式AI大模型的危重症全局监护系统与智慧诊疗关键技术研发"),
        ("most-btit-2024", "15", "人工智能驱动的DNA/RNA新型修饰检测"),
        # **bold** heading
        ("most-stic-joint", "2.3", "医用同位素Ac-225生产关键技术及Ac-225类创新核药联合研发"),
        # after a stray "## 国际合作"
        ("most-stic-joint", "4.4", "显微手术机器人的人机共融智能控制方法合作研究"),
        # split by a heading
        ("most-stic-joint", "4.8", "AI驱动下微电网集群支撑高比例新能源大电网稳定运行国际合作研究"),
        (
            "most-stic-joint",
            "4.9",
            "基于大模型与具身智能耦合的机场跑道管养机器人系统自主决策关键技术联合研究及示范应用",
        ),
        (
            "most-stic-joint",
            "8.1",
            "基于观测与多圈层耦合地球系统模式的北极冻土退化污染物和温室气体释放的环境风险与气候效应国际合作研究",
        ),
        # '快速变 化'
        ("most-stic-joint", "8.2", "南极大气—海冰—海洋系统联合观测与海冰快速变化合作研究"),
        ("most-btit-2021", "1.1", "DNA分子信息存储的高加密性编码与信息安全体系研究"),
        # '1.2基于' without a space
        ("most-btit-2021", "1.2", "基于多类型生物分子的超高密度信息存储技术研发"),
        ("most-btit-2021", "3.3", "融合形态特征和组学信息的智慧病理辅助诊断技术体系"),
        ("most-btit-2021", "3.5", "生物数据深度挖掘与知识融合的智能系统研发与示范应用"),
        ("most-btit-2021", "3.6", "基于跨尺度多模态生物医学大数据的癌症智能诊疗共性关键技术研究"),
        ("gd-imaging-2026", "YXB0102", "基于多模态影像的抑郁症疗效定量评估与个体化治疗预测方法研究"),
        ("gd-imaging-2026", "YXA0202", "基于基因－影像组学的膀胱癌术后复发无创精准诊疗技术研究"),
        ("gd-imaging-2026", "YXA0404", "基于数字减影血管造影（DSA）的肝静脉闭塞精准诊疗及预后预测研究"),
    ],
)
def test_worst_broken_titles(direction, program_id, key, title):
    assert direction(program_id, key).title == title


def test_codes_keep_the_documents_numbering(direction):
    assert direction("nsfc-tianyuan-sz-2023", "11").code == "（十一）"
    assert direction("most-btit-2024", "7").code == "7"
    assert direction("most-stic-joint", "4.10").code == "4.10"
    assert direction("most-btit-2021", "1.4").code == "1.4"
    assert direction("gd-imaging-2026", "YXB0101").code == "YXB0101"


def test_em_dash_numeral_is_reported(by_program):
    doc = by_program["nsfc-tianyuan-sz-2023"]
    assert [d.code for d in doc.directions][10] == "（十一）"
    assert any("line 29" in w and "十一" in w for w in doc.warnings)


def test_nsfc_fields_and_funding(by_program, direction):
    doc = by_program["nsfc-tianyuan-sz-2023"]
    for d in doc.directions:
        assert d.category is Category.CROSS_KEY_PROJECT and d.category_raw == "交叉重点专项项目"
        assert d.content and len(d.content) > 100
        assert "注：" not in d.content
        assert d.funding is not None
    d3 = direction("nsfc-tianyuan-sz-2023", "3")
    assert d3.notes == ["本项目拟资助经费300万元，承担单位需具有对多中心数据的统筹管理资质。"]
    assert (d3.funding.amount, d3.funding.unit, d3.funding.scope) == (300.0, "万元", "direction")
    d5 = direction("nsfc-tianyuan-sz-2023", "5")
    assert d5.notes == ["本项目承担单位需配套移动计算平台的硬件经费。"]
    assert (d5.funding.amount, d5.funding.scope) == (200.0, "program")  # no amount in its note
    assert direction("nsfc-tianyuan-sz-2023", "1").funding.amount == 200.0


def test_most_2024_fields(by_program, direction):
    doc = by_program["most-btit-2024"]
    for d in doc.directions:
        if int(d.code) <= 10:
            assert d.content and d.metrics and d.keywords, d.code
            assert d.metrics_label == "考核指标"
            assert d.category in (Category.KEY_CHALLENGE, Category.REGULAR)
            assert d.funding is None
        else:
            assert (d.content, d.metrics, d.keywords) == (None, None, []), d.code
            assert d.category is Category.YOUNG_SCIENTIST and d.support_type == "青年科学家"
            assert (d.funding.amount, d.funding.unit, d.funding.scope) == (300.0, "万元", "category")
    assert [d.support_type for d in doc.directions].count("重点攻关") == 6
    assert [d.support_type for d in doc.directions].count("常规支持") == 4
    assert [s.title for s in doc.sections] == ["重点攻关类", "常规支持类", "青年科学家项目"]
    assert direction("most-btit-2024", "1").keywords == ["DNA存储", "分子编程", "分子加密"]
    # keywords spilling onto the next line
    assert direction("most-btit-2024", "6").keywords[-1] == "一体式内窥系统"
    assert direction("most-btit-2024", "10").notes == [
        "其他自筹经费（包括地方财政经费、单位出资及社会渠道资金等）与中央财政经费比例不低于0.5:1。"
    ]


def test_most_fields_markdown_fields(by_program, direction):
    doc = by_program["most-stic-joint"]
    assert [s.title for s in doc.sections] == [
        "农业与粮食安全",
        "生物医药与卫生健康",
        "矿产资源",
        "人工智能",
        "量子科技",
        "脑机接口",
        "深海",
        "极地",
    ]
    per_field = [sum(1 for d in doc.directions if d.section == s.id) for s in doc.sections]
    assert per_field == [5, 7, 6, 10, 10, 8, 3, 6]
    for d in doc.directions:
        assert d.content and d.metrics and d.keywords and d.category, d.code
        assert d.metrics_label in ("考核指标", "技术指标")
        assert d.code.split(".")[0] == d.section.rsplit(":", 1)[1]
    assert direction("most-stic-joint", "3.6").metrics_label == "技术指标"
    # the stray "## 国际合作" heading is the last keyword of 4.3
    assert direction("most-stic-joint", "4.3").keywords[-2:] == ["长时记忆", "国际合作"]
    # keywords spilling across lines
    assert "大规模仿真平台" in direction("most-stic-joint", "4.1").keywords
    # LaTeX is kept
    assert r"$\geq 50\%$" in direction("most-stic-joint", "1.1").metrics
    # "研究内容：" on its own line, content on the next
    assert direction("most-stic-joint", "5.3").content.startswith("针对")
    # a second "研究内容：" inside the content is running text, not a new field
    assert "主要研究内容：冰水相变" in direction("most-stic-joint", "3.6").content


def test_category_normalisation(by_program, direction):
    key_tech = Category.KEY_TECHNOLOGY
    assert normalise_category("共性关键技术类") is normalise_category("关键共性技术类") is key_tech
    assert normalise_category("应用示范类") is normalise_category("示范应用类") is Category.APPLICATION_DEMO
    assert normalise_category("(共性关键技术类)") is Category.KEY_TECHNOLOGY
    assert normalise_category("（ 基础研究类 ）") is Category.BASIC_RESEARCH
    assert normalise_category("青年科学家项目") is Category.YOUNG_SCIENTIST
    assert normalise_category("面上项目") is Category.GENERAL_PROJECT
    assert normalise_category("没有的类") is None
    d25 = direction("most-stic-joint", "2.5")
    assert (d25.category, d25.category_raw) == (Category.KEY_TECHNOLOGY, "关键共性技术类")
    d44 = direction("most-stic-joint", "4.4")  # half-width parentheses
    assert (d44.category, d44.category_raw) == (Category.KEY_TECHNOLOGY, "共性关键技术类")
    d48 = direction("most-stic-joint", "4.8")
    assert (d48.category, d48.category_raw) == (Category.APPLICATION_DEMO, "示范应用类")
    d15 = direction("most-stic-joint", "1.5")
    assert (d15.category, d15.category_raw) == (Category.APPLICATION_DEMO, "应用示范类")
    cats = {d.category for d in by_program["most-stic-joint"].directions}
    assert cats == {Category.KEY_TECHNOLOGY, Category.BASIC_RESEARCH, Category.APPLICATION_DEMO}


def test_most_tasks_fields(by_program, direction):
    doc = by_program["most-btit-2021"]
    assert [(s.code, s.title, s.kind) for s in doc.sections] == [
        ("1", "基于DNA原理的信息存储系统开发", "task"),
        ("2", "面向生命-非生命融合的智能生物系统构建与开发", "task"),
        ("3", "BT与IT融合技术的健康医学场景应用示范", "task"),
    ]
    for d in doc.directions:
        assert d.content and d.metrics, d.code
        assert d.keywords == []  # this document has no 关键词
    assert direction("most-btit-2021", "3.4").metrics_label == "预期指标"
    # a page number ("9") inside a field is dropped
    m24 = direction("most-btit-2021", "2.4").metrics
    assert "任务指标ADC分辨率" in m24
    assert direction("most-btit-2021", "2.4").notes[0].startswith("由企业牵头")
    young = {"1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.5", "2.6", "3.1", "3.2"}
    for d in doc.directions:
        has = any("青年科学家" in n for n in d.notes)
        assert has == (d.code in young), d.code


def test_gd_joint_fund_merges_table_and_sections(by_program, direction, texts):
    doc = by_program["gd-imaging-2026"]
    codes = [d.code for d in doc.directions]
    assert len(codes) == len(set(codes)) == 24  # each is listed twice in the file: 48 listings, 24 directions
    text = texts["gd-imaging-2026"]
    for code in codes:
        assert text.count(code) == 2, code
    assert sum(c.startswith("YXB") for c in codes) == 5 and sum(c.startswith("YXA") for c in codes) == 19
    for d in doc.directions:
        assert d.application_code == d.code and d.disciplines, d.code
        assert all(len(x) == 5 and x[0] == "H" for x in d.disciplines)
        if d.code.startswith("YXB"):
            assert (d.support_type, d.category) == ("重点项目", Category.KEY_PROJECT)
            assert (d.funding.amount, d.funding.unit, d.funding.scope) == (50.0, "万元", "category")
            assert d.content, d.code
        else:
            assert (d.support_type, d.category) == ("面上项目", Category.GENERAL_PROJECT)
            assert d.funding.amount == 20.0
            assert d.content is None
        assert d.section_title and "专题" not in d.section_title
    d = direction("gd-imaging-2026", "YXB0101")
    assert d.disciplines == ["H0904", "H2708"]
    assert d.content.startswith("针对帕金森病冻结步态机制不清") and d.content.endswith("个体化治疗。")
    assert d.section_title == "神经系统和精神疾病精准诊疗"
    # content runs over a page footer ("- 144 -")
    d2 = direction("gd-imaging-2026", "YXB0102")
    assert "个体应答关系新方法" in d2.content and "144" not in d2.content
    assert [s.title for s in doc.sections][2] == "心血管与脑血管疾病精准影像诊疗"
    assert not doc.warnings


def test_ids_are_stable_and_follow_the_graph_convention(corpus, entries):
    again = load_corpus(MANIFEST_PATH)
    assert [d.id for doc in corpus for d in doc.directions] == [d.id for doc in again for d in doc.directions]
    assert [s.id for doc in corpus for s in doc.sections] == [s.id for doc in again for s in doc.sections]
    ids = [d.id for doc in corpus for d in doc.directions]
    assert len(ids) == len(set(ids)) == 124
    for doc in corpus:
        for d in doc.directions:
            assert d.id == graph_direction_id(doc.program.id, d.code)
            if d.section:
                assert d.section in {s.id for s in doc.sections}
    assert "nsfc-tianyuan-sz-2023:11" in ids and "most-stic-joint:2.10" not in ids
    assert "gd-imaging-2026:YXB0101" in ids
    # parse_text on the same text gives equal records
    e = entries[2]
    text = (GUIDELINES_DIR / e.file).read_text(encoding="utf-8")
    assert parse_text(text, file=e.file, program=e.program()) == corpus[2]


def test_locate_maps_field_offsets_back_to_the_file(corpus, texts):
    checked = 0
    for doc in corpus:
        text = texts[doc.program.id]
        for d in doc.directions:
            for name in ("title", "content", "metrics"):
                value = getattr(d, name)
                if not value:
                    continue
                span = d.field_spans[name]
                assert d.source.start <= span.start < span.end <= d.source.end
                for i in range(0, len(value), 7):  # every 7th character keeps the test fast
                    ch = value[i]
                    a, b = locate(d, name, i, i + 1, text=text)
                    assert text[a:b] == ch or (ch == " " and text[a:b].isspace()), (d.id, name, i)
                a, b = locate(d, name, 0, len(value))
                assert (a, b) == (span.start, span.end)
                checked += 1
    assert checked > 124 * 2
    d = next(x for x in corpus[2].directions if x.code == "4.8")
    i = d.title.index("运行")
    a, b = locate(d, "title", i, i + 2)
    assert texts["most-stic-joint"][a:b] == "运行"  # the word after the stray "## " heading


def test_keyword_spans_point_at_each_keyword(corpus, texts):
    n = 0
    for doc in corpus:
        text = texts[doc.program.id]
        for d in doc.directions:
            spans = keyword_spans(d)
            assert [k for k, _, _ in spans] == d.keywords
            for k, a, b in spans:
                if " " not in k:
                    assert text[a:b].replace("\n", "").replace(" ", "").replace("#", "") == k.replace(" ", "")
                n += 1
    assert n > 300
