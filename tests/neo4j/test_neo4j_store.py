"""The Neo4j store against a real Neo4j 5.26 (started per session), compared with the embedded store."""

from __future__ import annotations

import networkx as nx
import orjson
import pytest
import scipy.sparse as sp

from fundgraph.core.errors import DirectionNotFound
from fundgraph.graph.read import models
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.neo4j import loader
from fundgraph.graph.stores.neo4j.codec import PROJECTION_DIMENSIONS, WALK_HEAD, neighbour_heads, projection, walk_heads
from fundgraph.graph.stores.neo4j.store import Neo4jStore

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def embedded(neo4j_corpus) -> GraphQueries:
    """What the embedded store answers for the same graph."""
    return GraphQueries(neo4j_corpus)


def _same_neighbourhood(neo4j_store, embedded, node, depth, limit) -> None:
    # The read model and the JSON the API sends (neighborhood_json: made from the views without the models).
    want = embedded.neighborhood(node, depth, limit)
    assert neo4j_store.neighborhood(node, depth, limit) == want
    assert orjson.loads(neo4j_store.neighborhood_json(node, depth, limit)) == want.model_dump(mode="json")


def test_corpus_counts_equal_embedded_graph(neo4j_store, neo4j_corpus):
    g = neo4j_corpus.graph
    assert neo4j_store.counts() == (g.number_of_nodes(), g.number_of_edges())
    # Pin the corpus's size so a loader that silently drops rows cannot pass by matching itself.
    assert g.number_of_nodes() > 500 and g.number_of_edges() > 1500
    labels = {r["label"]: r["count"] for r in neo4j_store.read("count_nodes_by_label")}
    expected: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        expected[d["label"]] = expected.get(d["label"], 0) + 1
    assert labels == expected


def test_reload_gives_no_duplicates(neo4j_store, neo4j_corpus):
    before = neo4j_store.counts()
    neo4j_store.replace(neo4j_corpus)
    assert neo4j_store.counts() == before
    assert neo4j_store.read("count_duplicate_ids")[0]["count"] == 0


def test_round_trip_is_exact(neo4j_store, neo4j_corpus):
    back = neo4j_store.load()
    assert list(back.graph.nodes(data=True)) == list(neo4j_corpus.graph.nodes(data=True))
    assert list(back.graph.edges(keys=True, data=True)) == list(
        neo4j_corpus.graph.edges(keys=True, data=True)
    )
    assert back.direction_ids == neo4j_corpus.direction_ids
    # Sparse rows are stored as their non-zeros (fg_vec_idx/fg_vec_val) and come back as the same CSR matrix;
    # the vector index holds a 256-d projection beside them.
    assert sp.issparse(back.vectors) and back.vectors.shape == neo4j_corpus.vectors.shape
    assert (back.vectors != neo4j_corpus.vectors).nnz == 0
    assert back.meta == neo4j_corpus.meta and back.encoder_state == neo4j_corpus.encoder_state


def test_interrupted_load_then_rerun_ends_right(neo4j_store, neo4j_corpus):
    # A smaller graph first, so that the interrupted load leaves both stale and missing rows behind.
    small = type(neo4j_corpus)(
        graph=nx.MultiDiGraph(neo4j_corpus.graph.subgraph(list(neo4j_corpus.graph.nodes)[:200])),
        direction_ids=[],
        vectors=neo4j_corpus.vectors[:0],
        encoder_state=neo4j_corpus.encoder_state,
        meta={**neo4j_corpus.meta, "built_at": "small"},
    )
    neo4j_store.replace(small)
    assert neo4j_store.counts() == (200, small.graph.number_of_edges())
    neo4j_store.batch_size = 100
    try:
        with pytest.raises(Exception, match="stopped on purpose"):
            neo4j_store.replace(neo4j_corpus, stop_after_batches=5)
        half = neo4j_store.counts()
        assert half != (neo4j_corpus.graph.number_of_nodes(), neo4j_corpus.graph.number_of_edges())
        # Readers still see the last complete build.
        assert neo4j_store.health().built_at == "small"
        neo4j_store.replace(neo4j_corpus)
    finally:
        neo4j_store.batch_size = 1000
    assert neo4j_store.counts() == (
        neo4j_corpus.graph.number_of_nodes(),
        neo4j_corpus.graph.number_of_edges(),
    )
    assert neo4j_store.health().built_at == neo4j_corpus.meta["built_at"]


def test_queries_equal_embedded(neo4j_store, embedded):
    assert neo4j_store.programs() == embedded.programs()
    h = neo4j_store.health()
    assert (h.backend, h.node_count, h.edge_count) == (
        "neo4j",
        embedded.built.graph.number_of_nodes(),
        embedded.built.graph.number_of_edges(),
    )
    f = models.DirectionFilter(disease="阿尔茨海默病")
    assert neo4j_store.directions(f, 50, 0) == embedded.directions(f, 50, 0)
    for did in embedded.direction_ids[::17]:
        assert neo4j_store.direction(did) == embedded.direction(did)
        assert orjson.loads(neo4j_store.direction_json(did)) == embedded.direction(did).model_dump(mode="json")
        assert neo4j_store.similar(did, 5, "cross-program") == embedded.similar(did, 5, "cross-program")
        assert neo4j_store.similar(did, 3, "all") == embedded.similar(did, 3, "all")
        for k, scope in ((1, "cross-program"), (5, "cross-program"), (6, "cross-program"), (3, "all")):
            # k ≤ the stored list's length: spliced from fg_similar; the others ranked as similar() ranks them
            want = embedded.similar(did, k, scope).model_dump(mode="json")
            assert orjson.loads(neo4j_store.similar_json(did, k, scope)) == want, (did, k, scope)
        _same_neighbourhood(neo4j_store, embedded, did, 2, 40)
    for text in ("阿尔茨海默病 磁共振 影像", "federated learning for medical imaging", "脑机接口"):
        got = neo4j_store.search(text, 8, None)
        assert got == embedded.search(text, 8, None)
        assert got.items, text
    a, b = embedded.program_ids[:2]
    assert neo4j_store.overlaps(a, b) == embedded.overlaps(a, b)
    assert neo4j_store.matrix("disease") == embedded.matrix("disease")
    assert neo4j_store.entities("disease", None) == embedded.entities("disease", None)
    with pytest.raises(DirectionNotFound):
        neo4j_store.direction("no-such-program:1")


def test_vector_index_is_online_and_ranks_a_direction_first(neo4j_store, neo4j_corpus):
    rows = neo4j_store.read("show_vector_index")
    assert rows and rows[0]["state"] == "ONLINE"
    # The lexical rows are sparse: the index holds their 256-d projection (codec.projection).
    assert rows[0]["dimensions"] == PROJECTION_DIMENSIONS < neo4j_corpus.vectors.shape[1]
    did = neo4j_corpus.direction_ids[0]
    hits = neo4j_store.read(
        "query_direction_vectors", k=3, vector=projection(neo4j_corpus.vectors[0])[0].astype(float).tolist()
    )
    assert hits[0]["id"] == did and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    near = neo4j_store.read("find_vector_candidates", id=did, n=3)
    assert near[0]["id"] == did and len(near) == 3


def test_settings_select_the_neo4j_store_and_the_api_serves_it(neo4j_store, neo4j_settings, neo4j_corpus):
    # The compose wiring: FUNDGRAPH_STORE=neo4j + FUNDGRAPH_NEO4J_* and no store handed in.
    from fastapi.testclient import TestClient

    from fundgraph.api.app import create_app
    from fundgraph.graph.stores.factory import open_store

    opened = open_store(neo4j_settings)
    try:
        assert isinstance(opened, Neo4jStore)
    finally:
        opened.close()
    with TestClient(create_app(neo4j_settings), raise_server_exceptions=False) as client:
        body = client.get("/api/health").json()
        assert (body["backend"], body["node_count"]) == ("neo4j", neo4j_corpus.graph.number_of_nodes())
        programs = client.get("/api/programs").json()
        assert [p["id"] for p in programs] == neo4j_corpus.meta["programs"]


def test_neighbourhood_through_hub_lists_equals_embedded(neo4j_store, embedded, neo4j_corpus):
    # Hubs (more than NEIGHBOUR_HUB_DEGREE neighbours) carry fg_nbrs; walks from and through them read those lists
    # (whole, or the first 3·limit of a longer one) and must take the same nodes in the same order.
    g = neo4j_corpus.graph
    heads = neighbour_heads(g)
    hubs = sorted(heads)
    assert hubs == ["most-stic-joint"]  # the bundled corpus's one hub: its biggest program
    with neo4j_store.driver.session(database=neo4j_store.database) as s:
        stored = {r["id"]: r["h"] for r in s.run("MATCH (n:Node) WHERE n.fg_nbrs IS NOT NULL RETURN n.id AS id, "
                                                  "n.fg_nbrs AS h").data()}
    assert stored == heads
    hub = hubs[0]
    n = len(heads[hub])  # with at least `limit` neighbours its walk is its first ones (find_walk), else walked
    for depth, limit in ((1, 10), (1, 500), (2, 25), (2, 200), (3, 60), (1, n), (2, n), (2, n + 1), (1, n + 1)):
        _same_neighbourhood(neo4j_store, embedded, hub, depth, limit)
    for centre in heads[hub][:40:4]:  # walks that reach the hub at level 1 and take level 2 from its list
        _same_neighbourhood(neo4j_store, embedded, centre, 2, 60)


def test_neighbourhood_from_stored_walks_equals_embedded(neo4j_store, embedded, neo4j_corpus):
    # Nodes with few neighbours store their depth-2 walk (fg_walk); walks of depth 1 and 2 up to WALK_HEAD + 1 nodes
    # read it (find_walk), longer ones and hubs walk in Cypher: every one must equal the embedded store's.
    g = neo4j_corpus.graph
    stored = walk_heads(g)
    with neo4j_store.driver.session(database=neo4j_store.database) as s:
        rows = s.run("MATCH (n:Node) WHERE n.fg_walk IS NOT NULL RETURN n.id AS id, n.fg_walk AS w, n.fg_walk_n AS n")
        read = {r["id"]: (r["w"], r["n"]) for r in rows.data()}
    assert read == stored and len(stored) > g.number_of_nodes() / 2
    more = [counts[1] for _, counts in stored.values()]
    assert any(more) and not all(more)  # walks longer than the stored list, and shorter ones
    directions = sorted(d for d in neo4j_corpus.direction_ids if d in stored)
    entities = sorted(n for n in stored if g.nodes[n].get("label") not in ("Direction", "Program"))
    assert directions and entities
    for centre in directions[::15] + entities[::40]:
        for depth, limit in ((1, 1), (1, 5), (2, 2), (2, 37), (2, 100), (2, WALK_HEAD + 1), (2, WALK_HEAD + 2)):
            _same_neighbourhood(neo4j_store, embedded, centre, depth, limit)


def test_neighbourhood_of_nodes_with_more_out_edges_than_a_view_holds_equals_embedded(
    neo4j_store, embedded, neo4j_corpus, monkeypatch
):
    # A node with more outgoing edges than VIEW_MAX_OUT_EDGES keeps none in its fg_view: its edges come from its
    # relationships (get_neighbourhood_edges), in the same order as the views give the others'.
    g = neo4j_corpus.graph
    cap = 8
    big = [n for n in g if g.out_degree(n) > cap]
    assert "most-stic-joint" in big and len(big) < g.number_of_nodes() / 2  # both kinds in one neighbourhood
    monkeypatch.setattr(loader, "VIEW_MAX_OUT_EDGES", cap)
    try:
        neo4j_store.replace(neo4j_corpus)
        centres = ["most-stic-joint", *sorted(d for d in neo4j_corpus.direction_ids if d in big)[:6]]
        for centre in centres:
            for depth, limit in ((1, 30), (2, 80)):
                _same_neighbourhood(neo4j_store, embedded, centre, depth, limit)
    finally:
        monkeypatch.undo()
        neo4j_store.replace(neo4j_corpus)
