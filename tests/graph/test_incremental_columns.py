"""`fundgraph add` on a graph read as columns (no networkx graph made) equals the addition on the networkx graph.

The same invented guideline is added to the bundled graph twice: once to the networkx graph (``test_incremental``'s
path) and once to the same graph written by the embedded store and read back as columns; the stored result is read
again and compared node by node and edge by edge, and its manifest verified.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fundgraph.graph.stores.embedded import home as safety
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.test_incremental import add_invented


def edges(g) -> Counter:
    return Counter((u, v, k, repr(sorted(e.items()))) for u, v, k, e in g.edges(keys=True, data=True))


@pytest.fixture(scope="module")
def both(corpus_built, corpus_settings, tmp_path_factory):
    from tests.conftest import corpus_copy

    work = tmp_path_factory.mktemp("cols")
    (work / "a").mkdir()
    (work / "b").mkdir()
    store = EmbeddedStore(work / "store")
    store.replace(corpus_copy.__wrapped__(corpus_built))
    stored = store.load()
    assert stored._graph is None
    report = add_invented(stored, corpus_settings, work / "a")
    assert stored._graph is None  # no networkx graph was made
    store.replace(stored)
    reread = EmbeddedStore(work / "store").load()
    reference = corpus_copy.__wrapped__(corpus_built)
    ref_report = add_invented(reference, corpus_settings, work / "b")
    return work / "store", reread, report, reference, ref_report


def test_the_columns_addition_equals_the_networkx_addition(both):
    _, got, report, ref, ref_report = both
    assert report.entered == ref_report.entered and report.communities == ref_report.communities
    assert (report.similar_edges, report.continues_added, report.continues_removed) == (
        ref_report.similar_edges, ref_report.continues_added, ref_report.continues_removed)
    g, h = got.graph, ref.graph
    assert dict(g.nodes(data=True)) == dict(h.nodes(data=True))
    assert edges(g) == edges(h)
    assert got.direction_ids == ref.direction_ids
    assert np.allclose((got.vectors - ref.vectors).toarray() if hasattr(got.vectors, "toarray")
                       else got.vectors - ref.vectors, 0)
    for key in ("direction_count", "node_count", "edge_count", "programs"):
        assert got.meta[key] == ref.meta[key], key


def test_the_new_directions_get_word_rows_of_the_frozen_vocabulary_and_the_stored_ones_stay(both, corpus_built):
    from fundgraph.embeddings.words import WordVectoriser

    path, got, report, ref, _ = both
    n_old = len(corpus_built.direction_ids)
    assert got.words.shape == (len(got.direction_ids), corpus_built.words.shape[1])
    assert abs(got.words[:n_old] - corpus_built.words).max() == 0  # no stored row changes
    assert abs(got.words - ref.words).max() == 0  # as the networkx addition makes them
    # the frozen vocabulary: the build's words and idf, whatever the new document says
    assert got.encoder_state["words"] == corpus_built.encoder_state["words"]
    vectoriser = WordVectoriser.from_state(got.encoder_state["words"])
    new_rows = got.words[n_old:]
    assert new_rows.shape[0] == len(report.directions) and vectoriser.dimension == new_rows.shape[1]
    norms = np.sqrt(np.asarray(new_rows.multiply(new_rows).sum(axis=1)).ravel())
    assert np.all(np.abs(norms - 1) < 1e-5)  # every invented direction shares words with the corpus
    # served: the store reads the rows it wrote, and the new directions' lists are mixed like every other
    served = EmbeddedStore(path).queries()
    cands = served.candidates()
    assert abs(cands.words - got.words).max() == 0
    did = report.directions[0]
    row = cands.index[did]
    assert served.ranking_context.mixing
    first = served.ranking_context.similar(cands, row, 5, "all", served.program_of[did])[0]
    assert [i.direction.id for i in served.similar(did, 5, "all").items] == [s.id for s in first]


def test_the_pools_take_the_new_directions_where_they_rank_before_the_last_member(both, corpus_built):
    from fundgraph.embeddings import vectors as vx
    from fundgraph.embeddings.scoring import rank, rescore

    path, got, report, ref, _ = both
    served = EmbeddedStore(path).queries()
    cands, ctx = served.candidates(), served.ranking_context
    members, scores, order = got.pools
    width = members.shape[1]
    assert members.shape == (len(got.direction_ids), width) and (members == ref.pools[0]).all()
    assert (order == ref.pools[2]).all()
    new_rows = [cands.index[d] for d in report.directions]
    # a new direction's pool: its exact best across programs
    for j in new_rows:
        live = rank(cands.vectors[j], cands.entities[j], cands, config=ctx.config, k=width, exclude=j,
                    exclude_program=cands.programs[j])
        assert [cands.ids[r] for r in members[j]] == [s.id for s in live]
    # an existing pool: every new direction ranking before its last stored member is in it
    entered = 0
    for j in range(len(corpus_built.direction_ids)):
        last = (-float(scores[j, -1]), cands.ids[int(members[j, -1])])
        exact = rescore(vx.dense_row(cands.vectors, j), cands.entities[j], new_rows, cands, ctx.config)
        before = {s.id for s in exact if (-s.score, s.id) < last}
        pool = {cands.ids[r] for r in members[j]}
        assert before <= pool, cands.ids[j]
        entered += len(before)
    assert entered > 0
    # a new direction's answer from its pool and mixed order is the live ranking's (its pool is exact)
    for did in report.directions:
        j = cands.index[did]
        stored = served.stored_similar(did, 10)
        live = ctx.similar(cands, j, 10, "cross-program", cands.programs[j])
        assert stored is not None and [s.id for s in stored[0]] == [s.id for s in live[0]] and stored[1] == live[1]
        assert [s.score for s in stored[0]] == [s.score for s in live[0]]


def test_the_ranking_columns_equal_a_fresh_write(both):
    from fundgraph.graph.stores.embedded.columns import columns_from_built

    _, got, *_ = both
    fresh = columns_from_built(type("B", (), {"graph": got.graph, "direction_ids": got.direction_ids,
                                               "meta": got.meta, "encoder_state": got.encoder_state,
                                               "vectors": got.vectors})())
    a, b = got.columns, fresh
    assert a.directions == b.directions
    assert a.profiles["ids"] == b.profiles["ids"] and a.profiles["parents"] == b.profiles["parents"]
    assert a.profiles["idf"] == pytest.approx(b.profiles["idf"], abs=1e-12)
    shape = (len(a.profiles["ids"]), len(a.profiles["entities"]))
    assert a.profiles["entities"] == b.profiles["entities"]
    assert abs(a.matrix("entities", shape) - b.matrix("entities", shape)).max() < 1e-12


def test_the_addition_stores_the_transposes_a_query_reads_and_serving_maps_them(both):
    # Without them `fundgraph serve` transposed both matrices at start-up (at 100,000 directions +370 MB RSS).
    from fundgraph.graph.stores.embedded.columns import TRANSPOSED

    path, *_ = both
    source = safety.current_target(path)
    assert all((source / f"{name}.npy").is_file() for name in TRANSPOSED)
    queries = EmbeddedStore(path).queries()
    columns, vectors = queries.columns, queries.vectors
    n, shape = vectors.shape[0], (vectors.shape[0], len(columns.profiles["entities"]))
    assert n == 154 and columns.profiles["ids"] == queries.built.direction_ids
    text_t = columns.transposed("vectors_t", vectors.shape[::-1])
    ents_t = columns.transposed("entities_t", shape[::-1])
    assert text_t is not None and ents_t is not None
    assert text_t.has_sorted_indices and (text_t != vectors.T.tocsr()).nnz == 0
    assert (ents_t != columns.matrix("entities", shape).T.tocsr()).nnz == 0
    assert text_t[:, 124:].nnz > 0  # the added directions' entries are there
    served = queries.candidates().transposed
    assert served is not None  # the mapped files themselves, not transposes made at start-up
    assert np.shares_memory(served[0].data, columns.arrays["vectors_t.data"])
    assert np.shares_memory(served[1].data, columns.arrays["entities_t.data"])


def test_the_big_blobs_are_carried_over_and_verified(both):
    path, *_ = both
    source = safety.current_target(path)
    safety.verify(source)  # every file, checksums included
    assert (source / "edges.props.tail.npy").stat().st_size > 0 and (source / "edges.props.slots.npy").exists()
    # directions.json linked as the build wrote it; the addition's programs and directions in the tail file,
    # read back appended (test_the_ranking_columns_equal_a_fresh_write compares the whole lists)
    import json

    from fundgraph.graph.stores.embedded.columns import Columns

    assert b"chengchuan-2027" not in (source / "directions.json").read_bytes()
    # the text vectors written whole (served mapped: tail files were concatenated in memory at start-up)
    index = json.loads((source / "index.json").read_text(encoding="utf-8"))["vectors"]
    assert "tail" not in index and index["shape"][0] == 154 and not (source / "vectors.tail.data.npy").exists()
    tail = json.loads((source / "directions.tail.json").read_text(encoding="utf-8"))
    assert tail["programs"] == ["chengchuan-2027"] and len(tail["ids"]) == len(tail["text"]) == 30
    columns = Columns.open(source)
    assert columns.directions["ids"][-30:] == tail["ids"]
    assert columns.programs_of(columns.directions["ids"]) == columns.directions["program"]
    # the briefs likewise: the build's values carried over, the addition's in the tail file, each the brief of
    # the properties
    assert (source / "nodes.brief.tail.npy").stat().st_size > 0
    assert_briefs_are_the_properties(columns, expect_added=30)


def assert_briefs_are_the_properties(columns, expect_added: int) -> None:
    """Every direction's stored brief is its properties' brief as the API serialises it; ``null`` for the rest."""
    import json

    import pydantic_core

    from fundgraph.graph.read import records

    assert columns.node_briefs is not None and columns.node_briefs.tail is not None
    added = [json.loads(columns.brief_raw(d)) for d in columns.directions["ids"][-expect_added:]]
    assert all(b is not None and b["title"] for b in added)
    directions = 0
    for i, n in enumerate(columns.node_ids):
        raw = columns.brief_raw(n)
        if columns.labels[i] == "Direction":
            assert raw == pydantic_core.to_json(records.direction_brief(columns.node(n))), n
            directions += 1
        else:
            assert raw == b"null", n
    assert directions == len(columns.directions["ids"])


def test_vectors_an_earlier_addition_wrote_as_tail_files_still_read(both, tmp_path):
    # Homes an earlier `fundgraph add` wrote: the built rows' values, then the added rows' in vectors.tail.*.npy.
    import json

    from fundgraph.graph.stores.embedded.files import CSR_FILES, CSR_TAIL_FILES, read_vectors

    path, *_ = both
    source = safety.current_target(path)
    spec = json.loads((source / "index.json").read_text(encoding="utf-8"))["vectors"]
    whole = read_vectors(source, spec)
    cut = int(whole.indptr[124])
    for part in CSR_TAIL_FILES:
        values = np.load(source / CSR_FILES[part])
        np.save(tmp_path / CSR_FILES[part], values[:cut])
        np.save(tmp_path / CSR_TAIL_FILES[part], values[cut:])
    np.save(tmp_path / CSR_FILES["indptr"], np.load(source / CSR_FILES["indptr"]))
    old = read_vectors(tmp_path, {**spec, "tail": cut})
    assert old.shape == whole.shape and (old != whole).nnz == 0 and cut < whole.nnz


def test_stored_scores_read_in_place_equal_the_decoded_edges(both, corpus_built):
    from fundgraph.graph.stores.embedded.append import edge_scores
    from fundgraph.graph.stores.embedded.columns import Columns, decode

    path, *_ = both
    columns = Columns.open(safety.current_target(path))  # after an addition: carried bytes and appended ones
    edges, _, _ = columns.edges_of("SIMILAR_TO")
    assert columns.edge_props.slots is not None and edges.size > 100
    expected = [decode(columns.edge_props.raw(int(e)))[1]["score"] for e in edges]
    assert edge_scores(columns.edge_props, edges).tolist() == expected


def test_the_edges_touching_the_new_directions_are_exact_top_k_on_the_stored_graph(both):
    # The bound benchmarks/add_one.py states at every size: computed from what the store serves, not from the
    # addition's objects (test_incremental checks the same rule on the networkx graph, every list included).
    from fundgraph.graph.build.incremental import check_exact

    path, _, report, _, _ = both
    found = check_exact(EmbeddedStore(path).queries(), report.directions)
    assert found["new_lists_exact"] == 1.0
    assert found["entered_pairs_checked"] >= len(report.entered) > 0
    assert found["missed_entries"] == 0 and found["wrong_entries"] == 0
    assert found["entered_score_diff_max"] <= 1e-6


def test_a_second_addition_on_appended_columns_equals_the_networkx_one(both, corpus_settings, tmp_path):
    path, _, _, ref, _ = both  # (last test of the module: it adds to the fixture's graphs)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    store = EmbeddedStore(path)
    stored = store.load_for_update()
    assert stored.columns.edge_props.slots is not None  # written by the first addition
    report = add_invented(stored, corpus_settings, tmp_path / "a", program_id="second-2028", year=2028)
    assert stored._graph is None and len(report.directions) == 30
    store.replace(stored)
    got = EmbeddedStore(path).load()
    ref_report = add_invented(ref, corpus_settings, tmp_path / "b", program_id="second-2028", year=2028)
    assert report.entered == ref_report.entered and report.communities == ref_report.communities
    assert dict(got.graph.nodes(data=True)) == dict(ref.graph.nodes(data=True))
    assert edges(got.graph) == edges(ref.graph)
    safety.verify(safety.current_target(path))
    columns = got.columns  # the transposes again after an addition to appended columns
    assert_briefs_are_the_properties(columns, expect_added=60)
    text_t = columns.transposed("vectors_t", got.vectors.shape[::-1])
    assert got.vectors.shape[0] == 184 and text_t is not None and (text_t != got.vectors.T.tocsr()).nnz == 0


def test_an_addition_hashes_what_it_rewrites_and_leaves_damage_in_carried_blobs_to_be_found(
        corpus_built, corpus_settings, tmp_path):
    from fundgraph.core.errors import StoreDamaged
    from tests.conftest import corpus_copy

    store = EmbeddedStore(tmp_path / "store")
    store.replace(corpus_copy.__wrapped__(corpus_built))
    source = safety.current_target(tmp_path / "store")
    for name in ("vectors.data.npy", "vectors_t.data.npy"):  # the transpose: copied with the new rows inserted
        vectors = source / name
        good = vectors.read_bytes()
        vectors.write_bytes(good[:-4] + bytes(4))  # same size, other content: only the checksum tells
        with pytest.raises(StoreDamaged, match=name.replace(".", r"\.")):
            EmbeddedStore(tmp_path / "store").load_for_update()
        vectors.write_bytes(good)
    blob = source / "edges.props.npy"
    data = blob.read_bytes()
    at = data.index(b"Text similarity 0.")
    blob.write_bytes(data[:at] + b"Text similarity 1." + data[at + 18:])  # still valid JSON, same size
    inode = blob.stat().st_ino
    (tmp_path / "a").mkdir()
    stored = EmbeddedStore(tmp_path / "store").load_for_update()  # carried over unhashed: the addition goes on
    add_invented(stored, corpus_settings, tmp_path / "a")
    store.replace(stored)
    after = safety.current_target(tmp_path / "store")
    assert (after / "edges.props.npy").stat().st_ino == inode  # hard-linked, with its manifest entry
    with pytest.raises(StoreDamaged, match=r"edges\.props\.npy"):  # the next full verification finds it
        safety.verify(after)
