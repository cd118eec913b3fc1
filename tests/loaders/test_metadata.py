"""Program name, year, funder and status from a guideline's title lines, against the dev set's hand-written
program records and the bundled manifest."""

from __future__ import annotations

import pytest
import yaml

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH, PARSE_DEV_DIR
from fundgraph.loaders.metadata import infer_metadata
from fundgraph.loaders.readers import read_document

DEV = yaml.safe_load((PARSE_DEV_DIR / "expected.yaml").read_text(encoding="utf-8"))["documents"]
SEEDS = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))["documents"]


@pytest.mark.parametrize("doc", DEV, ids=[d["file"] for d in DEV])
def test_name_and_year_of_every_dev_document(doc):
    meta = infer_metadata(read_document(PARSE_DEV_DIR / "docs" / doc["file"]).lines)
    assert meta.name == doc["program"]["name"]
    assert meta.year == doc["program"]["year"]


def test_funders_where_the_document_states_them():
    stated = [d for d in DEV if d["program"].get("funder")]
    right = 0
    for d in stated:
        meta = infer_metadata(read_document(PARSE_DEV_DIR / "docs" / d["file"]).lines)
        # a department of the funder (国家自然科学基金委员会医学科学部) counts as the funder
        right += any(f.startswith(d["program"]["funder"]) for f in meta.funder)
    assert (right, len(stated)) == (23, 23)


@pytest.mark.parametrize("seed", SEEDS, ids=[s["id"] for s in SEEDS])
def test_seed_status_and_year(seed):
    meta = infer_metadata(read_document(GUIDELINES_DIR / seed["file"]).lines)
    assert meta.status == seed["status"]
    if meta.year is not None:
        assert meta.year == seed["year"]


def test_title_with_notice_wrapper_and_draft_marker():
    lines = ["当前位置：首页 > 通知公告", "关于发布2027年度某某省海洋科技专项项目申报指南的通知",
             "发布时间：2027-01-02　来源：某某省科学技术厅", "", "（征求意见稿）", "各有关单位："]
    meta = infer_metadata(lines)
    assert (meta.name, meta.year, meta.funder, meta.status) == (
        "2027年度某某省海洋科技专项项目申报指南", 2027, ["某某省科学技术厅"], "征求意见稿")
    assert meta.status_en == "draft for comments"
