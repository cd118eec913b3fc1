"""kill -9 of a real `fundgraph add` while it writes the updated graph: the previous graph stays, the next add works."""

from __future__ import annotations

import pytest

from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.graph.invented_guideline import write_guideline
from tests.reliability.conftest import cli, cli_env, debris, graph_files, kill_at


def kill_add_at(point: str, document, env: dict[str, str], *, timeout: float = 180) -> None:
    kill_at(point, env, timeout=timeout, args=("add", str(document)))


@pytest.mark.slow
@pytest.mark.parametrize("point", ["staged", "linked"])
def test_kill_mid_add_keeps_the_previous_graph(small_home, small_manifest, tmp_path, point):
    env = cli_env(small_home, small_manifest)
    document = write_guideline(tmp_path / "chengchuan_2027.txt")
    before = graph_files(small_home)
    nodes_before = EmbeddedStore(small_home).health().node_count
    kill_add_at(point, document, env)
    assert graph_files(small_home) == before  # byte-identical: the update was not switched in
    store = EmbeddedStore(small_home)
    store.warm()
    assert store.health().node_count == nodes_before > 300
    assert debris(small_home) == []
    again = cli(["add", str(document)], env, timeout=180)  # the document is in the corpus: its entry is updated
    assert again.returncode == 0, again.stderr
    assert "updated incrementally" in again.stdout and "+30 directions of chengchuan-2027" in again.stdout
    built = EmbeddedStore(small_home).load()
    assert "chengchuan-2027" in built.graph and len(built.direction_ids) == built.meta["direction_count"]
    assert store.health().node_count > nodes_before and built._graph is not None  # the columns were written
    assert debris(small_home) == []
