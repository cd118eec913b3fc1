"""Search returns only directions with evidence, reaches the vocabulary in English, and says why when empty.

Against both stores (``client`` is parametrised over the embedded store and Neo4j).
"""

from __future__ import annotations

import pytest

from fundgraph.graph.read.search import MIN_TEXT_SCORE


def _search(client, text: str, k: int = 10, **extra) -> dict:
    r = client.post("/api/search", json={"text": text, "k": k, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def _has_evidence(item: dict) -> bool:
    x = item["explanation"]
    return any(x["shared"].values()) or x["text_score"] >= MIN_TEXT_SCORE


@pytest.mark.parametrize("text", ["cancer", "tumor imaging", "Alzheimer's disease PET imaging", "imaging", "量子",
                                  "脑机接口", "deep learning"])
def test_every_result_shows_evidence(client, text):
    body = _search(client, text, k=100)
    assert body["rule"] and f"{MIN_TEXT_SCORE:.2f}" in body["rule"]
    assert body["items"] and all(_has_evidence(it) for it in body["items"]), text
    assert body["reason"] is None and body["suggestions"] == []
    scores = [it["score"] for it in body["items"]]
    # the score's best 30 first (in the word mix's order), then the rest in score order
    assert sorted(scores[:30], reverse=True) == sorted(scores, reverse=True)[:30] and min(scores) > 0
    assert scores[30:] == sorted(scores[30:], reverse=True)


def test_no_direction_without_evidence_pads_the_answer(client):
    body = _search(client, "cancer", k=100)
    assert len(body["items"]) < 124  # not every direction: those with no shared entity and no text are gone
    assert all(it["explanation"]["shared"]["diseases"] for it in body["items"])


def test_cancer_finds_the_tumour_directions_first_and_names_the_shared_entity(client):
    body = _search(client, "cancer")
    assert [(t["id"], t["matched"]) for t in body["query_entities"]] == [("disease:malignant-neoplasm", "cancer")]
    top = body["items"][:5]
    assert all("恶性肿瘤" in it["explanation"]["shared"]["diseases"] for it in top), top
    assert all("恶性肿瘤" in it["explanation"]["summary"] for it in top)
    assert any(w in top[0]["direction"]["title"] for w in ("癌", "肿瘤"))


def test_tumor_imaging_finds_the_tumour_directions_first(client):
    body = _search(client, "tumor imaging")
    assert "disease:neoplasm" in {t["id"] for t in body["query_entities"]}
    top = body["items"][:5]
    assert all("肿瘤" in it["explanation"]["shared"]["diseases"] for it in top), top
    assert all("肿瘤" in it["direction"]["title"] or "癌" in it["direction"]["title"] for it in top[:3]), top


@pytest.mark.parametrize(("text", "entity"), [
    ("tumour", "disease:neoplasm"),
    ("tumors", "disease:neoplasm"),
    ("MRI", "modality:MR"),
    ("ultrasound", "modality:US"),
    ("brain–computer interface", "technique:brain-computer-interface"),
    ("brain computer interfaces", "technique:brain-computer-interface"),
    ("Alzheimer", "disease:alzheimer"),
    ("Parkinson's", "disease:parkinson"),
    ("magnetic resonance images", "modality:MR"),
])
def test_english_words_and_stems_reach_the_vocabulary(client, text, entity):
    body = _search(client, text)
    assert entity in {t["id"] for t in body["query_entities"]}, body["query_entities"]
    top = body["items"][0]["explanation"]["shared"]
    name = next(t["name"] for t in body["query_entities"] if t["id"] == entity)
    assert any(name in names for names in top.values()), (name, top)


def test_an_answer_with_nothing_says_why_and_suggests_terms(client):
    body = _search(client, "xyzzy plugh")
    assert body["items"] == [] and body["query_entities"] == []
    assert "names no vocabulary entity" in body["reason"]
    assert body["suggestions"] and all(s["id"] and s["name"] for s in body["suggestions"])
    # Suggestions are real: each finds directions.
    first = body["suggestions"][0]
    assert _search(client, first["name"])["items"]


def test_a_misspelt_word_gets_close_suggestions(client):
    body = _search(client, "ultrasoundd")
    if body["items"]:  # a text match can still find something; then there is nothing to suggest
        assert all(_has_evidence(it) for it in body["items"])
    else:
        assert "modality:US" in {s["id"] for s in body["suggestions"]}


def test_an_entity_no_direction_of_the_program_cites_says_so(client):
    body = _search(client, "ultrasound", programs=["most-btit-2021"])
    assert body["items"] == []
    assert "超声成像" in body["reason"] and "most-btit-2021" in body["reason"]
