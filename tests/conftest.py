"""Shared fixtures. Fixtures build real inputs: the bundled corpus, a real Neo4j, a real model."""

from __future__ import annotations

import os

import pytest

# With FUNDGRAPH_REQUIRE_ALL=1 (set by scripts/test.sh, hence CI), a skipped test is a failure:
# nothing that needs Neo4j, Chromium, a notebook kernel or the real model may be skipped silently.
REQUIRE_ALL = os.environ.get("FUNDGRAPH_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but FUNDGRAPH_REQUIRE_ALL=1 forbids skips: {reason}"


# -- Neo4j (issue 6): one real Neo4j 5.26 per session, started through tools/neo4j-launcher -------------------
@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory):
    """A running test Neo4j (neo4j-harness in a child JVM); skips with the reason when Java/Maven are missing."""
    from tests.neo4j.harness import Neo4jProcess, missing_tools

    reason = missing_tools()
    if reason:
        if os.environ.get("FUNDGRAPH_REQUIRE_NEO4J") == "1":
            pytest.fail(f"FUNDGRAPH_REQUIRE_NEO4J=1 but {reason}")
        pytest.skip(reason)
    server = Neo4jProcess(workdir=tmp_path_factory.mktemp("neo4j")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def neo4j_settings(neo4j_server, tmp_path_factory: pytest.TempPathFactory):
    """Settings pointing at the session's Neo4j (auth disabled: user empty)."""
    from fundgraph.core.settings import Settings

    return Settings(store="neo4j", neo4j_uri=neo4j_server.uri, neo4j_user="", neo4j_password="",
                    home=tmp_path_factory.mktemp("neo4j-home"), encoder="lexical")


@pytest.fixture(scope="session")
def neo4j_corpus(neo4j_settings):
    """The real graph of the bundled corpus (lexical encoder), built once for the Neo4j tests."""
    from fundgraph.graph.build.pipeline import build_graph

    return build_graph(neo4j_settings)


@pytest.fixture(scope="session")
def neo4j_store(neo4j_settings, neo4j_corpus):
    """A Neo4jStore on the session's Neo4j, loaded with the corpus graph."""
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    store = Neo4jStore.from_settings(neo4j_settings)
    store.replace(neo4j_corpus)
    yield store
    store.close()
