"""The embedded store keeps only the graph it serves: reloading never leaves an old BuiltGraph alive,
neither in the store nor in the API over it (response cache, frozen startup objects)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings
from fundgraph.graph.read import models
from fundgraph.graph.stores.base import GraphStore
from fundgraph.graph.stores.embedded.store import EmbeddedStore
from fundgraph.graph.stores.factory import BACKENDS, open_store
from tests.graph.handmade import handmade_built

RELOADS = 5


def alive(refs: list[weakref.ref]) -> int:
    gc.collect()
    return sum(r() is not None for r in refs)


def test_reloading_the_store_keeps_one_graph(tmp_path):
    store = EmbeddedStore(tmp_path)
    refs = []
    for i in range(RELOADS):
        store.replace(handmade_built())
        refs.append(weakref.ref(store.load()))
        assert store.direction("prog-b:1.1").title == "阿尔茨海默病多模态影像大模型"
        store.queries().warm()  # rankings, candidates, encoder: everything a request may compute
        assert store.version() == i + 1
    assert alive(refs) == 1
    assert refs[-1]() is store.load()


def test_reloading_under_the_api_keeps_one_graph(tmp_path):
    store = EmbeddedStore(tmp_path)
    store.replace(handmade_built())
    refs = [weakref.ref(store.load())]
    with TestClient(create_app(Settings(home=tmp_path), store)) as client:  # startup warms and freezes
        for _ in range(RELOADS):
            for url in ("/api/programs", "/api/directions/prog-a:1", "/api/directions/prog-a:1/similar?k=3",
                        "/api/overlaps?a=prog-a&b=prog-b", "/api/overlaps/matrix?by=disease"):
                assert client.get(url).status_code == 200, url
            store.replace(handmade_built())
            refs.append(weakref.ref(store.load()))
        assert client.get("/api/programs").status_code == 200  # the cache sees the new version
        assert alive(refs) == 1


def test_a_store_changed_on_disk_by_another_process_is_reread(tmp_path):
    reader, writer = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)
    writer.replace(handmade_built())
    first, v1 = reader.load(), reader.version()
    assert reader.load() is first and reader.version() == v1
    writer.replace(handmade_built())
    assert reader.load() is not first and reader.version() != v1


def test_factory_opens_the_embedded_store_without_the_neo4j_driver(tmp_path):
    store = open_store(Settings(home=tmp_path, store="embedded"))
    assert isinstance(store, EmbeddedStore) and store.in_memory
    assert set(BACKENDS) == {"embedded", "neo4j"}
    code = (
        "import sys\n"
        "from fundgraph.core.settings import Settings\n"
        "from fundgraph.graph.stores.factory import open_store\n"
        "import fundgraph.api.app, fundgraph.graph.stores.neo4j.codec, fundgraph.graph.stores.neo4j.loader\n"
        f"open_store(Settings(home={str(tmp_path)!r}, store='embedded')).programs\n"
        "print('neo4j' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _FixedStore(GraphStore):
    """A third store the API has never heard of: it must be served like the other two."""

    backend = "fixed"
    in_memory = True

    @classmethod
    def from_settings(cls, settings, **kwargs):
        return cls()

    def replace(self, built):
        raise NotImplementedError

    def load(self):
        raise NotImplementedError

    def health(self):
        return models.Health(backend=self.backend, node_count=1, edge_count=0)

    def programs(self):
        return [models.ProgramSummary(id="p", name="项目", name_en="P", funder=[], source_file="p.txt",
                                      direction_count=0)]

    def directions(self, filters, limit, offset):
        raise NotImplementedError

    def direction(self, direction_id):
        raise NotImplementedError

    def similar(self, direction_id, k, scope):
        raise NotImplementedError

    def search(self, text, k, programs):
        raise NotImplementedError

    def entities(self, entity_type, q):
        raise NotImplementedError

    def entity(self, entity_type, entity_id):
        raise NotImplementedError

    def overlaps(self, a, b):
        raise NotImplementedError

    def matrix(self, by):
        raise NotImplementedError

    def neighborhood(self, node, depth, limit):
        raise NotImplementedError


def test_the_api_serves_any_store_through_the_interface(tmp_path):
    with TestClient(create_app(Settings(home=tmp_path), _FixedStore())) as client:
        assert client.get("/api/health").json()["backend"] == "fixed"
        assert [p["id"] for p in client.get("/api/programs").json()] == ["p"]
