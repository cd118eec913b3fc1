"""Shared fixtures. Fixtures build real inputs: the bundled corpus, a real Neo4j, a real model."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.base import BuiltGraph
    from fundgraph.loaders.records import ParsedDocument

# With FUNDGRAPH_REQUIRE_ALL=1 (set by scripts/test.sh, hence CI), a skipped test is a failure:
# nothing that needs Neo4j, Chromium, a notebook kernel or the real model may be skipped silently.
REQUIRE_ALL = os.environ.get("FUNDGRAPH_REQUIRE_ALL") == "1"


#: Fixtures that need a service, and the marker every test using one (directly or through other fixtures)
#: must carry, so that `-m "not neo4j and not browser ..."` never starts a service.
SERVICE_FIXTURES = {"neo4j_server": "neo4j", "base_url": "browser", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        f"{item.nodeid} uses the {fixture} fixture but is not marked {marker}"
        for item in items
        for fixture, marker in SERVICE_FIXTURES.items()
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("tests that need a service must carry its marker:\n" + "\n".join(unmarked))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, but FUNDGRAPH_REQUIRE_ALL=1 forbids skips: {reason}"


# -- The bundled corpus, parsed and built once per session, shared read-only --------------------------------
# A full build takes 5-15 s on this machine; the fast tier used to do it in nine fixtures.
def _fingerprint(built: BuiltGraph) -> str:
    """A hash of everything a BuiltGraph holds (graph with attributes, vectors, state, meta)."""
    import networkx as nx

    h = hashlib.sha256()
    data = nx.node_link_data(built.graph, edges="edges")
    for part in (data, built.direction_ids, built.encoder_state, built.meta):
        h.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=repr).encode())
    for array in _vector_arrays(built):
        h.update(array.tobytes())
    return h.hexdigest()


def _vector_arrays(built: BuiltGraph) -> list:
    """The arrays holding the vectors: the CSR parts of sparse (lexical) vectors, else the dense array."""
    v = built.vectors
    return [v.data, v.indices, v.indptr] if hasattr(v, "indptr") else [v]


def _frozen(built: BuiltGraph) -> BuiltGraph:
    """``built`` with its graph frozen (adding or removing a node or edge raises) and read-only vectors."""
    import networkx as nx

    nx.freeze(built.graph)
    for array in _vector_arrays(built):
        array.setflags(write=False)
    return built


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Default settings with the lexical encoder (no model download) and a home of the session's own."""
    from fundgraph.core.settings import Settings

    return Settings(home=tmp_path_factory.mktemp("corpus-home"), store="embedded", encoder="lexical")


@pytest.fixture(scope="session")
def corpus_built(corpus_settings: Settings) -> Iterator[BuiltGraph]:
    """The real graph of the bundled corpus (lexical encoder, default settings), built once per session.

    Shared read-only: the graph is frozen and the vectors read-only, and the session fails at teardown if a
    test changed anything else in it (node or edge attributes, state, meta). A test that must change the
    graph takes ``corpus_copy``.
    """
    from fundgraph.graph.build.pipeline import build_graph

    built = _frozen(build_graph(corpus_settings))
    before = _fingerprint(built)
    yield built
    assert _fingerprint(built) == before, "a test changed the shared corpus_built graph: use corpus_copy"


@pytest.fixture
def corpus_copy(corpus_built: BuiltGraph) -> BuiltGraph:
    """A private, writable deep copy of ``corpus_built``."""
    import numpy as np

    from fundgraph.graph.stores.base import BuiltGraph

    return BuiltGraph(graph=copy.deepcopy(corpus_built.graph.copy()), direction_ids=list(corpus_built.direction_ids),
                      vectors=corpus_built.vectors.copy(), encoder_state=copy.deepcopy(corpus_built.encoder_state),
                      meta=copy.deepcopy(corpus_built.meta),
                      words=None if corpus_built.words is None else corpus_built.words.copy(),
                      pools=None if corpus_built.pools is None else tuple(np.array(a) for a in corpus_built.pools))


@pytest.fixture(scope="session")
def corpus_docs(corpus_settings: Settings) -> tuple[ParsedDocument, ...]:
    """The bundled guidelines parsed once (a tuple: take a list of your own to add documents)."""
    from fundgraph.loaders.corpus import load_corpus

    return tuple(load_corpus(corpus_settings.manifest))


@pytest.fixture(scope="session")
def cli_built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the bundled corpus built through the CLI (`fundgraph build`), once per session.

    Beside ``corpus_built`` it is a second, independent build of the same corpus with the same settings:
    tests of stability across rebuilds compare the two.
    """
    from typer.testing import CliRunner

    from fundgraph.cli import app
    from fundgraph.core.settings import get_settings

    home = tmp_path_factory.mktemp("cli-home")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["build"], env={"FUNDGRAPH_HOME": str(home), "FUNDGRAPH_STORE": "embedded",
                                                         "FUNDGRAPH_ENCODER": "lexical"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "124 directions" in result.output
    return home


@pytest.fixture(scope="session")
def corpus_rebuilt(cli_built_home: Path) -> BuiltGraph:
    """The CLI's build (``cli_built_home``) read back from its embedded store, frozen like ``corpus_built``."""
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    return _frozen(EmbeddedStore(cli_built_home).load())


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
def neo4j_corpus(corpus_built: BuiltGraph) -> BuiltGraph:
    """The real graph of the bundled corpus (``corpus_built``: the build does not depend on the store)."""
    return corpus_built


@pytest.fixture(scope="session")
def neo4j_store(neo4j_settings, neo4j_corpus):
    """A Neo4jStore on the session's Neo4j, loaded with the corpus graph."""
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    store = Neo4jStore.from_settings(neo4j_settings)
    store.replace(neo4j_corpus)
    yield store
    store.close()
