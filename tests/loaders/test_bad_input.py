"""Bad input: clear errors naming the file (and line); GBK decoded with a warning; manifests checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from fundgraph.core.errors import FundgraphError, GuidelineParseError, InputError, ManifestError
from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.loaders.corpus import load_corpus, load_document, parse_text, read_manifest, read_text
from fundgraph.loaders.records import Category

EXTRA = Path(__file__).resolve().parent.parent / "data" / "loaders" / "extra"


def _entry(entries, program_id):
    return next(e for e in entries if e.id == program_id)


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of the bundled manifest and guidelines."""
    shutil.copytree(GUIDELINES_DIR, tmp_path / "guidelines")
    shutil.copy(MANIFEST_PATH, tmp_path / "manifest.yaml")
    return tmp_path


@pytest.mark.parametrize(
    "content", [b"", b"   \n\n \t\n", "\u3000\n".encode()], ids=["empty", "blank", "ideographic"]
)
def test_empty_file(corpus_copy, entries, content):
    entry = _entry(entries, "most-btit-2021")
    (corpus_copy / "guidelines" / entry.file).write_bytes(content)
    with pytest.raises(GuidelineParseError) as err:
        load_document(entry, corpus_copy / "guidelines")
    assert entry.file in str(err.value) and "empty" in str(err.value)
    assert err.value.detail["file"].endswith(entry.file)
    assert isinstance(err.value, InputError) and isinstance(err.value, FundgraphError)
    assert err.value.status_code == 422 and err.value.code == "guideline_parse_error"


def test_binary_file(tmp_path):
    png = tmp_path / "scan.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(GuidelineParseError) as err:
        read_text(png)
    assert "scan.txt" in str(err.value) and "binary" in str(err.value)
    assert err.value.line == 3  # the header holds two line feeds; the first NUL byte is on line 3
    assert str(err.value).startswith(f"{png}:3:")


def test_undecodable_file(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes(bytes(range(0x80, 0x100)) * 4)
    with pytest.raises(GuidelineParseError) as err:
        read_text(f)
    assert "latin.txt" in str(err.value) and "neither UTF-8 nor GBK" in str(err.value)


def test_control_character_soup_is_binary(tmp_path):
    f = tmp_path / "controls.txt"
    f.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15]) * 50)
    with pytest.raises(GuidelineParseError, match="binary"):
        read_text(f)


@pytest.mark.parametrize("program_id", ["gd-imaging-2026", "most-stic-joint"])
def test_gbk_file_is_decoded_with_a_warning(corpus_copy, entries, by_program, texts, program_id):
    entry = _entry(entries, program_id)
    path = corpus_copy / "guidelines" / entry.file
    path.write_bytes(texts[program_id].encode("gbk"))
    doc = load_document(entry, corpus_copy / "guidelines")
    assert any("GBK" in w and entry.file in w for w in doc.warnings)
    assert [d.model_dump() for d in doc.directions] == [
        d.model_dump() for d in by_program[program_id].directions
    ]


def test_utf8_file_has_no_encoding_warning(by_program):
    assert not any("GBK" in w for doc in by_program.values() for w in doc.warnings)


def test_document_without_directions(corpus_copy, entries):
    entry = _entry(entries, "most-stic-joint")
    (corpus_copy / "guidelines" / entry.file).write_text(
        "# 通知\n\n这是一份没有任何研究方向的通知。\n\n联系人：某某\n", encoding="utf-8"
    )
    with pytest.raises(GuidelineParseError) as err:
        load_document(entry, corpus_copy / "guidelines")
    assert entry.file in str(err.value) and "no research direction" in str(err.value)


def test_document_read_with_the_hints_of_another_layout_yields_no_directions(entries, texts):
    # the NSFC document read with the markdown-fields hint set (1.1 numbering only): nothing is mistaken for a
    # direction; with inference alone (the manifest's `auto`) it parses
    program = _entry(entries, "most-stic-joint").program()
    with pytest.raises(GuidelineParseError, match="no research direction"):
        parse_text(
            texts["nsfc-tianyuan-sz-2023"], file="000.txt",
            program=program.model_copy(update={"profile": "most_fields_markdown"}),
        )
    assert len(parse_text(texts["nsfc-tianyuan-sz-2023"], file="000.txt", program=program).directions) == 14


def test_manifest_entry_pointing_to_a_missing_file(corpus_copy, entries):
    manifest = corpus_copy / "manifest.yaml"
    (corpus_copy / "guidelines" / entries[3].file).unlink()
    with pytest.raises(ManifestError) as err:
        load_corpus(manifest)
    msg = str(err.value)
    assert entries[3].file in msg and "does not exist" in msg
    assert (
        err.value.line
        == manifest.read_text(encoding="utf-8").split("\n").index(f"    file: {entries[3].file}") + 1
    )
    assert err.value.code == "manifest_error"
    with pytest.raises(ManifestError, match="does not exist"):
        load_document(entries[3], corpus_copy / "guidelines")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("documents: [\n  - id: x\n", "not valid YAML"),
        ("- just a list\n", "documents"),
        ("documents: []\n", "documents"),
        ("documents:\n  - id: x\n    name: n\n", "malformed"),
    ],
    ids=["yaml-syntax", "not-a-mapping", "no-documents", "missing-fields"],
)
def test_malformed_manifest(tmp_path, content, message):
    m = tmp_path / "manifest.yaml"
    m.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(m)
    assert str(m) in str(err.value)


def test_manifest_with_unknown_profile_or_duplicate_ids(tmp_path):
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    data["documents"][1]["profile"] = "no_such_profile"
    m = tmp_path / "manifest.yaml"
    m.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match="unknown profile 'no_such_profile'") as err:
        read_manifest(m)
    assert err.value.line is not None
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    data["documents"][1]["id"] = data["documents"][0]["id"]
    m.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match="duplicate document ids"):
        read_manifest(m)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "nope.yaml")


def test_new_document_needs_only_a_manifest_entry():
    docs = load_corpus(EXTRA / "manifest.yaml")
    assert len(docs) == 1
    doc = docs[0]
    assert doc.program.id == "test-new-markdown" and doc.program.profile == "most_fields_markdown"
    assert [(d.code, d.title) for d in doc.directions] == [
        ("1.1", "基于多模态影像的肺结节智能筛查合作研究"),
        ("1.2", "面向基层的心电智能分析与远程诊断应用示范合作研究"),
        ("2.1", "工业软件可信验证关键技术合作研究"),
    ]
    assert [d.category for d in doc.directions] == [
        Category.KEY_TECHNOLOGY,
        Category.APPLICATION_DEMO,
        Category.KEY_TECHNOLOGY,
    ]
    assert doc.directions[0].keywords == ["肺结节", "智能筛查", "国际合作"]
    assert doc.directions[2].notes == ["由企业牵头申报。"] and doc.directions[2].metrics_label == "技术指标"
    assert [s.title for s in doc.sections] == ["数字健康", "智能制造"]


def test_parse_file_like(tmp_path, texts):
    from fundgraph.core.errors import ProgramNotFound
    from fundgraph.loaders.corpus import parse_file_like

    f = tmp_path / "draft.txt"
    f.write_bytes(texts["most-btit-2021"].encode("gb18030"))
    doc = parse_file_like(f, "most-btit-2021", MANIFEST_PATH)
    assert len(doc.directions) == 16 and doc.program.source_file == "draft.txt"
    assert doc.directions[0].source.file == "draft.txt"
    assert any("GBK" in w for w in doc.warnings)
    with pytest.raises(ProgramNotFound, match="no-such-program"):
        parse_file_like(f, "no-such-program", MANIFEST_PATH)
    # --like takes another program's metadata and hint set; the bundled programs need none, so inference reads it
    other = parse_file_like(f, "gd-imaging-2026", MANIFEST_PATH)
    assert other.program.id == "gd-imaging-2026" and other.program.profile == "auto"
    assert [d.title for d in other.directions] == [d.title for d in doc.directions]
    with pytest.raises(GuidelineParseError, match="not found"):
        parse_file_like(tmp_path / "missing.txt", "most-btit-2021", MANIFEST_PATH)


def test_lost_direction_is_reported_against_the_stated_count(entries, texts, by_program):
    # every bundled document states its number of directions, and the parse agrees
    assert all(not any("states" in w for w in doc.warnings) for doc in by_program.values())
    entry = _entry(entries, "most-stic-joint")
    # a typo in a heading number ("4.7" → "4.17") breaks the numbering sequence of field 4
    broken = texts[entry.id].replace("#### 4.7 基于空地机器人", "#### 4.17 基于空地机器人")
    doc = parse_text(broken, file=entry.file, program=entry.program())
    assert len(doc.directions) < 55
    assert any("states 55 research directions" in w for w in doc.warnings)


def test_manifest_ids_read_the_manifest_only_when_an_id_may_be_in_it(tmp_path):
    from fundgraph.core.errors import ManifestError
    from fundgraph.loaders.corpus import ManifestIds

    (tmp_path / "guidelines").mkdir()
    good = tmp_path / "manifest.yaml"
    good.write_text("documents:\n  - id: lanhai-2025\n    name: 蓝海专项\n    name_en: Blue sea\n"
                    "    year: 2025\n    file: a.txt\n"
                    "    profile: auto\n", encoding="utf-8")
    ids = ManifestIds(good)
    assert "lanhai-2025" in ids and "lanhai" not in ids and "shanlin-2026" not in ids
    broken = tmp_path / "broken.yaml"  # not a manifest (no documents list): found out when an id may be in it
    broken.write_text("programs: [lanhai-2025]\n", encoding="utf-8")
    assert "shanlin-2026" not in ManifestIds(broken)
    with pytest.raises(ManifestError):
        _ = "lanhai-2025" in ManifestIds(broken)
    escaped = tmp_path / "escaped.yaml"  # an id spelt with an escape is still found
    escaped.write_text('documents:\n  - id: "lanhai\\x2d2025"\n    name: 蓝海专项\n    name_en: Blue sea\n'
                       "    file: a.txt\n"
                       "    profile: auto\n", encoding="utf-8")
    assert "lanhai-2025" in ManifestIds(escaped)
