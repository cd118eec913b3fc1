"""App wiring: the dashboard mount, the response cache's reload, and the `fundgraph serve` command."""

from __future__ import annotations

import anyio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.handmade import handmade_built


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("app-home")
    EmbeddedStore(h).replace(handmade_built())
    return h


def test_dashboard_is_served_at_root_and_api_wins(home, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>dash</title>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log(1)", encoding="utf-8")
    with TestClient(create_app(Settings(home=home), static_dir=tmp_path)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "<title>dash</title>" in r.text
        assert c.get("/app.js").text == "console.log(1)"
        assert c.get("/api/programs").json()[0]["id"] == "prog-a"
        missing = c.get("/nope.css")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_no_dashboard_without_index(home, tmp_path):
    with TestClient(create_app(Settings(home=home), static_dir=tmp_path)) as c:
        assert c.get("/").status_code == 404


def test_response_cache_follows_a_rebuild(tmp_path):
    store = EmbeddedStore(tmp_path)
    built = handmade_built()
    store.replace(built)
    with TestClient(create_app(Settings(home=tmp_path), store)) as c:
        before = c.get("/api/directions/prog-a:1").json()
        assert c.get("/api/directions/prog-a:1").json() == before  # replayed
        built.graph.nodes["prog-a:1"]["title"] = "新标题"
        store.replace(built)
        assert c.get("/api/directions/prog-a:1").json()["title"] == "新标题"


def test_response_cache_never_replays_an_answer_that_varies():
    # Keyed by path and query only, it must not replay a gzip-encoded answer (or one saying it varies with a request
    # header) to a client that did not ask for it.
    from fundgraph.api.cache import ResponseCache

    calls: list[dict] = []

    async def app(scope, receive, send):
        calls.append(scope)
        headers = [(b"content-type", b"application/json")]
        headers += {"/api/gz": [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")],
                    "/api/vary": [(b"vary", b"Accept-Encoding")]}.get(scope["path"], [])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async def get(cache, path):
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            pass

        await cache(scope, receive, send)

    cache = ResponseCache(app, version=lambda: "graph-1")
    for path in ("/api/gz", "/api/vary", "/api/plain"):
        calls.clear()
        anyio.run(get, cache, path)
        anyio.run(get, cache, path)
        assert len(calls) == (1 if path == "/api/plain" else 2), path


@pytest.mark.parametrize(("header", "gzip"), [
    (None, False), ("", False), ("gzip", True), ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True),
    ("GZIP", True), ("x-gzip", True), ("gzip;q=0", False), ("gzip; q=0.0", False), ("identity", False),
    ("*", True), ("*;q=0", False), ("deflate, *;q=0.5", True), ("gzip;q=0, *", False), (b"gzip", True),
    ("gzip;q=nonsense", False),
])
def test_accept_encoding_is_read_as_rfc_9110_says(header, gzip):
    from fundgraph.api.deps import accepts_gzip

    assert accepts_gzip(header) is gzip


def test_serve_command_runs_uvicorn_with_the_app(monkeypatch, home):
    import uvicorn

    from fundgraph import cli
    from fundgraph.core.settings import get_settings

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("FUNDGRAPH_HOME", str(home))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8123)
    with TestClient(seen["app"]) as c:
        assert c.get("/api/health").json()["node_count"] == handmade_built().graph.number_of_nodes()
