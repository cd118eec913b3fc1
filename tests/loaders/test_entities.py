"""Mention extraction: synonyms, abbreviations in context, stimulation ultrasound, spans, and the gold set."""

from __future__ import annotations

import pytest

from fundgraph.core.paths import VOCAB_DIR
from fundgraph.evaluation.entities import evaluate_entities, load_gold
from fundgraph.loaders.entities import extract_direction, find_mentions
from fundgraph.loaders.vocab import load_vocabularies


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(VOCAB_DIR)


def ids(text, vocab, etype=None):
    return {m.entity_id for m in find_mentions(text, vocab) if etype is None or m.entity_type == etype}


def test_alzheimer_variants_and_ad_in_context(vocab):
    assert ids("阿尔兹海默病患者", vocab) == {"disease:alzheimer"}
    assert ids("早期AD患者预实验", vocab, "disease") == {"disease:alzheimer"}
    assert ids("以不少于 5 种记忆损伤（如 AD 等）的病理动物模型", vocab, "disease") >= {"disease:alzheimer"}


def test_ad_not_inside_latin_words_nor_without_context(vocab):
    assert "disease:alzheimer" not in ids("5×FAD小鼠", vocab)
    assert "disease:alzheimer" not in ids("认知评分（如ADAS-Cog）", vocab)
    assert "disease:alzheimer" not in ids("支持 ADC DAC 接口与 AD 转换芯片", vocab)


def test_mr_pet_ct_forms(vocab):
    assert ids("基于 PET和MR多模态影像", vocab, "modality") == {"modality:PET", "modality:MR"}
    assert ids("PET/MR 脑功能图像", vocab, "modality") == {"modality:PET", "modality:MR"}
    assert ids("核磁共振与MRI", vocab, "modality") == {"modality:MR"}
    assert ids("正电子发射断层成像（PET）", vocab, "modality") == {"modality:PET"}
    assert ids("基于能谱 CT和超声", vocab, "modality") == {"modality:spectral-ct", "modality:US"}
    assert ids("锥形束 CT 操作规范", vocab, "modality") == {"modality:cbct"}
    assert ids("数字减影血管造影（DSA）", vocab, "modality") == {"modality:XA"}
    found = ids("MRE 与 MRS 以外的 SMRI", vocab, "modality")
    assert "modality:MR" not in found - {"modality:mr-elastography"}


def test_stimulation_ultrasound_is_not_imaging(vocab):
    for text in ("经颅聚焦超声调控脑淋巴系统功能并改善阿尔兹海默病",
                 "开发多模态神经振荡—超声协同调控技术",
                 "影像导航经颅聚焦超声（tFUS）技术，超声频率0.25–1.5MHz",
                 "低强度脉冲超声刺激自主神经的调控血压技术",
                 "分析不同超声参数（如更高脉冲重复频率）",
                 "研制低强度脉冲超声（LIPUS）设备"):
        assert "modality:US" not in ids(text, vocab), text
    assert "technique:tfus" in ids("经颅聚焦超声调控", vocab)
    assert "technique:lipus" in ids("低强度脉冲超声刺激", vocab)
    assert ids("基于肌骨超声的膝骨关节炎", vocab, "modality") == {"modality:US"}


def test_the_002_stimulation_directions_carry_no_ultrasound_imaging(vocab, direction):
    for code in ("6.4", "6.8"):
        d = direction("most-stic-joint", code)
        found = {m.entity_id for m in extract_direction(d, vocab, with_spans=False)}
        assert "modality:US" not in found
        assert {"technique:tfus", "technique:lipus"} & found


def test_mentions_carry_field_snippet_and_exact_file_span(vocab, direction):
    d = direction("gd-imaging-2026", "YXA0402")
    ms = extract_direction(d, vocab)
    text = (VOCAB_DIR.parent / "guidelines" / d.source.file).read_text(encoding="utf-8")
    title = [m for m in ms if m.field == "title"]
    expected = {"modality:spectral-ct", "modality:US", "disease:esophageal-varices"}
    assert {m.entity_id for m in title} >= expected
    for m in ms:
        assert m.field in {"title", "content", "metrics", "keywords"}
        assert m.surface in m.snippet
        assert "".join(text[m.file_start:m.file_end].split()) == "".join(m.surface.split())


def test_keyword_field_spans_map_into_the_file(vocab, direction):
    d = direction("most-stic-joint", "6.4")
    text = (VOCAB_DIR.parent / "guidelines" / d.source.file).read_text(encoding="utf-8")
    kw = [m for m in extract_direction(d, vocab) if m.field == "keywords"]
    assert {m.entity_id for m in kw} >= {"technique:tfus", "disease:alzheimer"}
    for m in kw:
        assert text[m.file_start:m.file_end] == m.surface


def test_gold_set_is_large_and_spans_all_programs():
    gold = load_gold()
    assert len(gold) >= 40
    assert {g.split(":")[0] for g in gold} == {"nsfc-tianyuan-sz-2023", "most-btit-2024", "most-stic-joint",
                                              "most-btit-2021", "gd-imaging-2026"}


def test_precision_and_recall_on_the_gold_set(vocab, corpus):
    scores = evaluate_entities(corpus, vocab)
    for etype in ("disease", "modality"):
        s = scores[etype]
        assert s.tp > 50, etype
        assert s.precision >= 0.9, (etype, s.false_positives)
        assert s.recall >= 0.9, (etype, s.false_negatives)


def test_precision_and_recall_on_the_blind_second_gold_set(vocab, corpus):
    # Annotated by a second person who saw neither the first gold set nor the matcher's output.
    from fundgraph.evaluation.entities import GOLD_PATH

    gold = load_gold(GOLD_PATH.with_name("gold_entities_blind.yaml"))
    assert len(gold) == 30
    scores = evaluate_entities(corpus, vocab, gold)
    for etype in ("disease", "modality"):
        s = scores[etype]
        assert s.tp >= 20, etype
        assert s.precision >= 0.9, (etype, s.false_positives)
        assert s.recall >= 0.9, (etype, s.false_negatives)
