"""The entity layer: diseases, modalities, disciplines, techniques and keywords, and what cites them.

Adds to the graph built by :func:`graph.build.base_graph`:

- one node per cited entity (and every group above it), id ``{type}:{key}`` (:func:`graph.model.entity_id`),
  with flat properties: ``name`` (Chinese), ``name_en``, codes flattened (``icd10``, ``icd11``, ``mesh``,
  ``dicom``, ``nsfc``), ``synonyms``, ``no_code_reason``, ``is_group``, ``category``;
- ``MEMBER_OF`` edges from a member to its group (疾病 → 疾病组, 能谱CT → CT);
- ``Direction -[:MENTIONS]-> Entity``, one edge per (direction, entity, field), key ``MENTIONS|{field}``,
  with ``field``, ``snippet``, ``start``/``end`` (file offsets of the first mention), ``count``,
  ``weight`` (title 1.0 > keywords 0.8 > content 0.5 > metrics 0.3; disciplines 1.0), ``extracted`` and
  ``boilerplate`` (the entity is cited by ≥80 % of its program's directions — similarity ignores it).

Two steps, so the expensive one can run per document (in parallel, and from the build's per-document
cache): :func:`extract_document` finds everything a document yields on its own (vocabulary mentions,
disciplines, explicit keywords, keyword candidates and the texts document frequencies are counted in);
:func:`add_entity_layer` then judges keyword candidates against the whole corpus (:class:`KeywordStats`)
and adds nodes and edges in document order.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from fundgraph.graph.model import ENTITY_TYPES, Rel, entity_id
from fundgraph.loaders.corpus import source_region
from fundgraph.loaders.entities import FIELD_WEIGHTS, Mention, extract_direction, file_span
from fundgraph.loaders.keywords import (
    KeywordCandidate,
    KeywordMention,
    KeywordStats,
    boilerplate_terms,
    choose_keywords,
    direction_text,
    document_frequencies,
    english_name,
    explicit_keywords,
    keyword_candidates,
)
from fundgraph.loaders.records import Direction, ParsedDocument
from fundgraph.loaders.vocab import VocabEntity, Vocabulary


def entity_node(e: VocabEntity) -> dict[str, Any]:
    """Flat node properties of a vocabulary entity."""
    props: dict[str, Any] = {
        "id": e.id,
        "label": ENTITY_TYPES[e.type].value,
        "entity_type": e.type,
        "key": e.key,
        "name": e.name,
        "name_en": e.name_en,
        "icd10": e.codes.get("icd10"),
        "icd11": e.codes.get("icd11"),
        "mesh": e.codes.get("mesh"),
        "dicom": e.codes.get("dicom"),
        "nsfc": e.codes.get("nsfc"),
        "synonyms": [*e.synonyms, *e.context_synonyms],
        "no_code_reason": e.no_code_reason,
        "is_group": e.is_group,
        "category": e.category,
        "note": e.note,
    }
    for k, v in e.extra.items():  # e.g. discipline division / title_verified
        props[k] = v.lower() == "true" if v.lower() in ("true", "false") else v
    return props


def _ensure_entity(g: nx.MultiDiGraph, vocab: Vocabulary, eid: str) -> None:
    """Add an entity node and, recursively, its groups with MEMBER_OF edges."""
    if eid in g:
        return
    e = vocab.entities[eid]
    g.add_node(eid, **entity_node(e))
    for gid in e.group_ids:
        _ensure_entity(g, vocab, gid)
        g.add_edge(eid, gid, key=Rel.MEMBER_OF.value, type=Rel.MEMBER_OF.value)


def _discipline_span(d: Direction, code: str) -> tuple[int | None, int | None, str]:
    """File span and snippet of a 学科代码 inside the direction's source span (when it carries its text)."""
    region = source_region(d)
    snippet = "学科代码：" + "、".join(d.disciplines)
    if not region:
        return None, None, snippet
    k = region.find(code)
    if k < 0:
        return None, None, snippet
    left = region.rfind("（", 0, k)
    right = region.find("）", k)
    if left >= 0 and right >= 0:
        snippet = "".join(region[left:right + 1].split())
    base = d.source.start
    return base + k, base + k + len(code), snippet


def _links(d: Direction, mentions: list[Mention]) -> dict[tuple[str, str], dict[str, Any]]:
    by: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for m in mentions:
        by[(m.entity_id, m.field)].append(m)
    out = {}
    for (eid, fname), ms in by.items():
        first = ms[0]
        out[(eid, fname)] = {"field": fname, "snippet": first.snippet, "start": first.file_start,
                             "end": first.file_end, "count": len(ms), "weight": FIELD_WEIGHTS[fname],
                             "extracted": False}
    return out


def _keyword_links(d: Direction, kws: list[KeywordMention]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for k in kws:
        eid = entity_id("keyword", k.key)
        start = end = None
        if k.start is not None and k.end is not None:
            start, end = file_span(d, k.field, k.start, k.end)
        out[(eid, k.field)] = {"field": k.field, "snippet": k.snippet, "start": start, "end": end,
                               "count": 1, "weight": FIELD_WEIGHTS[k.field], "extracted": k.extracted}
    return out


@dataclass
class DirectionExtract:
    """What one direction yields on its own, before corpus statistics."""

    #: (entity id, field) → MENTIONS edge properties: vocabulary mentions, then 学科代码 disciplines.
    links: dict[tuple[str, str], dict[str, Any]]
    #: (entity id, code) of discipline codes the vocabulary does not know (they get a node of their own).
    unknown_disciplines: list[tuple[str, str]] = field(default_factory=list)
    #: The direction's 关键词 as given; when empty, keywords are chosen from ``candidates``.
    explicit: list[KeywordMention] = field(default_factory=list)
    #: MENTIONS edge properties of the explicit keywords (file spans located once, here).
    explicit_links: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    candidates: list[KeywordCandidate] = field(default_factory=list)


@dataclass
class DocumentExtract:
    """What one document yields on its own: one :class:`DirectionExtract` per direction, in order."""

    directions: list[DirectionExtract]
    #: Each direction's normalised text (:func:`loaders.keywords.direction_text`), for document frequencies.
    texts: list[str]

    def terms(self) -> set[str]:
        """Keys of every keyword candidate: the terms whose corpus document frequency is needed."""
        return {c.key for x in self.directions for c in x.candidates}


def _direction_links(d: Direction, vocab: Vocabulary) -> tuple[dict[tuple[str, str], dict[str, Any]],
                                                                 list[tuple[str, str]]]:
    """Links of a direction's vocabulary mentions and disciplines, and its discipline codes not in the vocabulary."""
    links = _links(d, extract_direction(d, vocab))
    unknown: list[tuple[str, str]] = []
    for code in d.disciplines:
        e = vocab.discipline(code)
        eid = e.id if e else entity_id("discipline", code.strip().upper())
        if e is None:
            unknown.append((eid, code))
        start, end, snippet = _discipline_span(d, code)
        links[(eid, "disciplines")] = {"field": "disciplines", "snippet": snippet, "start": start, "end": end,
                                       "count": 1, "weight": FIELD_WEIGHTS["disciplines"], "extracted": False}
    return links, unknown


def extract_document(doc: ParsedDocument, vocab: Vocabulary, cpu: dict[str, float] | None = None) -> DocumentExtract:
    """Everything a document yields before corpus statistics (see :class:`DocumentExtract`).

    ``cpu``, when given, gets the CPU seconds of entity mentions (``entities_s``) and of keywords
    (``keywords_s``) added to it.
    """
    t = time.process_time()
    out = []
    for d in doc.directions:
        links, unknown = _direction_links(d, vocab)
        out.append(DirectionExtract(links=links, unknown_disciplines=unknown))
    t_entities = time.process_time() - t
    for d, x in zip(doc.directions, out, strict=True):
        x.explicit = explicit_keywords(d)
        if x.explicit:
            x.explicit_links = _keyword_links(d, x.explicit)
        else:
            x.candidates = keyword_candidates(d, vocab)
    texts = [direction_text(d) for d in doc.directions]
    if cpu is not None:
        cpu["entities_s"] = cpu.get("entities_s", 0.0) + t_entities
        cpu["keywords_s"] = cpu.get("keywords_s", 0.0) + time.process_time() - t - t_entities
    return DocumentExtract(directions=out, texts=texts)


def corpus_keyword_stats(extracts: Sequence[DocumentExtract]) -> KeywordStats:
    """Document frequencies of every keyword candidate over every direction of the corpus (one automaton)."""
    terms = set().union(*(x.terms() for x in extracts))
    df = document_frequencies((t for x in extracts for t in x.texts), terms)
    return KeywordStats.from_counts(sum(len(x.texts) for x in extracts), df)


#: A direction's keywords and the MENTIONS edge properties of each, by (entity id, field).
DirectionKeywords = tuple[list[KeywordMention], dict[tuple[str, str], dict[str, Any]]]


def document_keywords(doc: ParsedDocument, extract: DocumentExtract, stats: KeywordStats) -> list[DirectionKeywords]:
    """Each direction's keywords: its explicit ones, or those chosen from its candidates against ``stats``."""
    out: list[DirectionKeywords] = []
    for d, x in zip(doc.directions, extract.directions, strict=True):
        if x.explicit:
            out.append((x.explicit, x.explicit_links))
        else:
            kws = choose_keywords(d, x.candidates, stats)
            out.append((kws, _keyword_links(d, kws)))
    return out


def keyword_signature(extract: DocumentExtract, stats: KeywordStats, terms: set[str] | None = None) -> str:
    """Hash of what a document's chosen keywords depend on besides its own extract.

    That is the corpus size and the document frequency of each of its candidates: equal signatures, equal
    choices, so a rebuild reuses them (and their file spans) where IDF has not drifted. ``terms``:
    ``extract.terms()`` when the caller has them.
    """
    ordered = sorted(extract.terms() if terms is None else terms)
    return hashlib.sha256(repr((stats.n, ordered, [stats.df(t) for t in ordered])).encode()).hexdigest()


def vocabulary_entity_graph(extracts: Sequence[DocumentExtract], vocab: Vocabulary) -> nx.MultiDiGraph:
    """The vocabulary entity nodes (with their groups) that :func:`add_entity_layer` adds for ``extracts``.

    Without directions, edges of other kinds or keywords: enough to know the similarity layer's lexicon before the
    entity layer is built (the build checks it against the layer's own graph before using anything made from it).
    """
    g = nx.MultiDiGraph()
    for extract in extracts:
        for x in extract.directions:
            for eid, code in x.unknown_disciplines:
                if eid not in g:
                    g.add_node(eid, id=eid, label=ENTITY_TYPES["discipline"].value, entity_type="discipline",
                               key=code, name=code, name_en=None, nsfc=code, in_vocabulary=False,
                               no_code_reason=None, is_group=False, synonyms=[])
            for eid, _field in x.links:
                if not eid.startswith("keyword:") and eid not in g:
                    _ensure_entity(g, vocab, eid)
    return g


def add_entity_layer(g: nx.MultiDiGraph, docs: Sequence[ParsedDocument], vocab: Vocabulary, *,
                     extracts: Sequence[DocumentExtract] | None = None, stats: KeywordStats | None = None,
                     keywords: Sequence[list[DirectionKeywords]] | None = None) -> None:
    """Add entity nodes, MEMBER_OF edges and Direction-[:MENTIONS]->Entity edges to ``g``.

    Args:
        g: the base graph (:func:`graph.build.pipeline.base_graph`).
        docs: the parsed documents, in manifest order.
        vocab: the vocabularies.
        extracts: each document's :func:`extract_document` (the pipeline passes them, computed in parallel
            or read from its cache); default: extracted here.
        stats: keyword document frequencies over the corpus; default: counted from ``extracts``.
        keywords: each document's :func:`document_keywords` (the pipeline reuses those of a previous build
            when :func:`keyword_signature` is unchanged); default: chosen here.
    """
    if extracts is None:
        extracts = [extract_document(doc, vocab) for doc in docs]
    if keywords is None:
        # Keyword extraction judges how generic a word is against every direction of the corpus.
        if stats is None:
            stats = corpus_keyword_stats(extracts)
        keywords = [document_keywords(doc, x, stats) for doc, x in zip(docs, extracts, strict=True)]
    keyword_nodes: dict[str, dict[str, Any]] = {}
    for doc, extract, doc_keywords in zip(docs, extracts, keywords, strict=True):
        links: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for d, x, (kws, kw_links) in zip(doc.directions, extract.directions, doc_keywords, strict=True):
            for eid, code in x.unknown_disciplines:
                if eid not in g:
                    g.add_node(eid, id=eid, label=ENTITY_TYPES["discipline"].value, entity_type="discipline",
                               key=code, name=code, name_en=None, nsfc=code, in_vocabulary=False,
                               no_code_reason=None, is_group=False, synonyms=[])
            for k in kws:
                node = keyword_nodes.setdefault(k.key, {"text": k.text, "extracted": True, "programs": set()})
                node["extracted"] = node["extracted"] and k.extracted
                node["programs"].add(doc.program.id)
            links[d.id] = {**x.links, **kw_links}
        _add_document_links(g, vocab, doc.program.id, links, keyword_nodes)
    for _eid, node in g.nodes(data=True):
        if node.get("label") == ENTITY_TYPES["keyword"].value:
            node["extracted"] = keyword_nodes[node["key"]]["extracted"]
        elif node.get("entity_type") in ENTITY_TYPES and "boilerplate" not in node:
            node["boilerplate"] = False
            node["boilerplate_programs"] = []


def _add_document_links(g: nx.MultiDiGraph, vocab: Vocabulary, program_id: str,
                        links: dict[str, dict[tuple[str, str], dict[str, Any]]],
                        keyword_nodes: dict[str, dict[str, Any]]) -> None:
    """Entity nodes and MENTIONS edges of one document's directions (``links``: direction id → its links)."""
    # Program boilerplate: entities cited by nearly every direction of this program.
    cited = {did: {eid for eid, _ in dl} for did, dl in links.items()}
    boiler = boilerplate_terms(cited)
    # The relation's text and each field's edge key once per document, not per edge (an Enum's value is a property).
    mentions = Rel.MENTIONS.value
    edge_keys: dict[str, str] = {}
    for did, dl in links.items():
        for (eid, field_name), props in dl.items():
            if eid.startswith("keyword:"):
                if eid not in g:
                    key = eid.split(":", 1)[1]
                    info = keyword_nodes[key]
                    name_en, source = english_name(key, vocab)
                    g.add_node(eid, id=eid, label=ENTITY_TYPES["keyword"].value, entity_type="keyword",
                               key=key, name=info["text"], name_en=name_en, name_en_source=source,
                               synonyms=[], no_code_reason=None, is_group=False, boilerplate=False,
                               boilerplate_programs=[])
            elif eid not in g:
                _ensure_entity(g, vocab, eid)
            is_boiler = eid in boiler
            if is_boiler:
                node = g.nodes[eid]
                node["boilerplate"] = True
                progs = list(node.get("boilerplate_programs") or [])
                if program_id not in progs:
                    node["boilerplate_programs"] = [*progs, program_id]
            key = edge_keys.get(field_name)
            if key is None:
                key = edge_keys[field_name] = f"{mentions}|{field_name}"
            g.add_edge(did, eid, key=key, type=mentions, **props, boilerplate=is_boiler)

