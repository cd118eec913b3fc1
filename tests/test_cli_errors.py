"""CLI errors a newcomer reads: `fundgraph parse` names the file and the line, `fundgraph export` the formats.

The bad documents are written here, in our own words (no guideline text).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.settings import get_settings
from fundgraph.graph.formats.registry import FORMATS

runner = CliRunner()


def invoke(args: list[str], home: Path):
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args, env={"FUNDGRAPH_HOME": str(home), "FUNDGRAPH_ENCODER": "lexical"})
    finally:
        get_settings.cache_clear()


BAD = {
    # name: (bytes, the line the error must name, words of the reason)
    "empty.txt": (b"", 1, "empty file"),
    "blank.txt": (b"\n  \n\t\n", 1, "empty file"),
    "no_directions.txt": ("一份通知\n请各单位按时提交材料。\n联系人：办公室\n".encode(), 3, "no research direction"),
    "heading_only.txt": ("某某专项申报指南\n\n研究方向\n本年度不设具体方向，欢迎自由申报。\n".encode(), 4,
                         "no research direction"),
    "control.txt": ("第一行文字\n第二行".encode() + bytes(range(1, 9)) * 4 + b"\n", 2, "binary file"),
    "undecodable.txt": ("第一行\n第二行\n".encode() + bytes([0x81, 0xFF, 0xFE, 0x80]) * 40 + b"\n", 3, "not text"),
}


@pytest.mark.parametrize("name", list(BAD))
@pytest.mark.parametrize("like", [None, "most-btit-2024"])
def test_parse_errors_name_the_file_and_the_line(tmp_path, name, like):
    data, line, reason = BAD[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = invoke(["parse", str(path), *(["--like", like] if like else [])], tmp_path / "home")
    assert result.exit_code == 2, result.output
    m = re.search(rf"{re.escape(name)}:(\d+): ", result.output)
    assert m, result.output
    assert int(m.group(1)) == line, result.output
    assert reason in result.output


@pytest.mark.parametrize("bad", ["xml", "JSON", "graph-ml"])
def test_export_names_the_formats_that_exist(tmp_path, bad):
    result = invoke(["export", "--format", bad], tmp_path / "home")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert f"unknown export format '{bad}'" in out
    assert all(name in out for name in FORMATS)
    assert "Value error" not in out and "not one of" not in out


def test_parse_output_format_is_checked_plainly(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("研究方向\n1. 一个方向\n", encoding="utf-8")
    result = invoke(["parse", str(path), "--format", "xml"], tmp_path / "home")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "unknown output format 'xml'" in out and "text" in out and "json" in out
    assert "Value error" not in out
