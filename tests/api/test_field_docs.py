"""Field names a newcomer can read: found_by beside extracted, the two keyword lists, via_hierarchy (issue 13).

Against both stores (``client`` is parametrised over the embedded store and Neo4j).
"""

from __future__ import annotations

import pytest


def _refs(detail: dict) -> dict[str, dict]:
    return {e["id"]: e for group in detail["entities"].values() for e in group}


def test_a_disease_named_in_the_title_is_found_by_the_vocabulary(client):
    d = client.get("/api/directions/gd-imaging-2026:YXA0101").json()
    ad = _refs(d)["disease:alzheimer"]
    assert ad["found_by"] == "vocabulary" and ad["extracted"] is False
    assert ad["evidence"][0]["field"] == "title" and "阿尔茨海默病" in ad["evidence"][0]["snippet"]
    # The document lists no 关键词: the keyword entities were extracted from the text, and say so.
    assert d["keywords"] == []
    kws = d["entities"]["keywords"]
    assert kws and all(k["found_by"] == "extracted_keyword" and k["extracted"] for k in kws)
    assert {e["found_by"] for e in d["entities"]["disciplines"]} == {"application_code"}


def test_listed_keywords_are_the_keyword_entities_of_a_direction_that_lists_them(client):
    d = client.get("/api/directions/most-btit-2024:7").json()
    assert d["keywords"]
    listed = [k for k in d["entities"]["keywords"] if k["found_by"] == "listed_keyword"]
    assert [k["name"] for k in listed] == d["keywords"]
    assert not any(k["extracted"] for k in listed)


def test_every_reference_has_a_found_by_consistent_with_extracted(client):
    for did in ("most-stic-joint:2.5", "nsfc-tianyuan-sz-2023:7", "gd-imaging-2026:YXA0201"):
        for ref in _refs(client.get(f"/api/directions/{did}").json()).values():
            assert ref["extracted"] == (ref["found_by"] == "extracted_keyword"), ref
            assert (ref["type"] == "keyword") == (ref["found_by"] in ("listed_keyword", "extracted_keyword"))


def test_the_fields_are_described_in_the_openapi_schema(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    ref = schemas["EntityRef"]["properties"]
    assert "extracted_keyword" in ref["found_by"]["description"]
    assert "found_by = extracted_keyword" in ref["extracted"]["description"]
    assert "entities.keywords" in schemas["DirectionDetail"]["properties"]["keywords"]["description"]
    assert "关键词" in schemas["DirectionEntities"]["properties"]["keywords"]["description"]
    expl = schemas["Explanation"]["properties"]
    assert "via_hierarchy" in expl and "MEMBER_OF" in expl["via_hierarchy"]["description"]


@pytest.mark.parametrize("direction_id", ["gd-imaging-2026:YXA0102", "gd-imaging-2026:YXA0201", "most-btit-2024:7"])
def test_via_hierarchy_marks_the_shared_entities_one_side_does_not_cite(client, direction_id):
    own = {e["name"] for e in _refs(client.get(f"/api/directions/{direction_id}").json()).values()}
    # scope=all: a direction with nothing related in other programs has an empty cross-program list (no_related).
    items = client.get(f"/api/directions/{direction_id}/similar", params={"k": 10, "scope": "all"}).json()["items"]
    marked = 0
    for it in items:
        x = it["explanation"]
        other = {e["name"] for e in _refs(client.get(f"/api/directions/{it['direction']['id']}").json()).values()}
        for group, names in x["shared"].items():
            via = set(x["via_hierarchy"].get(group, []))
            assert via <= set(names)
            for n in names:
                assert (n in via) == (n not in own or n not in other), (it["direction"]["id"], n)
            marked += len(via)
    assert marked or direction_id == "most-btit-2024:7"


def test_parkinson_and_a_neurodegenerative_direction_share_the_group_through_the_hierarchy(client):
    # Below the SIMILAR_TO threshold (YXA0102 has nothing related in other programs): listed by scope=all.
    items = client.get("/api/directions/gd-imaging-2026:YXA0102/similar", params={"k": 40, "scope": "all"}).json()[
        "items"]
    pair = next(it for it in items if it["direction"]["id"] == "most-stic-joint:6.3")
    assert "神经退行性疾病" in pair["explanation"]["shared"]["diseases"]
    assert "神经退行性疾病" in pair["explanation"]["via_hierarchy"]["diseases"]


def test_search_and_overlap_pairs_mark_it_too(client):
    item = client.post("/api/search", json={"text": "cancer", "k": 1}).json()["items"][0]
    via = item["explanation"]["via_hierarchy"]["diseases"]
    assert "肿瘤" in via and set(via) <= set(item["explanation"]["shared"]["diseases"])  # the text names 恶性肿瘤
    # Two programs with SIMILAR_TO pairs (gd-imaging-2026 and most-btit-2024 have none above the calibrated threshold).
    pairs = client.get("/api/overlaps", params={"a": "gd-imaging-2026", "b": "most-stic-joint"}).json()
    assert pairs["similar_pairs"] and all(p["explanation"]["via_hierarchy"] is not None
                                          for p in pairs["similar_pairs"])
