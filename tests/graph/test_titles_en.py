"""English titles on Direction and Section nodes: attached from titles_en.csv only where zh still matches."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from fundgraph.core.paths import VOCAB_DIR
from fundgraph.core.settings import Settings
from fundgraph.graph.build.pipeline import build_graph
from fundgraph.graph.formats.json_document import export_json
from fundgraph.graph.model import Label
from fundgraph.loaders.titles import TITLES_FILE

N_DIRECTIONS, N_SECTIONS = 124, 19
EDITED = "gd-imaging-2026:YXA0101"


def _nodes(g, label: Label) -> list[dict]:
    return [d for _, d in g.nodes(data=True) if d.get("label") == label.value]


def test_every_bundled_direction_and_section_has_an_english_title(corpus_built):
    directions = _nodes(corpus_built.graph, Label.DIRECTION)
    sections = _nodes(corpus_built.graph, Label.SECTION)
    assert (len(directions), len(sections)) == (N_DIRECTIONS, N_SECTIONS)
    for d in directions:
        assert d["title_en"] and d["title_en"].strip() and d["name_en"] == d["title_en"], d["id"]
    for s in sections:
        assert s["name_en"] and s["name_en"].strip(), s["id"]
    assert corpus_built.graph.nodes["most-btit-2024:s:1"]["name_en"] == "Key challenge projects"
    assert corpus_built.meta["title_translations"] == {
        "file": TITLES_FILE, "attached": N_DIRECTIONS + N_SECTIONS, "stale": [], "untranslated": 0,
    }


def test_export_direction_records_carry_title_en(corpus_built):
    records = export_json(corpus_built)["directions"]
    assert len(records) == N_DIRECTIONS
    by_id = {r["id"]: r for r in records}
    assert by_id["gd-imaging-2026:YXA0103"]["title_en"] == (
        "Precise localisation of epileptogenic foci in refractory epilepsy based on PET and MR multimodal imaging")
    assert all(r["title_en"] for r in records)


def test_stale_row_after_a_document_edit_is_not_attached_and_is_reported(tmp_path, corpus_built):
    """A row whose zh no longer equals the parsed title (the document changed) keeps its English off."""
    vocab = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab)
    path = vocab / TITLES_FILE
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    for row in rows:
        if row[0] in (EDITED, "gd-imaging-2026:s:1"):
            row[1] = row[1] + "（旧版）"  # the translation was made for an earlier wording
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)

    built = build_graph(Settings(home=tmp_path / "home", store="embedded", encoder="lexical", vocab_dir=vocab))
    node = built.graph.nodes[EDITED]
    assert node["title"] == corpus_built.graph.nodes[EDITED]["title"]
    assert node["title_en"] is None and node["name_en"] is None
    assert built.graph.nodes["gd-imaging-2026:s:1"]["name_en"] is None
    assert built.meta["title_translations"]["stale"] == ["gd-imaging-2026:s:1", EDITED]
    assert built.meta["title_translations"]["attached"] == N_DIRECTIONS + N_SECTIONS - 2
    # Everything else is still attached.
    other = built.graph.nodes["gd-imaging-2026:YXA0102"]
    assert other["title_en"] == corpus_built.graph.nodes["gd-imaging-2026:YXA0102"]["title_en"]
    assert export_json(built)["directions"][0]["title_en"]


def test_vocab_dir_without_translations_leaves_titles_untranslated(tmp_path):
    vocab = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab)
    (vocab / TITLES_FILE).unlink()
    built = build_graph(Settings(home=tmp_path / "home", store="embedded", encoder="lexical", vocab_dir=vocab))
    assert all(d["title_en"] is None and d["name_en"] is None for d in _nodes(built.graph, Label.DIRECTION))
    assert built.meta["title_translations"]["untranslated"] == N_DIRECTIONS + N_SECTIONS
    assert built.meta["title_translations"]["stale"] == []


def test_cli_build_warns_about_stale_titles(tmp_path: Path):
    from typer.testing import CliRunner

    from fundgraph.cli import app

    vocab = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab)
    path = vocab / TITLES_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("大模型约化的数学理论与方法", "大模型约化的数学理论", 1), encoding="utf-8")
    env = {"FUNDGRAPH_HOME": str(tmp_path / "home"), "FUNDGRAPH_VOCAB_DIR": str(vocab),
           "FUNDGRAPH_ENCODER": "lexical", "FUNDGRAPH_STORE": "embedded"}
    result = CliRunner().invoke(app, ["build"], env=env)
    assert result.exit_code == 0, result.output
    assert "stale" in result.stderr and "nsfc-tianyuan-sz-2023:2" in result.stderr
