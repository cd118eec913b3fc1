"""The application layer and the one format registry: the CLI and the API offer exactly the registry's formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from fundgraph import service
from fundgraph.cli import ExportFormat, app
from fundgraph.core.errors import InvalidRequest
from fundgraph.core.settings import Settings, get_settings
from fundgraph.graph.build.pipeline import base_graph
from fundgraph.graph.formats import FORMATS, SERVED_FORMATS, export_graph, get_format
from fundgraph.graph.formats.json_document import export_json
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from fundgraph.loaders.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]
EXTRA = ROOT / "tests" / "data" / "loaders" / "extra"


@pytest.fixture(scope="module")
def small() -> BuiltGraph:
    """Program, sections and directions of our own test document (no entity or similarity layer)."""
    docs = load_corpus(EXTRA / "manifest.yaml")
    return BuiltGraph(graph=base_graph(docs), meta={"programs": [d.program.id for d in docs]})


@pytest.fixture(scope="module")
def home(small, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("service-home")
    EmbeddedStore(home).replace(small)
    return home


def test_the_cli_and_the_api_offer_the_registrys_formats():
    assert [f.value for f in ExportFormat] == list(FORMATS) == ["json", "graphml", "node-link", "neo4j-csv"]
    assert SERVED_FORMATS == ("json", "graphml")
    from fundgraph.api.app import create_app

    spec = create_app(Settings(home=Path("/nonexistent"))).openapi()
    (param,) = [p for p in spec["paths"]["/api/export"]["get"]["parameters"] if p["name"] == "format"]
    assert param["schema"]["enum"] == list(SERVED_FORMATS)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_writes_and_its_reader_reads_it_back(small, tmp_path, name):
    fmt = get_format(name)
    written = export_graph(small, name, tmp_path / "out" / f"graph.{name}")
    assert written.is_dir() if fmt.output == "directory" else written.is_file()
    if fmt.read is not None:
        back = fmt.read(written)
        assert isinstance(back, nx.MultiDiGraph)
        assert back.number_of_nodes() == small.graph.number_of_nodes() > 5
        assert back.number_of_edges() == small.graph.number_of_edges() > 5
    if fmt.text is not None:
        assert written.read_text(encoding="utf-8") == fmt.text(small)
    if fmt.served is not None and fmt.output == "file" and name != "json":
        assert written.read_bytes() == fmt.served.render(small)


def test_unknown_format_names_the_choices():
    with pytest.raises(InvalidRequest, match="choose one of json, graphml, node-link, neo4j-csv"):
        get_format("gexf")


def test_service_exports_the_stored_graph(small, home):
    settings = Settings(home=home)
    doc = json.loads(service.export_text(settings, "json"))
    assert doc == json.loads(json.dumps(export_json(small), ensure_ascii=False))
    assert [d["id"] for d in doc["directions"]] == ["test-new-markdown:1.1", "test-new-markdown:1.2",
                                                    "test-new-markdown:2.1"]
    with pytest.raises(InvalidRequest, match="needs --output"):
        service.export_text(settings, "neo4j-csv")
    store = EmbeddedStore(home)
    served = service.served_export(store, "graphml")
    assert served.media_type == "application/graphml+xml" and served.filename == "fundgraph.graphml"
    back = nx.parse_graphml(served.body.decode("utf-8"), force_multigraph=True)
    assert back.number_of_nodes() == small.graph.number_of_nodes()
    with pytest.raises(InvalidRequest, match="not served over HTTP"):
        service.served_export(store, "neo4j-csv")


def test_parse_document_gives_the_export_shape():
    settings = Settings(manifest=EXTRA / "manifest.yaml")
    doc = service.parse_document(settings, EXTRA / "guidelines" / "new_fields_markdown.txt", "test-new-markdown")
    payload = service.parsed_document_json(doc)
    assert payload["program"]["id"] == "test-new-markdown"
    assert [d["code"] for d in payload["directions"]] == ["1.1", "1.2", "2.1"]
    assert payload["directions"][0]["keywords"] == ["肺结节", "智能筛查", "国际合作"]


def test_eval_entities_works_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", "entities"], env={"FUNDGRAPH_HOME": str(tmp_path)})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "vs the dev gold set (90 directions)" in result.output
    assert any(line.split()[:1] == ["disease"] for line in result.output.splitlines())


def test_python_m_fundgraph_cli_runs_from_another_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fundgraph.cli", "export", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                               "COLUMNS": "200"}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "node-link" in proc.stdout and "neo4j-csv" in proc.stdout
