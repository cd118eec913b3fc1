"""English direction titles in the API, for each store (see conftest.py): detail, lists, similar, entity."""

from __future__ import annotations

from fundgraph.graph.formats.json_document import export_json

AD = "gd-imaging-2026:YXA0101"
AD_EN = "Dynamic prediction and early warning of Alzheimer's disease based on multimodal imaging large models"


def test_direction_detail_carries_title_en(client, built):
    body = client.get(f"/api/directions/{AD}").json()
    assert body["title"] == "基于多模态影像大模型的阿尔茨海默病动态预测与早期预警研究"
    assert body["title_en"] == AD_EN
    record = next(d for d in export_json(built)["directions"] if d["id"] == AD)
    assert {k: body[k] for k in record} == record


def test_every_direction_in_the_list_has_its_english_title(client, built):
    items = client.get("/api/directions", params={"limit": 500}).json()["items"]
    assert len(items) == 124
    expected = {n: d["title_en"] for n, d in built.graph.nodes(data=True) if d.get("label") == "Direction"}
    assert {d["id"]: d["title_en"] for d in items} == expected
    assert all(d["title_en"] for d in items)


def test_similar_and_entity_briefs_carry_title_en(client, built):
    titles = {n: d.get("title_en") for n, d in built.graph.nodes(data=True) if d.get("label") == "Direction"}
    similar = client.get(f"/api/directions/{AD}/similar").json()["items"]
    assert similar
    for it in similar:
        assert it["direction"]["title_en"] == titles[it["direction"]["id"]]
    entity = client.get("/api/entities/disease/disease:alzheimer").json()
    briefs = [b for bs in entity["directions_by_program"].values() for b in bs]
    assert briefs and all(b["title_en"] == titles[b["id"]] for b in briefs)


def test_export_endpoint_directions_carry_title_en(client):
    directions = client.get("/api/export").json()["directions"]
    assert len(directions) == 124 and all(d["title_en"] for d in directions)
    assert next(d for d in directions if d["id"] == AD)["title_en"] == AD_EN
