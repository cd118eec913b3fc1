"""The five bundled guidelines parse with inference alone (`profile: auto`) into exactly what the hand-written
profiles parsed them into: tests/data/seed_snapshot.json (written once by tests/data/make_seed_snapshot.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.loaders.corpus import parse_text, read_manifest, read_text
from fundgraph.loaders.layout import HINTS, parse_with_layout
from fundgraph.loaders.parsers import split_lines

ENTRIES = read_manifest(MANIFEST_PATH)
SNAPSHOT = json.loads((Path(__file__).resolve().parents[1] / "data" / "seed_snapshot.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=ENTRIES, ids=[e.id for e in ENTRIES])
def pair(request):
    entry = request.param
    text, _ = read_text(GUIDELINES_DIR / entry.file)
    auto = parse_text(text, file=entry.file, program=entry.program().model_copy(update={"profile": "auto"}))
    return entry, SNAPSHOT[entry.id], auto


def test_snapshot_covers_the_manifest():
    assert sorted(SNAPSHOT) == sorted(e.id for e in ENTRIES)
    assert sum(len(s["directions"]) for s in SNAPSHOT.values()) == 124


def test_same_directions_field_by_field(pair):
    _entry, want, auto = pair
    assert [d.id for d in auto.directions] == [d["id"] for d in want["directions"]]
    for wanted, got in zip(want["directions"], auto.directions, strict=True):
        got_fields = got.model_dump(mode="json")
        assert set(got_fields) == set(wanted), wanted["id"]
        for name, value in wanted.items():
            assert got_fields[name] == value, (wanted["id"], name)


def test_same_sections_and_warnings(pair):
    _entry, want, auto = pair
    assert [s.model_dump(mode="json") for s in auto.sections] == want["sections"]
    assert auto.warnings == want["warnings"]


def test_layout_hint_set_parses_like_the_snapshot(pair):
    """Each seed read with the hint set named after its layout (its profile until now) gives the snapshot too."""
    entry, want, _auto = pair
    text, _ = read_text(GUIDELINES_DIR / entry.file)
    assert want["profile"] in HINTS
    doc = parse_text(text, file=entry.file, program=entry.program().model_copy(update={"profile": want["profile"]}))
    assert [d.model_dump(mode="json") for d in doc.directions] == want["directions"]
    assert [s.model_dump(mode="json") for s in doc.sections] == want["sections"]


def test_manifest_needs_no_hint():
    assert {e.profile for e in ENTRIES} == {"auto"}


def test_manifest_profile_parses_like_the_snapshot(pair):
    """The manifest's own ``profile:`` (auto, or a hint set) gives the snapshot too: what `fundgraph build` uses."""
    entry, want, _auto = pair
    text, _ = read_text(GUIDELINES_DIR / entry.file)
    doc = parse_text(text, file=entry.file, program=entry.program())
    assert [d.model_dump(mode="json") for d in doc.directions] == want["directions"]
    assert doc.warnings == want["warnings"]


def test_total_is_124():
    total = 0
    for entry in ENTRIES:
        text, _ = read_text(GUIDELINES_DIR / entry.file)
        total += len(
            parse_text(text, file=entry.file, program=entry.program().model_copy(update={"profile": "auto"})).directions
        )
    assert total == 124


@pytest.mark.parametrize(
    ("program_id", "heading", "roles"),
    [
        ("nsfc-tianyuan-sz-2023", "资助研究方向", [("direction", "cn_paren", 14)]),
        ("most-btit-2024", None, [("category", "line", 3), ("direction", "ar_dot", 15)]),
        ("most-stic-joint", "领域和方向", [("section", "ar_dot", 8), ("direction", "ar_dotted", 55)]),
        ("most-btit-2021", None, [("section", "ar_dot", 3), ("direction", "ar_dotted", 16)]),
        (
            "gd-imaging-2026",
            "申报方向和要求",
            [("section", "keyword", 5), ("category", "line", 9), ("direction", "ar_dot", 24)],
        ),
    ],
)
def test_layout_says_what_was_inferred(program_id, heading, roles):
    entry = next(e for e in ENTRIES if e.id == program_id)
    text, _ = read_text(GUIDELINES_DIR / entry.file)
    _res, layout = parse_with_layout(text, split_lines(text))
    assert layout.heading == heading
    assert [(lv.role, lv.scheme, lv.count) for lv in layout.levels] == roles
    assert layout.overview_table == (program_id == "gd-imaging-2026")


def test_parsed_document_carries_its_layout(pair):
    entry, _want, auto = pair
    text, _ = read_text(GUIDELINES_DIR / entry.file)
    _res, layout = parse_with_layout(text)
    assert auto.layout == layout  # what parse_with_layout returns beside the drafts, on the record
    assert auto.layout.levels[-1].role == "direction"
    assert auto.layout.levels[-1].count == len(auto.directions)
