"""Detail, similar and neighbourhood awaited on the event loop (the async driver) answer what the sync reads answer.

The API awaits all three so (:meth:`Neo4jStore.answer_on_loop`).

The same statements, the same bytes, the same errors: for known and unknown ids, names, hubs, depths 0-3 and
requests ``fg_similar`` cannot answer (re-ranked in a worker thread), on the session's real Neo4j; and with Neo4j
unreachable, the same 503 in the one error shape.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

import fundgraph.graph.stores.neo4j.connection as neo4j_connection
from fundgraph.api.app import create_app
from fundgraph.api.errors import fundgraph_error_response
from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.base import GzipJSON
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.neo4j.codec import neighbour_heads
from fundgraph.graph.stores.neo4j.store import Neo4jStore

pytestmark = pytest.mark.neo4j

NAME = "阿尔茨海默病"


def _requests(corpus) -> list[tuple[str, tuple[Any, ...]]]:
    """(read, arguments): every way the three reads go, the unknown and the refused included."""
    q = GraphQueries(corpus)
    ids = q.direction_ids
    heads = neighbour_heads(corpus.graph)
    hub = max(heads, key=lambda n: corpus.graph.degree(n))
    few = len(heads[hub])
    out: list[tuple[str, tuple[Any, ...]]] = []
    for did in (ids[0], ids[len(ids) // 2], ids[-1], "nope:1", ""):
        out.append(("direction", (did,)))
        out += [("similar", (did, k, scope)) for k, scope in ((1, "cross-program"), (10, "cross-program"),
                                                              (100, "cross-program"), (5, "all"), (0, "all"))]
        out += [("neighborhood", (did, depth, limit)) for depth, limit in ((0, 1), (1, 100), (2, 40), (2, 100),
                                                                            (2, 500), (3, 60))]
    out += [("similar", (ids[1], 5, "mine"))]
    out += [("neighborhood", (node, depth, limit)) for node in (hub, NAME, "no-such-node")
            for depth, limit in ((1, few), (2, few + 1), (2, 100), (3, 200), (4, 10), (2, 0))]
    return out


def _answer(call: Callable[[], bytes]) -> tuple[int, bytes]:
    """(status, body) of the API's answer: the bytes, or the error's response."""
    try:
        return 200, call()
    except FundgraphError as e:
        response = fundgraph_error_response(e)
        return response.status_code, bytes(response.body)


async def _answer_on_loop(call: Callable[[], Any]) -> tuple[int, bytes]:
    try:
        return 200, await call()
    except FundgraphError as e:
        response = fundgraph_error_response(e)
        return response.status_code, bytes(response.body)


def test_reads_on_the_loop_run_the_sync_reads_statements_and_give_their_bytes(neo4j_store, neo4j_corpus,
                                                                             monkeypatch):
    used: list[str] = []
    inner = neo4j_connection.query
    monkeypatch.setattr(neo4j_connection, "query", lambda name: used.append(name) or inner(name))
    requests = _requests(neo4j_corpus)
    neo4j_store.vocabulary()  # read once per build, by the first ranked similar list: not one of those compared
    want = []
    for name, args in requests:
        used.clear()
        want.append((_answer(lambda n=name, a=args: getattr(neo4j_store, f"{n}_json")(*a)), list(used)))

    zipped = [(args, neo4j_store.neighborhood_json(*args, gzip=True)) for name, args in requests
              if name == "neighborhood" and args[1:] == (2, 100) and args[0] in neo4j_corpus.graph]
    assert any(isinstance(answer, GzipJSON) for _, answer in zipped)  # stored answers, as they are (not every
    # direction has one: one with more than 64 neighbours stores no walk)

    async def on_loop() -> list[tuple[tuple[int, bytes], list[str]]]:
        loop_thread = threading.get_ident()
        for args, answer in zipped:
            got = await neo4j_store.neighborhood_json_on_loop(*args, gzip=True)
            assert isinstance(got, GzipJSON) == isinstance(answer, GzipJSON) and got == answer, args
        out = []
        for name, args in requests:
            read = getattr(neo4j_store, f"{name}_json_on_loop")
            used.clear()
            out.append((await _answer_on_loop(lambda r=read, a=args: r(*a)), list(used)))
        assert asyncio.get_running_loop() in neo4j_store.connection._loop_drivers
        assert threading.get_ident() == loop_thread
        await neo4j_store.close_loop()
        assert asyncio.get_running_loop() not in neo4j_store.connection._loop_drivers
        return out

    got = anyio.run(on_loop)
    assert neo4j_store.answer_on_loop("direction") == neo4j_store.direction_json_on_loop
    assert neo4j_store.answer_on_loop("similar") == neo4j_store.similar_json_on_loop
    assert neo4j_store.answer_on_loop("neighborhood") == neo4j_store.neighborhood_json_on_loop
    for (name, args), g, w in zip(requests, got, want, strict=True):
        assert g == w, (name, args)
    statuses = {status for (status, _), _ in want}
    assert statuses == {200, 404, 422}
    # detail, a stored similar list and a stored walk are one statement each on the loop as well
    assert any(names == ["get_direction"] for (status, _), names in got if status == 200)
    assert any(names == ["find_walk"] for (status, _), names in got if status == 200)
    assert any(len(names) > 2 for _, names in got)  # depth 3: levels past the stored ones, read on the loop
    hub_rows = [g for (name, args), g in zip(requests, got, strict=True) if name == "neighborhood"]
    assert all(b'"nodes":[' in body for (status, body), _ in hub_rows if status == 200)


def test_the_api_awaits_them_on_its_loop_and_closes_its_driver_as_it_stops(neo4j_store, neo4j_corpus, tmp_path):
    """Through the app (and its lifespan): the answers of the sync reads, then the loop's driver closed."""
    did = neo4j_corpus.direction_ids[2]
    settings = Settings(home=tmp_path, store="neo4j", encoder="lexical")
    paths = {f"/api/directions/{did}": lambda: neo4j_store.direction_json(did),
             f"/api/directions/{did}/similar?k=3": lambda: neo4j_store.similar_json(did, 3, "cross-program"),
             f"/api/graph/neighborhood?node={did}&depth=2&limit=30": lambda: neo4j_store.neighborhood_json(did, 2, 30)}
    before = dict(neo4j_store.connection._loop_drivers)  # other apps' over this store (their loops' drivers)
    with TestClient(create_app(settings, neo4j_store), raise_server_exceptions=False) as client:
        for path, sync in paths.items():
            r = client.get(path)
            assert (r.status_code, r.content) == (200, sync()), path
        assert len(neo4j_store.connection._loop_drivers) == len(before) + 1  # this app's loop's
    assert neo4j_store.connection._loop_drivers == before


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_neo4j_unreachable_is_the_same_503_on_the_loop(tmp_path):
    settings = Settings(store="neo4j", neo4j_uri=f"bolt://127.0.0.1:{_closed_port()}", neo4j_user="",
                        home=tmp_path, encoder="lexical")
    store = Neo4jStore.from_settings(settings)
    requests = [("direction", ("d:1",)), ("similar", ("d:1", 3, "cross-program")), ("neighborhood", ("d:1", 2, 30))]
    try:
        want = [_answer(lambda n=name, a=args: getattr(store, f"{n}_json")(*a)) for name, args in requests]

        async def on_loop() -> list[tuple[int, bytes]]:
            out = [await _answer_on_loop(lambda n=name, a=args: getattr(store, f"{n}_json_on_loop")(*a))
                   for name, args in requests]
            await store.close_loop()
            return out

        got = anyio.run(on_loop)
    finally:
        store.close()
    assert [status for status, _ in got] == [status for status, _ in want] == [503] * len(requests)
    # the same shape, code and detail; the message ends with the driver's words, which differ between its two APIs
    # ("Connection refused" against "Connect call failed")
    for (_, body), (_, sync_body) in zip(got, want, strict=True):
        error, sync_error = json.loads(body)["error"], json.loads(sync_body)["error"]
        assert error["code"] == sync_error["code"] == "backend_unavailable"
        assert error["detail"] == sync_error["detail"] == {"backend": "neo4j"}
        assert error.keys() == sync_error.keys()
        assert error["message"].startswith("Neo4j is unavailable: Couldn't connect to 127.0.0.1:")
        assert sync_error["message"].startswith("Neo4j is unavailable: Couldn't connect to 127.0.0.1:")
