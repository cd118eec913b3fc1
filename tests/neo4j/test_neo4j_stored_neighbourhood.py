"""Stored neighbourhoods (``fg_nb``): written at load, read with one statement, sent as they are to gzip clients.

A neighbourhood of depth 2 and limit 100 (the API's default limit and the dashboard's view) from a node that stores
it is one property read by the id index, instead of its ~100 nodes' views: on the session's real Neo4j.
"""

from __future__ import annotations

import gzip

import orjson
import pytest

import fundgraph.graph.stores.neo4j.connection as neo4j_connection
from fundgraph.graph.stores.base import GzipJSON
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.neo4j.codec import (
    STORED_DEPTH,
    STORED_LIMIT,
    compress_answer,
    neighbourhood_views,
    query_props,
    stored_neighbourhood_json,
)

pytestmark = pytest.mark.neo4j


def stored_neighbourhood(node, props, views):
    """A node's ``fg_nb`` as the loader writes it (its stored neighbourhood compressed), or None."""
    answer = stored_neighbourhood_json(node, props, views)
    return None if answer is None else compress_answer(answer)


def test_stored_neighbourhoods_are_written_and_answer_in_one_statement(neo4j_store, neo4j_corpus, monkeypatch):
    g = neo4j_corpus.graph
    derived, views = query_props(g), neighbourhood_views(g)
    want = {str(n): a for n in g if (a := stored_neighbourhood(str(n), derived.get(str(n), {}), views)) is not None}
    with neo4j_store.driver.session(database=neo4j_store.database) as s:
        read = {r["id"]: r["a"] for r in s.run("MATCH (n:Node) WHERE n.fg_nb IS NOT NULL RETURN n.id AS id, "
                                               "n.fg_nb AS a").data()}
    assert read == want and len(want) > g.number_of_nodes() * 0.9
    used: list[str] = []
    inner = neo4j_connection.query
    monkeypatch.setattr(neo4j_connection, "query", lambda name: used.append(name) or inner(name))
    embedded = GraphQueries(neo4j_corpus)
    for n in sorted(want)[::9]:
        used.clear()
        zipped = neo4j_store.neighborhood_json(n, STORED_DEPTH, STORED_LIMIT, gzip=True)
        assert isinstance(zipped, GzipJSON) and bytes(zipped) == want[n] and used == ["find_walk"], n
        plain = neo4j_store.neighborhood_json(n, STORED_DEPTH, STORED_LIMIT)
        assert not isinstance(plain, GzipJSON) and plain == gzip.decompress(want[n])
        assert orjson.loads(plain) == embedded.neighborhood(n, STORED_DEPTH, STORED_LIMIT).model_dump(mode="json")
        # other depths and limits are spliced from the views on the request: never compressed
        for depth, limit in ((1, STORED_LIMIT), (2, STORED_LIMIT - 1), (2, STORED_LIMIT + 1), (3, STORED_LIMIT)):
            other = neo4j_store.neighborhood_json(n, depth, limit, gzip=True)
            assert not isinstance(other, GzipJSON)
            assert orjson.loads(other) == embedded.neighborhood(n, depth, limit).model_dump(mode="json")
    # a node that stores none (a hub with fewer neighbours than the limit): its walk, not compressed
    hub = next(str(n) for n in g if str(n) not in want and g.degree(n) > 0)
    answer = neo4j_store.neighborhood_json(hub, STORED_DEPTH, STORED_LIMIT, gzip=True)
    assert not isinstance(answer, GzipJSON)
    assert orjson.loads(answer) == embedded.neighborhood(hub, STORED_DEPTH, STORED_LIMIT).model_dump(mode="json")
