"""The same document re-wrapped, or with full-width punctuation and digits made ASCII, parses the same."""

from __future__ import annotations

import pytest
from loader_variants import comparable, drop_blank_lines, join_paragraph_lines, split_long_lines, to_ascii

from fundgraph.loaders.corpus import parse_text

PROGRAMS = ["nsfc-tianyuan-sz-2023", "most-btit-2024", "most-stic-joint", "most-btit-2021", "gd-imaging-2026"]

VARIANTS = {
    # widths below ~10 characters would split the labels and headings themselves, which no layout does
    "split_lines_11": lambda t: split_long_lines(t, 11),
    "split_lines_17": split_long_lines,
    "split_lines_29": lambda t: split_long_lines(t, 29),
    "joined_paragraphs": join_paragraph_lines,
    "no_blank_lines": drop_blank_lines,
    "ascii_punctuation": to_ascii,
    "crlf_line_endings": lambda t: t.replace("\n", "\r\n"),
    "everything": lambda t: to_ascii(join_paragraph_lines(split_long_lines(drop_blank_lines(t)))),
}


@pytest.mark.parametrize("program_id", PROGRAMS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_parses_to_the_same_directions(by_program, entries, texts, program_id, variant):
    entry = next(e for e in entries if e.id == program_id)
    original = texts[program_id]
    changed = VARIANTS[variant](original)
    assert changed != original  # the transformation really changed the file
    doc = parse_text(changed, file=entry.file, program=entry.program())
    base = by_program[program_id]
    assert len(doc.directions) == len(base.directions)
    assert [comparable(d) for d in doc.directions] == [comparable(d) for d in base.directions]
    assert [(s.id, s.kind) for s in doc.sections] == [(s.id, s.kind) for s in base.sections]


def test_variants_really_differ_in_layout_and_width(texts):
    t = texts["most-btit-2024"]
    assert t.count("\n") > 2 * join_paragraph_lines(t).count("\n")
    assert split_long_lines(t).count("\n") > t.count("\n") * 1.3
    ascii_text = to_ascii(texts["nsfc-tianyuan-sz-2023"])
    assert (
        "(十一)" not in ascii_text
        and "(十—)" in ascii_text
        and "（" not in ascii_text
        and "：" not in ascii_text
    )


def test_ascii_titles_keep_ascii_characters(by_program, entries, texts):
    entry = entries[0]
    doc = parse_text(to_ascii(texts[entry.id]), file=entry.file, program=entry.program())
    assert [d.code for d in doc.directions] == [d.code for d in by_program[entry.id].directions]
    assert doc.directions[10].code == "（十一）"  # codes are canonical, whatever the width of the source
    d = next(
        d
        for d in parse_text(
            to_ascii(texts["gd-imaging-2026"]), file="x.txt", program=entries[4].program()
        ).directions
        if d.code == "YXA0404"
    )
    assert (
        d.title == "基于数字减影血管造影(DSA)的肝静脉闭塞精准诊疗及预后预测研究"
    )  # the file's own characters


def test_locate_after_parsing_a_variant_of_the_same_file(by_program, entries, texts):
    """Parsing a re-formatted copy under the same file name must not break locate() for the original."""
    from fundgraph.loaders.corpus import field_source_text, keyword_spans, locate

    entry = next(e for e in entries if e.id == "most-stic-joint")
    variant = parse_text(
        to_ascii(texts[entry.id]).replace("\n", "\r\n"), file=entry.file, program=entry.program()
    )
    original = by_program[entry.id]
    for d, v in zip(original.directions, variant.directions, strict=True):
        assert locate(d, "content", 0, 5) == locate(d, "content", 0, 5, text=texts[entry.id])
        assert field_source_text(d, "keywords") == field_source_text(d, "keywords", text=texts[entry.id])
        assert keyword_spans(d) == keyword_spans(d, text=texts[entry.id])
        # and the variant's own directions are located in the variant's text
        a, b = locate(v, "title", 0, len(v.title))
        assert (a, b) == (v.field_spans["title"].start, v.field_spans["title"].end)
        # a copy (e.g. read back from JSON) is matched to the right text by its fields
        copy = type(d).model_validate_json(d.model_dump_json())
        assert locate(copy, "content", 0, 5) == locate(d, "content", 0, 5, text=texts[entry.id])
