"""The API contract, over the real graph of the bundled corpus, for each store (see conftest.py)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import networkx as nx
import pydantic_core
import pytest

from fundgraph.graph.formats.json_document import export_json
from fundgraph.graph.model import ENTITY_GROUPS, Label, Rel

N_DIRECTIONS = 124
PROGRAM_IDS = [
    "nsfc-tianyuan-sz-2023",
    "most-btit-2024",
    "most-stic-joint",
    "most-btit-2021",
    "gd-imaging-2026",
]


def _error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"status", "code", "message", "detail"}
    assert err["status"] == status
    if code is not None:
        assert err["code"] == code
    assert err["message"]
    return err


@pytest.fixture(scope="module")
def export(built) -> dict:
    return json.loads(json.dumps(export_json(built), ensure_ascii=False))


@pytest.fixture(scope="module")
def mentioned(export) -> dict[str, set[str]]:
    """entity id -> directions citing it, from the export's links."""
    out: dict[str, set[str]] = {}
    for link in export["links"]:
        out.setdefault(link["entity_id"], set()).add(link["direction_id"])
    return out


@pytest.fixture(scope="module")
def covered(built, mentioned) -> dict[str, set[str]]:
    """entity id -> directions citing it or any entity under it (MEMBER_OF, transitively), from the built graph."""
    members: dict[str, set[str]] = {}
    for u, v, e in built.graph.edges(data=True):
        if e.get("type") == "MEMBER_OF":
            members.setdefault(v, set()).add(u)
    out: dict[str, set[str]] = {}
    for ent in built.graph.nodes:
        seen, todo = {ent}, [ent]
        while todo:
            for m in members.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        dirs = set().union(*(mentioned.get(m, set()) for m in seen))
        if dirs:
            out[ent] = dirs
    return out


# -- health, programs --------------------------------------------------------------------------------------
def test_health_counts_equal_the_built_graph(client, built, store):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["backend"] == store.backend
    assert body["node_count"] == built.graph.number_of_nodes()
    assert body["edge_count"] == built.graph.number_of_edges()
    assert body["built_at"] == built.meta["built_at"]


def test_programs_in_manifest_order_with_direction_counts(client, export):
    body = client.get("/api/programs").json()
    assert [p["id"] for p in body] == PROGRAM_IDS
    assert [p["direction_count"] for p in body] == [14, 15, 55, 16, 24]
    assert sum(p["direction_count"] for p in body) == N_DIRECTIONS
    for p, e in zip(body, export["programs"], strict=True):
        for k in ("id", "name", "name_en", "funder", "year", "status", "source_file"):
            assert p[k] == e[k]


# -- directions --------------------------------------------------------------------------------------------
def test_directions_default_page_and_paging(client, export):
    first = client.get("/api/directions").json()
    assert first["total"] == N_DIRECTIONS
    assert len(first["items"]) == 50
    assert set(first["items"][0]) == {"id", "program_id", "code", "title", "title_en", "category"}
    everything = client.get("/api/directions", params={"limit": 500}).json()["items"]
    assert [d["id"] for d in everything] == [d["id"] for d in export["directions"]]
    page = client.get("/api/directions", params={"limit": 10, "offset": 120}).json()
    assert page["total"] == N_DIRECTIONS
    assert [d["id"] for d in page["items"]] == [d["id"] for d in everything[120:]]


def test_directions_program_filter(client):
    body = client.get("/api/directions", params={"program": "most-stic-joint", "limit": 500}).json()
    assert body["total"] == 55
    assert {d["program_id"] for d in body["items"]} == {"most-stic-joint"}


def test_directions_unknown_program_is_404(client):
    err = _error(
        client.get("/api/directions", params={"program": "no-such-program"}), 404, "program_not_found"
    )
    assert err["detail"]["program"] == "no-such-program"


def test_directions_q_matches_title_or_content(client, export):
    body = client.get("/api/directions", params={"q": "阿尔茨海默", "limit": 500}).json()
    expected = [
        d["id"]
        for d in export["directions"]
        if "阿尔茨海默" in (d["title"] or "") or "阿尔茨海默" in (d["content"] or "")
    ]
    assert expected
    assert [d["id"] for d in body["items"]] == expected


def test_entity_filter_accepts_id_chinese_and_english_name(client, export, mentioned):
    ad = next(e for e in export["entities"] if e["type"] == "disease" and "阿尔茨海默" in e["name"])
    by_id = client.get("/api/directions", params={"disease": ad["id"], "limit": 500}).json()
    by_zh = client.get("/api/directions", params={"disease": ad["name"], "limit": 500}).json()
    by_en = client.get("/api/directions", params={"disease": ad["name_en"].upper(), "limit": 500}).json()
    assert by_id == by_zh == by_en
    assert {d["id"] for d in by_id["items"]} >= mentioned[ad["id"]]
    assert by_id["total"] >= 2


def test_entity_filters_combine_with_and(client, export, mentioned):
    ad = next(e for e in export["entities"] if e["type"] == "disease" and "阿尔茨海默" in e["name"])
    mr = next(e for e in export["entities"] if e["type"] == "modality" and e.get("dicom") == "MR")
    body = client.get(
        "/api/directions", params={"disease": ad["id"], "modality": mr["id"], "limit": 500}
    ).json()
    assert body["total"] >= 1
    assert {d["id"] for d in body["items"]} <= mentioned[mr["id"]]


def test_unknown_entity_filter_is_404(client):
    _error(client.get("/api/directions", params={"disease": "no-such-disease-xyz"}), 404, "entity_not_found")


def test_category_filter(client, export):
    body = client.get("/api/directions", params={"category": "key_technology", "limit": 500}).json()
    expected = [d["id"] for d in export["directions"] if d["category"] == "key_technology"]
    assert expected and [d["id"] for d in body["items"]] == expected


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1}, {"limit": "ten"}])
def test_directions_limits_are_422(client, params):
    _error(client.get("/api/directions", params=params), 422, "invalid_request")


def test_direction_detail_has_every_export_field_and_grouped_entities(client, export):
    links = {}
    for link in export["links"]:
        links.setdefault(link["direction_id"], []).append(link)
    for d in export["directions"][::7]:
        body = client.get(f"/api/directions/{d['id']}").json()
        for k, v in d.items():
            assert body[k] == v, (d["id"], k)
        assert set(body["entities"]) == set(ENTITY_GROUPS.values())
        got = {
            (e["id"], ev["field"], tuple(ev["span"]))
            for group in body["entities"].values()
            for e in group
            for ev in e["evidence"]
        }
        want = {(x["entity_id"], x["field"], tuple(x["span"])) for x in links.get(d["id"], [])}
        assert got == want, d["id"]
        for group, items in body["entities"].items():
            for e in items:
                assert ENTITY_GROUPS[e["type"]] == group
                assert e["name"] and "codes" in e and e["evidence"]


def test_direction_evidence_points_into_the_source_file(client, export):
    from fundgraph.core.paths import GUIDELINES_DIR

    d = next(x for x in export["directions"] if x["program_id"] == "most-btit-2024")
    body = client.get(f"/api/directions/{d['id']}").json()
    text = (GUIDELINES_DIR / d["source"]["file"]).read_text(encoding="utf-8")
    checked = 0
    for group in body["entities"].values():
        for e in group:
            for ev in e["evidence"]:
                start, end = ev["span"]
                assert 0 <= start < end <= len(text)
                assert text[start:end].strip()
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("bad", ["no-such-direction", "most-btit-2024:999", "most-btit-2024"])
def test_unknown_direction_is_404(client, bad):
    err = _error(client.get(f"/api/directions/{bad}"), 404, "direction_not_found")
    assert err["detail"]["id"] == bad


# -- similar -----------------------------------------------------------------------------------------------
def test_similar_cross_program_ranks_all_candidates(client, export, built):
    linked = {u for u, _, e in built.graph.edges(data=True) if e.get("type") == Rel.SIMILAR_TO.value}
    d = next(x for x in export["directions"] if x["id"] in linked)
    others = [x for x in export["directions"] if x["program_id"] != d["program_id"]]
    body = client.get(f"/api/directions/{d['id']}/similar", params={"k": 100}).json()
    items = body["items"]
    assert len(items) == min(100, len(others))  # every candidate ranks, not only stored edges
    assert all(i["direction"]["program_id"] != d["program_id"] for i in items)
    scores = [i["score"] for i in items]
    # the score's best 30 first (in the word mix's order), then the rest in score order
    assert sorted(scores[:30], reverse=True) == sorted(scores, reverse=True)[:30]
    assert scores[30:] == sorted(scores[30:], reverse=True)
    assert any(i["above_threshold"] for i in items) and not all(i["above_threshold"] for i in items)
    top = items[0]
    assert set(top["explanation"]) == {"text_score", "entity_score", "shared", "via_hierarchy", "summary"}


def test_similar_scope_all_includes_same_program_and_never_itself(client, export):
    d = export["directions"][0]
    items = client.get(f"/api/directions/{d['id']}/similar", params={"k": 100, "scope": "all"}).json()[
        "items"
    ]
    ids = [i["direction"]["id"] for i in items]
    assert d["id"] not in ids
    assert any(i["direction"]["program_id"] == d["program_id"] for i in items)
    five = client.get(f"/api/directions/{d['id']}/similar", params={"k": 5, "scope": "all"}).json()["items"]
    assert [i["direction"]["id"] for i in five] == ids[:5]


def test_similar_agrees_with_stored_edges(client, built):
    """A stored SIMILAR_TO edge's target is among the source's cross-program similar directions."""
    edges = [(u, v, e) for u, v, e in built.graph.edges(data=True) if e.get("type") == Rel.SIMILAR_TO.value]
    assert edges
    u, v, e = max(edges, key=lambda x: x[2]["score"])
    items = client.get(f"/api/directions/{u}/similar", params={"k": 10}).json()["items"]
    hit = next(i for i in items if i["direction"]["id"] == v)
    assert hit["score"] == pytest.approx(e["score"], abs=1e-4)
    assert hit["above_threshold"] is True


@pytest.mark.parametrize("params", [{"k": 1000000000}, {"k": 0}, {"k": 101}, {"scope": "galaxy"}])
def test_similar_bad_params_are_422(client, export, params):
    _error(
        client.get(f"/api/directions/{export['directions'][0]['id']}/similar", params=params),
        422,
        "invalid_request",
    )


def test_similar_unknown_direction_is_404(client):
    _error(client.get("/api/directions/nope:1/similar"), 404, "direction_not_found")


# -- search ------------------------------------------------------------------------------------------------
def test_search_english_abstract_finds_alzheimer_pet_directions(client, export, mentioned):
    ad = next(e["id"] for e in export["entities"] if e["type"] == "disease" and "阿尔茨海默" in e["name"])
    body = client.post("/api/search", json={"text": "Alzheimer's disease PET imaging", "k": 5}).json()
    items = body["items"]
    assert len(items) == 5
    assert items[0]["direction"]["id"] in mentioned[ad]
    assert items[0]["explanation"]["shared"]["diseases"]


def test_search_restricted_to_programs(client):
    body = client.post(
        "/api/search", json={"text": "医学影像人工智能", "k": 10, "programs": ["gd-imaging-2026"]}
    ).json()
    assert body["items"]
    assert {i["direction"]["program_id"] for i in body["items"]} == {"gd-imaging-2026"}


def test_search_unknown_program_is_404(client):
    _error(client.post("/api/search", json={"text": "影像", "programs": ["nope"]}), 404, "program_not_found")


@pytest.mark.parametrize(
    "body",
    [
        b"this is not json",
        b'{"text": ',
        b"",
        b"[1, 2]",
        b'{"k": 5}',
        b'{"text": "x", "k": 1000000000}',
        b'{"text": ""}',
        b'{"text": 3}',
    ],
)
def test_search_malformed_bodies_are_422(client, body):
    r = client.post("/api/search", content=body, headers={"content-type": "application/json"})
    _error(r, 422, "invalid_request")


def test_search_non_json_content_type_is_422(client):
    _error(client.post("/api/search", content=b"text=hello", headers={"content-type": "text/plain"}), 422)


# -- entities ----------------------------------------------------------------------------------------------
def test_entities_list_with_counts(client, export, mentioned):
    body = client.get("/api/entities", params={"type": "disease"}).json()
    assert body and {e["type"] for e in body} == {"disease"}
    progs = {d["id"]: d["program_id"] for d in export["directions"]}
    for e in body:
        ds = mentioned.get(e["id"], set())
        assert e["direction_count"] == len(ds)
        assert e["program_count"] == len({progs[d] for d in ds})
    counts = [e["direction_count"] for e in body]
    assert counts == sorted(counts, reverse=True)


def test_entities_q_matches_english_names(client):
    body = client.get("/api/entities", params={"q": "alzheimer"}).json()
    assert any("阿尔茨海默" in e["name"] for e in body)


def test_entities_bad_type_is_422(client):
    _error(client.get("/api/entities", params={"type": "planet"}), 422, "invalid_request")


def test_entity_detail_groups_directions_by_program(client, mentioned, export):
    ad = next(e for e in export["entities"] if e["type"] == "disease" and "阿尔茨海默" in e["name"])
    body = client.get(f"/api/entities/disease/{ad['id']}").json()
    assert body["id"] == ad["id"] and body["name"] == ad["name"]
    got = {d["id"] for ds in body["directions_by_program"].values() for d in ds}
    assert got == mentioned[ad["id"]]
    for pid, ds in body["directions_by_program"].items():
        assert {d["program_id"] for d in ds} == {pid}
    assert body["codes"].get("icd10")


def test_entity_unknown_is_404_and_bad_type_is_422(client):
    _error(client.get("/api/entities/disease/disease:no-such"), 404, "entity_not_found")
    _error(client.get("/api/entities/planet/mars"), 422, "invalid_request")


# -- overlaps ----------------------------------------------------------------------------------------------
def test_overlap_between_two_programs(client):
    body = client.get("/api/overlaps", params={"a": "most-btit-2024", "b": "gd-imaging-2026"}).json()
    assert body["a"] == "most-btit-2024" and body["b"] == "gd-imaging-2026"
    assert body["shared"]
    for s in body["shared"]:
        assert s["a_directions"] and s["b_directions"]
        assert {d["program_id"] for d in s["a_directions"]} == {"most-btit-2024"}
        assert {d["program_id"] for d in s["b_directions"]} == {"gd-imaging-2026"}
    for p in body["similar_pairs"]:
        assert p["a"]["program_id"] == "most-btit-2024" and p["b"]["program_id"] == "gd-imaging-2026"


def test_overlap_unknown_program_is_404(client):
    _error(client.get("/api/overlaps", params={"a": "most-btit-2024", "b": "nope"}), 404, "program_not_found")
    _error(client.get("/api/overlaps", params={"a": "most-btit-2024"}), 422, "invalid_request")


@pytest.mark.parametrize("by", ["disease", "modality", "technique", "keyword"])
def test_matrix_counts_agree_with_entities(client, by, covered, export):
    body = client.get("/api/overlaps/matrix", params={"by": by}).json()
    assert body["programs"] == PROGRAM_IDS
    assert len(body["counts"]) == len(PROGRAM_IDS)
    assert all(len(row) == len(body["entities"]) for row in body["counts"])
    assert "MEMBER_OF" in body["rule"]
    # Every entity of the type cited directly or through a member is a column, counted with its members.
    assert {e["id"] for e in body["entities"]} == {e for e in covered if e.startswith(by + ":")}
    for j, e in enumerate(body["entities"]):
        assert e["type"] == by
        assert sum(row[j] for row in body["counts"]) == e["direction_count"] == len(covered[e["id"]])
        assert sum(1 for row in body["counts"] if row[j]) == e["program_count"]


def test_matrix_bad_by_is_422(client):
    _error(client.get("/api/overlaps/matrix", params={"by": "planet"}), 422, "invalid_request")


# -- neighborhood ------------------------------------------------------------------------------------------
def test_neighborhood_is_cytoscape_elements(client, export):
    d = export["directions"][0]["id"]
    body = client.get("/api/graph/neighborhood", params={"node": d, "depth": 1, "limit": 500}).json()
    assert body["center"] == d and body["depth"] == 1
    ids = {n["data"]["id"] for n in body["nodes"]}
    assert d in ids and export["directions"][0]["program_id"] in ids
    for n in body["nodes"]:
        assert {"id", "label", "name"} <= set(n["data"])
    assert body["edges"]
    for e in body["edges"]:
        assert {"id", "source", "target", "type"} <= set(e["data"])
        assert e["data"]["source"] in ids and e["data"]["target"] in ids
    assert len({e["data"]["id"] for e in body["edges"]}) == len(body["edges"])


def test_neighborhood_limit_truncates(client):
    body = client.get(
        "/api/graph/neighborhood", params={"node": "most-stic-joint", "depth": 2, "limit": 10}
    ).json()
    assert len(body["nodes"]) == 10
    assert body["truncated"] is True


@pytest.mark.parametrize("params", [{"depth": 99}, {"depth": -1}, {"limit": 100000}, {"limit": 0}])
def test_neighborhood_bad_params_are_422(client, params):
    _error(
        client.get("/api/graph/neighborhood", params={"node": "most-btit-2024", **params}),
        422,
        "invalid_request",
    )


def test_neighborhood_unknown_node_is_404(client):
    _error(client.get("/api/graph/neighborhood", params={"node": "nope"}), 404, "node_not_found")


# -- export ------------------------------------------------------------------------------------------------
def test_export_json_is_the_cli_export(client, export):
    body = client.get("/api/export", params={"format": "json"}).json()
    assert set(body) >= {"programs", "directions", "entities", "links"}
    assert body["programs"] == export["programs"]
    assert body["directions"] == export["directions"]
    assert len(body["entities"]) == len(export["entities"])
    assert len(body["links"]) == len(export["links"])


def test_export_graphml_reads_back(client, built):
    r = client.get("/api/export", params={"format": "graphml"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/graphml+xml")
    ET.fromstring(r.content)
    g = nx.read_graphml(io.BytesIO(r.content))
    assert g.number_of_nodes() == built.graph.number_of_nodes()
    assert g.number_of_edges() == built.graph.number_of_edges()
    labels = nx.get_node_attributes(g, "label")
    assert sum(1 for v in labels.values() if v == Label.DIRECTION.value) == N_DIRECTIONS


def test_export_bad_format_is_422(client):
    _error(client.get("/api/export", params={"format": "pdf"}), 422, "invalid_request")


# -- across the API ----------------------------------------------------------------------------------------
def test_cors_allows_configured_origins_only(client):
    ok = client.get("/api/programs", headers={"Origin": "http://dashboard.example"})
    assert ok.headers.get("access-control-allow-origin") == "http://dashboard.example"
    other = client.get("/api/programs", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_unknown_path_and_method_use_the_error_shape(client):
    _error(client.get("/api/nope"), 404)
    _error(client.delete("/api/programs"), 405, "method_not_allowed")


def test_openapi_documents_every_route(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in [
        "/api/health",
        "/api/programs",
        "/api/directions",
        "/api/directions/{direction_id}",
        "/api/directions/{direction_id}/similar",
        "/api/search",
        "/api/entities",
        "/api/entities/{entity_type}/{entity_id}",
        "/api/overlaps",
        "/api/overlaps/matrix",
        "/api/graph/neighborhood",
        "/api/export",
    ]:
        assert p in paths, p
        for op in paths[p].values():
            assert op.get("summary"), p
            assert "application/json" in op["responses"]["200"]["content"], p
            assert "404" in op["responses"] and "422" in op["responses"], p
    assert client.get("/docs").status_code == 200


def test_ids_are_stable_across_rebuilds(client, corpus_rebuilt):
    again = corpus_rebuilt  # a second, independent build of the same corpus (through the CLI)
    ids = sorted(n for n, d in again.graph.nodes(data=True))
    served = client.get("/api/directions", params={"limit": 500}).json()["items"]
    assert {d["id"] for d in served} <= set(ids)
    exported = export_json(again)
    assert [d["id"] for d in exported["directions"]] == [d["id"] for d in served]


def test_the_api_sends_a_store_s_own_json_only_where_it_keeps_answers_as_json(store, client):
    # Neo4j keeps detail, similar and neighbourhood as JSON written at load; the embedded store writes a similar
    # list's JSON itself (tests/api/test_similar_json.py) and keeps each matrix's, its other read models go through
    # the API's bytes cache (answers_json False), and a query without a _json form never is one.
    kept = {q: store.answers_json(q) for q in ("direction", "similar", "neighborhood", "matrix", "programs", "nope")}
    want = store.in_memory is False
    assert kept == {"direction": want, "similar": True, "neighborhood": want, "matrix": not want, "programs": False,
                    "nope": False}
    for by in ("disease", "keyword"):  # the embedded store serialises each matrix once (large at scale) and keeps it
        assert client.get(f"/api/overlaps/matrix?by={by}").content == pydantic_core.to_json(store.matrix(by))
    did = client.get("/api/directions?limit=1").json()["items"][0]["id"]
    assert client.get(f"/api/directions/{did}").json() == store.direction(did).model_dump(mode="json")
