"""The Neo4j store's pure half (property codec, lookup properties, load rows and plan): no server needed."""

from __future__ import annotations

import gzip
import json

import networkx as nx
import numpy as np
import orjson
import pytest
import scipy.sparse as sp

from fundgraph.core.errors import FundgraphError
from fundgraph.embeddings import vectors as vx
from fundgraph.graph.model import Rel
from fundgraph.graph.read import records, semantics
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.neo4j import codec
from fundgraph.graph.stores.neo4j.codec import (
    ANSWER_KEY,
    EMBEDDING,
    JSON_KEYS,
    LOOKUP_KEY,
    NEIGHBOURS_KEY,
    NULL_KEYS,
    ORDER_KEY,
    PROJECTION_DIMENSIONS,
    SEARCH_KEY,
    STORED_DEPTH,
    STORED_LIMIT,
    VECTOR_INDICES,
    VECTOR_VALUES,
    VIEW_KEY,
    WALK_COUNTS_KEY,
    WALK_KEY,
    compress_answer,
    decode_edge_key,
    decode_pairs,
    decode_props,
    encode_props,
    neighbour_heads,
    neighbourhood_views,
    parse_view,
    projection,
    query_props,
    sparse_rows,
    stored_neighbourhood_json,
    stored_walk,
    view_holds_no_edges,
    walk_heads,
)
from fundgraph.graph.stores.neo4j.loader import (
    batches,
    check_model,
    load_statements,
    node_rows,
    relationship_rows,
)
from tests.graph.handmade import handmade_built


def stored_neighbourhood(node, props, views):
    """A node's ``fg_nb`` as the loader writes it (its stored neighbourhood compressed), or None."""
    answer = stored_neighbourhood_json(node, props, views)
    return None if answer is None else compress_answer(answer)


@pytest.fixture(scope="module")
def built() -> BuiltGraph:
    return handmade_built()


def test_props_encoding_round_trips():
    props = {"a": None, "b": [1, 2.5], "c": {"x": 1}, "d": ["x", None], "e": "t", "f": [], "g": (1, 2),
             "h": np.float32(0.5), "i": float("nan")}
    enc = encode_props(props)
    assert "a" not in enc and enc[NULL_KEYS] == ["a"]
    assert enc["b"] == [1, 2.5] and enc["g"] == [1, 2] and enc["h"] == 0.5 and enc["f"] == []
    assert set(enc[JSON_KEYS]) == {"c", "d", "i"}  # a map, a list with a null, a non-finite float
    assert json.loads(enc["c"]) == {"x": 1}
    dec = decode_props(enc)
    assert {k: v for k, v in dec.items() if k != "i"} == {**{k: v for k, v in props.items() if k != "i"},
                                                         "g": [1, 2]}
    assert np.isnan(dec["i"])


def test_decoding_drops_bookkeeping_and_reads_pairs():
    enc = {**encode_props({"name": "肺癌", "x": None}), "fg_build": "b1", "fg_seq": 3, "fg_lookup": ["肺癌"]}
    assert decode_props(enc) == {"name": "肺癌", "x": None}
    assert decode_pairs([[k, v] for k, v in enc.items()]) == {"name": "肺癌", "x": None}
    assert decode_edge_key({"fg_key": json.dumps(2)}) == 2 and decode_edge_key({}) == ""


def test_query_props_hold_the_lookup_forms_and_canonical_order(built):
    derived = query_props(built.graph)
    ad = derived["disease:alzheimer"]
    assert {"disease:alzheimer", "alzheimer", "阿尔茨海默病", "ad"} <= set(ad[LOOKUP_KEY])
    assert "alzheimer" not in ad[SEARCH_KEY]  # the bare vocabulary id names an entity in filters, not in q
    order = sorted((d[ORDER_KEY], n) for n, d in derived.items() if ORDER_KEY in d)
    assert [n for _, n in order] == ["prog-a:1", "prog-a:2", "prog-b:1.1", "prog-b:1.2", "prog-c:YX01",
                                     "prog-c:YX02"]


def test_neighbour_heads_list_a_hubs_first_neighbours_in_id_order():
    g = nx.MultiDiGraph()
    for i in range(70):
        g.add_edge("hub", f"d{i:02d}", type="HAS_DIRECTION")
    g.add_edge("d07", "hub", type="SIMILAR_TO")  # a second edge to one neighbour: listed once
    g.add_edge("a0", "hub", type="MEMBER_OF")  # incoming counts too
    g.add_edge("hub", "hub", type="SIMILAR_TO")  # never its own neighbour
    g.add_edge("d00", "d01", type="SIMILAR_TO")
    heads = neighbour_heads(g, min_degree=4, head=5)
    assert heads == {"hub": ["a0", "d00", "d01", "d02", "d03"]}
    assert neighbour_heads(g, min_degree=4, head=100)["hub"] == ["a0", *(f"d{i:02d}" for i in range(70))]
    assert neighbour_heads(g, min_degree=80) == {}
    # the loader stores them (default: more than 64 neighbours) with the query properties
    derived = query_props(g)
    assert [n for n, d in derived.items() if NEIGHBOURS_KEY in d] == ["hub"]
    assert derived["hub"][NEIGHBOURS_KEY][:3] == ["a0", "d00", "d01"]
    assert decode_props({"name": "x", NEIGHBOURS_KEY: ["a"]}) == {"name": "x"}


def test_stored_walks_give_every_walk_of_depth_1_and_2_up_to_their_length():
    # Hubs, repeated and self edges, isolated nodes, walks cut by the stored length and walks that end before it.
    rng = np.random.default_rng(7)
    g = nx.MultiDiGraph()
    g.add_node("alone")
    for i in range(60):
        g.add_edge(f"p{i % 3}", f"d{i:02d}", type="HAS_DIRECTION")  # three hubs of 20
        for j in rng.choice(60, size=int(rng.integers(0, 4)), replace=False):
            g.add_edge(f"d{i:02d}", f"d{int(j):02d}", type="SIMILAR_TO")  # self edges too
        g.add_edge(f"d{i:02d}", f"e{int(rng.integers(0, 8))}", type="MENTIONS")
    head, hub = 12, 10
    stored = walk_heads(g, max_degree=hub, head=head)
    nbrs = {n: sorted({str(v) for v in g.succ[n]} | {str(v) for v in g.pred[n]}) for n in g}
    assert set(stored) == {n for n in g if 0 < len(g.succ[n]) + len(g.pred[n]) <= hub}
    assert {"p0", "alone"}.isdisjoint(stored) and "d00" in stored
    cut = 0
    for n, (walk, counts) in stored.items():
        assert len(walk) <= head
        for depth in (1, 2):
            for limit in range(1, head + 2):
                want = semantics.walk(n, depth, limit, lambda frontier, _seen: {u: nbrs[u] for u in frontier})
                assert stored_walk(n, walk[:limit], len(walk), counts, depth, limit) == want, (n, depth, limit)
                cut += want[2]
    assert cut > 100  # many walks cut short by their limit, not only whole ones
    for h in ("p0", "p1"):  # hubs (more than `hub` neighbours): the first `limit - 1` when they have `limit` or more
        assert h not in stored and len(nbrs[h]) == 20
        for depth in (1, 2):
            for limit in range(1, 21):
                want = semantics.walk(h, depth, limit, lambda frontier, _seen: {u: nbrs[u] for u in frontier})
                assert stored_walk(h, None, 0, None, depth, limit, nbrs[h][: limit - 1]) == want
    derived = query_props(g)
    assert (derived["d00"][WALK_KEY], derived["d00"][WALK_COUNTS_KEY]) == walk_heads(g)["d00"]
    assert derived["p0"][WALK_COUNTS_KEY] == [20, 0]  # 20 neighbours: no hub at the default degree (64)
    assert decode_props({"name": "x", WALK_KEY: ["a"], WALK_COUNTS_KEY: [1, 0]}) == {"name": "x"}


def test_neighbourhood_views_hold_what_a_neighbourhood_shows_of_a_node_and_its_out_edges(built):
    g = built.graph
    views = {n: parse_view(v) for n, v in neighbourhood_views(g).items()}
    assert set(views) == {str(n) for n in g}
    shown = 0
    for n, d in g.nodes(data=True):
        head, tail, targets, ends, edges = views[str(n)]
        for distance in (0, 3):  # the node's JSON, its distance spliced in (key order too)
            node = json.loads(f"{head}{distance}{tail}")
            expected_node = records.graph_node(str(n), d, distance).model_dump()
            assert node == expected_node and list(node["data"]) == list(expected_node["data"])
        expected = [records.graph_edge(str(n), key, str(v), e).model_dump()
                    for _, v, key, e in g.out_edges(n, keys=True, data=True)]
        assert len(ends) == len(targets) == len(expected) and (ends[-1] if ends else 0) == len(edges)
        got = [json.loads(edges[a:b]) for a, b in zip([0, *ends], ends, strict=False)]
        assert got == expected and [list(x["data"]) for x in got] == [list(x["data"]) for x in expected]
        assert targets == [x["data"]["target"] for x in expected]
        shown += any(set(x["data"]) - {"id", "source", "target", "type"} for x in got)
    assert shown  # some edges show fields besides their type (score, field, weight ...)
    # more outgoing edges than max_out: none in the view (the neighbourhood reads the relationships)
    busiest = max(g, key=g.out_degree)
    capped_view = neighbourhood_views(g, max_out=g.out_degree(busiest) - 1)[str(busiest)]
    capped = parse_view(capped_view)
    assert capped[2:] == (None, None, b"") and capped[:2] == views[str(busiest)][:2]
    assert view_holds_no_edges(capped_view)
    assert not any(view_holds_no_edges(v) for v in neighbourhood_views(g).values())  # (an empty list is no null)
    # the loader writes it, and reading the properties back drops it
    row = next(r for r in node_rows(built) if r["id"] == str(busiest))
    assert parse_view(row["props"][VIEW_KEY]) == views[str(busiest)] and VIEW_KEY not in decode_props(row["props"])


def test_rows_carry_every_node_and_edge_with_vectors(built):
    nodes, rels = node_rows(built), relationship_rows(built)
    g = built.graph
    assert len(nodes) == g.number_of_nodes() and len(rels) == g.number_of_edges()
    by_id = {r["id"]: r for r in nodes}
    row = built.direction_ids.index("prog-a:1")
    assert by_id["prog-a:1"]["label"] == "Direction"
    assert sp.issparse(built.vectors)  # the build keeps lexical vectors sparse; so does Neo4j (fg_vec_idx/val)
    props = by_id["prog-a:1"]["props"]
    got = sparse_rows([(props[VECTOR_INDICES], props[VECTOR_VALUES])], built.vectors.shape[1])
    assert got.toarray().ravel().tolist() == pytest.approx(built.vectors[row].toarray().ravel().tolist())
    # under the vector index: the row's 256-d projection
    want = projection(vx.to_csr(built.vectors))[row]
    assert props[EMBEDDING] == pytest.approx(want.astype(float).tolist(), abs=1e-6)
    assert len(props[EMBEDDING]) == PROJECTION_DIMENSIONS
    assert EMBEDDING not in by_id["prog-a"]["props"]
    assert decode_props(by_id["disease:alzheimer"]["props"]) == dict(g.nodes["disease:alzheimer"])
    assert [r["props"]["fg_seq"] for r in rels] == list(range(len(rels)))


def test_load_plan_puts_nodes_first_and_one_statement_per_relationship_type(built):
    nodes, rels = node_rows(built), relationship_rows(built)
    plan = [(name, list(rows)) for name, rows in load_statements(built)]
    assert plan[0] == ("merge_nodes", nodes)
    names = [name for name, _ in plan[1:]]
    assert len(names) == len(set(names)) and {n.removeprefix("merge_relationships_") for n in names} <= set(Rel)
    assert all(row["type"] == name.removeprefix("merge_relationships_") for name, rows in plan[1:] for row in rows)
    assert sorted((row for _, rows in plan[1:] for row in rows), key=lambda r: r["props"]["fg_seq"]) == rels
    assert [len(b) for b in batches(iter(range(7)), 3)] == [3, 3, 1]
    created = [(name, list(rows)) for name, rows in load_statements(built, create=True)]
    assert [(name.replace("create_", "merge_", 1), rows) for name, rows in created] == plan


def test_rows_refuse_labels_and_types_outside_the_model():
    g = nx.MultiDiGraph()
    g.add_node("x", id="x", label="Planet")
    with pytest.raises(FundgraphError, match="Planet"):
        node_rows(BuiltGraph(graph=g))
    with pytest.raises(FundgraphError, match="Planet"):
        check_model(g)
    g = nx.MultiDiGraph()
    g.add_edge("a", "b", type="ORBITS")
    with pytest.raises(FundgraphError, match="ORBITS"):
        relationship_rows(BuiltGraph(graph=g))
    nx.set_node_attributes(g, "Direction", "label")
    with pytest.raises(FundgraphError, match="ORBITS"):
        check_model(g)


def test_ranking_rows_hold_the_profiles_and_rarity_the_shared_ranking_computes(corpus_built):
    from fundgraph.graph.profiles import candidates_from_graph
    from fundgraph.graph.read.ranking import RankingContext
    from fundgraph.graph.stores.neo4j.loader import ranking_rows

    props, vocabulary = ranking_rows(corpus_built)
    config = RankingContext(corpus_built.meta, corpus_built.encoder_state).config
    cands = candidates_from_graph(corpus_built.graph, corpus_built.direction_ids, corpus_built.vectors, config)
    assert len(props) == len(corpus_built.direction_ids) == 124
    for d, profile in zip(cands.ids, cands.entities, strict=True):
        p = props[d]
        assert dict(zip(p["fg_prof_e"], p["fg_prof_w"], strict=True)) == profile
        cited = {v for _, v, e in corpus_built.graph.out_edges(d, data=True) if e.get("type") == Rel.MENTIONS.value}
        assert set(p["fg_direct"]) == cited
    assert vocabulary["idf"] == cands.idf and vocabulary["parents"] == cands.parents
    assert [row[0] for row in vocabulary["info"]] == list(cands.info)
    assert sum(vocabulary["cited"].values()) == sum(len(p) for p in cands.entities)
    json.dumps(vocabulary)  # stored as one JSON property of the meta node


def test_stored_neighbourhoods_are_the_embedded_answers_gzip_compressed(corpus_built):
    # fg_nb: the neighbourhood of STORED_DEPTH and STORED_LIMIT of every node whose walk the store reads from its own
    # properties, spliced from the views as a request would and compressed; the same graph gives the same bytes.
    g = corpus_built.graph
    derived, views = query_props(g), neighbourhood_views(g)
    embedded = GraphQueries(corpus_built)
    stored = {str(n): stored_neighbourhood(str(n), derived.get(str(n), {}), views) for n in g}
    expected_without = {n for n in stored if WALK_KEY not in derived.get(n, {}) and len(
        derived.get(n, {}).get(NEIGHBOURS_KEY, ())) < STORED_LIMIT}
    assert {n for n, a in stored.items() if a is None} == expected_without
    assert len(expected_without) < g.number_of_nodes() / 10
    plain = compressed = 0
    for n, answer in stored.items():
        if answer is None:
            continue
        text = gzip.decompress(answer)
        want = embedded.neighborhood(n, STORED_DEPTH, STORED_LIMIT)
        assert orjson.loads(text) == want.model_dump(mode="json"), n
        plain, compressed = plain + len(text), compressed + len(answer)
    assert compressed * 4 < plain
    again = neighbourhood_views(g)
    assert all(stored_neighbourhood(n, derived.get(n, {}), again) == a for n, a in list(stored.items())[::25])
    # a walk that reaches a node whose view holds no edges is not stored (the store reads its relationships)
    capped = neighbourhood_views(g, max_out=8)
    big = {n for n, v in capped.items() if view_holds_no_edges(v)}
    for n in [n for n in stored if stored[n] is not None][::10]:
        order = stored_walk(n, derived[n].get(WALK_KEY), len(derived[n].get(WALK_KEY) or ()),
                            derived[n].get(WALK_COUNTS_KEY), STORED_DEPTH, STORED_LIMIT,
                            (derived[n].get(NEIGHBOURS_KEY) or [])[: STORED_LIMIT - 1])[0]
        assert (stored_neighbourhood(n, derived[n], capped) is None) == bool(big & set(order)), n
    # the loader writes it; reading the properties back drops it
    row = next(r for r in node_rows(corpus_built) if stored[r["id"]] is not None)
    assert row["props"][ANSWER_KEY] == stored[row["id"]] and ANSWER_KEY not in decode_props(row["props"])


def test_a_hubs_stored_neighbourhood_is_its_first_neighbours(corpus_built, monkeypatch):
    # A hub (fg_nbrs) with at least the stored limit of neighbours stores the walk of its first ones. The bundled
    # corpus's one hub has fewer than 100 neighbours: with a stored limit of 30 it has one.
    g = corpus_built.graph
    derived, views = query_props(g), neighbourhood_views(g)
    hubs = [n for n, d in derived.items() if NEIGHBOURS_KEY in d]
    assert hubs == ["most-stic-joint"] and len(derived[hubs[0]][NEIGHBOURS_KEY]) < STORED_LIMIT
    assert stored_neighbourhood(hubs[0], derived[hubs[0]], views) is None
    monkeypatch.setattr(codec, "STORED_LIMIT", 30)
    answer = stored_neighbourhood(hubs[0], derived[hubs[0]], views)
    want = GraphQueries(corpus_built).neighborhood(hubs[0], STORED_DEPTH, 30)
    assert want.truncated and len(want.nodes) == 30
    assert orjson.loads(gzip.decompress(answer)) == want.model_dump(mode="json")


def test_each_directions_similar_answer_is_made_with_its_row_and_equals_the_whole_set(corpus_built):
    """The loader makes fg_similar as it makes each node's row (not all held at once): the same bytes."""
    from fundgraph.graph.stores.neo4j.codec import SIMILAR_KEY
    from fundgraph.graph.stores.neo4j.loader import iter_node_rows, ranking_rows
    from fundgraph.graph.stores.neo4j.store import SimilarAnswers

    ranking, vocabulary = ranking_rows(corpus_built)
    every = SimilarAnswers(corpus_built, ranking, vocabulary)
    whole = {d: a for d in corpus_built.direction_ids if (a := every(d)) is not None}
    assert set(whole) == set(corpus_built.direction_ids)
    asked: list[str] = []
    answers = SimilarAnswers(corpus_built, ranking, vocabulary)

    def answer(n: str) -> bytes | None:
        asked.append(n)
        return answers(n)

    rows = iter_node_rows(corpus_built, ranking, answer)
    first = next(rows)
    assert len(asked) <= 1 + 256 + 1  # made with the rows, a few ahead (the compression's queue), not all first
    got = {r["id"]: r["props"].get(SIMILAR_KEY) for r in [first, *rows]}
    assert {n: a for n, a in got.items() if a is not None} == whole
    assert answers("disease:no-such-node") is None and answers("prog-none") is None
