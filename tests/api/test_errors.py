"""Pins the one JSON error shape: {"error": {"status", "code", "message", "detail"}} for 404, 422 and 503."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.errors import BackendUnavailable
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.handmade import handmade_built


@pytest.fixture(scope="module")
def small_client(tmp_path_factory):
    home = tmp_path_factory.mktemp("small")
    store = EmbeddedStore(home)
    store.replace(handmade_built())
    with TestClient(create_app(Settings(home=home), store), raise_server_exceptions=False) as c:
        yield c


def test_404_shape_is_pinned(small_client):
    r = small_client.get("/api/directions/prog-a:99")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "error": {
            "status": 404,
            "code": "direction_not_found",
            "message": "no direction has id 'prog-a:99'",
            "detail": {"id": "prog-a:99"},
        }
    }


def test_422_shape_is_pinned(small_client):
    r = small_client.get("/api/directions/prog-a:1/similar", params={"k": 1000000000})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["status"] == 422 and err["code"] == "invalid_request"
    assert err["message"].startswith("invalid request: query.k:")
    assert err["detail"]["errors"] == [
        {"loc": ["query", "k"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}
    ]


def test_422_for_a_body_that_is_not_json(small_client):
    r = small_client.post("/api/search", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert (err["code"], err["message"]) == ("invalid_request", "the request body is not valid JSON")
    assert err["detail"]["errors"][0]["type"] == "json_invalid"


def test_422_from_a_fundgraph_error(small_client):
    r = small_client.get("/api/directions", params={"limit": 501})
    assert r.json() == {
        "error": {
            "status": 422,
            "code": "invalid_request",
            "message": "limit must be at most 500",
            "detail": {"limit": 501, "max_limit": 500},
        }
    }


def test_503_when_no_graph_is_built(tmp_path):
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        for path in ("/api/health", "/api/programs", "/api/directions/x"):
            r = c.get(path)
            assert r.status_code == 503
            err = r.json()["error"]
            assert set(err) == {"status", "code", "message", "detail"}
            assert (err["status"], err["code"]) == (503, "graph_not_built")


class _DownStore(EmbeddedStore):
    """A store whose backend is unreachable (stands in for Neo4j down)."""

    backend = "down"

    def load(self):
        raise BackendUnavailable("cannot reach the backend", detail={"uri": "bolt://127.0.0.1:1"})


def test_503_when_the_backend_is_unavailable(tmp_path):
    with TestClient(
        create_app(Settings(home=tmp_path), _DownStore(tmp_path)), raise_server_exceptions=False
    ) as c:
        r = c.get("/api/programs")
    assert r.status_code == 503
    assert r.json() == {
        "error": {
            "status": 503,
            "code": "backend_unavailable",
            "message": "cannot reach the backend",
            "detail": {"uri": "bolt://127.0.0.1:1"},
        }
    }


def test_json_bytes_cache_writes_what_pydantic_writes():
    import pydantic_core

    from fundgraph.api.deps import JSONBytesCache
    from fundgraph.graph.read import models

    cache = JSONBytesCache()
    brief = models.DirectionBrief(id="p:1", program_id="p", code="1", title="标题")
    expl = models.Explanation(text_score=0.5, entity_score=0.25, shared={"diseases": ["肺癌"]}, summary="s")
    items = [models.SimilarItem(direction=brief, score=0.4, confidence=0.61, explanation=expl,
                                above_threshold=True)] * 3
    nothing = models.SimilarList(items=[], no_related=True, message="其他项目中无相关方向", min_confidence=0.7)
    for result in (models.SimilarList(items=items), models.SimilarList(items=[]), nothing, [brief, brief], brief):
        assert cache.dumps(result) == pydantic_core.to_json(result)
        assert cache.dumps(result) == pydantic_core.to_json(result)  # from the cache


def test_json_bytes_cache_forgets_a_graph_that_is_no_longer_served():
    from fundgraph.api.deps import JSONBytesCache
    from fundgraph.graph.read import models

    cache = JSONBytesCache()
    brief = models.DirectionBrief(id="p:1", program_id="p", code="1", title="标题")
    cache.follow(1)
    first = cache.dumps(brief)
    assert cache.dumps(brief) is first  # from the cache
    cache.follow(1)
    assert cache.dumps(brief) is first  # same graph: kept
    cache.follow(2)
    assert cache.dumps(brief) is not first and cache.dumps(brief) == first  # another graph: written again


def test_each_app_has_its_own_json_bytes_cache(small_client):
    other = create_app(small_client.app.state.settings, static_dir=None)
    assert other.state.json_cache is not small_client.app.state.json_cache


def test_422_for_a_body_that_is_not_even_utf8(small_client):
    r = small_client.post("/api/search", content=b"\xff\x01-4\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_documented_limits_match_the_enforced_ones(small_client):
    schema = small_client.get("/openapi.json").json()
    for path in ("/api/directions", "/api/graph/neighborhood"):
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert params["limit"]["schema"]["maximum"] == 500, path
