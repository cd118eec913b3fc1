"""Detail, similar and neighbourhood GETs answered without FastAPI's routing (api/direct.py), on both stores.

A request whose parameters are plain is answered by :class:`DirectRoutes`; the same request spelled so that only
FastAPI takes it (``k=05`` rather than ``k=5``: FastAPI reads both as 5) must get the same status, headers and bytes.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

import anyio
import pytest

from fundgraph.api.deps import JSONBytesCache, Responder, StoreHolder, store_limiter
from fundgraph.api.direct import DirectRoutes

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
    scope = {"type": "http", "method": "GET", "path": unquote(target), "query_string": query.encode(), "headers": [],
             "root_path": ""}
    start: dict = {}
    body = bytearray()

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    if store is not None:  # each anyio.run is a loop of its own: close the driver the Neo4j store opened for it
        await store.close_loop()
    return start["status"], start["headers"], bytes(body)


def test_plain_requests_never_reach_fastapi(store, client, ids, api_settings):
    """DirectRoutes over an app that refuses every request answers the plain ones, and passes the others on."""
    settings = api_settings
    passed: list[str] = []

    async def fastapi(scope, receive, send) -> None:
        passed.append(scope["path"] + "?" + scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    cache, limiter = JSONBytesCache(), store_limiter(2)
    direct = DirectRoutes(fastapi, settings, StoreHolder(settings, store), lambda s: Responder(s, cache, limiter))
    for plain, routed in _pairs(ids):
        status, headers, body = anyio.run(_call, direct, plain, store)
        want = client.get(plain)  # through every middleware: the same body, and headers besides these
        assert status == want.status_code and body == want.content, plain
        assert [(k.decode(), v.decode()) for k, v in headers] == [
            (k, v) for k, v in want.headers.items() if k in ("content-length", "content-type")], plain
        assert anyio.run(_call, direct, routed, store)[0] == 599
    others = [*_refused(ids[0]), "/api/graph/neighborhood?node=", "/api/directions/a/b/similar", "/api/directions"]
    for other in others:
        assert anyio.run(_call, direct, other, store)[0] == 599, other
    assert len(passed) == len(_pairs(ids)) + len(others)


def test_fastapi_still_refuses_what_direct_routes_pass_on(client, ids):
    """The requests DirectRoutes passes on get FastAPI's answers (422 in the error shape)."""
    for path in _refused(ids[0]):
        r = client.get(path)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", path
