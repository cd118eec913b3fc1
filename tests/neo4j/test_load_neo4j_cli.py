"""`fundgraph load-neo4j` against the real Neo4j: connection from FUNDGRAPH_NEO4J_*, re-run adds nothing."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.settings import get_settings

pytestmark = pytest.mark.neo4j


def test_load_neo4j_twice_gives_the_same_counts(
    neo4j_server, neo4j_store, neo4j_corpus, monkeypatch, tmp_path
):
    monkeypatch.setenv("FUNDGRAPH_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("FUNDGRAPH_NEO4J_USER", "")
    monkeypatch.setenv("FUNDGRAPH_ENCODER", "lexical")
    monkeypatch.setenv("FUNDGRAPH_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        outputs = []
        for _ in range(2):
            r = runner.invoke(app, ["load-neo4j", "--batch-size", "300"])
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
    """Three statements a direction (detail, similar list, depth-2 neighbourhood), the answers unchanged."""
    monkeypatch.setenv("FUNDGRAPH_NEO4J_URI", neo4j_server.uri)
    monkeypatch.setenv("FUNDGRAPH_NEO4J_USER", "")
    monkeypatch.setenv("FUNDGRAPH_ENCODER", "lexical")
    monkeypatch.setenv("FUNDGRAPH_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        loaded = runner.invoke(app, ["load-neo4j", "--warm-up", "40"])
        cold = runner.invoke(app, ["load-neo4j", "--warm-up", "0"])
        warmed = runner.invoke(app, ["warm-neo4j", "--directions", "500"])
    finally:
        get_settings.cache_clear()
    assert loaded.exit_code == 0 and re.search(r"warmed Neo4j: 120 requests in [\d.]+s", loaded.output), loaded.output
    assert cold.exit_code == 0 and "warmed" not in cold.output, cold.output
    # more directions asked than the graph holds: each of its 124 once
    assert warmed.exit_code == 0 and re.search(r": 372 requests in [\d.]+s", warmed.output), warmed.output
    d = neo4j_corpus.direction_ids[0]
    assert neo4j_store.warm_up(1) == 3 and neo4j_store.warm_up(0) == 0
    assert neo4j_store.direction(d).id == d
