"""Entity profiles of directions, read off a built graph: what the shared ranking scores.

Used alike by the build (the similarity layer writes SIMILAR_TO from them) and by both stores (they rank
``similar`` and ``search`` with them), so this module sits beside :mod:`fundgraph.graph.model` and imports no
build stage and no store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import networkx as nx
import numpy as np

from fundgraph.embeddings.scoring import Candidates, EntityInfo, ScoringConfig, entity_profile, expand_hierarchy
from fundgraph.graph.model import ENTITY_KEY_BY_LABEL, ENTITY_TYPES, Rel


def entity_type_of(g: nx.MultiDiGraph, node: str) -> str | None:
    """Entity type of a node ('disease', 'modality' …), from its label (or its id prefix), else None."""
    data = g.nodes[node]
    t = ENTITY_KEY_BY_LABEL.get(str(data.get("label")))
    if (
        t is None
        and ":" in node
        and node.split(":", 1)[0] in ENTITY_TYPES
        and data.get("label") != "Direction"
    ):
        t = node.split(":", 1)[0]
    return t


def direction_mentions(g: nx.MultiDiGraph, direction_ids: Sequence[str]) -> dict[str, list[tuple[str, dict]]]:
    """Direction id → [(entity id, MENTIONS edge properties)]."""
    out: dict[str, list[tuple[str, dict]]] = {d: [] for d in direction_ids}
    for d in direction_ids:
        if d not in g:
            continue
        for _, ent, data in g.out_edges(d, data=True):
            if data.get("type") == Rel.MENTIONS.value:
                out[d].append((ent, data))
    return out


def entity_parents(g: nx.MultiDiGraph) -> dict[str, list[str]]:
    """Entity id → its broader entities (MEMBER_OF edges: 阿尔茨海默病 → 神经退行性疾病, 能谱CT → CT)."""
    out: dict[str, list[str]] = defaultdict(list)
    for u, v, data in g.edges(data=True):
        if data.get("type") == Rel.MEMBER_OF.value and v not in out[u]:
            out[u].append(v)
    return {k: sorted(v) for k, v in out.items()}


def candidates_from_graph(
    g: nx.MultiDiGraph, direction_ids: list[str], vectors: np.ndarray, config: ScoringConfig
) -> Candidates:
    """Candidates for :func:`embeddings.scoring.rank` from the graph (the build and both stores).

    Entity profiles: MENTIONS edges, boilerplate left out, extracted keywords at
    ``config.extracted_keyword_weight``, typed and field-weighted, expanded up MEMBER_OF.
    """
    mentions = direction_mentions(g, direction_ids)
    parents = entity_parents(g)
    types: dict[str, str] = {}

    def note_type(ent: str) -> None:
        if ent not in types and ent in g:
            t = entity_type_of(g, ent)
            if t:
                types[ent] = t

    for d in direction_ids:
        for ent, _ in mentions[d]:
            note_type(ent)
    profiles = []
    for d in direction_ids:
        p = entity_profile(
            [
                (ent, e.get("field") or "", bool(e.get("extracted")))
                for ent, e in mentions[d]
                if not e.get("boilerplate")
            ],
            config.entity_types,
            types,
            config.entity_field_weights,
            type_weights=config.type_weights,
            extracted_weight=config.extracted_keyword_weight,
        )
        p = expand_hierarchy(p, parents, decay=config.hierarchy_decay, depth=config.hierarchy_depth)
        for ent in p:
            note_type(ent)
        profiles.append(p)
    info = {
        ent: EntityInfo(
            id=ent,
            type=t,
            name=str(g.nodes[ent].get("name") or ent),
            name_en=str(g.nodes[ent].get("name_en") or ""),
        )
        for ent, t in types.items()
    }
    return Candidates(
        ids=list(direction_ids),
        programs=[g.nodes[d]["program_id"] for d in direction_ids],
        vectors=vectors,
        entities=profiles,
        info=info,
        parents=parents,
        hierarchy_decay=config.hierarchy_decay,
        type_weights=dict(config.type_weights),
    )


