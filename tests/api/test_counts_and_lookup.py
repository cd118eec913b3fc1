"""One counting rule for the heatmap and its lists, and lookup by name wherever an id is accepted (issue 13).

Runs against both stores (``client`` is parametrised over the embedded store and Neo4j).
"""

from __future__ import annotations

from collections import Counter

import pytest

from fundgraph.core.schema import ENTITY_REGISTRY


@pytest.mark.parametrize("by", list(ENTITY_REGISTRY))
def test_every_matrix_cell_equals_the_list_it_opens(client, by):
    m = client.get("/api/overlaps/matrix", params={"by": by}).json()
    assert m["rule"] and m["entities"]
    for j, e in enumerate(m["entities"]):
        # The list behind the column (every program at once): the dashboard opens it per program.
        page = client.get("/api/directions", params={by: e["id"], "limit": 500}).json()
        assert page["total"] == len(page["items"]) == e["direction_count"], e["id"]
        per = Counter(d["program_id"] for d in page["items"])
        assert [row[j] for row in m["counts"]] == [per.get(p, 0) for p in m["programs"]], e["id"]
        assert e["program_count"] == len(per)


def test_a_cell_counts_the_children_of_a_group(client):
    """gd-imaging-2026 × 肿瘤: the directions citing 肿瘤 itself and those citing 肺癌, 颅内肿瘤 … under it."""
    m = client.get("/api/overlaps/matrix", params={"by": "disease"}).json()
    j = [e["id"] for e in m["entities"]].index("disease:neoplasm")
    cell = m["counts"][m["programs"].index("gd-imaging-2026")][j]
    listed = client.get("/api/directions", params={"program": "gd-imaging-2026", "disease": "肿瘤"}).json()
    direct = client.get("/api/entities/disease/disease:neoplasm").json()["directions_by_program"]
    assert cell == listed["total"] == 5
    assert len(direct["gd-imaging-2026"]) == 2 < cell  # two cite 肿瘤 itself


@pytest.mark.parametrize(("value", "center"), [
    ("阿尔茨海默病", "disease:alzheimer"),         # the disease, not the keyword of the same text
    ("阿尔兹海默症", "disease:alzheimer"),         # a synonym
    ("Alzheimer's disease", "disease:alzheimer"),  # the English name, any case
    ("MRI", "modality:MR"),                        # an English abbreviation
    ("脑机接口", "technique:brain-computer-interface"),
    ("disease:alzheimer", "disease:alzheimer"),    # ids as before
    ("gd-imaging-2026:YXA0101", "gd-imaging-2026:YXA0101"),
])
def test_neighborhood_by_name_or_synonym(client, value, center):
    r = client.get("/api/graph/neighborhood", params={"node": value, "depth": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["center"] == center
    assert body["nodes"][0]["data"]["id"] == center and len(body["nodes"]) > 1


def test_neighborhood_of_no_name_is_404(client):
    r = client.get("/api/graph/neighborhood", params={"node": "没有这个实体"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "node_not_found"


@pytest.mark.parametrize(("entity_type", "value", "entity_id"), [
    ("disease", "阿尔兹海默症", "disease:alzheimer"),
    ("disease", "alzheimer", "disease:alzheimer"),
    ("modality", "MRI", "modality:MR"),
    ("technique", "BCI", "technique:brain-computer-interface"),
    ("discipline", "H2701", "discipline:H2701"),
])
def test_entity_by_name_or_synonym(client, entity_type, value, entity_id):
    r = client.get(f"/api/entities/{entity_type}/{value}")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == entity_id and r.json()["directions_by_program"]
