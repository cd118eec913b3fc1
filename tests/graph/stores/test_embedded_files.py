"""The embedded store's files: sparse vectors written as CSR arrays and opened memory-mapped; older dense
stores still open; similar and search rank through the one vectorised rank (nothing ranked at start-up)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.scoring import rescore
from fundgraph.embeddings.words import mix_order, word_cosines
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.files import CSR_FILES, INDEX_FILE, VECTORS_FILE, read_built
from fundgraph.graph.stores.embedded.home import MANIFEST_FILE
from fundgraph.graph.stores.embedded.queries import SIMILAR_CACHE_SIZE
from fundgraph.graph.stores.embedded.store import EmbeddedStore


@pytest.fixture(scope="module")
def home(corpus_built, tmp_path_factory):
    path = tmp_path_factory.mktemp("embedded-files")
    EmbeddedStore(path).replace(corpus_built)
    return path


def _mapped(a: np.ndarray) -> bool:
    while a is not None and not isinstance(a, np.memmap):
        a = a.base
    return isinstance(a, np.memmap)


def test_vectors_are_written_sparse_and_opened_memory_mapped(home, corpus_built):
    current = home / "current"
    assert not (current / VECTORS_FILE).exists()
    assert all((current / name).exists() for name in CSR_FILES.values())
    index = json.loads((current / INDEX_FILE).read_text(encoding="utf-8"))
    assert index["vectors"] == {"form": "csr", "shape": list(corpus_built.vectors.shape)}
    back = read_built(current)
    assert sp.isspmatrix_csr(back.vectors) and back.vectors.dtype == np.float32
    assert _mapped(back.vectors.data) and _mapped(back.vectors.indices)
    assert (back.vectors != corpus_built.vectors).nnz == 0
    # the files hold the non-zeros only: far less than the dense matrix would
    size = sum((current / name).stat().st_size for name in CSR_FILES.values())
    assert size < 0.3 * corpus_built.vectors.shape[0] * corpus_built.vectors.shape[1] * 4


def test_a_store_with_dense_vectors_still_opens(tmp_path, corpus_built):
    dense = BuiltGraph(graph=corpus_built.graph, direction_ids=corpus_built.direction_ids,
                       vectors=corpus_built.vectors.toarray(), encoder_state=corpus_built.encoder_state,
                       meta=corpus_built.meta, words=corpus_built.words)
    store = EmbeddedStore(tmp_path)
    store.replace(dense)
    assert (tmp_path / "current" / VECTORS_FILE).exists()
    # an old directory: a dense vectors.npy, no "vectors" entry in index.json, no MANIFEST.json (stores written
    # before the manifest are read with the shape and key checks only)
    (tmp_path / "current" / MANIFEST_FILE).unlink()
    index_path = tmp_path / "current" / INDEX_FILE
    index = json.loads(index_path.read_text(encoding="utf-8"))
    del index["vectors"]
    index_path.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    back = read_built(tmp_path / "current")
    assert isinstance(back.vectors, np.ndarray) and _mapped(back.vectors)
    sparse_store = EmbeddedStore(tmp_path.parent / f"{tmp_path.name}-sparse")
    sparse_store.replace(corpus_built)
    for did in corpus_built.direction_ids[::17]:
        assert EmbeddedStore(tmp_path).similar(did, 8, "all") == sparse_store.similar(did, 8, "all")


def test_similar_is_the_exact_ranking_and_nothing_is_ranked_at_start_up(home):
    store = EmbeddedStore(home)
    store.warm()
    q = store.queries()
    assert not q._similar_cache  # warm() ranks nothing in advance
    cands = q.candidates()
    assert cands.vectors is q.vectors  # the memory-mapped matrix itself, not a copy
    for did in cands.ids[::11]:
        i = cands.index[did]
        own = cands.programs[i]
        for scope in ("all", "cross-program"):
            cols = [j for j in range(len(cands.ids)) if j != i and (scope == "all" or cands.programs[j] != own)]
            ctx = q.ranking_context
            first = rescore(vx.dense_row(cands.vectors, i), cands.entities[i], cols, cands, ctx.config,
                            k=ctx.config.word_pool)
            # the first pass's best re-ordered by the word mix (embeddings.words), the scores the first pass's
            w = word_cosines(cands.words, [s.index for s in first], cands.words[i])
            want = [first[j] for j in mix_order([s.score for s in first], w, [s.id for s in first],
                                                ctx.config.word_mix)][:7]
            answer = store.similar(did, 7, scope)
            got = answer.items
            if scope == "cross-program" and not (first and ctx.related(first[0].score)):
                assert answer.no_related
                want = []  # nothing in another program reaches the SIMILAR_TO threshold: no list of weak ones
            assert [x.direction.id for x in got] == [s.id for s in want]
            assert [x.score for x in got] == [s.score for s in want]
    assert 0 < len(q._similar_cache) <= SIMILAR_CACHE_SIZE


def test_start_up_reads_the_directions_order_only_and_the_lookup_forms_on_first_use(home):
    # A server starts from directions.json's leading lists (programs, ids, program); the lookup forms (70 of the
    # 75 MB at 100,000 directions) are parsed when a list filter first needs them, and answer as a whole read does.
    from fundgraph.graph.read import models
    from fundgraph.graph.stores.embedded.columns import DIRECTIONS_FILE, ORDER_KEYS, leading_lists

    source = (home / "current").resolve()
    whole = json.loads((source / DIRECTIONS_FILE).read_text(encoding="utf-8"))
    assert list(whole)[:4] == [*ORDER_KEYS, "text"]
    assert leading_lists(source / DIRECTIONS_FILE, ORDER_KEYS, "text") == {k: whole[k] for k in ORDER_KEYS}
    assert leading_lists(source / DIRECTIONS_FILE, ("ids",), "program") is None  # not how the file starts

    store = EmbeddedStore(home)
    store.warm()
    q = store.queries()
    assert q.columns._directions is None  # not parsed by start-up
    assert q.direction_ids == whole["ids"] and q.program_ids == whole["programs"]
    assert [q.program_of[d] for d in q.direction_ids] == whole["program"]
    word = whole["text"][3].split()[0][:2]
    page = store.directions(models.DirectionFilter(q=word), limit=500, offset=0)
    assert q.columns._directions is not None  # read for the filter
    assert q.haystack == whole["text"] and q.categories == whole["categories"]
    assert q.own_keywords == whole["keywords"]
    assert [b.id for b in page.items] == [d for d, t in zip(whole["ids"], whole["text"], strict=True) if word in t]


def test_a_truncated_directions_file_is_found_at_start_up_though_only_its_head_is_parsed(tmp_path, home):
    # (the store names the file: tests/reliability/test_store_damage.py, directions.json-truncate-structure)
    import shutil

    from fundgraph.graph.stores.embedded.columns import DIRECTIONS_FILE, ORDER_KEYS, leading_lists

    path = tmp_path / DIRECTIONS_FILE
    shutil.copy((home / "current" / DIRECTIONS_FILE).resolve(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])  # the leading lists intact, the end gone
    with pytest.raises(ValueError, match="truncated"):
        leading_lists(path, ORDER_KEYS, "text")


def test_a_direction_record_is_each_exported_field_as_field_value_reads_it(home):
    # records.direction_record works its fields out once (_DIRECTION_PLAN); every direction of the corpus, and a node
    # missing its optional and part fields, give what field_value gives field by field.
    from fundgraph.graph.read import records

    q = EmbeddedStore(home).queries()
    nodes = [q.nodes[d] for d in q.direction_ids]
    required = {f.name: "x" for f in records._DIRECTION_EXPORTED if not (f.optional or f.parts or f.is_list)}
    for node in [*nodes, required]:
        assert records.direction_record(node) == {f.name: records.field_value(node, f)
                                                  for f in records._DIRECTION_EXPORTED}
    assert any(f.parts for f in records._DIRECTION_EXPORTED) and any(f.is_list for f in records._DIRECTION_EXPORTED)


def test_edge_count_equals_networkx_count_of_parallel_edges_and_loops(corpus_built):
    import networkx as nx

    from fundgraph.graph.stores.embedded.columns import edge_count

    g = nx.MultiDiGraph()
    g.add_nodes_from(["lonely", "a", "b"])
    g.add_edge("a", "b", key="x")
    g.add_edge("a", "b", key="y")  # parallel
    g.add_edge("b", "a", key="x")
    g.add_edge("a", "a", key="self")  # a loop
    assert edge_count(g) == g.number_of_edges() == 4
    assert edge_count(nx.DiGraph([(1, 2), (2, 1)])) == 2
    assert edge_count(corpus_built.graph) == corpus_built.graph.number_of_edges() > 1000


@pytest.mark.parametrize("missing", ["pools.rows.npy", "pools.scores.npy", "pools.order.npy"])
def test_a_pool_file_the_index_names_but_the_directory_lacks_is_damage_not_silence(tmp_path, home, missing):
    """Without the check, the store opened and ranked every similar list live, slower and unannounced."""
    import shutil

    from fundgraph.core.errors import StoreDamaged

    copy = tmp_path / "graph"
    shutil.copytree((home / "current").resolve(), copy)
    assert read_built(copy).pools is not None
    (copy / missing).unlink()
    with pytest.raises(StoreDamaged) as caught:
        read_built(copy)
    assert caught.value.path == str(copy / missing)
