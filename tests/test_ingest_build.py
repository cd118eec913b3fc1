"""One bad document never blocks the others: `fundgraph build` leaves it out and says so; --strict refuses.

Also `fundgraph parse` without --like, `fundgraph add` refusals and `fundgraph eval parse` through the CLI.
The user corpus here holds two dev-set documents (package data, our own text) and three broken entries: a
a damaged .doc, a text without any direction, and an entry whose file is missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.paths import GUIDELINES_DIR, PARSE_DEV_DIR
from fundgraph.core.settings import get_settings
from fundgraph.graph.stores.embedded.store import EmbeddedStore

GOOD = {"ai-2025": "06_circled_numbers_ai.txt", "imaging-2026": "07_fangxiang_arabic_imaging.txt"}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)


def invoke(args: list[str], env: dict[str, str]):
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


def fingerprint(home: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((home / "current").iterdir()):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def entry(pid: str, file: str) -> dict:
    return {"id": pid, "name": pid, "name_en": pid, "funder": ["某基金委"], "file": file, "profile": "auto"}


def user_corpus(root: Path, *, broken: bool) -> Path:
    corpus = root / "corpus"
    (corpus / "guidelines").mkdir(parents=True)
    docs = []
    for pid, name in GOOD.items():
        shutil.copy(PARSE_DEV_DIR / "docs" / name, corpus / "guidelines" / name)
        docs.append(entry(pid, name))
    if broken:
        (corpus / "guidelines" / "old-format.doc").write_bytes(OLE2)
        (corpus / "guidelines" / "notice.txt").write_text("关于召开年度总结会的通知\n\n请各单位按时参加。\n",
                                                          encoding="utf-8")
        docs += [entry("old-format", "old-format.doc"), entry("notice", "notice.txt"),
                 entry("gone", "missing.pdf")]
    (corpus / "manifest.yaml").write_text(yaml.safe_dump({"documents": docs}, allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def built_with_broken(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("left-out")
    corpus = user_corpus(root, broken=True)
    env = {"FUNDGRAPH_HOME": str(root / "home"), "FUNDGRAPH_CORPUS_DIR": str(corpus), "FUNDGRAPH_ENCODER": "lexical"}
    result = invoke(["build", "--no-bundled"], env)
    return root, corpus, env, result


def test_build_leaves_the_broken_documents_out_and_names_them(built_with_broken):
    _root, corpus, _env, result = built_with_broken
    assert result.exit_code == 0, result.output
    expected = yaml.safe_load((PARSE_DEV_DIR / "expected.yaml").read_text(encoding="utf-8"))["documents"]
    n = sum(len(d["directions"]) for d in expected if d["file"] in GOOD.values())
    assert result.stdout.startswith(f"built 2 programs, {n} directions"), result.stdout
    assert "3 document(s) left out" in result.stderr
    err = result.stderr
    assert "old-format.doc" in err and "save it as .docx" in err
    assert "notice.txt" in err and "no research direction" in err
    manifest = corpus / "manifest.yaml"
    line = manifest.read_text(encoding="utf-8").split("\n").index("  file: missing.pdf") + 1
    assert f"{manifest}:{line}: document gone: file missing.pdf does not exist" in err
    assert "Traceback" not in result.output


def test_the_left_out_documents_are_in_the_build_meta_and_health(built_with_broken):
    root, corpus, _env, _result = built_with_broken
    store = EmbeddedStore(root / "home")
    try:
        built = store.load()
        health = store.health()
    finally:
        store.close()
    assert built.meta["programs"] == ["ai-2025", "imaging-2026"]
    left = {lo["program_id"]: lo for lo in built.meta["left_out"]}
    assert set(left) == {"old-format", "notice", "gone"}
    assert left["old-format"]["code"] == "unsupported_document"
    assert left["old-format"]["file"] == str(corpus / "guidelines" / "old-format.doc")
    assert left["gone"]["line"] is not None and left["gone"]["code"] == "manifest_error"
    assert [lo.program_id for lo in health.left_out] == ["old-format", "notice", "gone"]


def test_strict_refuses_and_leaves_the_previous_graph_untouched(built_with_broken):
    root, _corpus, env, _result = built_with_broken
    before = fingerprint(root / "home")
    result = invoke(["build", "--no-bundled", "--strict"], env)
    assert result.exit_code == 2
    # as before: every manifest file is checked before any is parsed, so the missing one is named
    assert "missing.pdf does not exist" in result.stderr and "Traceback" not in result.output
    assert fingerprint(root / "home") == before


def test_no_bundled_without_a_user_corpus_says_what_to_do(tmp_path):
    result = invoke(["build", "--no-bundled"], {"FUNDGRAPH_HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "fundgraph add" in result.stderr


# -- fundgraph parse without --like --------------------------------------------------------------------------
def test_parse_infers_layout_and_program_and_prints_json_with_sections_and_layout():
    doc = PARSE_DEV_DIR / "docs" / "07_fangxiang_arabic_imaging.txt"
    result = invoke(["parse", str(doc), "--format", "json"], {})
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= {"program", "directions", "sections", "layout"}
    assert payload["program"]["name"] == "北岭省医学影像创新研究院2026年度开放课题申报指南"
    assert payload["program"]["year"] == 2026 and payload["program"]["profile"] == "auto"
    assert [d["code"] for d in payload["directions"]] == [f"方向{k}" for k in range(1, 8)]
    assert payload["directions"][0]["title"] == "低剂量CT图像的深度学习重建与质量评价"
    assert payload["layout"]["heading"] == "研究方向"
    assert [lv["role"] for lv in payload["layout"]["levels"]] == ["direction"]
    assert "申报对象" in payload["layout"]["excluded_sections"]


def test_parse_text_says_what_was_inferred(tmp_path):
    result = invoke(["parse", str(PARSE_DEV_DIR / "docs" / "07_fangxiang_arabic_imaging.txt")], {})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("7 directions (read as text)")
    assert "北岭省医学影像创新研究院2026年度开放课题申报指南 · year 2026" in lines[1]
    assert "under “研究方向”" in lines[2]
    assert "低剂量CT图像的深度学习重建与质量评价" in result.stdout


def test_parse_like_still_uses_the_programs_profile():
    result = invoke(["parse", str(GUIDELINES_DIR / "000_299ab7605307a90d.txt"), "--like", "nsfc-tianyuan-sz-2023",
                     "--format", "json"], {})
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["program"]["id"] == "nsfc-tianyuan-sz-2023" and len(payload["directions"]) == 14


@pytest.mark.parametrize(("name", "data", "says"), [
    ("guideline.doc", OLE2, "save it as .docx"),
    ("bundle.zip", b"PK\x05\x06" + bytes(18), "unzip it"),
    ("scan.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "OCR"),
])
def test_unsupported_input_is_one_clear_line_and_exit_2(tmp_path, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    result = invoke(["parse", str(path)], {})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}:") and ".docx" in line and says in line


def test_a_document_without_directions_names_the_file(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_text("关于召开年度总结会的通知\n\n请各单位按时参加。\n", encoding="utf-8")
    result = invoke(["parse", str(path)], {})
    assert result.exit_code == 2
    assert "notice.txt" in result.stderr and "no research direction" in result.stderr


# -- fundgraph add refusals ------------------------------------------------------------------------------------
def test_add_refuses_a_bundled_program_id_and_nothing_is_written(tmp_path):
    doc = PARSE_DEV_DIR / "docs" / "06_circled_numbers_ai.txt"
    result = invoke(["add", str(doc), "--program-id", "gd-imaging-2026", "--corpus", str(tmp_path / "c")], {})
    assert result.exit_code == 2 and "bundled program" in result.stderr
    assert not (tmp_path / "c").exists()


def test_add_refuses_a_document_that_does_not_parse(tmp_path):
    bad = tmp_path / "notice.txt"
    bad.write_text("关于召开年度总结会的通知\n\n请各单位按时参加。\n", encoding="utf-8")
    good = PARSE_DEV_DIR / "docs" / "06_circled_numbers_ai.txt"
    result = invoke(["add", str(good), str(bad), "--corpus", str(tmp_path / "c")], {})
    assert result.exit_code == 2 and "notice.txt" in result.stderr
    assert not (tmp_path / "c" / "manifest.yaml").exists()


def test_add_twice_updates_the_entry_and_options_win_over_the_title(tmp_path):
    doc = PARSE_DEV_DIR / "docs" / "06_circled_numbers_ai.txt"
    corpus = tmp_path / "c"
    first = invoke(["add", str(doc), "--corpus", str(corpus)], {})
    assert first.exit_code == 0, first.output
    again = invoke(["add", str(doc), "--corpus", str(corpus), "--year", "2024", "--funder", "甲基金会",
                    "--status", "征求意见稿"], {})
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("updated ")
    [e] = yaml.safe_load((corpus / "manifest.yaml").read_text(encoding="utf-8"))["documents"]
    assert e["name"] == "临江市2025年度人工智能重大专项申报指南"
    assert (e["year"], e["funder"], e["status"], e["profile"]) == (2024, ["甲基金会"], "征求意见稿", "auto")
    assert e["id"] == "06-circled-numbers-ai"  # from the file name: adding it again updates the same entry


# -- fundgraph eval parse --------------------------------------------------------------------------------------
def test_eval_parse_prints_the_shipped_parser_and_the_baseline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the dev set is package data: any working directory
    result = invoke(["eval", "parse"], {})
    assert result.exit_code == 0, result.output
    rows = {ln.split()[0]: ln.split() for ln in result.stdout.splitlines() if ln.split()[:1] in (["shipped"],
                                                                                               ["baseline"])}
    assert set(rows) == {"shipped", "baseline"}
    assert "33 documents, 379 directions" in result.stdout
    assert rows["baseline"][1:4] == ["0.797", "0.751", "13/33"]
    recall, precision = float(rows["shipped"][1]), float(rows["shipped"][2])
    assert recall > 0.9 and precision > 0.95
