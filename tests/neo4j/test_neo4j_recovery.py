"""Neo4j down → the API answers 503 with the error shape; Neo4j back on the same port → it answers again,
with no restart of the API or the store. Uses its own server so the session's stays up."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.neo4j.store import Neo4jStore

pytestmark = pytest.mark.neo4j


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_503_while_neo4j_is_down_and_recovers_without_restart(neo4j_server, neo4j_corpus, tmp_path):
    from tests.neo4j.harness import Neo4jProcess

    port = _free_port()
    server = Neo4jProcess(port, workdir=tmp_path).start()
    assert server.port == port
    settings = Settings(
        store="neo4j", neo4j_uri=server.uri, neo4j_user="", home=tmp_path / "home", encoder="lexical"
    )
    store = Neo4jStore.from_settings(settings)
    try:
        with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
            # A fresh database: no graph yet.
            r = client.get("/api/health")
            assert r.status_code == 503
            store.replace(neo4j_corpus)
            did = neo4j_corpus.direction_ids[0]
            assert client.get("/api/health").json()["node_count"] == neo4j_corpus.graph.number_of_nodes()
            assert client.get(f"/api/directions/{did}").status_code == 200

            server.stop()
            for path in ("/api/health", "/api/programs", f"/api/directions/{did}"):
                r = client.get(path)
                assert r.status_code == 503, path
                body = r.json()
                assert body["error"]["code"] == "backend_unavailable", body

            # Back on the same port (a fresh database, as after a server replacement): the same client and
            # store reconnect by themselves.
            server = Neo4jProcess(port, workdir=tmp_path / "again").start()
            assert client.get("/api/health").json()["error"]["code"] == "graph_not_built"
            loader = Neo4jStore.from_settings(settings)
            try:
                loader.replace(neo4j_corpus)
            finally:
                loader.close()
            r = client.get("/api/health")
            assert r.status_code == 200 and r.json()["backend"] == "neo4j"
            assert client.get(f"/api/directions/{did}").json()["id"] == did
    finally:
        store.close()
        server.stop()
