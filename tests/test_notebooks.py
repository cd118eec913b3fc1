"""The analysts' notebook runs top to bottom (nbclient), on a fresh home where it builds the graph itself."""

from __future__ import annotations

import json

import pytest

from tests import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
OUTPUT = PROJECT_ROOT / "test-output"


def test_notebook_outputs_are_cleared_in_git():
    # read as JSON (what an .ipynb file is): this check needs no notebook extra
    nb = json.loads((NOTEBOOKS / "overlap_analysis.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.notebook
def test_overlap_analysis_runs_top_to_bottom(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # An empty home: the notebook must notice there is no graph and build one from the bundled corpus.
    monkeypatch.setenv("FUNDGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FUNDGRAPH_ENCODER", "lexical")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    path = NOTEBOOKS / "overlap_analysis.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    OUTPUT.mkdir(exist_ok=True)
    nbformat.write(nb, OUTPUT / "overlap_analysis.executed.ipynb")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "yet: building one there" in text
    # Built into the configured home, as `fundgraph build` does (not a temporary directory left behind): a second
    # run finds it there and builds nothing.
    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    assert EmbeddedStore(Settings().home).load().graph.number_of_nodes() > 0
    again = nbformat.read(path, as_version=4)
    again.cells = again.cells[:2]  # the introduction and the cell that finds (or builds) the graph
    NotebookClient(again, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
                   ).execute()
    first = "".join(o.get("text", "") for o in again.cells[1].outputs if o.output_type == "stream")
    assert "graph found in" in first and "building" not in first
    # Three heatmaps, program links, community sizes and the network picture.
    pngs = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(pngs) >= 7
    html = "".join(o["data"].get("text/html", "") for o in outputs if o.output_type == "display_data")
    assert "most-btit-2024" in html and "gd-imaging-2026" in html
    assert "why 解释" in html and "top entities" in html
