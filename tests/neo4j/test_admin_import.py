"""The neo4j-admin CSV export (graph.formats.neo4j_csv) loaded by Neo4j 5.26's real bulk importer.

``neo4j-admin database import full`` is ``org.neo4j.cli.AdminTool`` with the importer from
``org.neo4j:neo4j-import-tool`` 5.26.30, both already on the test launcher's class path (tools/neo4j-launcher,
through neo4j-harness). A ``neo4j-admin`` shell shim runs it against a fresh Neo4j home; the imported store is
then opened by ``fundgraph.launcher.ImportedDatabaseServer`` (the embedded DBMS with Bolt) and read with the
driver. So the CSV files, their headers, types and quoting, and the command the exporter writes are all
checked by Neo4j itself, not by reading the CSV back in Python.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from fundgraph.graph.formats import neo4j_csv
from fundgraph.graph.model import Label, Rel
from tests.neo4j.harness import CLASSPATH, admin_shim, build_launcher, fresh_home, missing_tools, run_with_admin

pytestmark = pytest.mark.neo4j

SERVER_JVM = ("-Xms128m", "-Xmx512m", "-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1")
START_TIMEOUT_S = 120.0

# Test-only reads of the imported database (real labels and types, unlike the store's :Node model).
COUNT_BY_LABEL = "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS count"
COUNT_BY_TYPE = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS count"
COUNT_MULTI_LABEL = "MATCH (n) WHERE size(labels(n)) <> 1 RETURN count(n) AS count"
GET_NODE = "MATCH (n {id: $id}) RETURN properties(n) AS props, labels(n) AS labels"
NODE_TYPES = "MATCH (n {id: $id}) UNWIND keys(n) AS k RETURN k AS key, valueType(n[k]) AS type"
EDGE_TYPES = (
    "MATCH (a {id: $start})-[r]->(b {id: $end}) WHERE type(r) = $type AND r.field = $field "
    "UNWIND keys(r) AS k RETURN k AS key, valueType(r[k]) AS type, r[k] AS value"
)


class ImportedServer:
    """``ImportedDatabaseServer`` on a Neo4j home: Bolt on a free port until stopped (stdin closed)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen[str] | None = None
        self.uri: str | None = None

    def __enter__(self) -> ImportedServer:
        log = (self.home / "server.log").open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                "java",
                *SERVER_JVM,
                "-cp",
                CLASSPATH,
                "fundgraph.launcher.ImportedDatabaseServer",
                "--home",
                str(self.home),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            cwd=self.home,
        )
        found: list[str] = []

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("BOLT_URI="):
                    found.append(line.strip().split("=", 1)[1])

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ImportedDatabaseServer exited with {self.proc.returncode}; see "
                    f"{self.home / 'server.log'}:\n" + (self.home / "server.log").read_text(encoding="utf-8")[-3000:]
                )
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the imported database did not open within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        self.uri = found[0]
        return self

    def __exit__(self, *exc: object) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        try:
            if p.stdin:
                p.stdin.close()
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def corpus(corpus_built):
    """The real graph of the bundled corpus (lexical encoder), built once per session (tests/conftest.py)."""
    return corpus_built


@pytest.fixture(scope="module")
def tools_ready():
    reason = missing_tools()
    if reason:
        if os.environ.get("FUNDGRAPH_REQUIRE_NEO4J") == "1":
            pytest.fail(f"FUNDGRAPH_REQUIRE_NEO4J=1 but {reason}")
        pytest.skip(reason)
    build_launcher()


@pytest.fixture(scope="module")
def imported(corpus, tools_ready, tmp_path_factory):
    """Export the corpus to CSV, run the real importer on it, and serve the result: (files, driver, seconds)."""
    import neo4j

    root = tmp_path_factory.mktemp("admin-import")
    files = neo4j_csv.write_neo4j_csv(corpus.graph, root / "csv")
    home = fresh_home(root)
    bin_dir = root / "bin"
    admin_shim(bin_dir, home)
    t0 = time.perf_counter()
    cmd = neo4j_csv.neo4j_admin_command(files)
    assert cmd[cmd.index("full") + 1] == "neo4j"  # the name before the file lists, which would swallow it
    proc = run_with_admin(cmd, files.directory, bin_dir)
    import_s = time.perf_counter() - t0
    assert proc.returncode == 0, (
        f"neo4j-admin import failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert "IMPORT DONE" in proc.stdout
    with ImportedServer(home) as server, neo4j.GraphDatabase.driver(server.uri, auth=None) as driver:
        print(f"\nneo4j-admin import: {import_s:.1f} s; {proc.stdout.strip().splitlines()[-6:]}")
        yield files, driver, import_s


def _read(driver, cypher: str, **params) -> list[dict]:
    records, _, _ = driver.execute_query(cypher, params, database_="neo4j")
    return [r.data() for r in records]


def test_import_counts_equal_the_built_graph(imported, corpus):
    files, driver, _ = imported
    g = corpus.graph
    labels = Counter(a["label"] for _, a in g.nodes(data=True))
    types = Counter(a["type"] for *_, a in g.edges(data=True))
    # Pin the corpus's size so an import that silently drops rows cannot pass by matching an empty export.
    assert sum(labels.values()) > 500 and sum(types.values()) > 1500
    assert {r["label"]: r["count"] for r in _read(driver, COUNT_BY_LABEL)} == dict(labels)
    assert {r["type"]: r["count"] for r in _read(driver, COUNT_BY_TYPE)} == dict(types)
    assert _read(driver, COUNT_MULTI_LABEL) == [{"count": 0}]
    assert files.node_counts == dict(labels) and files.relationship_counts == dict(types)


def test_direction_properties_keep_their_types(imported, corpus):
    _, driver, _ = imported
    g = corpus.graph
    # A direction with a Chinese title and several keywords (an array joined by the declared delimiter).
    nid, attrs = next(
        (n, a)
        for n, a in g.nodes(data=True)
        if a["label"] == Label.DIRECTION.value
        and len(a.get("keywords") or []) >= 2
        and any("\u4e00" <= c <= "\u9fff" for c in a.get("title") or "")
    )
    [row] = _read(driver, GET_NODE, id=nid)
    assert row["labels"] == [Label.DIRECTION.value]
    props = row["props"]
    assert props["title"] == attrs["title"]
    assert props["content"] == attrs["content"]
    assert props["keywords"] == list(attrs["keywords"])
    assert props["ordinal"] == attrs["ordinal"] and isinstance(props["ordinal"], int)
    assert props["source_start"] == attrs["source_start"]
    kinds = {r["key"]: r["type"] for r in _read(driver, NODE_TYPES, id=nid)}
    assert kinds["ordinal"] == "INTEGER NOT NULL"
    assert kinds["source_start"] == "INTEGER NOT NULL"
    assert kinds["keywords"] == "LIST<STRING NOT NULL> NOT NULL"
    assert kinds["title"] == "STRING NOT NULL"
    # Neo4j keeps no nulls: a None in the graph is an absent property, never an empty string.
    for k, v in attrs.items():
        if v is None or v == []:
            assert k not in props, k


def test_every_node_property_survives(imported, corpus):
    _, driver, _ = imported
    g = corpus.graph
    records, _, _ = driver.execute_query("MATCH (n) RETURN n.id AS id, properties(n) AS props", database_="neo4j")
    got = {r["id"]: r["props"] for r in records}
    assert len(got) == g.number_of_nodes()
    for n, attrs in g.nodes(data=True):
        want = {k: v for k, v in attrs.items() if k != "label" and v is not None and v != []}
        props = got[n]
        assert set(props) == set(want), n
        for k, v in want.items():
            if isinstance(v, float):
                assert props[k] == pytest.approx(v), (n, k)
            elif isinstance(v, tuple):
                assert props[k] == list(v), (n, k)
            else:
                assert props[k] == v, (n, k)


def _canonical(props: dict) -> tuple:
    return tuple(
        sorted(
            (k, round(v, 9) if isinstance(v, float) else tuple(v) if isinstance(v, list | tuple) else v)
            for k, v in props.items()
            if v is not None and v != [] and k != "type"
        )
    )


def test_every_relationship_survives_with_its_properties(imported, corpus):
    _, driver, _ = imported
    g = corpus.graph
    records, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN a.id AS start, b.id AS end, type(r) AS type, properties(r) AS props",
        database_="neo4j",
    )
    got = Counter((r["start"], r["end"], r["type"], _canonical(r["props"])) for r in records)
    want = Counter((u, v, a["type"], _canonical(a)) for u, v, a in g.edges(data=True))
    assert got == want


def test_mentions_edge_properties(imported, corpus):
    _, driver, _ = imported
    g = corpus.graph
    u, v, attrs = next(
        (u, v, a) for u, v, a in g.edges(data=True) if a["type"] == Rel.MENTIONS.value and a.get("snippet")
    )
    rows = _read(driver, EDGE_TYPES, start=u, end=v, type=Rel.MENTIONS.value, field=attrs["field"])
    kinds = {r["key"]: r["type"] for r in rows}
    values = {r["key"]: r["value"] for r in rows}
    assert kinds["start"] == kinds["end"] == "INTEGER NOT NULL"
    assert kinds["snippet"] == "STRING NOT NULL"
    assert values["start"] == attrs["start"] and values["snippet"] == attrs["snippet"]


def test_import_sh_runs_as_written(corpus, tools_ready, tmp_path):
    """The import.sh the exporter writes, run as an analyst would, with the real neo4j-admin on PATH."""
    files = neo4j_csv.write_neo4j_csv(corpus.graph, tmp_path / "csv")
    home = fresh_home(tmp_path)
    admin_shim(tmp_path / "bin", home)
    proc = run_with_admin(["sh", str(files.directory / "import.sh")], tmp_path, tmp_path / "bin")
    if proc.returncode != 0 and "File 'neo4j' doesn't exist" not in proc.stdout + proc.stderr:
        pytest.fail(
            f"import.sh failed for another reason than the known one ({proc.returncode}): "
            f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        )
    assert proc.returncode == 0, f"import.sh failed ({proc.returncode}): {proc.stderr[-1500:]}"
    assert "IMPORT DONE" in proc.stdout
