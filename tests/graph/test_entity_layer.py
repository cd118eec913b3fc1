"""The entity layer over the bundled corpus: nodes, codes, MEMBER_OF, MENTIONS with evidence, boilerplate."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from fundgraph.core.paths import VOCAB_DIR
from fundgraph.graph.model import ENTITY_TYPES
from fundgraph.loaders.vocab import load_vocabularies, norm_term


@pytest.fixture(scope="module")
def g(corpus_built):
    """The session's corpus graph (tests/conftest.py), whose entity layer these tests check."""
    return corpus_built.graph


def mentions(g, did):
    return {(v, d["field"]): d for _, v, d in g.out_edges(did, data=True) if d["type"] == "MENTIONS"}


def test_entity_nodes_have_flat_properties_and_codes(g):
    ad = g.nodes["disease:alzheimer"]
    assert ad["label"] == "Disease" and ad["name"] == "阿尔茨海默病"
    assert ad["name_en"] == "Alzheimer's disease"
    assert ad["icd10"] == "G30" and "阿尔兹海默病" in ad["synonyms"] and "AD" in ad["synonyms"]
    assert g.nodes["modality:PET"]["dicom"] == "PT"
    assert g.nodes["discipline:H2701"]["nsfc"] == "H2701"
    for _, n in g.nodes(data=True):
        for k, v in n.items():
            assert v is None or isinstance(v, (str, int, float, bool)) or (
                isinstance(v, list) and all(isinstance(x, (str, int, float, bool)) for x in v)), (n["id"], k)


def test_every_disease_and_modality_node_has_a_code_or_reason(g):
    for _, n in g.nodes(data=True):
        if n.get("label") == "Disease":
            assert n["icd10"] or n["no_code_reason"], n["id"]
        if n.get("label") == "ImagingModality":
            assert n["dicom"] or n["no_code_reason"], n["id"]


def test_groups_are_nodes_linked_by_member_of(g):
    assert g.has_edge("disease:alzheimer", "disease:neurodegenerative-disease", key="MEMBER_OF")
    assert g.nodes["disease:neurodegenerative-disease"]["is_group"] is True
    assert g.has_edge("modality:spectral-ct", "modality:CT", key="MEMBER_OF")


def test_one_mentions_edge_per_direction_entity_field_with_evidence(g):
    m = mentions(g, "gd-imaging-2026:YXA0402")
    t = m[("modality:spectral-ct", "title")]
    assert t["weight"] == 1.0 and t["count"] == 1 and t["extracted"] is False and "能谱" in t["snippet"]
    assert t["end"] - t["start"] == len("能谱CT")  # the title in the file has no space
    assert m[("discipline:H0307", "disciplines")]["start"] is not None
    keys = [k for _, v, k in g.out_edges("gd-imaging-2026:YXA0402", keys=True) if v == "modality:US"]
    assert sorted(keys) == sorted(set(keys)) and all(k.startswith("MENTIONS|") for k in keys)


def test_title_weighs_more_than_metrics(g):
    weights = {d["field"]: d["weight"] for _, _, d in g.edges(data=True) if d["type"] == "MENTIONS"}
    assert weights["title"] > weights["keywords"] > weights["content"] > weights["metrics"]


def test_explicit_keywords_kept_and_extracted_ones_marked(g):
    m = mentions(g, "most-stic-joint:6.4")
    tfus = m[("keyword:经颅聚焦超声", "keywords")]
    assert tfus["extracted"] is False
    assert g.nodes["keyword:经颅聚焦超声"]["name_en_source"] == "vocab:technique:tfus"
    m = mentions(g, "gd-imaging-2026:YXA0101")
    extracted = [d for (v, _), d in m.items() if v.startswith("keyword:")]
    assert extracted and all(d["extracted"] for d in extracted)


def test_international_cooperation_is_002_boilerplate(g):
    kw = g.nodes["keyword:国际合作"]
    assert kw["boilerplate"] is True and kw["boilerplate_programs"] == ["most-stic-joint"]
    edges = [d for _, v, d in g.edges(data=True) if v == "keyword:国际合作"]
    assert len(edges) >= 50 and all(d["boilerplate"] for d in edges)
    assert not any(d["boilerplate"] for _, v, d in g.edges(data=True) if v == "disease:alzheimer")


def test_stimulation_directions_do_not_link_ultrasound_imaging(g):
    for did in ("most-stic-joint:6.4", "most-stic-joint:6.8"):
        assert not g.has_edge(did, "modality:US")


def test_every_entity_node_is_named_in_chinese_and_english(g):
    """Chinese first, English beside it: every entity of every type (and funder, series) has both names."""
    labels = {lab.value for lab in ENTITY_TYPES.values()} | {"Funder", "ProgramSeries"}
    seen = Counter()
    for _, n in g.nodes(data=True):
        if n.get("label") in labels:
            seen[n["label"]] += 1
            assert isinstance(n.get("name"), str) and n["name"].strip(), n["id"]
            assert isinstance(n.get("name_en"), str) and n["name_en"].strip(), n["id"]
    assert set(seen) == labels
    kws = [n for _, n in g.nodes(data=True) if n.get("label") == "Keyword"]
    assert all(n["name_en_source"] != "none" for n in kws)
    assert sum(1 for n in kws if n["extracted"]) >= 250  # the extracted ones are named too


def test_keywords_matching_a_vocabulary_entity_keep_its_english_name(g):
    vocab = load_vocabularies(VOCAB_DIR)
    for _, n in g.nodes(data=True):
        if n.get("label") == "Keyword":
            t = vocab.terms.get(n["key"])
            if t is not None:
                assert n["name_en"] == vocab.entities[t.entity_id].name_en, n["id"]
                assert n["name_en_source"] == f"vocab:{t.entity_id}"
            else:
                assert n["name_en"] == vocab.keyword_glossary[n["key"]], n["id"]
    assert g.nodes["keyword:分子编程"]["name_en"] == "Molecular programming"
    assert g.nodes["keyword:硅光芯片"]["name_en"] == "Silicon photonic chip"


def test_keyword_glossary_is_sorted_and_every_row_is_used(g):
    rows = list(csv.reader((VOCAB_DIR / "keywords_en.csv").read_text(encoding="utf-8").splitlines()))[1:]
    zh = [r[0] for r in rows]
    assert zh == sorted(zh)
    used = {n["key"] for _, n in g.nodes(data=True) if n.get("label") == "Keyword"}
    assert [z for z in zh if norm_term(z) not in used] == []
