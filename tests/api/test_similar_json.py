"""The embedded store writes a similar list's JSON without the read models: the same bytes as the models'.

``EmbeddedStore.similar_json`` is what ``GET /api/directions/{id}/similar`` sends; ``similar`` is what Python callers
(the notebook, exports) get. Each is compared with the other on a separate store over the same graph (so neither
answers from the other's cache), for every direction of the bundled corpus, several k and both scopes: the stored
pools (cross-program), live ranking (all, and k beyond the pool), lists with nothing related, and explanations
with names reached through the hierarchy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydantic_core
import pytest

from fundgraph.graph.read import models
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.graph.stores.embedded.store import EmbeddedStore


@pytest.fixture(scope="module")
def home(built: BuiltGraph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("similar-json")
    EmbeddedStore(path).replace(built)
    return path


def test_similar_json_is_the_models_json_for_every_direction(home: Path) -> None:
    written, modelled = EmbeddedStore(home), EmbeddedStore(home)
    ids = written.queries().direction_ids
    seen = {"no_related": 0, "via_hierarchy": 0, "items": 0}
    for did in ids:
        for k in (1, 5, 10, 31):
            for scope in ("cross-program", "all"):
                got = written.similar_json(did, k, scope)
                assert got == pydantic_core.to_json(modelled.similar(did, k, scope)), (did, k, scope)
                answer = json.loads(got)
                seen["no_related"] += answer["no_related"]
                seen["items"] += len(answer["items"])
                seen["via_hierarchy"] += sum(bool(i["explanation"]["via_hierarchy"]) for i in answer["items"])
    assert len(ids) == 124
    assert seen["no_related"] > 0 and seen["via_hierarchy"] > 0 and seen["items"] > 124 * 8 * 5


def test_similar_json_answers_a_list_the_model_path_kept(home: Path) -> None:
    store = EmbeddedStore(home)
    did = store.queries().direction_ids[0]
    kept = store.similar(did, 10, "all")
    assert store.similar_json(did, 10, "all") == pydantic_core.to_json(kept)


def test_similar_json_refuses_what_similar_refuses(home: Path) -> None:
    store = EmbeddedStore(home)
    did = store.queries().direction_ids[0]
    for args in (("no-such-direction", 5, "cross-program"), (did, 0, "cross-program"), (did, 5, "elsewhere")):
        with pytest.raises(Exception) as via_models:
            store.similar(*args)
        with pytest.raises(type(via_models.value)) as via_json:
            store.similar_json(*args)
        assert str(via_json.value) == str(via_models.value)


def test_a_store_without_briefs_or_with_another_format_makes_them_from_the_properties(
        home: Path, tmp_path: Path) -> None:
    """The briefs a build stored are read only when written in this fundgraph's format (nodes.json names it)."""
    import shutil

    from fundgraph.graph.stores.embedded import home as safety

    source = safety.current_target(home)
    assert source is not None and (source / "nodes.brief.npy").exists()
    reference = EmbeddedStore(home)
    ids = reference.queries().direction_ids
    want = {d: reference.similar_json(d, 10, "cross-program") for d in ids}
    for variant in ("another-format", "no-briefs"):
        copy = tmp_path / variant
        shutil.copytree(home, copy, symlinks=True)
        graph = safety.current_target(copy)
        doc = json.loads((graph / "nodes.json").read_bytes())
        if variant == "no-briefs":
            doc.pop("briefs")
            for f in graph.glob("nodes.brief*"):
                f.unlink()
        else:
            doc["briefs"] = "brief-0000000000000000"
            (graph / "nodes.brief.npy").write_bytes(b"not read")
        (graph / "nodes.json").write_bytes(json.dumps(doc, ensure_ascii=False).encode())
        safety.write_manifest(graph)
        store = EmbeddedStore(copy)
        assert store.queries().columns.node_briefs is None
        assert {d: store.similar_json(d, 10, "cross-program") for d in ids} == want
        listed = store.directions(models.DirectionFilter(), 500, 0).items
        assert listed == reference.directions(models.DirectionFilter(), 500, 0).items and len(listed) == 124
