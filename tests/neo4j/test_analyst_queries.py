"""The analyst queries of cypher/ (the ones pasted into Neo4j Browser), run against the real Neo4j."""

from __future__ import annotations

import pytest

from fundgraph.graph.stores.embedded.queries import GraphQueries

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def q(neo4j_corpus) -> GraphQueries:
    return GraphQueries(neo4j_corpus)


def test_program_overlap_matches_the_api_overlap(neo4j_store, q):
    # The pair of programs sharing the most entities, so the test exercises a non-trivial overlap.
    best = max(
        ((a, b) for i, a in enumerate(q.program_ids) for b in q.program_ids[i + 1 :]),
        key=lambda ab: len(q.overlaps(*ab).shared),
    )
    rows = neo4j_store.read("analyst_program_overlap", a=best[0], b=best[1])
    expected = q.overlaps(*best)
    assert rows, best
    assert {r["entity"] for r in rows} == {o.entity.id for o in expected.shared}
    by_id = {o.entity.id: o for o in expected.shared}
    for r in rows:
        assert r["a_directions"] and r["b_directions"]
        assert set(r["a_directions"]) == {d.id for d in by_id[r["entity"]].a_directions}
        assert r["program_count"] == by_id[r["entity"]].entity.program_count


def test_diseases_shared_by_at_least_three_programs(neo4j_store, q):
    rows = neo4j_store.read("analyst_shared_diseases", min_programs=3)
    expected = {e.id for e in q.entities("disease", None) if e.program_count >= 3}
    assert {r["disease"] for r in rows} == expected
    assert expected, "the corpus has diseases cited by three or more programs"
    assert all(r["program_count"] >= 3 and len(r["programs"]) == r["program_count"] for r in rows)
    counts = [r["program_count"] for r in rows]
    assert counts == sorted(counts, reverse=True)


def test_path_between_two_directions(neo4j_store, q):
    a, b = q.by_program[q.program_ids[0]][0], q.by_program[q.program_ids[-1]][0]
    rows = neo4j_store.read("analyst_direction_path", **{"from": a, "to": b})
    assert len(rows) == 1
    path = rows[0]
    assert path["node_ids"][0] == a and path["node_ids"][-1] == b
    assert path["hops"] == len(path["relationship_types"]) == len(path["node_ids"]) - 1
    import networkx as nx

    assert path["hops"] == nx.shortest_path_length(q.built.graph.to_undirected(as_view=True), a, b)


def test_direction_neighbourhood(neo4j_store, q):
    did = q.direction_ids[0]
    rows = neo4j_store.read("analyst_direction_neighbourhood", id=did)
    g = q.built.graph
    expected = sorted(
        [(e["type"], "out", v) for _, v, e in g.out_edges(did, data=True)]
        + [(e["type"], "in", u) for u, _, e in g.in_edges(did, data=True)]
    )
    assert [(r["relationship"], r["way"], r["neighbour"]) for r in rows] == expected
    assert ("HAS_DIRECTION", "in", g.nodes[did]["program_id"]) in expected
