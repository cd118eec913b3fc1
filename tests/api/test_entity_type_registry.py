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
from fundgraph.core.schema import BUILTIN_ENTITY_TYPES, ENTITY_REGISTRY
from fundgraph.core.settings import Settings
from fundgraph.graph.model import ENTITY_GROUPS, ENTITY_TYPES, Label, Rel
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from fundgraph.loaders.vocab import load_vocabularies, vocabulary_entity_types

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
    """The process's entity registry, restored to what it was after the test."""
    saved = ENTITY_REGISTRY.rows()
    yield
    ENTITY_REGISTRY.restore(saved)


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
            citing = _citing(built, eid)
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
    from fundgraph.loaders.records import Program

    assert list(Program.model_fields) == list(field_names(PROGRAM_FIELDS))
    assert list(models.ProgramSummary.model_fields) == [*field_names(PROGRAM_FIELDS, brief=True), "direction_count"]
    assert list(models.DirectionBrief.model_fields) == list(field_names(DIRECTION_FIELDS, brief=True))
    assert list(models.DirectionDetail.model_fields) == [*field_names(DIRECTION_FIELDS), "community", "entities"]
    assert list(program_record({})) == list(field_names(PROGRAM_FIELDS, exported=True))
    node = {"id": "p:1", "program_id": "p", "code": "1", "ordinal": 1, "title": "标题"}
    assert list(direction_record(node)) == list(field_names(DIRECTION_FIELDS, exported=True))
