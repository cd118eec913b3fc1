"""`fundgraph add` (incremental) against a full rebuild of the same corpus: equal where the rules say, bounded
elsewhere.

The bundled corpus (124 directions) is built, the invented 30-direction guideline added with the CLI, and the
same corpus built from nothing in a second home. Adding 24 % of the corpus is far past the drift bound (10 %),
so the difference is the largest this rule allows in practice. benchmarks/add_one.py at 20,000 directions
(+0.15 %, the full build's lists from the nearest-neighbour index): Jaccard 0.979 (0.852 from the new directions,
whose lists are exact), mean list Jaccard 0.985, score difference ≤ 0.0075, nodes and MENTIONS equal.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fundgraph import service
from fundgraph.cli import app
from fundgraph.core.settings import Settings, get_settings
from fundgraph.graph.build.incremental import compare_graphs
from fundgraph.graph.model import Rel
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.invented_guideline import DIRECTIONS, write_guideline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("incr-vs-full")
    env = {"FUNDGRAPH_HOME": str(root / "a"), "FUNDGRAPH_STORE": "embedded", "FUNDGRAPH_ENCODER": "lexical",
           "FUNDGRAPH_CACHE_DIR": str(root / "cache")}
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["build"], env=env).exit_code == 0
        added = runner.invoke(app, ["add", str(write_guideline(root / "chengchuan_2027.txt"))], env=env)
    finally:
        get_settings.cache_clear()
    assert added.exit_code == 0, added.output
    full = Settings(home=root / "b", store="embedded", encoder="lexical", cache_dir=root / "cache",
                    corpus_dir=root / "a" / "corpus")
    service.build(full)
    return EmbeddedStore(root / "a").load(), EmbeddedStore(root / "b").load(), added.output


def test_the_add_was_incremental_and_timed(both):
    _, _, output = both
    assert "+30 directions of chengchuan-2027" in output and "updated incrementally: read" in output
    assert "run `fundgraph build --full`" in output  # 24 % added: past the drift bound


def test_new_nodes_and_mentions_equal_a_full_build(both):
    inc, full, _ = both
    new = [d for d in full.direction_ids if d.startswith("chengchuan-2027:")]
    assert len(new) == 30 and [d for d in inc.direction_ids if d.startswith("chengchuan-2027:")] == new
    diff = compare_graphs(inc.graph, full.graph, new)
    assert diff["new_nodes_equal"]
    common = union = 0
    for d, (_title, _content, _metrics, keywords) in zip(new, DIRECTIONS, strict=True):
        def mentions(g, d=d):
            return {(v, k) for _, v, k, e in g.out_edges(d, keys=True, data=True) if e["type"] == Rel.MENTIONS.value}
        a, b = mentions(inc.graph), mentions(full.graph)
        assert {m for m in a if not m[0].startswith("keyword:")} == {m for m in b if not m[0].startswith("keyword:")}
        if keywords:  # 关键词 given: every mention equal
            assert a == b, d
        else:  # keywords chosen against corpus statistics: a term no earlier document had counts here only
            common, union = common + len(a & b), union + len(a | b)
    # Measured: 38 of 45 (0.84) of the six chosen-keyword directions' keyword mentions shared with the full build.
    print(f"chosen keywords shared: {common}/{union}")
    assert union and common / union >= 0.7


def test_similar_edges_are_within_the_stated_bound(both):
    inc, full, _ = both
    new = [d for d in full.direction_ids if d.startswith("chengchuan-2027:")]
    diff = compare_graphs(inc.graph, full.graph, new)
    print(diff)
    # Measured with the character 1-2 gram encoder (session 8): Jaccard 0.87 overall, 0.83 from the new
    # directions (183 edges against the rebuild's 165: pairs near the cut), mean score difference 0.014 (max 0.056):
    # the frozen vocabulary and IDF of 124 directions against those refitted on 154. (Jieba words: 0.93 / 0.93.)
    # Session 9's raw character features keep every feature (min_df 1), so the rebuild also has the new directions'
    # own features, which the frozen vocabulary drops: Jaccard 0.84 overall, 0.80 from the new directions (194
    # edges against 172), mean list Jaccard 0.79 (0.87 before), score difference mean 0.018 (max 0.071).
    # Term weights refitted on 1,191 graded pairs (session 12, α 5, entity gate 0.3): 0.83 overall, 0.72 from the new
    # directions (199 edges against 171), mean list Jaccard 0.77, score difference mean 0.016 (max 0.048).
    # The point chosen with the word mix (session 24: α 10, entity gate 0.3; the mix itself moves no edge): 0.79
    # overall, 0.68 from the new directions (193 edges against 161), mean list Jaccard 0.74, score difference mean
    # 0.020 (max 0.080).
    assert diff["similar_jaccard"] >= 0.75 and diff["similar_jaccard_from_new"] >= 0.65
    assert diff["list_jaccard_mean"] >= 0.7
    assert diff["score_diff_mean"] <= 0.03 and diff["score_diff_max"] <= 0.12
