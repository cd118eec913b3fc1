"""Adding an entity type = one registry row + a vocabulary file, both in the vocabulary directory (issue 11).

The test copies the bundled vocabularies to a temporary directory, declares an ``organism`` type (生物) in its
``entity_types.csv`` with an ``organisms.csv`` of three terms the bundled corpus uses, builds the graph from
that directory and serves it: the type is in the build, the API's entity list, the overlap matrix, the
directions' filters and details, and ``GET /api/schema``.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.errors import VocabularyError
from fundgraph.core.paths import VOCAB_DIR
from fundgraph.core.schema import BUILTIN_ENTITY_TYPES, ENTITY_REGISTRY, using_registry
from fundgraph.core.settings import Settings
from fundgraph.graph.model import ENTITY_GROUPS, ENTITY_TYPES, Label, Rel
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from fundgraph.loaders.vocab import load_vocabularies, vocabulary_entity_types, vocabulary_registry

TYPE_ROW = (
    "key,label,plural,name_zh,name_en,plural_en,color,vocab_file,score_weight\n"
    "organism,Organism,organisms,生物,Organism,Organisms,#2c7a7b,organisms.csv,\n"
)
ORGANISMS = (
    "id,name_zh,name_en,synonyms,member_of\n"
    "microorganism,微生物,Microorganism,,\n"
    "virus,病毒,Virus,,microorganism\n"
    "mouse,小鼠,Mouse,,\n"
)


@pytest.fixture
def registry() -> Iterator[None]:
    """Checks that the test left the registry in use as it found it: the built-in types alone."""
    yield
    assert ENTITY_REGISTRY.rows() == BUILTIN_ENTITY_TYPES


@pytest.fixture
def organism_vocab(tmp_path: Path) -> Path:
    vocab = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab)
    (vocab / "entity_types.csv").write_text(TYPE_ROW, encoding="utf-8")
    (vocab / "organisms.csv").write_text(ORGANISMS, encoding="utf-8")
    return vocab


def _citing(built: BuiltGraph, eid: str) -> dict[str, set[str]]:
    """Program id → directions with a MENTIONS edge to ``eid`` (read from the graph, not from the API)."""
    g = built.graph
    out: dict[str, set[str]] = defaultdict(set)
    for d, _, data in g.in_edges(eid, data=True):
        if data.get("type") == Rel.MENTIONS.value:
            out[g.nodes[d]["program_id"]].add(d)
    return out


def _citing_with_members(built: BuiltGraph, eid: str) -> dict[str, set[str]]:
    """:func:`_citing` of ``eid`` and of every entity under it (MEMBER_OF, transitively): the matrix's rule."""
    g = built.graph
    out: dict[str, set[str]] = defaultdict(set)
    todo, seen = [eid], {eid}
    while todo:
        e = todo.pop()
        for p, ds in _citing(built, e).items():
            out[p] |= ds
        for m, _, data in g.in_edges(e, data=True):
            if data.get("type") == Rel.MEMBER_OF.value and m not in seen:
                seen.add(m)
                todo.append(m)
    return out


def test_an_entity_type_added_in_the_vocabulary_directory(registry, organism_vocab: Path, tmp_path: Path):
    from fundgraph.graph.build.pipeline import build_graph

    settings = Settings(home=tmp_path / "home", store="embedded", encoder="lexical", vocab_dir=organism_vocab)
    built = build_graph(settings)
    g = built.graph

    # -- the build: nodes with the new label, cited by directions of the corpus ---------------------------------
    organisms = {n: d for n, d in g.nodes(data=True) if d.get("label") == "Organism"}
    assert set(organisms) == {"organism:microorganism", "organism:virus", "organism:mouse"}
    assert all(d["entity_type"] == "organism" for d in organisms.values())
    assert g.has_edge("organism:virus", "organism:microorganism", key=Rel.MEMBER_OF.value)
    virus = _citing(built, "organism:virus")
    assert len(virus) == 2  # 病毒 occurs in two of the five guidelines
    assert sum(map(len, _citing(built, "organism:microorganism").values())) >= 3
    assert len(_citing(built, "organism:mouse")) == 1
    # The type travels with the graph, not in a process-wide registry.
    assert [t["key"] for t in built.meta["entity_types"]] == ["organism"]
    assert "organism" not in ENTITY_TYPES
    with using_registry(vocabulary_registry(organism_vocab)):
        assert ENTITY_TYPES["organism"].value == "Organism" and ENTITY_GROUPS["organism"] == "organisms"

    store = EmbeddedStore(settings.home)
    store.replace(built)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        # -- the API's entity list ------------------------------------------------------------------------------
        r = client.get("/api/entities", params={"type": "organism"})
        assert r.status_code == 200, r.text
        listed = {e["id"]: e for e in r.json()}
        assert set(listed) == set(organisms)
        assert all(e["type"] == "organism" for e in listed.values())
        assert listed["organism:virus"]["program_count"] == len(virus)
        assert listed["organism:virus"]["direction_count"] == sum(map(len, virus.values()))
        assert listed["organism:virus"]["name_en"] == "Virus"
        detail = client.get("/api/entities/organism/virus").json()
        assert detail["groups"] == ["organism:microorganism"]

        # -- the overlap matrix -----------------------------------------------------------------------------------
        r = client.get("/api/overlaps/matrix", params={"by": "organism"})
        assert r.status_code == 200, r.text
        m = r.json()
        assert m["by"] == "organism"
        cols = [e["id"] for e in m["entities"]]
        assert set(cols) == set(organisms)
        for j, eid in enumerate(cols):
            citing = _citing_with_members(built, eid)  # 病毒 counts under 微生物 too, as the filter lists it
            assert [row[j] for row in m["counts"]] == [len(citing.get(p, ())) for p in m["programs"]], eid

        # -- the directions' filter and detail, and the schema the dashboard reads ------------------------------
        page = client.get("/api/directions", params={"organism": "病毒", "limit": 500}).json()
        assert {d["id"] for d in page["items"]} == set().union(*virus.values())
        one = sorted(set().union(*virus.values()))[0]
        groups = client.get(f"/api/directions/{one}").json()["entities"]
        assert "organism:virus" in {e["id"] for e in groups["organisms"]}
        schema = client.get("/api/schema").json()
        row = next(t for t in schema["entity_types"] if t["key"] == "organism")
        assert (row["label"], row["name_zh"], row["color"], row["vocab_file"]) == (
            "Organism", "生物", "#2c7a7b", "organisms.csv")
        spec = client.get("/openapi.json").json()
        by = next(p for p in spec["paths"]["/api/overlaps/matrix"]["get"]["parameters"] if p["name"] == "by")
        assert "organism" in by["schema"]["enum"]
        assert client.get("/api/entities", params={"type": "planet"}).status_code == 422

        # -- a second app in the same process, over another vocabulary directory, has only its own types -------
        other_vocab = tmp_path / "other-vocab"
        shutil.copytree(VOCAB_DIR, other_vocab)
        other = Settings(home=tmp_path / "other-home", store="embedded", encoder="lexical", vocab_dir=other_vocab)
        other_store = EmbeddedStore(other.home)
        other_store.replace(built)
        with TestClient(create_app(other, other_store), raise_server_exceptions=False) as other_client:
            keys = [t["key"] for t in other_client.get("/api/schema").json()["entity_types"]]
            assert keys == [t.key for t in BUILTIN_ENTITY_TYPES]
            assert other_client.get("/api/entities", params={"type": "organism"}).status_code == 422
            assert other_client.get("/api/overlaps/matrix", params={"by": "organism"}).status_code == 422
            spec = other_client.get("/openapi.json").json()
            by = next(p for p in spec["paths"]["/api/overlaps/matrix"]["get"]["parameters"] if p["name"] == "by")
            assert "organism" not in by["schema"]["enum"]
            # ... while the first app still serves its organisms, in the same process
            assert client.get("/api/entities", params={"type": "organism"}).status_code == 200
            assert "organism" in [t["key"] for t in client.get("/api/schema").json()["entity_types"]]


def test_the_bundled_vocabularies_declare_only_the_built_in_types(registry):
    assert vocabulary_entity_types(VOCAB_DIR) == BUILTIN_ENTITY_TYPES
    vocab = load_vocabularies(VOCAB_DIR)
    assert {e.type for e in vocab.entities.values()} == {t.key for t in BUILTIN_ENTITY_TYPES if t.vocab_file}
    # Every built-in type has its Label member, derived from the registry row.
    assert [ENTITY_TYPES[t.key] for t in BUILTIN_ENTITY_TYPES] == [
        Label.DISEASE, Label.MODALITY, Label.DISCIPLINE, Label.TECHNIQUE, Label.KEYWORD]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("organism,Organism,organisms,生物,Organism,Organisms,green,organisms.csv", "color"),
        ("disease,Organism,organisms,生物,Organism,Organisms,#2c7a7b,organisms.csv", "key 'disease'"),
        ("organism,Disease,organisms,生物,Organism,Organisms,#2c7a7b,organisms.csv", "label 'Disease'"),
        ("Organism,Organism,organisms,生物,Organism,Organisms,#2c7a7b,organisms.csv", "key 'Organism'"),
        ("organism,Organism,organisms,生物,Organism,Organisms,#2c7a7b,", "vocab_file is empty"),
    ],
)
def test_a_bad_entity_type_row_is_refused_with_file_and_line(organism_vocab: Path, row: str, message: str):
    header = TYPE_ROW.splitlines()[0].rsplit(",", 1)[0]
    (organism_vocab / "entity_types.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match=message) as e:
        vocabulary_entity_types(organism_vocab)
    assert e.value.detail["line"] == 2


def test_a_declared_type_needs_its_vocabulary_file(registry, organism_vocab: Path):
    (organism_vocab / "organisms.csv").unlink()
    with pytest.raises(VocabularyError, match="missing"):
        load_vocabularies(organism_vocab)


def test_the_record_models_have_the_registry_fields():
    from fundgraph.core.schema import DIRECTION_FIELDS, PROGRAM_FIELDS, field_names
    from fundgraph.graph.read import models
    from fundgraph.graph.read.records import direction_record, program_record
    from fundgraph.loaders.corpus import ManifestEntry
    from fundgraph.loaders.records import Direction, Program

    assert list(Program.model_fields) == list(field_names(PROGRAM_FIELDS))
    program_fields = list(field_names(PROGRAM_FIELDS))
    assert [f if f != "file" else "source_file" for f in ManifestEntry.model_fields] == program_fields
    parsed_only = ["metrics_label", "field_spans", "source_text"]
    shared = [f for f in field_names(DIRECTION_FIELDS) if f != "title_en"]
    assert list(Direction.model_fields) == [*shared, *parsed_only]
    assert list(models.ProgramSummary.model_fields) == [*field_names(PROGRAM_FIELDS, brief=True), "direction_count"]
    assert list(models.DirectionBrief.model_fields) == list(field_names(DIRECTION_FIELDS, brief=True))
    assert list(models.DirectionDetail.model_fields) == [*field_names(DIRECTION_FIELDS), "community", "entities"]
    assert list(program_record({})) == list(field_names(PROGRAM_FIELDS, exported=True))
    node = {"id": "p:1", "program_id": "p", "code": "1", "ordinal": 1, "title": "标题"}
    assert list(direction_record(node)) == list(field_names(DIRECTION_FIELDS, exported=True))


def test_nodes_and_records_round_trip_through_the_registry_fields():
    from fundgraph.graph.build.pipeline import direction_node, program_node
    from fundgraph.graph.read.records import direction_brief, direction_record, program_record, program_summary
    from fundgraph.loaders.records import Direction, Funding, Program, SourceSpan

    p = Program(id="p", name="计划", name_en="Plan", funder=["某部"], series="系列", year=2025, source_file="p.txt",
                profile="auto")
    assert program_record(program_node(p)) == p.model_dump(exclude={"profile"})
    assert program_summary(program_node(p), 3).model_dump() == {
        **p.model_dump(include={"id", "name", "name_en", "funder", "funder_en", "series", "year", "status",
                                "source_file"}), "direction_count": 3}
    d = Direction(id="p:1", program_id="p", code="1", ordinal=1, title="方向", category="basic_research",
                  keywords=["影像"], funding=Funding(amount=500, unit="万元", scope="direction", text="500万元"),
                  source=SourceSpan(file="p.txt", start=3, end=9, line=2), metrics_label="考核指标")
    node = direction_node(d)
    assert node["funding_amount"] == 500 and node["source_line"] == 2 and node["category"] == "basic_research"
    assert list(node).index("metrics_label") == list(node).index("metrics") + 1
    record = direction_record(node)
    assert record == {**d.model_dump(mode="json", exclude={"metrics_label", "field_spans", "source_text"}),
                      "title_en": None, **{k: record[k] for k in ("funding", "source")}}
    assert record["funding"] == d.funding.model_dump() and record["source"] == d.source.model_dump()
    assert direction_record({**node, "funding_amount": None})["funding"] is None
    assert direction_brief(node).model_dump() == {"id": "p:1", "program_id": "p", "code": "1", "title": "方向",
                                                  "title_en": None, "category": "basic_research"}
