"""The graph model: node labels, relationship types, and id conventions shared by every store.

The built graph is a ``networkx.MultiDiGraph``. Every node has ``id`` (== the networkx node key),
``label`` (one of :class:`Label`), ``name`` (Chinese first) and ``name_en``; other properties are flat
primitives or lists of primitives so that Neo4j can store them unchanged. Every edge has ``type``
(one of :class:`Rel`) and flat properties.

Id conventions (stable across rebuilds: derived from the manifest and the documents' own codes):

- Program: the manifest id, e.g. ``most-btit-2024``.
- Direction: ``{program_id}:{code_key}`` where ``code_key`` is the document's code made ASCII,
  e.g. ``nsfc-tianyuan-sz-2023:11`` for （十一）, ``most-stic-joint:2.10``, ``gd-imaging-2026:YXB0101``.
- Section: ``{program_id}:s:{code_key or ordinal}``.
- Entities: ``{type}:{vocabulary id}``, e.g. ``disease:alzheimer``, ``modality:MR``,
  ``discipline:H2701``, ``technique:federated-learning``, ``keyword:{normalised text}``,
  ``funder:most``, ``series:most-btit``, ``community:{n}``.
"""

from __future__ import annotations

from enum import StrEnum

# The id rule lives with the loaders (the bottom layer), which mint the ids; the graph reuses it.
from fundgraph.loaders.text import chinese_numeral, code_key, direction_id

__all__ = ["ENTITY_GROUPS", "ENTITY_TYPES", "Label", "Rel", "chinese_numeral", "code_key", "direction_id",
           "entity_id"]


class Label(StrEnum):
    """Node labels."""

    PROGRAM = "Program"
    SECTION = "Section"
    DIRECTION = "Direction"
    DISEASE = "Disease"
    MODALITY = "ImagingModality"
    DISCIPLINE = "Discipline"
    TECHNIQUE = "Technique"
    KEYWORD = "Keyword"
    FUNDER = "Funder"
    SERIES = "ProgramSeries"
    COMMUNITY = "Community"


class Rel(StrEnum):
    """Relationship types (direction of each in the comment)."""

    FUNDED_BY = "FUNDED_BY"  # Program -> Funder
    IN_SERIES = "IN_SERIES"  # Program -> ProgramSeries
    HAS_SECTION = "HAS_SECTION"  # Program -> Section, Section -> Section
    HAS_DIRECTION = "HAS_DIRECTION"  # Program -> Direction
    IN_SECTION = "IN_SECTION"  # Direction -> Section
    MENTIONS = "MENTIONS"  # Direction -> Disease|ImagingModality|Discipline|Technique|Keyword (one per field)
    MEMBER_OF = "MEMBER_OF"  # Disease -> Disease group (and likewise for other grouped entities)
    SIMILAR_TO = "SIMILAR_TO"  # Direction -> Direction (cross-program, top-k above threshold)
    CONTINUES = "CONTINUES"  # later Direction -> earlier Direction of the same series
    IN_COMMUNITY = "IN_COMMUNITY"  # Direction -> Community


#: Entity types as the API names them, and their labels.
ENTITY_TYPES: dict[str, Label] = {
    "disease": Label.DISEASE,
    "modality": Label.MODALITY,
    "discipline": Label.DISCIPLINE,
    "technique": Label.TECHNIQUE,
    "keyword": Label.KEYWORD,
}

#: Plural group names used in a direction's detail (``entities.diseases`` …).
ENTITY_GROUPS: dict[str, str] = {
    "disease": "diseases",
    "modality": "modalities",
    "discipline": "disciplines",
    "technique": "techniques",
    "keyword": "keywords",
}

def entity_id(entity_type: str, key: str) -> str:
    """Stable id of an entity node."""
    return f"{entity_type}:{key}"
