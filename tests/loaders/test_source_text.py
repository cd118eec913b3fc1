"""A parsed direction carries the lines it came from: locate() needs no file and no process-wide state."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fundgraph.loaders import corpus
from fundgraph.loaders.corpus import field_source_text, keyword_spans, load_corpus, locate, source_region
from fundgraph.loaders.entities import file_span
from fundgraph.loaders.records import Direction, SourceSpan

ROOT = Path(__file__).resolve().parents[2]
EXTRA = ROOT / "tests" / "data" / "loaders" / "extra"


@pytest.fixture(scope="module")
def doc():
    return load_corpus(EXTRA / "manifest.yaml")[0]


@pytest.fixture(scope="module")
def file_text() -> str:
    return (EXTRA / "guidelines" / "new_fields_markdown.txt").read_text(encoding="utf-8")


def test_each_direction_carries_the_whole_lines_of_its_spans(doc, file_text):
    assert len(doc.directions) == 3
    for d in doc.directions:
        own = d.source_text
        assert own is not None
        assert file_text[own.start:own.end] == own.text
        assert own.start == 0 or file_text[own.start - 1] == "\n"
        assert own.end == len(file_text) or file_text[own.end] == "\n"
        for span in (d.source, *d.field_spans.values()):
            assert own.start <= span.start <= span.end <= own.end
        assert source_region(d) == file_text[d.source.start:d.source.end]


def test_locate_from_the_carried_text_equals_locate_in_the_file(doc, file_text):
    checked = 0
    for d in doc.directions:
        for field in d.field_spans:
            value = field_source_text(d, field)
            assert value == field_source_text(d, field, text=file_text)
            for i in range(len(value)):
                assert locate(d, field, i, i + 1) == locate(d, field, i, i + 1, text=file_text), (d.id, field, i)
            checked += 1
        assert keyword_spans(d) == keyword_spans(d, text=file_text)
    assert checked >= 10
    first = doc.directions[0]
    a, b = locate(first, "title", 0, len(first.title))
    assert (a, b) == (first.field_spans["title"].start, first.field_spans["title"].end)
    # the keyword field runs over a line break in the file: "国际合作" is found on the next line
    ((_, ka, kb),) = [s for s in keyword_spans(first) if s[0] == "国际合作"]
    assert file_text[ka:kb] == "国际合作" and file_text[:ka].endswith("；\n")


def test_a_copy_read_back_in_a_fresh_process_is_located_the_same(doc, tmp_path):
    dumped = tmp_path / "directions.json"
    dumped.write_text(json.dumps([d.model_dump(mode="json") for d in doc.directions], ensure_ascii=False),
                      encoding="utf-8")
    here = [[locate(d, f, 0, 2) for f in sorted(d.field_spans)] for d in doc.directions]
    code = (
        "import json, sys\n"
        "from fundgraph.loaders.corpus import locate\n"
        "from fundgraph.loaders.records import Direction\n"
        "ds = [Direction.model_validate(x) for x in json.load(open(sys.argv[1], encoding='utf-8'))]\n"
        "print(json.dumps([[locate(d, f, 0, 2) for f in sorted(d.field_spans)] for d in ds]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(dumped)], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[list(s) for s in row] for row in here]


def test_a_hand_made_direction_without_text_says_so_and_falls_back(doc):
    bare = doc.directions[0].model_copy(update={"source_text": None})
    with pytest.raises(KeyError, match="pass text="):
        locate(bare, "title", 0, 2)
    assert source_region(bare) is None
    span = bare.field_spans["content"]
    assert file_span(bare, "content", 0, 2) == (span.start, span.end)
    made = Direction(id="x:1", program_id="x", code="1", ordinal=1, title="某方向",
                     source=SourceSpan(file="x.txt", start=0, end=3))
    assert keyword_spans(made) == []


def test_the_corpus_module_keeps_no_state_between_parses():
    tree = ast.parse(Path(corpus.__file__).read_text(encoding="utf-8"))
    mutable = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp, ast.Call)
    assigned = [node for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                and isinstance(node.value, mutable)]
    assert assigned == [], [ast.unparse(n) for n in assigned]
