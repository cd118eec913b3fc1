"""The store write of a large build encodes half the edges in a forked process: the files are those one process
writes, byte for byte, and where fork is unavailable the same files come from one process."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

import fundgraph.graph.stores.embedded.columns as columns
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.store import EmbeddedStore


def _write(corpus_built: BuiltGraph, home: Path, workers: int) -> dict[str, bytes]:
    """Every file of the graph directory a store write of ``corpus_built`` makes (``workers``: the build's)."""
    built = BuiltGraph(graph=corpus_built.graph, direction_ids=corpus_built.direction_ids,
                       vectors=corpus_built.vectors, encoder_state=corpus_built.encoder_state, meta=corpus_built.meta)
    built.candidates = corpus_built.candidates  # type: ignore[attr-defined]
    built.build_workers = workers  # type: ignore[attr-defined]
    EmbeddedStore(home).replace(built)
    return {p.name: p.read_bytes() for p in sorted((home / "current").iterdir())}


def test_the_forked_store_write_gives_the_serial_files(corpus_built: BuiltGraph, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    serial = _write(corpus_built, tmp_path / "serial", workers=1)
    monkeypatch.setattr(columns, "FORK_MIN_DIRECTIONS", 0)  # the bundled corpus is small: fork anyway
    encode = columns._EdgesFrom.encode
    pids = tmp_path / "pids"

    def spy(*args, **kwargs):
        with pids.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return encode(*args, **kwargs)

    monkeypatch.setattr(columns._EdgesFrom, "encode", spy)
    forked = _write(corpus_built, tmp_path / "forked", workers=2)
    assert [int(p) for p in pids.read_text().split()] != [os.getpid()]  # encoded in another process
    assert list(forked) == list(serial)  # the same files (the part file was joined and removed)
    assert [n for n in serial if forked[n] != serial[n]] == []

    # The split is inside the graph, and the two halves meet their relations in different orders: the second
    # half's codes had to be mapped onto the first's.
    g = corpus_built.graph
    ids = list(g.nodes)
    h = columns._split_node(g, ids, columns.FORKED_EDGE_SHARE)
    order = [str(d.get("type") or "") for u in ids for *_e, d in g.out_edges(u, data=True)]
    cut = sum(1 for u in ids[:h] for _ in g.out_edges(u))
    assert 0 < cut < len(order)
    first, second = list(dict.fromkeys(order[:cut])), list(dict.fromkeys(order[cut:]))
    assert [r for r in second if r in first] != [r for r in first if r in second]
    assert np.unique(np.load(tmp_path / "forked" / "current" / "edges.rel.npy")).size == len(dict.fromkeys(order))

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])  # no fork: the step inline
    pids.unlink()
    inline = _write(corpus_built, tmp_path / "inline", workers=2)
    assert [int(p) for p in pids.read_text().split()] == [os.getpid()]
    assert inline == serial
