"""English titles of directions and sections (data/vocab/titles_en.csv): validation and matching."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fundgraph.core.errors import VocabularyError
from fundgraph.core.paths import VOCAB_DIR
from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles

BUNDLED = VOCAB_DIR / TITLES_FILE
N_DIRECTIONS, N_SECTIONS = 124, 19


def _write(tmp_path: Path, rows: list[list[str]], header: str = "id,zh,en") -> Path:
    path = tmp_path / TITLES_FILE
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(header + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def _parsed(corpus) -> list[tuple[str, str]]:
    return [(x.id, x.title) for doc in corpus for x in (*doc.sections, *doc.directions)]


def test_bundled_file_translates_every_direction_and_section(corpus):
    titles = load_title_translations(BUNDLED)
    parsed = _parsed(corpus)
    assert sum(len(d.directions) for d in corpus) == N_DIRECTIONS
    assert sum(len(d.sections) for d in corpus) == N_SECTIONS
    match = match_titles(titles, parsed)
    assert match.stale == [] and match.untranslated == []
    assert len(match.english) == N_DIRECTIONS + N_SECTIONS == len(titles.rows)
    # English only: ASCII apart from the en dash of "brain–computer", "China–ASEAN" …
    assert all(en and set(en) - set("–") <= set(map(chr, range(32, 127))) for en in match.english.values())


def test_bundled_english_titles_keep_codes_and_abbreviations():
    rows = load_title_translations(BUNDLED).rows
    assert rows["gd-imaging-2026:YXA0103"].en.count("PET") == 1 and "MR" in rows["gd-imaging-2026:YXA0103"].en
    assert "BT-IT" in rows["most-btit-2024:12"].en
    assert "DNA/RNA" in rows["most-btit-2024:15"].en
    assert "Ac-225" in rows["most-stic-joint:2.3"].en
    assert "(DSA)" in rows["gd-imaging-2026:YXA0404"].en
    assert rows["most-stic-joint:s:4"].en == "Artificial intelligence"


def test_stale_row_is_not_attached_and_is_reported(tmp_path):
    path = _write(tmp_path, [["p:1", "旧标题", "Old title"], ["p:2", "标题二", "Title two"]])
    match = match_titles(load_title_translations(path), [("p:1", "新标题"), ("p:2", "标题二"), ("p:3", "标题三")])
    assert match.english == {"p:2": "Title two"}
    assert match.stale == ["p:1"]
    assert match.untranslated == ["p:3"]
    assert match.report(path) == {"file": TITLES_FILE, "attached": 1, "stale": ["p:1"], "untranslated": 1}


def test_absent_file_has_no_rows(tmp_path):
    titles = load_title_translations(tmp_path / TITLES_FILE)
    assert titles.rows == {}
    assert match_titles(titles, [("p:1", "标题")]).untranslated == ["p:1"]


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        ([["p:1", "标题", "Title"], ["p:1", "标题", "Title again"]], 3, "duplicate id 'p:1' (first on line 2)"),
        ([["p:1", "标题", "Title"], ["p:2", "标题二"]], 3, "malformed row: 2 fields where the header has 3"),
        ([["p:1", "", "Title"]], 2, "zh and en are both required"),
        ([["p:1", "标题", ""]], 2, "zh and en are both required"),
        ([["", "标题", "Title"]], 2, "id '' is empty"),
        ([["p 1", "标题", "Title"]], 2, "id 'p 1'"),
        ([["p:1", "Title", "标题"]], 2, "has Chinese characters"),
    ],
)
def test_malformed_or_duplicate_row_is_a_vocabulary_error_with_file_and_line(tmp_path, rows, line, message):
    path = _write(tmp_path, rows)
    with pytest.raises(VocabularyError) as info:
        load_title_translations(path)
    err = info.value
    assert err.path == str(path) and err.line == line
    assert message in str(err)
    assert f"{path}:{line}" in str(err)


def test_missing_column_is_a_vocabulary_error_on_line_1(tmp_path):
    path = _write(tmp_path, [["p:1", "标题"]], header="id,zh")
    with pytest.raises(VocabularyError, match="header lacks column") as info:
        load_title_translations(path)
    assert info.value.line == 1
