"""Analyst export formats behind the one registry: JSON node-link, CSV for neo4j-admin import, GraphML."""

from __future__ import annotations

import csv
import json
import shlex
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from fundgraph.core.errors import FundgraphError, InvalidRequest
from fundgraph.graph.formats import export_graph, neo4j_csv
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.stores.base import BuiltGraph


def _clean(attrs: dict) -> dict:
    """Properties as Neo4j keeps them: no nulls, no empty arrays."""
    return {k: v for k, v in attrs.items() if v is not None and v != []}


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        r = list(csv.reader(fh))
    return r[0], r[1:]


# -- a small hand-made graph: the typing rules ------------------------------------------------------------
def small_graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_node("p1", id="p1", label="Program", name="项目一", name_en="Program one", year=2024,
               funder=["科学技术部", "深圳市"], profile="x")
    g.add_node("d1", id="d1", label="Direction", name="方向", name_en=None, ordinal=1,
               keywords=["医学影像|MRI", "阿尔茨海默病"], content="第一行\n第二行, with \"quotes\"",
               score=0.5)
    g.add_node("d2", id="d2", label="Direction", name="方向二", name_en=None, ordinal=2, keywords=[],
               content=None, score=1)
    g.add_edge("p1", "d1", key="HAS_DIRECTION", type="HAS_DIRECTION")
    g.add_edge("d1", "d2", key="SIMILAR_TO", type="SIMILAR_TO", score=0.8125, shared=["MRI"], above=True)
    return g


def test_csv_types_headers_and_delimiter_choice(tmp_path):
    files = neo4j_csv.write_neo4j_csv(small_graph(), tmp_path)
    # "|" occurs inside a keyword, so the next candidate is declared.
    assert files.array_delimiter == ";"
    header, rows = _rows(files.nodes["Direction"])
    assert header[:2] == ["id:ID", ":LABEL"]
    assert "ordinal:int" in header and "keywords:string[]" in header and "score:double" in header
    assert "content:string" in header
    row = dict(zip(header, rows[0], strict=True))
    assert row["keywords:string[]"] == "医学影像|MRI;阿尔茨海默病"
    assert row["content:string"] == "第一行\n第二行, with \"quotes\""
    header, rows = _rows(files.nodes["Program"])
    assert "year:int" in header and "funder:string[]" in header
    header, rows = _rows(files.relationships["SIMILAR_TO"])
    assert header[:3] == [":START_ID", ":END_ID", ":TYPE"]
    assert "score:double" in header and "above:boolean" in header and "shared:string[]" in header
    assert rows == [["d1", "d2", "SIMILAR_TO", "true", "0.8125", "MRI"]]
    cmd = (tmp_path / "import.sh").read_text(encoding="utf-8")
    args = shlex.split(cmd, comments=True)
    assert "--array-delimiter=;" in args and "--multiline-fields=true" in args
    assert "--nodes=Direction=nodes_Direction.csv" in args
    assert "--relationships=SIMILAR_TO=rels_SIMILAR_TO.csv" in args


def test_csv_round_trip_small(tmp_path):
    g = small_graph()
    neo4j_csv.write_neo4j_csv(g, tmp_path)
    back = neo4j_csv.read_neo4j_csv(tmp_path)
    for n, attrs in g.nodes(data=True):
        assert back.nodes[n] == _clean(attrs)
    # d2's score was written as a double because d1's is a float: it comes back as 1.0 == 1
    assert back.nodes["d2"]["score"] == 1.0 and isinstance(back.nodes["d2"]["score"], float)


def test_csv_declared_delimiter_inside_a_value_is_refused(tmp_path):
    with pytest.raises(FundgraphError, match="occurs inside"):
        neo4j_csv.write_neo4j_csv(small_graph(), tmp_path, array_delimiter="|")
    with pytest.raises(InvalidRequest):
        neo4j_csv.write_neo4j_csv(small_graph(), tmp_path, array_delimiter="||")


def test_unknown_format_is_an_invalid_request(tmp_path):
    with pytest.raises(InvalidRequest, match="unknown export format"):
        export_graph(BuiltGraph(small_graph()), "gexf", tmp_path / "x")


# -- the real graph -----------------------------------------------------------------------------------------
def test_csv_counts_equal_the_graph(corpus_built, tmp_path):
    g = corpus_built.graph
    files = neo4j_csv.write_neo4j_csv(g, tmp_path)
    labels = Counter(a["label"] for _, a in g.nodes(data=True))
    types = Counter(a["type"] for *_, a in g.edges(data=True))
    assert files.node_counts == dict(labels)
    assert files.relationship_counts == dict(types)
    for label, path in files.nodes.items():
        _header, rows = _rows(path)
        assert len(rows) == labels[label]
        assert {r[1] for r in rows} == {label}
    for rel_type, path in files.relationships.items():
        _header, rows = _rows(path)
        assert len(rows) == types[rel_type]
    # every relationship end is a node id some nodes file declares
    ids = {r[0] for p in files.nodes.values() for r in _rows(p)[1]}
    assert len(ids) == g.number_of_nodes()
    for path in files.relationships.values():
        assert all(r[0] in ids and r[1] in ids for r in _rows(path)[1])


def test_csv_headers_on_the_real_graph(corpus_built, tmp_path):
    files = neo4j_csv.write_neo4j_csv(corpus_built.graph, tmp_path)
    header, _ = _rows(files.nodes[Label.DIRECTION.value])
    assert header[:2] == ["id:ID", ":LABEL"]
    for col in ("ordinal:int", "keywords:string[]", "title:string", "program_id:string", "source_start:int"):
        assert col in header
    header, _ = _rows(files.relationships[Rel.MENTIONS.value])
    assert header[:3] == [":START_ID", ":END_ID", ":TYPE"]
    for col in ("field:string", "snippet:string", "start:int", "end:int"):
        assert col in header


def test_csv_round_trip_real_graph(corpus_built, tmp_path):
    g = corpus_built.graph
    neo4j_csv.write_neo4j_csv(g, tmp_path)
    back = neo4j_csv.read_neo4j_csv(tmp_path)
    assert back.number_of_nodes() == g.number_of_nodes()
    assert back.number_of_edges() == g.number_of_edges()
    for n, attrs in g.nodes(data=True):
        got = back.nodes[n]
        want = _clean(attrs)
        assert set(got) == set(want), n
        for k, v in want.items():
            assert got[k] == pytest.approx(v) if isinstance(v, float) else got[k] == v, (n, k)
    want_edges = Counter((u, v, a["type"]) for u, v, a in g.edges(data=True))
    got_edges = Counter((u, v, a["type"]) for u, v, a in back.edges(data=True))
    assert got_edges == want_edges


def test_node_link_json_round_trip(corpus_built, tmp_path):
    g = corpus_built.graph
    path = export_graph(corpus_built, "node-link", tmp_path / "graph.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) >= {"nodes", "links", "directed", "multigraph"}
    assert len(data["nodes"]) == g.number_of_nodes()
    assert len(data["links"]) == g.number_of_edges()
    back = nx.node_link_graph(data, edges="links")
    assert back.is_directed() and back.is_multigraph()
    # "id" is the node key in node-link data (what D3 reads), so networkx takes it back as the key.
    assert {n: {**a, "id": n} for n, a in back.nodes(data=True)} == dict(g.nodes(data=True))
    assert Counter((u, v, a["type"]) for u, v, a in back.edges(data=True)) == \
        Counter((u, v, a["type"]) for u, v, a in g.edges(data=True))
    # Chinese stays readable in the file
    assert "阿尔茨海默" in path.read_text(encoding="utf-8") or "研究" in path.read_text(encoding="utf-8")


def test_graphml_round_trip(corpus_built, tmp_path):
    g = corpus_built.graph
    path = export_graph(corpus_built, "graphml", tmp_path / "out" / "graph.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.number_of_nodes() == g.number_of_nodes()
    assert back.number_of_edges() == g.number_of_edges()
    ad = next(n for n, a in g.nodes(data=True)
              if a.get("label") == Label.DISEASE.value and "阿尔茨海默" in a["name"])
    assert back.nodes[ad]["name"] == g.nodes[ad]["name"]


@pytest.fixture(scope="module")
def stored_home(corpus_built, tmp_path_factory):
    """An embedded store holding the built graph, for the CLI."""
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    home = tmp_path_factory.mktemp("cli-home")
    EmbeddedStore(home).replace(corpus_built)
    return home


@pytest.mark.parametrize(("fmt", "target"), [("neo4j-csv", "csv"), ("node-link", "g.json"),
                                             ("graphml", "g.graphml")])
def test_cli_export_formats(stored_home, corpus_built, tmp_path, monkeypatch, fmt, target):
    from typer.testing import CliRunner

    from fundgraph.cli import app
    from fundgraph.core.settings import get_settings

    monkeypatch.setenv("FUNDGRAPH_HOME", str(stored_home))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "--format", fmt, "--output", str(tmp_path / target)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = tmp_path / target
    if fmt == "neo4j-csv":
        back = neo4j_csv.read_neo4j_csv(out)
        assert (out / "import.sh").is_file()
    elif fmt == "node-link":
        back = nx.node_link_graph(json.loads(out.read_text(encoding="utf-8")), edges="links")
    else:
        back = nx.read_graphml(out, force_multigraph=True)
    assert back.number_of_nodes() == corpus_built.graph.number_of_nodes()
    assert back.number_of_edges() == corpus_built.graph.number_of_edges()


def test_cli_export_needs_an_output_for_file_formats(stored_home, monkeypatch):
    from typer.testing import CliRunner

    from fundgraph.cli import app
    from fundgraph.core.settings import get_settings

    monkeypatch.setenv("FUNDGRAPH_HOME", str(stored_home))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "--format", "neo4j-csv"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "needs --output" in result.output
