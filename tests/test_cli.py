"""The CLI end to end on the bundled corpus: build, export, parse, and bad input that leaves the graph untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH, VOCAB_DIR
from fundgraph.core.settings import get_settings
from fundgraph.graph.formats.json_document import export_json

runner = CliRunner()

EXPORT_DIRECTION_FIELDS = {
    "id", "program_id", "code", "ordinal", "title", "category", "category_raw", "support_type", "section",
    "content", "metrics", "keywords", "notes", "funding", "application_code", "disciplines", "source",
}
EXPORT_PROGRAM_FIELDS = {"id", "name", "name_en", "funder", "year", "status", "source_file"}


def invoke(args: list[str], env: dict[str, str]):
    """Run the CLI with a fresh settings object read from ``env``."""
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


def store_fingerprint(home: Path) -> str:
    """Hash of every file of the embedded store's current graph."""
    h = hashlib.sha256()
    for p in sorted((home / "current").iterdir()):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def exported(cli_built_home) -> dict:
    """The CLI's build (once per session, tests/conftest.py) exported through the CLI."""
    result = invoke(["export", "--format", "json"], {"FUNDGRAPH_HOME": str(cli_built_home)})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_has_programs_and_directions_with_every_field(exported):
    assert [p["id"] for p in exported["programs"]] == [
        "nsfc-tianyuan-sz-2023", "most-btit-2024", "most-stic-joint", "most-btit-2021", "gd-imaging-2026"]
    assert all(EXPORT_PROGRAM_FIELDS <= set(p) for p in exported["programs"])
    assert len(exported["directions"]) == 124
    for d in exported["directions"]:
        assert EXPORT_DIRECTION_FIELDS <= set(d), d["id"]
        assert d["title"]
        src = d["source"]
        assert src["file"] and 0 <= src["start"] < src["end"]
    # entities and links are exported too, each link traceable to its source text
    assert exported["entities"] and exported["links"]
    link = next(lk for lk in exported["links"] if lk["type"] == "disease")
    assert set(link) >= {"direction_id", "entity_id", "type", "field", "snippet", "span"}


def test_direction_source_span_points_at_the_title_in_the_file(exported):
    for d in exported["directions"]:
        text = (GUIDELINES_DIR / d["source"]["file"]).read_text(encoding="utf-8")
        region = text[d["source"]["start"]:d["source"]["end"]]
        # the first few title characters stand in the region (titles may be broken by line breaks)
        head = d["title"][:4].replace(" ", "")
        assert head in region.replace("\n", "").replace(" ", ""), d["id"]


def test_ids_are_stable_across_rebuilds(exported, corpus_built):
    # the CLI's build and the session's in-process build are two independent builds of the same corpus
    again = export_json(corpus_built)
    assert [d["id"] for d in again["directions"]] == [d["id"] for d in exported["directions"]]
    assert sorted(e["id"] for e in again["entities"]) == sorted(e["id"] for e in exported["entities"])


def test_parse_like_shows_the_directions_in_export_shape():
    result = invoke(["parse", str(GUIDELINES_DIR / "000_299ab7605307a90d.txt"), "--like", "nsfc-tianyuan-sz-2023",
                     "--format", "json"], {})
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["directions"]) == 14
    assert EXPORT_DIRECTION_FIELDS <= set(payload["directions"][0])
    assert payload["directions"][10]["code"] == "（十一）"


def test_parse_like_unknown_program_is_a_clear_error():
    result = invoke(["parse", str(GUIDELINES_DIR / "000_299ab7605307a90d.txt"), "--like", "no-such-program"], {})
    assert result.exit_code != 0
    assert "no-such-program" in result.output


def _corpus_copy(tmp_path: Path) -> Path:
    """A copy of the bundled manifest and guidelines that a test may spoil."""
    root = tmp_path / "corpus"
    shutil.copytree(GUIDELINES_DIR, root / "guidelines")
    shutil.copy(MANIFEST_PATH, root / "manifest.yaml")
    return root / "manifest.yaml"


def _point_entry_at(manifest: Path, index: int, file_name: str) -> None:
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["documents"][index]["file"] = file_name
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


BAD_FILES = {
    "empty": b"",
    "binary": bytes(range(256)) * 8,
    "no-directions": "本文件只是一段说明文字，没有任何研究方向。\n第二行也没有。\n".encode(),
}


@pytest.mark.parametrize("kind", [*BAD_FILES, "missing"])
def test_bad_document_with_strict_fails_clearly_and_leaves_the_graph_untouched(kind, cli_built_home, tmp_path):
    manifest = _corpus_copy(tmp_path)
    bad_name = f"bad-{kind}.txt"
    if kind != "missing":
        (manifest.parent / "guidelines" / bad_name).write_bytes(BAD_FILES[kind])
    _point_entry_at(manifest, 2, bad_name)
    before = store_fingerprint(cli_built_home)
    result = invoke(["build", "--strict"], {"FUNDGRAPH_HOME": str(cli_built_home), "FUNDGRAPH_MANIFEST": str(manifest)})
    assert result.exit_code == 2
    assert bad_name in result.output, result.output
    assert "Traceback" not in result.output
    assert store_fingerprint(cli_built_home) == before


def test_gbk_document_is_decoded_and_said_so(tmp_path):
    src = (GUIDELINES_DIR / "000_299ab7605307a90d.txt").read_text(encoding="utf-8")
    gbk = tmp_path / "tianyuan-gbk.txt"
    gbk.write_bytes(src.encode("gbk", errors="replace"))
    result = invoke(["parse", str(gbk), "--like", "nsfc-tianyuan-sz-2023", "--format", "json"], {})
    assert result.exit_code == 0, result.output
    assert "GBK" in result.stderr or "gbk" in result.stderr.lower()
    assert len(json.loads(result.stdout)["directions"]) == 14


def test_bad_vocabulary_refuses_the_build_and_leaves_the_graph_untouched(cli_built_home, tmp_path):
    vocab = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab)
    diseases = vocab / "diseases.csv"
    lines = diseases.read_text(encoding="utf-8").splitlines()
    lines.append(lines[1])  # a duplicate id
    diseases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = store_fingerprint(cli_built_home)
    result = invoke(["build"], {"FUNDGRAPH_HOME": str(cli_built_home), "FUNDGRAPH_VOCAB_DIR": str(vocab)})
    assert result.exit_code != 0
    assert "diseases.csv" in result.output and str(len(lines)) in result.output, result.output
    assert store_fingerprint(cli_built_home) == before
