"""Build steps run in a forked process beside the build (encoder, Louvain) give the graph a serial build gives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import fundgraph.graph.build.similarity as similarity
from fundgraph.core.paths import MANIFEST_PATH
from fundgraph.core.settings import Settings
from fundgraph.graph.build.background import Background
from fundgraph.graph.build.pipeline import build_graph


def _rows(built) -> list[str]:
    g = built.graph
    nodes = [json.dumps([n, d], sort_keys=True, ensure_ascii=False, default=repr) for n, d in g.nodes(data=True)]
    edges = [json.dumps([u, v, k, d], sort_keys=True, ensure_ascii=False, default=repr)
             for u, v, k, d in g.edges(keys=True, data=True)]
    return nodes + edges


def _build(tmp_path: Path, name: str, workers: int):
    settings = Settings(manifest=MANIFEST_PATH, home=tmp_path / name, cache_dir=tmp_path / name / "cache",
                        store="embedded", encoder="lexical", build_workers=workers)
    return build_graph(settings, full=True)


def test_background_steps_give_the_serial_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = _build(tmp_path, "serial", workers=1)  # one process: every step inline
    monkeypatch.setattr(similarity, "BACKGROUND_MIN_DIRECTIONS", 0)  # the bundled corpus is small: fork anyway
    used: list[bool] = []
    encode = similarity.encode_directions

    def spy(*args, early=None, **kwargs):
        out = encode(*args, early=early, **kwargs)
        used.append(early is not None and out[1] is early.vectors)
        return out

    monkeypatch.setattr(similarity, "encode_directions", spy)
    forked = _build(tmp_path, "forked", workers=2)
    assert used == [True]  # the early encoding was made (its lexicon is the entity layer's) and used
    assert _rows(forked) == _rows(serial)
    assert forked.direction_ids == serial.direction_ids
    assert (forked.vectors != serial.vectors).nnz == 0
    assert forked.encoder_state == serial.encoder_state
    assert sum(1 for *_e, d in forked.graph.edges(data=True) if d["type"] == "CONTINUES") > 0
    assert sum(1 for _n, d in forked.graph.nodes(data=True) if d.get("label") == "Community") > 0


def test_background_result_and_errors() -> None:
    job = Background(lambda: np.arange(5).tolist(), parallel=True)
    assert job.result() == [0, 1, 2, 3, 4]
    assert Background(lambda: "inline", parallel=False).result() == "inline"

    def fails() -> None:
        raise ValueError("in the step")

    with pytest.raises(ValueError, match="in the step"):
        Background(fails, parallel=True).result()


def test_the_forked_process_ends_once_its_result_is_sent() -> None:
    # Not kept waiting for result(): while it lives, every page the build writes is held twice.
    job = Background(lambda: {"ids": list(range(1000))}, parallel=True)
    deadline = time.monotonic() + 30
    while job._process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not job._process.is_alive()
    assert job.result() == {"ids": list(range(1000))}


def test_a_fresh_step_runs_in_a_new_interpreter() -> None:
    # The early encoding's way: the step is pickled to a new interpreter that shares no pages with this one.
    assert Background(partial(os.getpid), parallel=True, fresh=True).result() != os.getpid()
    assert Background(partial(sorted, [3, 1, 2]), parallel=True, fresh=True).result() == [1, 2, 3]
    with pytest.raises(ValueError, match="invalid literal"):
        Background(partial(int, "x"), parallel=True, fresh=True).result()
    here = os.getpid()
    assert Background(lambda: os.getpid(), parallel=True, fresh=True).result() == here  # no pickle: run here


def test_a_fresh_step_does_not_run_the_callers_script_again(tmp_path: Path) -> None:
    # A user's script without a main guard (multiprocessing's spawn would run its top level again in the child).
    script = tmp_path / "user_script.py"
    script.write_text(
        "import functools, os\n"
        "from fundgraph.graph.build.background import Background\n"
        "print('top level', flush=True)\n"
        "print('other process:', Background(functools.partial(os.getpid), parallel=True, fresh=True).result()"
        " != os.getpid())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.splitlines() == ["top level", "other process: True"]
    assert out.stderr == ""


def test_a_step_whose_process_dies_runs_here() -> None:
    parent = os.getpid()

    def step() -> str:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer would
        return f"ran in {os.getpid()}"

    assert Background(step, parallel=True).result() == f"ran in {parent}"


@pytest.mark.parametrize("forked_rows", [10_000, 17])  # the forked half at once; in four forks, one by one
@pytest.mark.parametrize("exact_max", [None, 40])  # every pair scored; candidates from the neighbour index
def test_ranking_in_two_processes_gives_one_pass_lists(tmp_path: Path, exact_max: int | None, forked_rows: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from fundgraph.embeddings.topk import Selection, top_k_all

    built = _build(tmp_path, "serial", workers=1)
    cands, _, _ = built.candidates
    config = similarity.ScoringConfig()
    selections = [Selection(5, 0.2, cross_group=True), Selection(5, 0.1, explain=False)]
    one = top_k_all(cands, config, selections, exact_max=exact_max)
    monkeypatch.setattr(similarity, "FORKED_ROWS", forked_rows)
    forks: list[int] = []
    started = similarity.Background.__init__

    def counted(self, step, *, parallel, fresh=False):  # type: ignore[no-untyped-def]
        started(self, step, parallel=parallel, fresh=fresh)
        forks.append(self._process.pid)

    monkeypatch.setattr(similarity.Background, "__init__", counted)
    two = similarity.ranked_in_parts(cands, config, selections, exact_max=exact_max, forked=True)
    assert two == one
    assert len(set(forks)) == -(-(len(cands.ids) - len(cands.ids) // 2) // forked_rows)  # one process per part
    assert sum(len(x) for x in one[0]) > 50 and sum(len(x) for x in one[1]) > sum(len(x) for x in one[0])


def test_lineage_reads_the_profiles_it_is_given_as_it_makes_its_own() -> None:
    # the build makes every row's profile once, before lineage's fork and the ranking's, and hands them to both
    from fundgraph.core.settings import Settings
    from fundgraph.embeddings.similarity import idf_profile
    from fundgraph.evaluation.similarity import build_entity_graph

    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, encoder, _lex, config = similarity.encode_directions(g, docs, settings=settings)
    cands = similarity.candidates_from_graph(g, ids, vectors, config)
    rule = similarity.lineage_rule(settings, encoder)
    own = similarity.find_continues(docs, cands, config, encoder, rule)
    given = similarity.find_continues(docs, cands, config, encoder, rule,
                                      profiles=[idf_profile(e, cands.idf) for e in cands.entities])
    assert given == own and len(own) >= 3


def test_lineage_in_parts_gives_the_whole_lists_links(monkeypatch: pytest.MonkeyPatch) -> None:
    # the build links editions in parts, each in a fork of its own, one after another (memory: one part at a time)
    from fundgraph.core.settings import Settings
    from fundgraph.evaluation.similarity import build_entity_graph
    from fundgraph.graph.build import background

    settings = Settings(encoder="lexical")
    g, docs = build_entity_graph(settings)
    ids, vectors, encoder, _lex, config = similarity.encode_directions(g, docs, settings=settings)
    cands = similarity.candidates_from_graph(g, ids, vectors, config)
    rule = similarity.lineage_rule(settings, encoder)
    [(earlier, later)] = similarity.series_editions(docs)  # the bundled corpus has one series of two editions
    assert similarity.find_continues(docs, cands, config, encoder, rule) == similarity.find_continues(
        docs, cands, config, encoder, rule, pairs=[(earlier, later)])
    pairs = [(earlier, later), (later, earlier)]  # and its links read the other way, as a second pair
    whole = similarity.find_continues(docs, cands, config, encoder, rule, pairs=pairs)
    parts = similarity.edition_parts(pairs, 1)
    assert len(parts) == 2 and [p for part in parts for p in part] == pairs
    assert similarity.edition_parts(pairs, 10**6) == [pairs]
    forks: list[int] = []
    started = background.Background.__init__

    def counted(self, step, *, parallel, fresh=False):  # type: ignore[no-untyped-def]
        started(self, step, parallel=parallel, fresh=fresh)
        if self._process is not None:
            forks.append(self._process.pid)

    monkeypatch.setattr(background.Background, "__init__", counted)
    steps = [partial(similarity.find_continues, docs, cands, config, encoder, rule, pairs=part) for part in parts]
    turns = background.InTurn(steps, parallel=True)  # the first part starts now
    assert len(forks) == 1
    while len(forks) < len(parts):  # the build polls between its own steps: the next starts once one is in
        time.sleep(0.05)
        turns.poll()
    found = turns.results()
    assert [c for made in found for c in made] == whole and len(whole) >= 3
    assert len(set(forks)) == len(parts)  # one process per part
    inline = background.InTurn(steps, parallel=False)
    inline.poll()
    assert [c for made in inline.results() for c in made] == whole and len(forks) == len(parts)  # none forked


def test_similarity_graph_has_each_pair_once_at_its_larger_score_in_the_order_met() -> None:
    # Louvain visits vertices and edges in this order: the same order, the same communities
    from types import SimpleNamespace

    from fundgraph.embeddings.scoring import Neighbour

    ids = ["a", "b", "c", "d"]
    cands = SimpleNamespace(ids=ids, index={d: i for i, d in enumerate(ids)})

    def n(d: str, score: float) -> Neighbour:
        return Neighbour(cands.index[d], d, "p", score)

    ranked = [[n("c", 0.5), n("b", 0.25)], [n("a", 0.75)], [n("a", 0.5), n("d", 0.125)], []]
    g = similarity.similarity_graph(cands, similarity.ScoringConfig(), top_k=5, threshold=0.0, ranked=ranked)
    assert g.vcount() == 4
    assert g.get_edgelist() == [(0, 2), (0, 1), (2, 3)]
    assert g.es["weight"] == [0.5, 0.75, 0.125]
    empty = similarity.similarity_graph(cands, similarity.ScoringConfig(), top_k=5, threshold=0.0,
                                        ranked=[[], [], [], []])
    assert empty.vcount() == 4 and empty.ecount() == 0
