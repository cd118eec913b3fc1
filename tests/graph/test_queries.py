"""The query semantics over a small hand-made graph (fast; the contract tests cover the real corpus)."""

from __future__ import annotations

import pytest

from fundgraph.core.errors import DirectionNotFound, EntityNotFound, InvalidRequest, NodeNotFound, ProgramNotFound
from fundgraph.graph.read import models
from fundgraph.graph.read.records import explanation_from_edge
from fundgraph.graph.read.semantics import norm
from fundgraph.graph.stores.embedded.queries import GraphQueries
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.handmade import handmade_built


@pytest.fixture(scope="module")
def built():
    return handmade_built()


@pytest.fixture(scope="module")
def q(built) -> GraphQueries:
    return GraphQueries(built)


def ids(page: models.DirectionPage) -> list[str]:
    return [d.id for d in page.items]


def test_norm_folds_case_and_full_width():
    assert norm("  ＭＲＩ  Scan ") == "mri scan"
    assert norm("Alzheimer's") == norm("ALZHEIMER'S")


def test_programs_and_directions_in_canonical_order(q):
    assert [p.id for p in q.programs()] == ["prog-a", "prog-b", "prog-c"]
    assert [p.direction_count for p in q.programs()] == [2, 2, 2]
    page = q.directions(models.DirectionFilter(), 100, 0)
    assert ids(page) == ["prog-a:1", "prog-a:2", "prog-b:1.1", "prog-b:1.2", "prog-c:YX01", "prog-c:YX02"]
    assert ids(q.directions(models.DirectionFilter(), 2, 3)) == ["prog-b:1.2", "prog-c:YX01"]
    assert q.directions(models.DirectionFilter(), 2, 3).total == 6


@pytest.mark.parametrize(
    "value",
    ["disease:alzheimer", "alzheimer", "阿尔茨海默病", "阿尔兹海默病", "AD", "alzheimer's disease", "ＡＤ"],
)
def test_entity_filter_resolves_ids_names_and_synonyms(q, value):
    assert ids(q.directions(models.DirectionFilter(disease=value), 10, 0)) == ["prog-a:1", "prog-b:1.1"]


def test_group_filter_includes_members(q):
    assert ids(q.directions(models.DirectionFilter(disease="神经退行性疾病"), 10, 0)) == [
        "prog-a:1",
        "prog-b:1.1",
    ]


def test_filters_combine(q):
    f = models.DirectionFilter(disease="肺癌", modality="CT", program="prog-c")
    assert ids(q.directions(f, 10, 0)) == ["prog-c:YX01"]
    assert ids(q.directions(models.DirectionFilter(disease="AD", technique="大模型"), 10, 0)) == ["prog-b:1.1"]
    assert ids(q.directions(models.DirectionFilter(q="深海"), 10, 0)) == ["prog-a:2"]
    assert ids(q.directions(models.DirectionFilter(category="key_technology"), 10, 0)) == [
        "prog-a:1",
        "prog-b:1.1",
    ]


def test_keyword_filter_also_matches_the_documents_own_keywords(q):
    assert q.directions(models.DirectionFilter(keyword="影像"), 10, 0).total == 6
    assert ids(q.directions(models.DirectionFilter(keyword="radiomics"), 10, 0)) == ["prog-c:YX01"]


def test_unknown_names_raise(q):
    with pytest.raises(ProgramNotFound):
        q.directions(models.DirectionFilter(program="nope"), 10, 0)
    with pytest.raises(EntityNotFound):
        q.directions(models.DirectionFilter(disease="nope"), 10, 0)
    with pytest.raises(DirectionNotFound):
        q.direction("prog-a")  # a program id is not a direction id
    with pytest.raises(NodeNotFound):
        q.neighborhood("nope", 1, 10)
    with pytest.raises(InvalidRequest):
        q.neighborhood("prog-a", 4, 10)
    with pytest.raises(InvalidRequest):
        q.matrix("planet")


def test_direction_detail_groups_entities_with_evidence(q):
    d = q.direction("prog-a:1")
    assert d.source == {"file": "prog-a.txt", "start": 100, "end": 190, "line": 1}
    assert [e.id for e in d.entities.diseases] == ["disease:alzheimer"]
    ad = d.entities.diseases[0]
    assert ad.codes == {"icd10": "G30"}
    assert [(ev.field, ev.span) for ev in ad.evidence] == [("title", [100, 106]), ("content", [116, 122])]
    assert {e.id for e in d.entities.modalities} == {"modality:MR", "modality:PT"}
    assert q.direction("prog-a:1") is d  # cached


def test_similar_ranks_every_candidate(q):
    cross = q.similar("prog-a:1", 10, "cross-program").items
    assert [i.direction.program_id for i in cross].count("prog-a") == 0
    assert len(cross) == 4  # all other-program directions, stored edge or not
    assert cross[0].direction.id == "prog-b:1.1" and cross[0].above_threshold
    assert "阿尔茨海默病" in cross[0].explanation.shared["diseases"]
    assert not cross[-1].above_threshold
    every = q.similar("prog-a:1", 10, "all").items
    assert len(every) == 5 and "prog-a:1" not in [i.direction.id for i in every]


def test_search_matches_english_through_the_vocabulary(q):
    items = q.search("Alzheimer's disease PET imaging", 3, None).items
    assert items[0].direction.id == "prog-a:1"
    assert items[0].explanation.shared["modalities"] == ["正电子发射断层成像"]
    only_c = q.search("lung cancer CT", 5, ["prog-c"]).items
    assert {i.direction.program_id for i in only_c} == {"prog-c"}
    assert only_c[0].direction.id == "prog-c:YX01"


def test_entities_and_entity(q):
    diseases = q.entities("disease", None)
    assert [(e.id, e.direction_count, e.program_count) for e in diseases] == [
        ("disease:alzheimer", 2, 2),
        ("disease:lung-cancer", 2, 2),
        ("disease:neurodegenerative", 0, 0),
    ]
    assert [e.id for e in q.entities(None, "federated")] == ["technique:federated-learning"]
    ad = q.entity("disease", "AD")
    assert ad.id == "disease:alzheimer" and ad.groups == ["disease:neurodegenerative"]
    assert {p: [d.id for d in ds] for p, ds in ad.directions_by_program.items()} == {
        "prog-a": ["prog-a:1"],
        "prog-b": ["prog-b:1.1"],
    }
    assert q.entity("disease", "neurodegenerative").members == ["disease:alzheimer"]
    with pytest.raises(EntityNotFound):
        q.entity("modality", "disease:alzheimer")


def test_overlaps_and_matrix(q):
    o = q.overlaps("prog-a", "prog-b")
    assert [s.entity.id for s in o.shared] == ["disease:alzheimer", "modality:MR"]
    assert [(p.a.id, p.b.id, p.score) for p in o.similar_pairs] == [("prog-a:1", "prog-b:1.1", 0.8)]
    assert q.overlaps("prog-b", "prog-a").similar_pairs[0].a.id == "prog-b:1.1"  # oriented a → b
    m = q.matrix("disease")
    # The group 神经退行性疾病 is cited through its member 阿尔茨海默病 (semantics.MATRIX_RULE), as the filter
    # disease=neurodegenerative lists those directions.
    assert [e.id for e in m.entities] == ["disease:alzheimer", "disease:lung-cancer", "disease:neurodegenerative"]
    assert m.counts == [[1, 0, 1], [1, 1, 1], [0, 1, 0]]
    for i, p in enumerate(m.programs):
        for j, e in enumerate(m.entities):
            page = q.directions(models.DirectionFilter(program=p, disease=e.id), 100, 0)
            assert page.total == m.counts[i][j]


def test_neighborhood_bfs_and_limit(q):
    n = q.neighborhood("prog-a:1", 1, 100)
    node_ids = [x.data["id"] for x in n.nodes]
    assert node_ids[0] == "prog-a:1"
    assert set(node_ids) == {
        "prog-a:1",
        "prog-a",
        "disease:alzheimer",
        "modality:MR",
        "modality:PT",
        "prog-b:1.1",
    }
    assert all({"id", "source", "target", "type"} <= set(e.data) for e in n.edges)
    assert {e.data["type"] for e in n.edges} == {"HAS_DIRECTION", "MENTIONS", "SIMILAR_TO"}
    small = q.neighborhood("prog-a", 2, 3)
    assert len(small.nodes) == 3 and small.truncated
    assert q.neighborhood("prog-a", 0, 10).nodes[0].data["id"] == "prog-a"


def test_explanation_from_flat_edge_props():
    e = explanation_from_edge(
        {
            "text_score": 0.5,
            "entity_score": 0.25,
            "summary": "s",
            "shared_diseases": ["肺癌"],
            "shared_modalities": [],
        }
    )
    assert e.shared == {"diseases": ["肺癌"]} and e.text_score == 0.5


def test_embedded_store_reloads_after_replace(tmp_path, built):
    store = EmbeddedStore(tmp_path)
    store.replace(built)
    first = store.queries()
    assert store.queries() is first
    assert store.direction("prog-b:1.1").title == "阿尔茨海默病多模态影像大模型"
    store.replace(built)
    assert store.queries() is not first
    assert store.programs() == first.programs()
