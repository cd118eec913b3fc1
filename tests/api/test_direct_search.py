"""POST /api/search answered without FastAPI's routing (api/direct.py), on both stores.

A plain body (``Content-Type: application/json``, the fields as the model takes them) is answered by
:class:`DirectRoutes`; the same body sent as ``application/json; charset=utf-8`` is answered by FastAPI's route
alone, and must get the same status, headers and bytes. Bodies the model would refuse or convert go on to FastAPI.
"""

from __future__ import annotations

import json

import anyio
import pytest

from fundgraph.api.deps import JSONBytesCache, Responder, StoreHolder, store_limiter
from fundgraph.api.direct import DirectRoutes
from fundgraph.api.work_queue import INLINE_TEXT_CHARS, WorkQueue
from tests.api.asgi import asgi_request

PLAIN = {"content-type": "application/json"}
ROUTED = {"content-type": "application/json; charset=utf-8"}  # FastAPI reads it as JSON; DirectRoutes passes it on


@pytest.fixture(scope="module")
def program(client) -> str:
    return client.get("/api/programs").json()[0]["id"]


def _bodies(program: str) -> list[dict]:
    return [
        {"text": "Alzheimer's disease PET imaging", "k": 3},
        {"text": "脑机接口 神经调控"},
        {"text": "肿瘤 影像", "k": 20, "programs": [program]},
        {"text": "tumor imaging", "k": 1, "programs": []},
        {"text": "tumor imaging", "k": 5, "programs": None},
        {"text": "qwxz blorf vlk"},
        {"text": "cancer", "programs": ["no-such-program"]},  # 404 from the store, in the error shape
        {"text": "深度学习 " * 60, "k": 4},  # past INLINE_TEXT_CHARS: through the queue's thread
    ]


#: Bodies the route's model refuses: DirectRoutes hands them, bytes unchanged, to FastAPI (422).
REFUSED = [b"", b"{", b"[]", b"{}", b'{"text": ""}', b'{"text": 5}', b'{"text": "cancer", "k": 0}',
           b'{"text": "cancer", "k": 101}', b'{"text": "cancer", "k": 5.5}', b'{"text": "cancer", "k": null}',
           b'{"text": "cancer", "extra": 1}', b'{"text": "cancer", "programs": "x"}',
           b'{"text": "cancer", "programs": [1]}', b'{"text": "\\ud800 cancer"}',
           json.dumps({"text": "x" * 20_001}).encode(), json.dumps({"text": "c", "programs": ["p"] * 51}).encode()]
#: Bodies the model converts (``k`` 5 written otherwise): passed on too, and answered as ``k: 5`` is.
CONVERTED = [b'{"text": "cancer", "k": "5"}', b'{"text": "cancer", "k": 5.0}']


def _same(got, want) -> None:
    assert (got.status_code, got.headers.items(), got.content) == (
        want.status_code, want.headers.items(), want.content)


def test_direct_search_answers_equal_fastapis(client, program):
    """Status, headers and body of each plain search equal FastAPI's answer to the same body."""
    statuses = set()
    for body in _bodies(program):
        data = json.dumps(body, ensure_ascii=False).encode()
        got = client.post("/api/search", content=data, headers=PLAIN)
        want = client.post("/api/search", content=data, headers=ROUTED)
        _same(got, want)
        statuses.add(got.status_code)
        if got.status_code == 200:
            assert len(got.json()["items"]) <= body.get("k", 10)
    assert statuses == {200, 404}
    assert client.post("/api/search", json={"text": "cancer", "programs": ["nope"]}).json()["error"]["code"]


def test_refused_bodies_get_fastapis_422(client):
    """Bodies the model refuses get FastAPI's 422 in the error shape, through DirectRoutes or not."""
    for data in REFUSED:
        got = client.post("/api/search", content=data, headers=PLAIN)
        assert got.status_code == 422 and got.json()["error"]["code"] == "invalid_request", data
        _same(got, client.post("/api/search", content=data, headers=ROUTED))
    five = client.post("/api/search", content=b'{"text": "cancer", "k": 5}', headers=PLAIN)
    assert five.status_code == 200 and len(five.json()["items"]) == 5
    for data in CONVERTED:  # FastAPI's answer (it converts k), the same as the plain k=5's
        _same(client.post("/api/search", content=data, headers=PLAIN), five)


async def _post(app, body: bytes, content_type: bytes, store) -> tuple[int, dict, bytes]:
    status, headers, out = await asgi_request(
        app, "POST", "/api/search", body=body, store=store,
        headers=[(b"content-type", content_type), (b"content-length", str(len(body)).encode())])
    return status, dict(headers), out


def _direct(store, settings, queue):
    passed: list[bytes] = []

    async def fastapi(scope, receive, send) -> None:
        message = await receive()
        passed.append(message["body"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    cache, limiter = JSONBytesCache(), store_limiter(2)
    direct = DirectRoutes(fastapi, settings, StoreHolder(settings, store),
                          lambda s, gzip=False: Responder(s, cache, limiter, gzip=gzip), searches=lambda: queue)
    return direct, passed


def test_plain_searches_never_reach_fastapi(store, client, program, api_settings):
    """Over an app that refuses everything, plain searches are answered and the rest passed on, body intact."""
    direct, passed = _direct(store, api_settings, WorkQueue("search", workers=1, waiting=4, timeout=60))
    for body in _bodies(program):
        data = json.dumps(body).encode()
        status, headers, out = anyio.run(_post, direct, data, b"application/json", store)
        want = client.post("/api/search", content=data, headers=PLAIN)
        assert (status, out) == (want.status_code, want.content), body
        assert headers[b"content-type"] == b"application/json"
    assert passed == []
    others = [(data, b"application/json") for data in REFUSED + CONVERTED] + [
        (b'{"text": "cancer"}', ct) for ct in (b"text/plain", b"application/json; charset=utf-8", b"")]
    for data, ct in others:
        assert anyio.run(_post, direct, data, ct, store)[0] == 599, data
    assert passed == [data for data, _ in others]


def test_a_full_search_queue_answers_503_with_retry_after(store, client, api_settings):
    """A queue with no room left: the same 503 overloaded with Retry-After as through FastAPI's route."""
    queue = WorkQueue("search", workers=1, waiting=0, timeout=2)
    queue.admit()  # one search in progress: the queue is full
    text = "阿尔茨海默病 PET imaging 队列 " * (INLINE_TEXT_CHARS // 10)  # long: not searched on the loop
    data = json.dumps({"text": text, "k": 3}).encode()
    direct, passed = _direct(store, api_settings, queue)
    status, headers, body = anyio.run(_post, direct, data, b"application/json", store)
    assert status == 503 and headers[b"retry-after"] == b"2" and passed == []
    assert json.loads(body)["error"]["code"] == "overloaded"
    app = client.app
    kept, app.state.searches = app.state.searches, queue
    try:
        got = client.post("/api/search", content=data, headers=PLAIN)
        want = client.post("/api/search", content=data, headers=ROUTED)
    finally:
        app.state.searches = kept
    _same(got, want)
    assert got.status_code == 503 and got.headers["retry-after"] == "2" and got.content == body
    assert queue.admitted == 1
