"""The per-document build cache and the process pool: what a rebuild re-parses, and that results do not move."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fundgraph.core.paths import MANIFEST_PATH, VOCAB_DIR
from fundgraph.core.settings import Settings
from fundgraph.graph.build.cache import KeywordCounts
from fundgraph.graph.build.pipeline import build_graph, extract_corpus
from fundgraph.loaders.keywords import KeywordStats
from fundgraph.loaders.vocab import load_vocabularies

#: The document edited below, and a direction of it that has no 关键词 (its keywords are extracted).
EDITED = "nsfc-tianyuan-sz-2023"
EDITED_DIRECTION = "nsfc-tianyuan-sz-2023:1"
NEW_WORDS = "，并构建睡眠纺锤波图谱"


def _graph_rows(built) -> list[str]:
    g = built.graph
    nodes = [json.dumps([n, d], sort_keys=True, ensure_ascii=False, default=repr) for n, d in g.nodes(data=True)]
    edges = [json.dumps([u, v, k, d], sort_keys=True, ensure_ascii=False, default=repr)
             for u, v, k, d in g.edges(keys=True, data=True)]
    return nodes + edges  # in insertion order: the order matters to exports


@pytest.fixture()
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus (manifest + guidelines)."""
    out = tmp_path / "corpus"
    shutil.copytree(MANIFEST_PATH.parent / "guidelines", out / "guidelines")
    shutil.copy(MANIFEST_PATH, out / "manifest.yaml")
    return out


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(VOCAB_DIR)


def _settings(corpus_dir: Path, tmp_path: Path, **kw) -> Settings:
    return Settings(manifest=corpus_dir / "manifest.yaml", home=tmp_path / "home", store="embedded",
                    encoder="lexical", **kw)


def _edit(corpus_dir: Path) -> str:
    """Append words to the content of EDITED_DIRECTION's document; returns the file's name."""
    from fundgraph.loaders.corpus import read_manifest

    entry = next(e for e in read_manifest(corpus_dir / "manifest.yaml") if e.id == EDITED)
    path = corpus_dir / "guidelines" / entry.file
    text = path.read_text(encoding="utf-8")
    anchor = "推广上述结果到非线性情形"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + NEW_WORDS, 1), encoding="utf-8")
    return entry.file


def test_rebuild_reads_every_document_from_the_cache_and_gives_the_same_graph(corpus_dir, tmp_path, corpus_built,
                                                                               vocab):
    settings = _settings(corpus_dir, tmp_path)
    cold = build_graph(settings)
    assert cold.meta["documents"]["cache_hits"] == 0
    assert len(cold.meta["documents"]["parsed"]) == 5
    warm = build_graph(settings)
    report = warm.meta["documents"]
    assert report["cache_hits"] == report["documents"] == 5
    assert report["parsed"] == [] and report["keyword_documents_counted"] == 0
    assert report["keyword_choices_reused"] == 5
    assert report["cpu"] == {"parse_s": 0.0, "entities_s": 0.0, "keywords_s": 0.0}
    assert _graph_rows(warm) == _graph_rows(cold) == _graph_rows(corpus_built)
    differ = warm.vectors != corpus_built.vectors  # sparse (lexical) or dense vectors
    assert (differ.nnz if hasattr(differ, "nnz") else differ.sum()) == 0
    full = extract_corpus(settings, vocab, full=True)
    assert full.report["cache_hits"] == 0 and len(full.report["parsed"]) == 5
    assert full.report["keyword_documents_counted"] == 5


def test_a_changed_document_alone_is_reparsed_and_the_result_equals_a_full_extraction(corpus_dir, tmp_path, vocab):
    settings = _settings(corpus_dir, tmp_path)
    before = extract_corpus(settings, vocab)
    _edit(corpus_dir)
    after = extract_corpus(settings, vocab)
    assert after.report["parsed"] == [EDITED]
    assert after.report["cache_hits"] == 4
    # The new terms of the edited document were counted in the other documents' cached texts, not re-parsed.
    assert after.report["keyword_documents_counted"] == 5
    fresh = extract_corpus(_settings(corpus_dir, tmp_path, build_cache=False), vocab)
    assert [d.model_dump() for d in after.docs] == [d.model_dump() for d in fresh.docs]
    assert after.extracts == fresh.extracts
    # keywords chosen by the previous build are reused where the statistics they depend on did not move
    assert after.keywords == fresh.keywords
    assert 1 <= after.report["keyword_choices_reused"] <= 4
    terms = set().union(*(x.terms() for x in fresh.extracts))
    assert {t: after.stats.df(t) for t in terms} == {t: fresh.stats.df(t) for t in terms}
    assert after.stats.n == fresh.stats.n == 124
    edited = next(d for doc in after.docs for d in doc.directions if d.id == EDITED_DIRECTION)
    assert NEW_WORDS in (edited.content or "")
    assert before.extracts != after.extracts


def test_a_vocabulary_change_invalidates_every_entry(corpus_dir, tmp_path, vocab):
    settings = _settings(corpus_dir, tmp_path)
    extract_corpus(settings, vocab)
    vocab_dir = tmp_path / "vocab"
    shutil.copytree(VOCAB_DIR, vocab_dir)
    glossary = vocab_dir / "keywords_en.csv"
    glossary.write_text(glossary.read_text(encoding="utf-8") + "睡眠纺锤波图谱,sleep spindle atlas\n", encoding="utf-8")
    changed = settings.model_copy(update={"vocab_dir": vocab_dir})
    again = extract_corpus(changed, load_vocabularies(vocab_dir))
    assert again.report["cache_hits"] == 0 and len(again.report["parsed"]) == 5


def test_parallel_extraction_equals_serial_in_manifest_order(corpus_dir, tmp_path, vocab):
    serial = extract_corpus(_settings(corpus_dir, tmp_path, build_cache=False, build_workers=1), vocab)
    parallel = extract_corpus(_settings(corpus_dir, tmp_path, build_cache=False, build_workers=2,
                                        build_parallel_min_bytes=0), vocab)
    assert serial.report["workers"] == 1 and parallel.report["workers"] == 2
    assert [d.program.id for d in parallel.docs] == [d.program.id for d in serial.docs]
    assert [d.model_dump() for d in parallel.docs] == [d.model_dump() for d in serial.docs]
    assert parallel.extracts == serial.extracts
    # the pool is not started below the size where it pays
    small = extract_corpus(_settings(corpus_dir, tmp_path, build_cache=False, build_workers=2), vocab)
    assert small.report["workers"] == 1


def test_keyword_counts_sum_per_document_counts_and_count_only_new_terms():
    counts = KeywordCounts()
    docs = [("a", ["大模型影像", "影像组学"]), ("b", ["脑电大模型"])]
    assert counts.frequencies(docs, {"大模型", "影像"}) == {"大模型": 2, "影像": 2}
    assert counts.counted == 2
    assert counts.frequencies(docs, {"大模型", "影像"}) == {"大模型": 2, "影像": 2}
    assert counts.counted == 0
    # a new term is counted in the cached texts of both documents; a document gone is forgotten
    assert counts.frequencies(docs[:1], {"组学", "大模型"}) == {"组学": 1, "大模型": 1}
    assert counts.counted == 1 and set(counts.docs) == {"a"}
    stats = KeywordStats.from_counts(2, {"大模型": 2})
    assert stats.df("大模型") == 2 and stats.df("其他") == 0


def test_cli_build_full_ignores_the_cache(tmp_path):
    from typer.testing import CliRunner

    from fundgraph.cli import app
    from fundgraph.core.settings import get_settings
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    extra = Path(__file__).resolve().parents[1] / "data" / "loaders" / "extra" / "manifest.yaml"
    env = {"FUNDGRAPH_HOME": str(tmp_path / "home"), "FUNDGRAPH_STORE": "embedded", "FUNDGRAPH_ENCODER": "lexical",
           "FUNDGRAPH_MANIFEST": str(extra)}
    reports = []
    for args in (["build"], ["build"], ["build", "--full"]):
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, args, env=env)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        reports.append(EmbeddedStore(tmp_path / "home").load().meta["documents"])
    assert [(r["cache_hits"], r["parsed"]) for r in reports] == [
        (0, ["test-new-markdown"]), (1, []), (0, ["test-new-markdown"])]
    assert (tmp_path / "home" / "cache" / "documents").is_dir()


def test_a_document_that_does_not_parse_fails_the_same_way_in_the_pool(corpus_dir, tmp_path, vocab):
    from fundgraph.core.errors import GuidelineParseError

    bad = next((corpus_dir / "guidelines").glob("003_*.txt"))
    bad.write_text("这份文件只有一句话，没有任何研究方向。\n", encoding="utf-8")
    messages = []
    for workers in (1, 2):
        settings = _settings(corpus_dir, tmp_path, build_workers=workers, build_parallel_min_bytes=0)
        with pytest.raises(GuidelineParseError) as err:
            extract_corpus(settings, vocab)
        assert err.value.path == bad.name
        messages.append(err.value.message)
    assert messages[0] == messages[1] and "no research direction found" in messages[0]


def test_without_strict_a_bad_document_is_left_out_the_same_way_in_the_pool(corpus_dir, tmp_path, vocab):
    bad = next((corpus_dir / "guidelines").glob("003_*.txt"))
    bad.write_text("这份文件只有一句话，没有任何研究方向。\n", encoding="utf-8")
    runs = []
    for workers in (1, 2):
        settings = _settings(corpus_dir, tmp_path / f"w{workers}", build_workers=workers, build_parallel_min_bytes=0)
        runs.append(extract_corpus(settings, vocab, strict=False))
    serial, parallel = runs
    assert serial.report["workers"] == 1 and parallel.report["workers"] == 2
    [left] = serial.left_out
    assert parallel.left_out == serial.left_out
    assert left.file == bad.name and left.code == "guideline_parse_error" and "no research direction" in left.reason
    assert [d.program.id for d in parallel.docs] == [d.program.id for d in serial.docs]
    assert left.program_id not in [d.program.id for d in serial.docs] and len(serial.docs) == 4
    assert parallel.extracts == serial.extracts
    # a bad document is never cached: the next build tries it again and leaves it out again
    again = extract_corpus(_settings(corpus_dir, tmp_path / "w1", build_workers=1), vocab, strict=False)
    assert again.report["cache_hits"] == 4 and again.report["parsed"] == [] and again.left_out == serial.left_out


def test_every_manifest_is_cached_in_its_own_directory_and_two_corpora_do_not_collide(corpus_dir, tmp_path, vocab):
    from fundgraph.loaders.corpus import read_manifest

    # a user corpus holding the same bytes as a bundled document under another program id
    entry = next(e for e in read_manifest(corpus_dir / "manifest.yaml") if e.id == EDITED)
    user = tmp_path / "user"
    (user / "guidelines").mkdir(parents=True)
    shutil.copy(corpus_dir / "guidelines" / entry.file, user / "guidelines" / entry.file)
    copy = entry.model_copy(update={"id": "my-copy-of-tianyuan"})
    (user / "manifest.yaml").write_text(json.dumps({"documents": [copy.model_dump()]}, ensure_ascii=False),
                                        encoding="utf-8")
    settings = _settings(corpus_dir, tmp_path)
    manifests = [corpus_dir / "manifest.yaml", user / "manifest.yaml"]
    cold = extract_corpus(settings, vocab, manifests=manifests)
    assert cold.report["documents"] == 6 and cold.report["parsed"][-1] == "my-copy-of-tianyuan"
    warm = extract_corpus(settings, vocab, manifests=manifests)
    assert warm.report["cache_hits"] == 6 and warm.report["parsed"] == []
    assert [d.program.id for d in warm.docs] == [d.program.id for d in cold.docs]
    assert warm.docs[-1].program.id == "my-copy-of-tianyuan"
    assert {d.id.split(":")[0] for d in warm.docs[-1].directions} == {"my-copy-of-tianyuan"}
    assert warm.keywords == cold.keywords
    assert len(list((tmp_path / "home" / "cache" / "documents").glob("*.pkl"))) == 6


def test_cli_full_strict_and_no_bundled_together(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from fundgraph.cli import app
    from fundgraph.core.settings import get_settings
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    user = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "loaders" / "extra", user)
    manifest = yaml.safe_load((user / "manifest.yaml").read_text(encoding="utf-8"))
    manifest["documents"].append({**manifest["documents"][0], "id": "broken", "file": "broken.txt"})
    (user / "guidelines" / "broken.txt").write_text("只有一句话的通知。\n", encoding="utf-8")
    (user / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    env = {"FUNDGRAPH_HOME": str(tmp_path / "home"), "FUNDGRAPH_STORE": "embedded", "FUNDGRAPH_ENCODER": "lexical",
           "FUNDGRAPH_CORPUS_DIR": str(user)}
    reports = []
    for args in ([], [], ["--full"]):
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, ["build", "--no-bundled", *args], env=env)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert "1 document(s) left out" in result.stderr and "broken.txt" in result.stderr
        meta = EmbeddedStore(tmp_path / "home").load().meta
        assert meta["programs"] == ["test-new-markdown"]
        assert [lo["program_id"] for lo in meta["left_out"]] == ["broken"]
        reports.append((meta["documents"]["cache_hits"], meta["documents"]["parsed"]))
    assert reports == [(0, ["test-new-markdown"]), (1, []), (0, ["test-new-markdown"])]
    get_settings.cache_clear()
    try:
        strict = CliRunner().invoke(app, ["build", "--no-bundled", "--full", "--strict"], env=env)
    finally:
        get_settings.cache_clear()
    assert strict.exit_code == 2 and "broken.txt" in strict.stderr and "Traceback" not in strict.output
