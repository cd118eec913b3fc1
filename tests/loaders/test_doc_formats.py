"""Old Word .doc and RTF, read through LibreOffice: the seeds saved by LibreOffice as .doc (and two as .rtf) give the
same directions, fields and ids as their .docx, automatic numbering included (nsfc-tianyuan-sz-2023 and
most-stic-joint number their directions only in Word's numbering).

Slow (LibreOffice converts each file in 2-3 s) and needs ``soffice`` on PATH: scripts/test.sh installs it, and
without it these tests fail rather than skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fundgraph.core.errors import UnsupportedDocument
from fundgraph.core.paths import MANIFEST_PATH
from fundgraph.loaders import readers
from fundgraph.loaders.corpus import parse_text, read_manifest
from fundgraph.loaders.readers import DocumentFormat, read_document

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "seed_formats"
ENTRIES = {e.id: e for e in read_manifest(MANIFEST_PATH)}
CASES = [(pid, "doc") for pid in sorted(ENTRIES)] + [("nsfc-tianyuan-sz-2023", "rtf"), ("gd-imaging-2026", "rtf")]


def test_libreoffice_is_installed():
    assert shutil.which("soffice"), "LibreOffice (soffice) is not on PATH: scripts/test.sh installs it"


@pytest.mark.parametrize(("program_id", "ext"), CASES)
def test_old_word_formats_read_as_their_docx(program_id, ext):
    program = ENTRIES[program_id].program().model_copy(update={"profile": "auto"})
    docx, old = read_document(DATA / f"{program_id}.docx"), read_document(DATA / f"{program_id}.{ext}")
    assert old.format is DocumentFormat.DOC and old.warnings and "LibreOffice" in old.warnings[0]
    if ext == "doc":
        assert old.lines == docx.lines  # Word 97 keeps every line, automatic numbers included
    want = parse_text(docx.text, file=f"{program_id}.docx", program=program)
    got = parse_text(old.text, file=f"{program_id}.{ext}", program=program)
    assert [(d.id, d.code, d.title, d.category, d.content, d.metrics) for d in got.directions] == [
        (d.id, d.code, d.title, d.category, d.content, d.metrics) for d in want.directions]


def test_without_libreoffice_a_doc_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(readers.shutil, "which", lambda _name: None)
    path = DATA / "gd-imaging-2026.doc"
    with pytest.raises(UnsupportedDocument) as err:
        read_document(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: old binary Word (.doc) file and no LibreOffice to convert it")
    assert "install LibreOffice" in msg and "save it as .docx" in msg


def test_a_damaged_doc_names_the_file(tmp_path):
    path = tmp_path / "broken.doc"
    path.write_bytes((DATA / "gd-imaging-2026.doc").read_bytes()[:3000])
    with pytest.raises(UnsupportedDocument) as err:
        read_document(path)
    assert str(err.value).startswith(f"{path}: ") and "save it as .docx" in str(err.value)


def test_an_rtf_saved_as_txt_is_converted_as_rtf(tmp_path):
    # The format is told by content: LibreOffice must get the RTF as .rtf, or it converts the RTF source as text.
    disguised = tmp_path / "guide.txt"
    disguised.write_bytes((DATA / "gd-imaging-2026.rtf").read_bytes())
    doc = read_document(disguised)
    assert doc.format is DocumentFormat.DOC
    assert doc.lines == read_document(DATA / "gd-imaging-2026.rtf").lines
    assert not any(ln.startswith("{\\rtf") for ln in doc.lines)
