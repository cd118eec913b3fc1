"""The build pipeline: documents → records → entities → vectors and similarity → one graph.

Each layer is a function over the same ``networkx.MultiDiGraph``:

1. :func:`base_graph` — programs, funders, series, sections, directions (from the loaders' records);
2. :func:`graph.entity_layer.add_entity_layer` — diseases, modalities, disciplines, techniques, keywords;
3. :func:`graph.similarity_layer.add_similarity_layer` — vectors, SIMILAR_TO, CONTINUES, communities.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import networkx as nx
from pydantic import BaseModel

from fundgraph.core.schema import (
    BUILTIN_ENTITY_TYPES,
    DIRECTION_FIELDS,
    PROGRAM_FIELDS,
    FieldSpec,
    using_registry,
)
from fundgraph.graph.model import Label, Rel
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.loaders.records import Direction, ParsedDocument, Program

if TYPE_CHECKING:
    from fundgraph.core.settings import Settings
    from fundgraph.embeddings.encoders import Encoder
    from fundgraph.loaders.corpus import CorpusLoad

Progress = Callable[[str], None]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


def node_properties(record: BaseModel, fields: Iterable[FieldSpec]) -> dict[str, Any]:
    """A record's registry fields as flat node properties (lists of primitives only, so Neo4j stores them unchanged).

    A list is copied, an enum gives its value, and a field with ``parts`` (funding, source) becomes one
    ``<name>_<part>`` property per part (None when the field is).
    """
    props: dict[str, Any] = {}
    for f in fields:
        value = getattr(record, f.name, None)
        if f.parts:
            props.update({f"{f.name}_{part}": getattr(value, part, None) for part in f.parts})
        elif f.is_list:
            props[f.name] = list(value)
        else:
            props[f.name] = value.value if isinstance(value, Enum) else value
    return props


def program_node(p: Program) -> dict[str, Any]:
    """Flat properties of a Program node."""
    return {"id": p.id, "label": Label.PROGRAM.value, **node_properties(p, PROGRAM_FIELDS)}


def direction_node(d: Direction) -> dict[str, Any]:
    """Flat properties of a Direction node (``title_en`` None until English titles are matched)."""
    props = list(node_properties(d, DIRECTION_FIELDS).items())
    # The label of the metrics (考核指标 …) is stored beside them but neither exported nor served: no registry field.
    at = [k for k, _ in props].index("metrics") + 1
    props.insert(at, ("metrics_label", d.metrics_label))
    return {"id": d.id, "label": Label.DIRECTION.value, "name": d.title, "name_en": None, **dict(props)}


def base_graph(docs: list[ParsedDocument], titles_en: Mapping[str, str] | None = None) -> nx.MultiDiGraph:
    """Programs, funders, series, sections and directions, with their structural edges.

    ``titles_en`` maps direction and section ids to English titles (:func:`loaders.titles.match_titles`);
    a node without one keeps ``name_en`` (and a direction ``title_en``) None.
    """
    titles_en = titles_en or {}
    g = nx.MultiDiGraph()
    for order, doc in enumerate(docs):
        p = doc.program
        g.add_node(p.id, **program_node(p), manifest_order=order)
        for i, funder in enumerate(p.funder):
            fid = f"funder:{_slug(p.funder_en[i]) if i < len(p.funder_en) else funder}"
            if fid not in g:
                g.add_node(fid, id=fid, label=Label.FUNDER.value, name=funder,
                           name_en=p.funder_en[i] if i < len(p.funder_en) else None)
            g.add_edge(p.id, fid, key=Rel.FUNDED_BY.value, type=Rel.FUNDED_BY.value)
        if p.series:
            sid = f"series:{_slug(p.series_en or p.series)}"
            if sid not in g:
                g.add_node(sid, id=sid, label=Label.SERIES.value, name=p.series, name_en=p.series_en)
            g.add_edge(p.id, sid, key=Rel.IN_SERIES.value, type=Rel.IN_SERIES.value)
        for s in doc.sections:
            g.add_node(s.id, id=s.id, label=Label.SECTION.value, name=s.title, name_en=titles_en.get(s.id),
                       program_id=s.program_id, code=s.code, kind=s.kind, ordinal=s.ordinal)
            parent = s.parent_id or p.id
            g.add_edge(parent, s.id, key=Rel.HAS_SECTION.value, type=Rel.HAS_SECTION.value)
        for d in doc.directions:
            en = titles_en.get(d.id)
            g.add_node(d.id, **{**direction_node(d), "name_en": en, "title_en": en})
            g.add_edge(p.id, d.id, key=Rel.HAS_DIRECTION.value, type=Rel.HAS_DIRECTION.value)
            if d.section:
                g.add_edge(d.id, d.section, key=Rel.IN_SECTION.value, type=Rel.IN_SECTION.value)
    return g


def build_graph(settings: Settings, *, encoder: Encoder | None = None,
                progress: Progress | None = None, corpus: CorpusLoad | None = None) -> BuiltGraph:
    """Parse the corpus named by the manifest and build the whole graph (nothing is written here).

    Args:
        settings: manifest, vocabulary directory, encoder choice, similarity parameters.
        encoder: an encoder to use instead of the one the settings name (tests pass a fake one).
        progress: called with a short message as each step starts.
        corpus: documents already parsed (e.g. the bundled and the user's corpus, with the documents left
            out); default: the settings' manifest, parsed here, the first bad document raising.

    Raises:
        FundgraphError: on bad input (documents, manifest, vocabularies); nothing is written.
    """
    from fundgraph.loaders.vocab import vocabulary_registry

    # The build works under the entity types of its vocabulary directory, and records those beyond the
    # built-in ones in the graph's meta, so they travel with the graph (not in a process-wide registry).
    registry = vocabulary_registry(settings.vocab_dir)
    with using_registry(registry):
        built = _build(settings, encoder, progress, corpus)
    extra = [asdict(t) for t in registry.rows() if t not in BUILTIN_ENTITY_TYPES]
    if extra:  # absent for the built-in types alone: the exports of such a graph are as before
        built.meta["entity_types"] = extra
    return built


def _build(settings: Settings, encoder: Encoder | None, progress: Progress | None,
           corpus: CorpusLoad | None) -> BuiltGraph:
    """:func:`build_graph`'s stages, under the registry of the vocabulary directory."""
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.similarity import add_similarity_layer
    from fundgraph.loaders.corpus import load_corpus
    from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles
    from fundgraph.loaders.vocab import load_vocabularies

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("parsing documents")
    docs = list(corpus.documents) if corpus is not None else load_corpus(settings.manifest)
    timings["parse_s"] = time.perf_counter() - t0

    say("loading vocabularies")
    t = time.perf_counter()
    vocab = load_vocabularies(settings.vocab_dir)
    titles = load_title_translations(settings.vocab_dir / TITLES_FILE)
    title_match = match_titles(titles, [(x.id, x.title) for doc in docs for x in (*doc.sections, *doc.directions)])
    g = base_graph(docs, title_match.english)

    say("extracting entities")
    add_entity_layer(g, docs, vocab)
    timings["entities_s"] = time.perf_counter() - t

    say("encoding and linking similar directions")
    t = time.perf_counter()
    sim = add_similarity_layer(g, docs, vocab, settings=settings, encoder=encoder, progress=say)
    timings["similarity_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    meta = {
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "encoder": sim.encoder_state.get("name"),
        "programs": [d.program.id for d in docs],
        "direction_count": sum(len(d.directions) for d in docs),
        "node_count": g.number_of_nodes(),
        "edge_count": g.number_of_edges(),
        "timings": timings,
        "title_translations": title_match.report(titles.path),
        "left_out": [lo.as_dict() for lo in corpus.left_out] if corpus is not None else [],
    }
    return BuiltGraph(graph=g, direction_ids=sim.direction_ids, vectors=sim.vectors,
                      encoder_state=sim.encoder_state, meta=meta)
