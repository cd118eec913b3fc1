"""Every API endpoint answers the same JSON on the Neo4j store as on the embedded store (same graph), and the
Neo4j store answers requests in Cypher without ever reading the whole graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

import fundgraph.graph.stores.neo4j.connection as neo4j_connection
from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings
from fundgraph.graph.read import semantics
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from fundgraph.graph.stores.neo4j.codec import WALK_HEAD, neighbour_heads

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def clients(neo4j_store, neo4j_corpus, tmp_path_factory) -> Iterator[tuple[TestClient, TestClient]]:
    """An API over the embedded store and one over the Neo4j store, both holding the corpus graph."""
    home: Path = tmp_path_factory.mktemp("equal-home")
    settings = Settings(home=home, store="embedded", encoder="lexical")
    embedded = EmbeddedStore(home)
    embedded.replace(neo4j_corpus)
    neo4j_store.replace(neo4j_corpus)
    with (
        TestClient(create_app(settings, embedded), raise_server_exceptions=False) as a,
        TestClient(create_app(settings, neo4j_store), raise_server_exceptions=False) as b,
    ):
        yield a, b


def _urls(q: GraphQueries) -> list[str]:
    """A sample of every GET endpoint: each filter kind (by id, name, English name; unknown values), pages,
    details, entities, overlaps of every program pair, every matrix, neighbourhoods at every depth."""
    g = q.built.graph
    urls = ["/api/programs", "/api/directions", "/api/directions?limit=7&offset=5", "/api/directions?limit=500"]
    for p in [*q.program_ids, "no-such-program"]:
        urls.append(f"/api/directions?program={p}&limit=10&offset=2")
    by_type: dict[str, list[str]] = {}
    for ent, et in sorted(q.entity_type.items()):
        by_type.setdefault(et, []).append(ent)
    for et, ents in by_type.items():
        for ent in ents[:: max(1, len(ents) // 5)]:
            n = g.nodes[ent]
            for v in (ent, ent.split(":", 1)[-1], n.get("name"), (n.get("name_en") or "").upper()):
                if v:
                    urls.append(f"/api/directions?{et}={quote(v)}")
            urls.append(f"/api/entities/{et}/{quote(ent)}")
            if n.get("name"):
                urls.append(f"/api/entities/{et}/{quote(n['name'])}")
        urls += [f"/api/directions?{et}=no-such-entity", f"/api/entities?type={et}", f"/api/entities/{et}/nope"]
        urls.append(f"/api/overlaps/matrix?by={et}")
    groups = sorted(v for _, v, e in g.edges(data=True) if e.get("type") == "MEMBER_OF")
    urls += [f"/api/directions?disease={quote(x)}" for x in groups[:5] if x.startswith("disease:")]
    for did in q.direction_ids[::9]:
        n = g.nodes[did]
        for kw in (n.get("keywords") or [])[:1]:
            urls.append(f"/api/directions?keyword={quote(kw)}")
        if n.get("category"):
            urls.append(f"/api/directions?category={quote(n['category'])}&program={n['program_id']}")
        urls.append(f"/api/directions/{quote(did)}")
        for depth, limit in ((1, 30), (2, 15), (3, 200)):
            urls.append(f"/api/graph/neighborhood?node={quote(did)}&depth={depth}&limit={limit}")
    urls += [f"/api/directions?q={quote(t)}" for t in ("影像", "mri", "ＣＴ", "zzz")]
    urls += [f"/api/entities?q={quote(t)}" for t in ("脑", "alz", "CT")] + ["/api/entities"]
    urls += ["/api/directions/no-such:1", "/api/graph/neighborhood?node=nope", "/api/overlaps/matrix?by=bogus"]
    for a in q.program_ids:
        for b in q.program_ids:
            urls.append(f"/api/overlaps?a={a}&b={b}")
    urls.append(f"/api/overlaps?a={q.program_ids[0]}&b=no-such-program")
    for node in [*q.program_ids[:2], next(iter(by_type["disease"]))]:
        urls.append(f"/api/graph/neighborhood?node={quote(node)}&depth=2&limit=25")
    return urls


def test_every_get_endpoint_answers_equal_json(clients, neo4j_corpus):
    embedded, neo4j = clients
    urls = _urls(GraphQueries(neo4j_corpus))
    assert len(urls) > 150
    statuses = set()
    for url in urls:
        a, b = embedded.get(url), neo4j.get(url)
        assert (b.status_code, b.json()) == (a.status_code, a.json()), url
        statuses.add(a.status_code)
    assert statuses == {200, 404, 422}  # found, unknown ids/values, bad parameters: all pinned


def test_similar_and_search_answer_equal_json(clients, neo4j_corpus):
    embedded, neo4j = clients
    for did in neo4j_corpus.direction_ids[::11]:
        for params in ("k=5", "k=2", "k=3&scope=all", "k=100&scope=all"):  # k ≤ 5: the stored answers (fg_similar)
            url = f"/api/directions/{quote(did)}/similar?{params}"
            a, b = embedded.get(url), neo4j.get(url)
            assert (b.status_code, b.json()) == (a.status_code, a.json()), url
    programs = neo4j_corpus.meta["programs"]
    for body in (
        {"text": "阿尔茨海默病 磁共振 影像", "k": 10},
        {"text": "federated learning", "k": 5, "programs": programs[:2]},
        {"text": "脑机接口", "k": 3, "programs": ["no-such-program"]},
    ):
        a, b = embedded.post("/api/search", json=body), neo4j.post("/api/search", json=body)
        assert (b.status_code, b.json()) == (a.status_code, a.json()), body


def test_health_counts_equal_and_export_equal(clients):
    embedded, neo4j = clients
    a, b = embedded.get("/api/health").json(), neo4j.get("/api/health").json()
    assert (b["backend"], a["backend"]) == ("neo4j", "embedded")
    assert {k: v for k, v in b.items() if k != "backend"} == {k: v for k, v in a.items() if k != "backend"}
    assert neo4j.get("/api/export?format=json").json() == embedded.get("/api/export?format=json").json()


def test_requests_never_read_the_whole_graph(neo4j_store, neo4j_corpus, monkeypatch):
    """Only explicit exports call load(); queries name only bounded statements (no get_nodes/relationships)."""
    used: list[str] = []
    real_query = neo4j_connection.query

    def recording(name: str) -> str:
        used.append(name)
        return real_query(name)

    def no_load() -> None:
        raise AssertionError("a query read the whole graph")

    monkeypatch.setattr(neo4j_connection, "query", recording)
    monkeypatch.setattr(neo4j_store, "load", no_load)
    q = GraphQueries(neo4j_corpus)
    did, (a, b) = q.direction_ids[3], q.program_ids[:2]
    neo4j_store.health()
    neo4j_store.programs()
    neo4j_store.directions(q_filter(disease="阿尔茨海默病"), 20, 0)
    neo4j_store.direction(did)
    neo4j_store.entities(None, "CT")
    neo4j_store.entity("disease", "disease:alzheimer")
    neo4j_store.overlaps(a, b)
    neo4j_store.matrix("modality")
    neo4j_store.neighborhood(did, 3, 50)
    neo4j_store.similar(did, 5, "all")
    neo4j_store.search("脑机接口", 5, None)
    assert used and not {"get_nodes", "get_relationships"} & set(used)
    assert "find_directions" in used
    # similar and search read their candidates with their rows in one statement each (every direction of this
    # small graph, exactly): never the profiles of every direction into the API process.
    assert {"find_similar_stored", "find_similar_candidates_all", "find_search_candidates"} <= set(used)
    assert not {"get_direction_profiles", "get_entity_hierarchy"} & set(used)
    # what the API asks for a detail, for a similar list its stored edges answer, and for a direction's neighbourhood:
    # one statement each, the answer or the walk written at load (fg_detail, fg_similar, fg_walk)
    for call, name in ((lambda: neo4j_store.direction_json(did), "get_direction"),
                       (lambda: neo4j_store.similar_json(did, 1, "cross-program"), "get_similar_answer"),
                       (lambda: neo4j_store.neighborhood_json(did, 2, 50), "find_walk")):
        used.clear()
        call()
        assert used == [name]
    # a hub with at least limit neighbours: its first ones, one statement; with fewer (no stored walk: one statement
    # more), or with a limit past the stored walk: walked in Cypher
    hub = "most-stic-joint"
    fewer = len(neighbour_heads(neo4j_corpus.graph)[hub]) + 1
    assert fewer <= WALK_HEAD + 1
    for call, names in ((lambda: neo4j_store.neighborhood_json(hub, 2, fewer - 1), ["find_walk"]),
                        (lambda: neo4j_store.neighborhood_json(hub, 2, fewer), ["find_walk", "find_neighbourhood"]),
                        (lambda: neo4j_store.neighborhood_json(did, 2, 500), ["find_neighbourhood"])):
        used.clear()
        call()
        assert used == names


def test_vocabulary_is_cached_per_build_and_reread_after_a_load(neo4j_store, neo4j_corpus):
    first = neo4j_store.vocabulary()
    assert neo4j_store.vocabulary() is first
    assert first.direction_count == len(neo4j_corpus.direction_ids)
    assert first.cands.ids == [] and first.cands.info and first.cands.idf  # entities only, no direction
    neo4j_store.replace(neo4j_corpus)
    again = neo4j_store.vocabulary()
    assert again is not first and again.build != first.build
    assert again.cands.idf == first.cands.idf and list(again.cands.info) == list(first.cands.info)


def test_vector_index_candidates_give_the_exact_answer_when_they_hold_every_direction(neo4j_store, neo4j_corpus,
                                                                                     monkeypatch):
    """Above exact_max similar and search re-score the vector index's nearest: all 124 here, so exact."""
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    indexed = Neo4jStore(neo4j_store.driver, database=neo4j_store.database, exact_max=0, vector_candidates=200)
    used = []
    inner = indexed.connection.read
    indexed.connection.read = lambda name, **p: used.append((name, p.get("exhaustive", False))) or inner(name, **p)
    ids = neo4j_corpus.direction_ids
    for did in (ids[0], ids[len(ids) // 2], ids[-1]):
        for scope in ("all", "cross-program"):
            assert indexed.similar(did, 10, scope) == neo4j_store.similar(did, 10, scope)
    for text in ("脑机接口", "阿尔茨海默病早期诊断的多模态影像", "cardiovascular risk prediction"):
        assert indexed.search(text, 10, None) == neo4j_store.search(text, 10, None)
    assert ("find_search_candidates", False) in used
    assert not any(e for name, e in used if name.startswith("find_"))
    named: list[str] = []
    real_query = neo4j_connection.query
    monkeypatch.setattr(neo4j_connection, "query", lambda name: named.append(name) or real_query(name))
    indexed.similar(ids[0], 10, "all")
    assert named == ["find_similar_stored", "find_similar_candidates"]


def test_similar_reads_the_answer_written_at_load_or_only_the_k_it_returns(neo4j_store, neo4j_corpus, monkeypatch):
    """Scope cross-program, every direction. Up to the API's default k (10, above the build's similar_top_k) the
    API's answer is the one written at load (fg_similar: one statement), equal to the embedded store's, "nothing
    related" included. Past it, every direction reads the first k of its pool in the mix's order with their rows
    (find_similar_pool, after find_similar_stored in the same transaction), the same answer as the embedded
    store's."""
    import orjson

    named: list[str] = []
    real_query = neo4j_connection.query
    monkeypatch.setattr(neo4j_connection, "query", lambda name: named.append(name) or real_query(name))
    q = GraphQueries(neo4j_corpus)
    neo4j_store.vocabulary()  # (read once per build, by the first similar or search request)
    top_k = int(q.built.encoder_state["similar_top_k"])
    written = max(top_k, semantics.DEFAULT_K)
    assert written == 10 > top_k
    nothing = 0
    for did in q.direction_ids:
        for k in range(1, written + 1):
            named.clear()
            got = orjson.loads(neo4j_store.similar_json(did, k, "cross-program"))
            assert named == ["get_similar_answer"], (did, k)
            assert got == q.similar(did, k, "cross-program").model_dump(mode="json"), (did, k)
        nothing += not got["items"]
        for k in (written + 1, 12, 30):
            named.clear()
            assert neo4j_store.similar(did, k, "cross-program") == q.similar(did, k, "cross-program"), (did, k)
            assert named == ["find_similar_stored", "find_similar_pool"]
    assert 30 <= nothing < len(q.direction_ids) - 30  # both kinds of answer are written at load


def q_filter(**kw):
    from fundgraph.graph.read import models

    return models.DirectionFilter(**kw)


def test_version_is_the_build_read_in_the_background_and_forgotten_on_a_load(neo4j_store, neo4j_corpus):
    """The API's answer cache follows version(): never a round trip in the caller, a new token after a load."""
    import time

    def settled() -> object:
        deadline = time.monotonic() + 20
        while (v := neo4j_store.version()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return v

    neo4j_store.forget_version()
    assert neo4j_store.version() is None  # read by a background thread meanwhile
    first = settled()
    assert first == ("neo4j", neo4j_store.vocabulary().build)
    assert neo4j_store.version() == first
    neo4j_store.replace(neo4j_corpus)
    assert neo4j_store.version() is None
    again = settled()
    assert again is not None and again != first
