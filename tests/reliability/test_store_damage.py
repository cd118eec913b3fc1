"""Each kind of damage to each store file: one clear line and exit 2 from the CLI, 503 store_damaged from the API,
and a running server that meets a damaged new graph keeps serving the good one."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fundgraph.api.app import create_app
from fundgraph.cli import app as cli_app
from fundgraph.core.errors import StoreDamaged
from fundgraph.core.settings import Settings, get_settings
from fundgraph.graph.stores.embedded import home as safety
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.reliability.conftest import SMALL_NODES, cli, cli_env, graph_files, no_traceback


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_utf8(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:200] + b"\xff\xfe" + data[202:])


def _drop_key(key: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        del data[key]
        path.write_text(json.dumps(data), encoding="utf-8")
    return damage


def _short_vectors(path: Path) -> None:
    np.save(path, np.load(path)[:-3])  # the row pointers of three directions gone


def _narrow_vectors(path: Path) -> None:
    values = np.load(path)
    np.save(path, values.reshape(-1, 1))  # 2-d where a flat array of column numbers was written


def _pickled(path: Path) -> None:
    vectors = np.load(path)
    np.save(path, np.array([*vectors.tolist(), {"x": 1}], dtype=object), allow_pickle=True)


def _missing(path: Path) -> None:
    path.unlink()


#: (file, damage, what the message says). The same damage is tried with the manifest as written (the checksum
#: catches it) and with a manifest rewritten to match (the readers' key and shape checks catch it).
DAMAGE = [
    # The graph as columns (graph/stores/embedded/columns.py): small JSON documents and memory-mapped arrays.
    ("nodes.json", _truncate, ""),
    ("nodes.json", _bad_utf8, ""),
    ("nodes.json", _drop_key("ids"), ""),
    ("nodes.json", _missing, "missing"),
    ("edges.indptr.npy", _short_vectors, ""),
    ("nodes.props.offsets.npy", _narrow_vectors, ""),
    ("edges.props.npy", _truncate, ""),
    ("directions.json", _truncate, ""),  # read on first use since `fundgraph add` links it: still found at start
    ("index.json", _truncate, ""),
    ("index.json", _bad_utf8, ""),
    ("index.json", _drop_key("direction_ids"), ""),
    ("index.json", _missing, "missing"),
    # The lexical encoder's vectors are a sparse matrix in three arrays (vectors.{data,indices,indptr}.npy).
    ("vectors.data.npy", _truncate, ""),
    ("vectors.indptr.npy", _short_vectors, ""),
    ("vectors.indices.npy", _narrow_vectors, ""),
    ("vectors.data.npy", _pickled, ""),
    ("vectors.data.npy", _missing, "missing"),
]
IDS = [f"{f}-{d.__name__.strip('_')}" if d.__name__ != "damage" else f"{f}-drop-key" for f, d, _ in DAMAGE]

#: What the structural checks say once the manifest no longer catches the damage.
STRUCTURAL = {
    ("nodes.json", "_truncate"): "not valid", ("nodes.json", "_bad_utf8"): "not valid UTF-8",
    ("nodes.json", "damage"): "missing key 'ids'", ("edges.indptr.npy", "_short_vectors"): "where (",
    ("nodes.props.offsets.npy", "_narrow_vectors"): "not a 1-d array", ("edges.props.npy", "_truncate"): "truncated",
    ("index.json", "_truncate"): "not valid", ("directions.json", "_truncate"): "not valid",
    ("index.json", "_bad_utf8"): "not valid UTF-8", ("index.json", "damage"): "missing key 'direction_ids'",
    ("vectors.indptr.npy", "_short_vectors"): "index pointer",
    ("vectors.indices.npy", "_narrow_vectors"): "not a 1-d array",
    ("vectors.data.npy", "_pickled"): "Python objects",
}


def damaged_home(small_home: Path, file: str, damage: Callable[[Path], None], *, remanifest: bool) -> Path:
    target = small_home / "current"
    damage(target / file)
    if remanifest:
        safety.write_manifest(target.resolve())
    return target / file


def export_in_process(home: Path) -> tuple[int, str, BaseException | None]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["export"], env={"FUNDGRAPH_HOME": str(home),
                                                              "FUNDGRAPH_STORE": "embedded"})
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output, result.exception


#: Every damage as found by the checksum; and, with the manifest rewritten to match it, by the structural checks
#: (a missing file is then simply not listed: the checksum case covers it).
CASES = [pytest.param(f, d, s, False, id=f"{i}-checksum") for (f, d, s), i in zip(DAMAGE, IDS, strict=True)] + [
    pytest.param(f, d, s, True, id=f"{i}-structure") for (f, d, s), i in zip(DAMAGE, IDS, strict=True)
    if d is not _missing]


@pytest.mark.parametrize(("file", "damage", "says", "remanifest"), CASES)
def test_damaged_store_gives_one_line_and_503(small_home, file, damage, says, remanifest):
    path = damaged_home(small_home, file, damage, remanifest=remanifest)
    name = path.name

    code, output, exc = export_in_process(small_home)
    assert code == 2 and isinstance(exc, SystemExit), output
    no_traceback(output)
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: store damaged: ") and name in lines[0], output
    expected = STRUCTURAL.get((file, damage.__name__), says) if remanifest else says
    assert expected in lines[0], lines[0]

    with TestClient(create_app(Settings(home=small_home)), raise_server_exceptions=False) as client:
        for url in ("/api/health", "/api/programs", "/api/directions?limit=3"):
            r = client.get(url)
            assert r.status_code == 503, (url, r.text)
            err = r.json()["error"]
            assert set(err) == {"status", "code", "message", "detail"}
            assert err["code"] == "store_damaged" and err["detail"]["file"].endswith(name), err
        assert client.get("/openapi.json").status_code == 200  # the server itself is up


def test_export_of_a_damaged_store_in_a_real_process(small_home):
    (small_home / "current" / "vectors.data.npy").write_bytes(b"\x93NUMPY garbage")
    out = cli(["export"], cli_env(small_home))
    assert out.returncode == 2
    no_traceback(out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1 and "vectors.data.npy" in out.stderr and out.stdout == "", out.stderr


def test_a_running_store_keeps_its_good_graph_when_the_new_one_is_damaged(small_home, corpus_built, caplog):
    store = EmbeddedStore(small_home)
    good = store.health()
    version = store.version()
    first = store.queries().built.direction_ids[0]
    # A build (another process) switches `current` to a new graph, which then gets damaged on disk.
    EmbeddedStore(small_home).replace(corpus_built)
    (small_home / "current" / "nodes.json").write_bytes(b"{\"ids\": [")
    with caplog.at_level(logging.WARNING):
        assert store.health() == good and store.version() == version
        assert store.direction(first).id == first
        store.health()  # the damaged graph is not verified again on every request
    warnings = [r.getMessage() for r in caplog.records if "not switching" in r.getMessage()]
    assert len(warnings) == 1 and "nodes.json" in warnings[0] and "still serving the previous one" in warnings[0]
    # A good graph appears: it is served.
    EmbeddedStore(small_home).replace(corpus_built)
    assert store.health().node_count == corpus_built.graph.number_of_nodes() != good.node_count
    assert store.version() != version


def test_the_api_answers_503_until_a_good_graph_appears(small_home, tmp_path, corpus_built):
    good = tmp_path / "good"
    shutil.copytree(small_home.resolve(strict=True) / os.readlink(small_home / "current"), good)
    (small_home / "current" / "index.json").unlink()
    with TestClient(create_app(Settings(home=small_home)), raise_server_exceptions=False) as client:
        assert client.get("/api/programs").json()["error"]["code"] == "store_damaged"
        EmbeddedStore(small_home).replace(corpus_built)
        r = client.get("/api/programs")
        assert r.status_code == 200 and len(r.json()) == 5


def test_verify_names_each_problem(small_home):
    target = (small_home / "current").resolve()
    safety.verify(target)
    with pytest.raises(StoreDamaged, match=r"MANIFEST\.json: not valid JSON"):
        (target / "MANIFEST.json").write_text("{", encoding="utf-8")
        safety.verify(target)


def test_a_store_written_before_manifests_is_read_and_checked(small_home, caplog):
    before = graph_files(small_home)
    (small_home / "current" / "MANIFEST.json").unlink()
    with caplog.at_level(logging.WARNING):
        assert EmbeddedStore(small_home).health().node_count == SMALL_NODES
    assert any("written by an older fundgraph" in r.getMessage() for r in caplog.records)
    assert {k: v for k, v in before.items() if k != "MANIFEST.json"} == graph_files(small_home)


def test_logs_name_the_file_for_a_server_starting_on_a_damaged_store(small_home):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("fundgraph").addHandler(handler)
    try:
        (small_home / "current" / "vectors.data.npy").unlink()
        with TestClient(create_app(Settings(home=small_home)), raise_server_exceptions=False) as client:
            assert client.get("/api/health").status_code == 503
    finally:
        logging.getLogger("fundgraph").removeHandler(handler)
    assert "store damaged" in stream.getvalue() and "vectors.data.npy: missing" in stream.getvalue()




def test_the_checksums_verified_ahead_of_the_first_read_find_damage(small_home):
    # `fundgraph serve` starts hashing the graph before it imports the app (EmbeddedStore.prepare); the first read
    # takes that verification's finding, once: the same damage, the same one line.
    graph = (small_home / "current").resolve()
    ok = EmbeddedStore(small_home)
    ok.prepare()
    assert graph in safety._AHEAD
    assert ok.health().node_count > 0 and graph not in safety._AHEAD  # taken by the first read

    vectors = graph / "vectors.data.npy"
    data = vectors.read_bytes()
    vectors.write_bytes(data[:-4] + bytes(4))  # same size: only a checksum tells
    damaged = EmbeddedStore(small_home)
    damaged.prepare()
    with pytest.raises(StoreDamaged, match=r"vectors\.data\.npy.*SHA-256"):
        damaged.health()
    assert graph not in safety._AHEAD
