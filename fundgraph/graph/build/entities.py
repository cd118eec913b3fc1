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
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from fundgraph.graph.model import ENTITY_TYPES, Rel, entity_id
from fundgraph.loaders.corpus import source_region
from fundgraph.loaders.entities import FIELD_WEIGHTS, Mention, extract_direction, file_span
from fundgraph.loaders.keywords import (
    KeywordMention,
    KeywordStats,
    boilerplate_terms,
    direction_keywords,
    english_name,
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
    for (eid, field), ms in by.items():
        first = ms[0]
        out[(eid, field)] = {"field": field, "snippet": first.snippet, "start": first.file_start,
                             "end": first.file_end, "count": len(ms), "weight": FIELD_WEIGHTS[field],
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


def add_entity_layer(g: nx.MultiDiGraph, docs: list[ParsedDocument], vocab: Vocabulary) -> None:
    """Add entity nodes, MEMBER_OF edges and Direction-[:MENTIONS]->Entity edges to ``g``."""
    keyword_nodes: dict[str, dict[str, Any]] = {}
    # Keyword extraction judges how generic a word is against every direction of the corpus.
    stats = KeywordStats([d for doc in docs for d in doc.directions])
    for doc in docs:
        links: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for d in doc.directions:
            dl = _links(d, extract_direction(d, vocab))
            for code in d.disciplines:
                e = vocab.discipline(code)
                eid = e.id if e else entity_id("discipline", code.strip().upper())
                if e is None and eid not in g:
                    g.add_node(eid, id=eid, label=ENTITY_TYPES["discipline"].value, entity_type="discipline",
                               key=code, name=code, name_en=None, nsfc=code, in_vocabulary=False,
                               no_code_reason=None, is_group=False, synonyms=[])
                start, end, snippet = _discipline_span(d, code)
                dl[(eid, "disciplines")] = {"field": "disciplines", "snippet": snippet, "start": start,
                                            "end": end, "count": 1, "weight": FIELD_WEIGHTS["disciplines"],
                                            "extracted": False}
            kws = direction_keywords(d, vocab, stats)
            for k in kws:
                node = keyword_nodes.setdefault(k.key, {"text": k.text, "extracted": True, "programs": set()})
                node["extracted"] = node["extracted"] and k.extracted
                node["programs"].add(doc.program.id)
            dl.update(_keyword_links(d, kws))
            links[d.id] = dl
        # Program boilerplate: entities cited by nearly every direction of this program.
        cited = {did: {eid for eid, _ in dl} for did, dl in links.items()}
        boiler = boilerplate_terms(cited)
        for did, dl in links.items():
            for (eid, field), props in dl.items():
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
                    if doc.program.id not in progs:
                        node["boilerplate_programs"] = [*progs, doc.program.id]
                g.add_edge(did, eid, key=f"{Rel.MENTIONS.value}|{field}", type=Rel.MENTIONS.value,
                           **props, boilerplate=is_boiler)
    for _eid, node in g.nodes(data=True):
        if node.get("label") == ENTITY_TYPES["keyword"].value:
            node["extracted"] = keyword_nodes[node["key"]]["extracted"]
        elif node.get("entity_type") in ENTITY_TYPES and "boilerplate" not in node:
            node["boilerplate"] = False
            node["boilerplate_programs"] = []
