"""The Neo4j store's parts that need no server: the Cypher catalog and an unreachable server.

The rest of tests/neo4j runs against a real Neo4j (marker ``neo4j``); these run in the fast tier.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.errors import BackendUnavailable, FundgraphError
from fundgraph.core.settings import get_settings
from fundgraph.cypher.catalog import names, query
from fundgraph.graph.model import Rel
from fundgraph.graph.stores.neo4j.store import Neo4jStore


def test_every_statement_is_a_catalog_file_without_fstring_values():
    assert {
        "merge_nodes",
        *(f"merge_relationships_{t.value}" for t in Rel),
        "create_vector_index",
        "analyst_program_overlap",
        "analyst_shared_diseases",
        "analyst_direction_path",
        "analyst_direction_neighbourhood",
    } <= set(names())
    assert "UNWIND $rows AS row" in query("merge_nodes")
    for t in Rel:  # one static-type statement per relationship type, all of the same shape
        text = query(f"merge_relationships_{t.value}")
        assert f"MERGE (a)-[r:{t.value} {{fg_key: row.key}}]->(b)" in text
        assert text.replace(t.value, "TYPE") == query("merge_relationships_MENTIONS").replace("MENTIONS", "TYPE")
    with pytest.raises(KeyError):
        query("no_such_statement")


def test_a_missing_statement_file_is_one_clear_error_naming_the_file():
    """An installation that lost its Cypher files (e.g. an editable install whose checkout was deleted)."""
    with pytest.raises(FundgraphError) as caught:
        query("create_relationships_NO_SUCH_TYPE")
    e = caught.value
    assert isinstance(e, KeyError) and e.code == "install_incomplete"
    assert e.path.endswith("create_relationships_NO_SUCH_TYPE.cypher")
    assert str(e) == e.message and e.path in e.message and "reinstall" in e.message


def test_first_load_statements_create_what_the_merge_statements_merge():
    assert "CREATE (n:Node {id: row.id})" in query("create_nodes")
    for t in Rel:  # the same rows and properties as merge_relationships_<TYPE>, created instead of merged
        merge, create = query(f"merge_relationships_{t.value}"), query(f"create_relationships_{t.value}")
        assert f"CREATE (a)-[r:{t.value}]->(b)" in create
        body = [line for line in create.splitlines() if not line.startswith("//")]
        assert body == [line.replace(f"MERGE (a)-[r:{t.value} {{fg_key: row.key}}]->(b)",
                                     f"CREATE (a)-[r:{t.value}]->(b)")
                        for line in merge.splitlines() if not line.startswith("//")]


def test_unreachable_neo4j_is_backend_unavailable():
    from fundgraph.core.settings import Settings

    store = Neo4jStore.from_settings(Settings(neo4j_uri="bolt://127.0.0.1:1", neo4j_user=""))
    try:
        with pytest.raises(BackendUnavailable) as e:
            store.health()
        assert e.value.status_code == 503
    finally:
        store.close()


def test_load_neo4j_unreachable_fails_cleanly(monkeypatch, cli_built_home):
    # --from-embedded: the session's CLI build is loaded (read only) instead of building the corpus again
    monkeypatch.setenv("FUNDGRAPH_NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.setenv("FUNDGRAPH_HOME", str(cli_built_home))
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["load-neo4j", "--from-embedded"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 2
    assert "Neo4j is unavailable" in r.output
