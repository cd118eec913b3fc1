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

from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum

from fundgraph.core.schema import (
    BUILTIN_ENTITY_TYPES,
    ENTITY_LABELS_AFTER,
    ENTITY_REGISTRY,
    NODE_TYPES,
    EntityType,
)

# The id rule lives with the loaders (the bottom layer), which mint the ids; the graph reuses it.
from fundgraph.loaders.text import chinese_numeral, code_key, direction_id

__all__ = ["ENTITY_GROUPS", "ENTITY_KEY_BY_LABEL", "ENTITY_TYPES", "EntityLabel", "Label", "Rel", "chinese_numeral",
           "code_key", "direction_id", "entity_id", "explanation_groups"]


def _label_members() -> dict[str, str]:
    members: dict[str, str] = {}
    for n in NODE_TYPES:
        members[n.member] = n.label
        if n.label == ENTITY_LABELS_AFTER:
            members.update({t.key.upper(): t.label for t in BUILTIN_ENTITY_TYPES})
    return members


#: Node labels: the structural ones and the built-in entity types' (``Label.DISEASE`` …), from the schema.
Label = StrEnum("Label", _label_members(), module=__name__)
Label.__doc__ = "Node labels."


class EntityLabel(str):
    """The node label of an entity type registered at run time (a str with ``.value``, like a :class:`Label`)."""

    __slots__ = ()

    @property
    def value(self) -> str:
        """The label itself."""
        return str.__str__(self)


def _label(name: str) -> Label | EntityLabel:
    return Label(name) if name in Label._value2member_map_ else EntityLabel(name)


class Rel(StrEnum):
    """Relationship types (direction of each in the comment)."""

    FUNDED_BY = "FUNDED_BY"  # Program -> Funder
    IN_SERIES = "IN_SERIES"  # Program -> ProgramSeries
    HAS_SECTION = "HAS_SECTION"  # Program -> Section, Section -> Section
    HAS_DIRECTION = "HAS_DIRECTION"  # Program -> Direction
    IN_SECTION = "IN_SECTION"  # Direction -> Section
    MENTIONS = "MENTIONS"  # Direction -> any entity type (one per field)
    MEMBER_OF = "MEMBER_OF"  # Disease -> Disease group (and likewise for other grouped entities)
    SIMILAR_TO = "SIMILAR_TO"  # Direction -> Direction (cross-program, top-k above threshold)
    CONTINUES = "CONTINUES"  # later Direction -> earlier Direction of the same series
    IN_COMMUNITY = "IN_COMMUNITY"  # Direction -> Community


class _RegistryView(Mapping[str, object]):
    """A read-only mapping over the entity registry (follows types registered after import)."""

    def __init__(self, key_of: Callable[[EntityType], str], value_of: Callable[[EntityType], object]) -> None:
        self._key_of = key_of
        self._value_of = value_of
        self._cache: tuple[int, dict] = (-1, {})

    def _items(self) -> dict:
        version, items = self._cache
        if version != ENTITY_REGISTRY.version:
            items = {self._key_of(t): self._value_of(t) for t in ENTITY_REGISTRY.rows()}
            self._cache = (ENTITY_REGISTRY.version, items)
        return items

    def __getitem__(self, key: str):
        return self._items()[key]

    def snapshot(self) -> dict:
        """The mapping as it is now (a dict to read, not to change): for a loop's many lookups."""
        return self._items()

    def __iter__(self) -> Iterator:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __contains__(self, key: object) -> bool:
        return key in self._items()

    def __repr__(self) -> str:
        return repr(self._items())


#: Entity types as the API names them, and their labels (``{"disease": Label.DISEASE, …}``).
ENTITY_TYPES: Mapping[str, Label | EntityLabel] = _RegistryView(lambda t: t.key, lambda t: _label(t.label))

#: Plural group names used in a direction's detail (``{"disease": "diseases", …}``).
ENTITY_GROUPS: Mapping[str, str] = _RegistryView(lambda t: t.key, lambda t: t.plural)

#: Entity type of a node label (``{"Disease": "disease", …}``).
ENTITY_KEY_BY_LABEL: Mapping[str, str] = _RegistryView(lambda t: t.label, lambda t: t.key)


def explanation_groups() -> tuple[str, ...]:
    """Entity groups of a similarity explanation: the scoring groups first, then the other types' plurals."""
    return tuple(t.plural for t in ENTITY_REGISTRY.scored_first())


def entity_id(entity_type: str, key: str) -> str:
    """Stable id of an entity node."""
    return f"{entity_type}:{key}"
