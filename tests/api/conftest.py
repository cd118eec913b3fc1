"""Contract-test fixtures: the real graph built once from the bundled corpus, served by each store.

``store`` is parametrised over the embedded store and the Neo4j store (the ``neo4j_store`` fixture of
tests/conftest.py, marked ``neo4j``), so every contract test runs against both and must give the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings
from fundgraph.graph.stores.base import BuiltGraph, GraphStore
from fundgraph.graph.stores.embedded.store import EmbeddedStore


@pytest.fixture(scope="session")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fundgraph-home")


@pytest.fixture(scope="session")
def api_settings(api_home: Path) -> Settings:
    return Settings(
        home=api_home, store="embedded", encoder="lexical", cors_origins=["http://dashboard.example"]
    )


@pytest.fixture(scope="session")
def built(corpus_built: BuiltGraph) -> BuiltGraph:
    """The real graph of the bundled corpus (lexical encoder), built once per session (tests/conftest.py)."""
    return corpus_built


@pytest.fixture(scope="session", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, built: BuiltGraph, api_home: Path) -> Iterator[GraphStore]:
    """Each store, holding the same built graph."""
    if request.param == "embedded":
        s: GraphStore = EmbeddedStore(api_home)
    else:
        try:
            s = request.getfixturevalue("neo4j_store")
        except pytest.FixtureLookupError:
            pytest.skip("the neo4j_store fixture (tests/conftest.py) is not available")
    s.replace(built)
    yield s


@pytest.fixture(scope="session")
def client(store: GraphStore, api_settings: Settings) -> Iterator[TestClient]:
    """A TestClient over the API serving ``store``."""
    with TestClient(create_app(api_settings, store), raise_server_exceptions=False) as c:
        yield c
