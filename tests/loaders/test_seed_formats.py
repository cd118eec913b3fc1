"""The same seed read from .txt, .docx, .pdf and .html and parsed by inference alone (`profile: auto`) gives the
same directions, titles, sections and inferred layout as the snapshot of the hand-written profiles' parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.loaders.corpus import parse_text, read_manifest
from fundgraph.loaders.layout import parse_with_layout
from fundgraph.loaders.readers import read_document

DATA = Path(__file__).resolve().parents[1] / "data"
SNAPSHOT = json.loads((DATA / "seed_snapshot.json").read_text(encoding="utf-8"))
ENTRIES = {e.id: e for e in read_manifest(MANIFEST_PATH)}
FORMATS = ("txt", "docx", "pdf", "html")


def _path(program_id: str, ext: str) -> Path:
    if ext == "txt":
        return GUIDELINES_DIR / ENTRIES[program_id].file
    return DATA / "seed_formats" / f"{program_id}.{ext}"


@pytest.fixture(scope="module")
def parsed():
    out = {}
    for pid, entry in ENTRIES.items():
        program = entry.program().model_copy(update={"profile": "auto"})
        for ext in FORMATS:
            doc = read_document(_path(pid, ext))
            out[pid, ext] = (parse_text(doc.text, file=doc.path.name, program=program), parse_with_layout(doc.text)[1])
    return out


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("program_id", sorted(SNAPSHOT))
def test_same_directions_and_titles_in_every_format(parsed, program_id, ext):
    doc, _layout = parsed[program_id, ext]
    want = SNAPSHOT[program_id]
    assert [(d.id, d.code, d.title) for d in doc.directions] == [
        (d["id"], d["code"], d["title"]) for d in want["directions"]
    ]
    assert [(d.category_raw, d.section) for d in doc.directions] == [
        (d["category_raw"], d["section"]) for d in want["directions"]
    ]
    assert [s.title for s in doc.sections] == [s["title"] for s in want["sections"]]


@pytest.mark.parametrize("ext", FORMATS[1:])
@pytest.mark.parametrize("program_id", sorted(SNAPSHOT))
def test_same_layout_inferred_in_every_format(parsed, program_id, ext):
    _doc, layout = parsed[program_id, ext]
    _txt, txt_layout = parsed[program_id, "txt"]
    assert [(lv.role, lv.scheme, lv.count) for lv in layout.levels] == [
        (lv.role, lv.scheme, lv.count) for lv in txt_layout.levels
    ]
    assert layout.heading == txt_layout.heading


def test_pdf_hyphen_at_a_line_break_is_a_hyphen(parsed):
    doc, _layout = parsed["most-btit-2021", "pdf"]
    content = {d.code: d.content for d in doc.directions}
    assert "脑-机交互范式" in content["2.4"]
    assert all("\ufffe" not in read_document(_path(pid, "pdf")).text for pid in ENTRIES)
