"""`fundgraph load-neo4j` against the real Neo4j: connection from FUNDGRAPH_NEO4J_*, re-run adds nothing."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.settings import get_settings

pytestmark = pytest.mark.neo4j


def _cli_env(monkeypatch, server, home) -> None:
    """The commands' settings: the session's Neo4j, the lexical encoder, a home of the test's own."""
    monkeypatch.setenv("FUNDGRAPH_NEO4J_URI", server.uri)
    monkeypatch.setenv("FUNDGRAPH_NEO4J_USER", "")
    monkeypatch.setenv("FUNDGRAPH_ENCODER", "lexical")
    monkeypatch.setenv("FUNDGRAPH_HOME", str(home))
    get_settings.cache_clear()


def test_load_neo4j_twice_gives_the_same_counts(
    neo4j_server, neo4j_store, neo4j_corpus, monkeypatch, tmp_path
):
    _cli_env(monkeypatch, neo4j_server, tmp_path)
    try:
        runner = CliRunner()
        outputs = []
        for _ in range(2):
            r = runner.invoke(app, ["load-neo4j", "--batch-size", "300", "--warm-up", "0"])
            assert r.exit_code == 0, r.output
            outputs.append(r.output)
    finally:
        get_settings.cache_clear()
    expected = (neo4j_corpus.graph.number_of_nodes(), neo4j_corpus.graph.number_of_edges())
    for text in outputs:
        m = re.search(r"loaded (\d+) nodes and (\d+) relationships", text)
        assert m and (int(m[1]), int(m[2])) == expected, text
    assert neo4j_store.counts() == expected


def test_build_store_neo4j_writes_the_graph_to_neo4j(neo4j_server, neo4j_store, neo4j_corpus, monkeypatch, tmp_path):
    monkeypatch.setenv("FUNDGRAPH_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("FUNDGRAPH_NEO4J_USER", "")
    monkeypatch.setenv("FUNDGRAPH_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["build", "--store", "neo4j"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert "→ neo4j store" in r.output
    assert not (tmp_path / "current").exists()  # nothing went to the embedded store
    expected = (neo4j_corpus.graph.number_of_nodes(), neo4j_corpus.graph.number_of_edges())
    assert neo4j_store.counts() == expected


def test_load_ends_by_warming_neo4j_and_warm_neo4j_warms_alone(neo4j_server, neo4j_store, neo4j_corpus,
                                                                monkeypatch, tmp_path):
    """Detail, similar list and depth-2 neighbourhood of one direction after another, for the seconds asked."""
    _cli_env(monkeypatch, neo4j_server, tmp_path)
    try:
        runner = CliRunner()
        loaded = runner.invoke(app, ["load-neo4j", "--warm-up", "1"])
        cold = runner.invoke(app, ["load-neo4j", "--warm-up", "0"])
        warmed = runner.invoke(app, ["warm-neo4j", "--seconds", "1.5"])
    finally:
        get_settings.cache_clear()
    assert loaded.exit_code == 0, loaded.output
    m = re.search(r"warmed Neo4j: (\d+) requests in ([\d.]+)s", loaded.output)
    assert m and int(m[1]) >= 30 and int(m[1]) % 3 == 0 and 1.0 <= float(m[2]) < 3.0, loaded.output
    assert cold.exit_code == 0 and "warmed" not in cold.output, cold.output
    m = re.search(r": (\d+) requests in ([\d.]+)s", warmed.output)
    assert warmed.exit_code == 0 and m and int(m[1]) >= 30 and 1.5 <= float(m[2]) < 4.0, warmed.output
    # every direction in turn: in 2 s the bundled graph's 124 directions are all asked (about 1 ms a statement)
    asked: list[str] = []
    original = neo4j_store.direction_json
    monkeypatch.setattr(neo4j_store, "direction_json", lambda d: asked.append(d) or original(d))
    n = neo4j_store.warm_up(2.0, threads=2)
    assert n == 3 * len(asked) and set(asked) == set(neo4j_corpus.direction_ids)
    assert neo4j_store.warm_up(0) == 0
    d = neo4j_corpus.direction_ids[0]
    assert neo4j_store.direction(d).id == d


def test_a_warm_up_that_fails_stops_at_once_and_leaves_the_load_complete(neo4j_server, neo4j_store, neo4j_corpus,
                                                                        monkeypatch, tmp_path):
    """A warm-up request fails after the load: the load is reported done, the warm-up's error as a warning."""
    from fundgraph.core.errors import BackendUnavailable
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    calls: list[str] = []
    answer = Neo4jStore.direction_json

    def fails_once(self, direction_id: str) -> bytes:
        calls.append(direction_id)
        if len(calls) == 1:
            raise BackendUnavailable("Neo4j went away")
        return answer(self, direction_id)

    monkeypatch.setattr(Neo4jStore, "direction_json", fails_once)
    _cli_env(monkeypatch, neo4j_server, tmp_path)
    try:
        r = CliRunner().invoke(app, ["load-neo4j", "--warm-up", "30"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert re.search(r"loaded (\d+) nodes", r.output) and "warming Neo4j stopped: Neo4j went away" in r.output
    # one request failed: the other 3 threads stopped with it (a few requests), not after 30 s (~20,000 requests)
    assert len(calls) <= 20, len(calls)
    expected = (neo4j_corpus.graph.number_of_nodes(), neo4j_corpus.graph.number_of_edges())
    assert neo4j_store.counts() == expected
