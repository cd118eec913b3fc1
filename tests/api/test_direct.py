"""Detail, similar and neighbourhood GETs answered without FastAPI's routing (api/direct.py), on both stores.

A request whose parameters are plain is answered by :class:`DirectRoutes`; the same request spelled so that only
FastAPI takes it (``k=05`` rather than ``k=5``: FastAPI reads both as 5) must get the same status, headers and bytes.
"""

from __future__ import annotations

import gzip
from urllib.parse import quote, unquote

import anyio
import pytest

from fundgraph.api.deps import JSONBytesCache, Responder, StoreHolder, store_limiter
from fundgraph.api.direct import DirectRoutes
from tests.api.asgi import asgi_request

NAME = "阿尔茨海默病"


@pytest.fixture(scope="module")
def ids(client) -> list[str]:
    return [d["id"] for d in client.get("/api/directions?limit=3").json()["items"]]


def _pairs(ids: list[str]) -> list[tuple[str, str]]:
    """(plain request, the same request only FastAPI answers)."""
    a, b = ids[0], quote(ids[1], safe="")
    return [
        (f"/api/directions/{a}/similar?k=3", f"/api/directions/{a}/similar?k=03"),
        (f"/api/directions/{b}/similar", f"/api/directions/{b}/similar?k=010"),
        (f"/api/directions/{a}/similar?k=5&scope=all", f"/api/directions/{a}/similar?k=5&scope=all&k=05"),
        ("/api/directions/nope:1/similar?k=2", "/api/directions/nope:1/similar?k=02"),
        (f"/api/graph/neighborhood?node={a}&depth=2&limit=40", f"/api/graph/neighborhood?node={a}&depth=02&limit=40"),
        (f"/api/graph/neighborhood?node={quote(NAME)}", f"/api/graph/neighborhood?node={quote(NAME)}&limit=0100"),
        (f"/api/graph/neighborhood?node={a}&depth=0&limit=1", f"/api/graph/neighborhood?node={a}&depth=0&limit=01"),
        ("/api/graph/neighborhood?node=no-such-node&depth=3", "/api/graph/neighborhood?node=no-such-node&depth=03"),
        (f"/api/graph/neighborhood?node={a}&depth=2&limit=100", f"/api/graph/neighborhood?node={a}&depth=2&limit=0100"),
    ]


def _refused(a: str) -> list[str]:
    """Requests FastAPI refuses (422): DirectRoutes passes them on."""
    return [f"/api/directions/{a}/similar?k=101", f"/api/directions/{a}/similar?scope=mine",
            f"/api/directions/{'x' * 201}", "/api/graph/neighborhood?depth=1",
            f"/api/graph/neighborhood?node={a}&limit=100000", f"/api/graph/neighborhood?node={a}&depth=4"]


def test_direct_answers_equal_fastapis(client, ids):
    """Status, headers and body of each plain request equal those of its FastAPI-only spelling."""
    for plain, routed in _pairs(ids):
        got, want = client.get(plain), client.get(routed)
        assert (got.status_code, got.headers.items(), got.content) == (
            want.status_code, want.headers.items(), want.content), plain
    statuses = {client.get(plain).status_code for plain, _ in _pairs(ids)}
    assert statuses == {200, 404}
    detail = client.get(f"/api/directions/{ids[0]}")
    assert detail.status_code == 200 and detail.json()["id"] == ids[0]
    assert client.get("/api/directions/nope:1").json()["error"]["code"] == "direction_not_found"


async def _call(app, path: str, store=None) -> tuple[int, list, bytes]:
    target, _, query = path.partition("?")
    return await asgi_request(app, "GET", unquote(target), query=query, store=store)


def test_plain_requests_never_reach_fastapi(store, client, ids, api_settings):
    """DirectRoutes over an app that refuses every request answers the plain ones, and passes the others on."""
    settings = api_settings
    passed: list[str] = []

    async def fastapi(scope, receive, send) -> None:
        passed.append(scope["path"] + "?" + scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    cache, limiter = JSONBytesCache(), store_limiter(2)
    direct = DirectRoutes(fastapi, settings, StoreHolder(settings, store),
                          lambda s, gzip=False: Responder(s, cache, limiter, gzip=gzip))
    for plain, routed in _pairs(ids):
        status, headers, body = anyio.run(_call, direct, plain, store)
        # through every middleware: the same body, and headers besides these (no Accept-Encoding, as _call sends)
        want = client.get(plain, headers={"Accept-Encoding": "identity"})
        assert status == want.status_code and body == want.content, plain
        assert [(k.decode(), v.decode()) for k, v in headers if k != b"vary"] == [
            (k, v) for k, v in want.headers.items() if k in ("content-length", "content-type")], plain
        varies = status == 200 and _varies(store, plain)  # (an error's answer does not)
        assert [v for k, v in headers if k == b"vary"] == ([b"Accept-Encoding"] if varies else [])
        assert ("Accept-Encoding" in want.headers.get("vary", "")) == varies
        assert anyio.run(_call, direct, routed, store)[0] == 599
    others = [*_refused(ids[0]), "/api/graph/neighborhood?node=", "/api/directions/a/b/similar", "/api/directions"]
    for other in others:
        assert anyio.run(_call, direct, other, store)[0] == 599, other
    assert len(passed) == len(_pairs(ids)) + len(others)


def test_a_neighbourhood_is_gzip_encoded_only_where_the_store_keeps_it_so(store, client, ids):
    """Neo4j sends its stored depth-2, limit-100 answers as they are (gzip) to a client that accepts gzip; the
    embedded store's answers never vary. Both through DirectRoutes and FastAPI, GET and HEAD."""
    plain_path = f"/api/graph/neighborhood?node={ids[0]}&depth=2&limit=100"
    plain = client.get(plain_path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.json()["center"] == ids[0] and len(plain.json()["nodes"]) > 10
    neo4j = store.backend == "neo4j"
    assert ("Accept-Encoding" in plain.headers.get("vary", "")) == neo4j  # (CORS adds Origin to it)
    for path in (plain_path, plain_path.replace("limit=100", "limit=0100")):  # DirectRoutes, FastAPI
        for accept in ("gzip", "br, gzip;q=0.5", "*"):
            with client.stream("GET", path, headers={"Accept-Encoding": accept}) as r:
                raw = b"".join(r.iter_raw())
                headers = r.headers
            if neo4j:
                assert headers["content-encoding"] == "gzip" and "Accept-Encoding" in headers["vary"], (path, accept)
                assert gzip.decompress(raw) == plain.content and int(headers["content-length"]) == len(raw)
                assert len(raw) * 4 < len(plain.content)
            else:
                assert "content-encoding" not in headers and "Accept-Encoding" not in headers.get("vary", "")
                assert raw == plain.content
        refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers and refused.content == plain.content
        head = client.head(path, headers={"Accept-Encoding": "gzip"})
        assert head.status_code == 200 and head.content == b""
        assert head.headers.get("content-encoding") == ("gzip" if neo4j else None)
    # other depths and limits are spliced on each request: never encoded
    other = client.get(f"/api/graph/neighborhood?node={ids[0]}&depth=2&limit=99", headers={"Accept-Encoding": "gzip"})
    assert other.status_code == 200 and "content-encoding" not in other.headers


def _varies(store, path: str) -> bool:
    """Whether the store's answer to ``path`` varies with Accept-Encoding (Neo4j's neighbourhoods)."""
    return path.startswith("/api/graph/neighborhood") and "neighborhood" in store.gzip_answers


def test_fastapi_still_refuses_what_direct_routes_pass_on(client, ids):
    """The requests DirectRoutes passes on get FastAPI's answers (422 in the error shape)."""
    for path in _refused(ids[0]):
        r = client.get(path)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", path
