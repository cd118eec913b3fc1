"""The schema registry: every entity type, every node label and the Program / Direction fields, declared once.

Pure data (imports nothing of the project), and :func:`record_model`, which turns a field list into the pydantic
model the records subclass. Everything else derives from it: the graph labels
(:mod:`fundgraph.graph.model`), which vocabulary files are read (:mod:`fundgraph.loaders.vocab`), the scoring
groups (:mod:`fundgraph.embeddings.scoring`), the lexicon types of the similarity layer, the API's read models and
route parameter types, ``GET /api/schema`` and, through it, the dashboard's names and colours.

Adding an entity type is one :class:`EntityType` row plus a vocabulary file. A user adds one without editing
code by listing it in ``entity_types.csv`` in the vocabulary directory (read by
:func:`fundgraph.loaders.vocab.vocabulary_entity_types`). Each build and each app makes its own
:class:`EntityRegistry` from its vocabulary directory and works under it (:func:`using_registry`);
:data:`ENTITY_REGISTRY` reads the one in use. The build records the types beyond the built-in ones in the
graph's meta (``entity_types``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, create_model


@dataclass(frozen=True)
class EntityType:
    """One entity type: how it is named in the API, the graph, the vocabularies, the scoring and the dashboard."""

    #: API name and id prefix (``disease:alzheimer``); the value of ``type=`` and ``by=``.
    key: str
    #: Graph node label (Neo4j label).
    label: str
    #: Group name in a direction's detail (``entities.diseases``) and in explanations.
    plural: str
    name_zh: str
    name_en: str
    plural_en: str
    #: Dashboard colour of its nodes.
    color: str
    #: Legend name where shorter than ``name_en`` (影像模态 Modality); ``name_en`` when empty.
    short_en: str = ""
    #: Node properties that hold its codes in a standard (icd10 …, dicom, nsfc).
    code_systems: tuple[str, ...] = ()
    #: A vocabulary row needs this code or a ``no_code_reason``.
    required_code: str | None = None
    #: CSV file of the vocabulary directory; None: not from a vocabulary (keywords are extracted).
    vocab_file: str | None = None
    #: Column of the vocabulary file holding the entity's key.
    key_column: str = "id"
    #: Columns the vocabulary file's header must have.
    columns: tuple[str, ...] = ("id", "name_zh", "name_en", "synonyms")
    #: Names and synonyms are matched in direction text (disciplines come from the 学科代码 only).
    matched_in_text: bool = True
    #: Scoring group: weight of a shared entity of this type in similarity; None: not scored.
    score_weight: float | None = None
    #: Its vocabulary names feed the text lexicon of the similarity layer.
    lexicon: bool = False
    #: Offered as heatmap columns on the dashboard.
    matrix_menu: bool = False
    #: Extra help of its ``GET /api/directions`` filter.
    filter_hint: str = ""
    #: An id or name of this type that the bundled corpus cites: the OpenAPI example of its filter and path id.
    example: str = ""


@dataclass(frozen=True)
class NodeType:
    """A node label that is not an entity type (Program, Direction …), with its dashboard name and colour."""

    label: str
    member: str  # name of the :class:`fundgraph.graph.model.Label` member
    name_zh: str
    name_en: str
    color: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record: its name, its type, whether it is exported and whether it can filter lists.

    The records derive from these rows (:func:`record_model`): the loaders' Program and Direction, the manifest
    entry, the API's ProgramSummary, DirectionBrief and DirectionDetail; so do the graph's node properties and
    the record mappers (``fundgraph.graph.build.pipeline``, ``fundgraph.graph.read.records``).
    """

    name: str
    type: str  # "str", "str?", "int?", "list[str]" … ("?": may be None)
    exported: bool = True
    filterable: bool = False
    #: Shown in lists (``ProgramSummary``, ``DirectionBrief``).
    brief: bool = False
    #: A list that must be given (other lists default to empty).
    required: bool = False
    #: Parts of a ``dict`` field, stored flat in the graph as ``<name>_<part>`` properties (``funding_amount`` …).
    parts: tuple[str, ...] = ()
    #: Description in the loaders' record (the API's read models carry none).
    doc: str = ""

    @property
    def optional(self) -> bool:
        """May be None (type ends in ``?``)."""
        return self.type.endswith("?")

    @property
    def is_list(self) -> bool:
        """A list type."""
        return self.type.startswith("list[")

    def annotation(self) -> Any:
        """The Python type of the field."""
        base = _TYPES[self.type.removesuffix("?")]
        return base | None if self.optional else base

    def default(self, *, doc: bool = False) -> Any:
        """The pydantic default of the field: None, an empty list, or required; with its description if ``doc``."""
        extra = {"description": self.doc} if doc and self.doc else {}
        if self.optional:
            return Field(default=None, **extra) if extra else None
        if self.is_list and not self.required:
            return Field(default_factory=list, **extra)
        return Field(**extra) if extra else ...


_TYPES: dict[str, Any] = {"str": str, "int": int, "list[str]": list[str], "dict": dict[str, Any]}


def record_model(
    name: str,
    fields: Iterable[FieldSpec],
    *,
    brief: bool | None = None,
    exported: bool | None = None,
    doc: bool = False,
    rename: Mapping[str, str] | None = None,
    types: Mapping[str, Any] | None = None,
    overrides: Mapping[str, tuple[Any, Any]] | None = None,
    exclude: Iterable[str] = (),
) -> type[BaseModel]:
    """A pydantic model with the registry's fields, in order: the base the records subclass.

    Args:
        name: the model's name (the subclass gives the record its own name and docstring).
        fields: :data:`PROGRAM_FIELDS` or :data:`DIRECTION_FIELDS`.
        brief: only the fields shown in lists (True), or only the others (False).
        exported: only the exported fields (True), or only the others (False).
        doc: give the fields their descriptions.
        rename: fields that bear another name in this record (``source_file`` → ``file`` in the manifest).
        types: fields whose type is richer in this record (an enum, a nested record), same default.
        overrides: fields declared otherwise in this record: name → (type, default or ``Field(...)``).
        exclude: fields this record does not have.
    """
    rename, types, overrides, skip = rename or {}, types or {}, overrides or {}, set(exclude)
    defs: dict[str, Any] = {}
    for f in fields:
        if f.name in skip or (brief is not None and f.brief != brief) or (
                exported is not None and f.exported != exported):
            continue
        key = rename.get(f.name, f.name)
        defs[key] = overrides.get(key) or (types.get(f.name, f.annotation()), f.default(doc=doc))
    return create_model(name, **defs)


_VOCAB_COLUMNS = ("id", "name_zh", "name_en", "synonyms", "member_of")

#: The built-in entity types, in the API's order.
BUILTIN_ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType(
        key="disease", label="Disease", plural="diseases", name_zh="疾病", name_en="Disease", plural_en="Diseases",
        color="#d35400", code_systems=("icd10", "icd11", "mesh"), required_code="icd10",
        vocab_file="diseases.csv",
        columns=("id", "name_zh", "name_en", "synonyms", "icd10", "no_code_reason", "member_of", "is_group"),
        score_weight=1.5, lexicon=True, matrix_menu=True, example="disease:alzheimer",
    ),
    EntityType(
        key="modality", label="ImagingModality", plural="modalities", name_zh="影像模态", name_en="Imaging modality",
        plural_en="Imaging modalities", short_en="Modality", color="#8e44ad", code_systems=("dicom",),
        required_code="dicom", vocab_file="modalities.csv",
        columns=("id", "name_zh", "name_en", "synonyms", "dicom", "no_code_reason", "member_of"),
        score_weight=1.2, lexicon=True, matrix_menu=True, example="PET",
    ),
    EntityType(
        key="discipline", label="Discipline", plural="disciplines", name_zh="学科", name_en="Discipline",
        plural_en="Disciplines", color="#16a085", code_systems=("nsfc",), vocab_file="disciplines.csv",
        key_column="code", columns=("code", "name_zh", "name_en"), matched_in_text=False, lexicon=True,
        filter_hint="E.g. H2701.", example="H2701",
    ),
    EntityType(
        key="technique", label="Technique", plural="techniques", name_zh="技术", name_en="Technique",
        plural_en="Techniques", color="#27ae60", vocab_file="techniques.csv", columns=_VOCAB_COLUMNS,
        score_weight=1.0, lexicon=True, matrix_menu=True, example="technique:deep-learning",
    ),
    EntityType(
        key="keyword", label="Keyword", plural="keywords", name_zh="关键词", name_en="Keyword", plural_en="Keywords",
        color="#b7950b", score_weight=0.5, matrix_menu=True, filter_hint="Also matches the 关键词 list.",
        example="脑机接口",
    ),
)

#: Node labels other than entity types, in the order of :class:`fundgraph.graph.model.Label`.
NODE_TYPES: tuple[NodeType, ...] = (
    NodeType("Program", "PROGRAM", "项目", "Program", "#1f4e79"),
    NodeType("Section", "SECTION", "章节", "Section", "#8c8c8c"),
    NodeType("Direction", "DIRECTION", "研究方向", "Direction", "#2e86de"),
    NodeType("Funder", "FUNDER", "资助方", "Funder", "#34495e"),
    NodeType("ProgramSeries", "SERIES", "项目系列", "Series", "#5d6d7e"),
    NodeType("Community", "COMMUNITY", "主题社区", "Community", "#c0392b"),
)
#: Where the entity labels go among :data:`NODE_TYPES` in :class:`fundgraph.graph.model.Label` (after Direction).
ENTITY_LABELS_AFTER = "Direction"

#: A program's fields as exported (``fundgraph export``) and, where ``brief``, listed by ``GET /api/programs``.
PROGRAM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "str", brief=True),
    FieldSpec("name", "str", brief=True),
    FieldSpec("name_en", "str", brief=True),
    FieldSpec("funder", "list[str]", brief=True, required=True),
    FieldSpec("funder_en", "list[str]", brief=True),
    FieldSpec("series", "str?", brief=True),
    FieldSpec("series_en", "str?"),
    FieldSpec("year", "int?", brief=True),
    FieldSpec("status", "str?", brief=True),
    FieldSpec("status_en", "str?"),
    FieldSpec("source_file", "str", brief=True),
    FieldSpec("profile", "str", exported=False),
)

#: A direction's fields as exported and served by ``GET /api/directions/{id}``; ``brief`` ones in lists,
#: ``filterable`` ones filter ``GET /api/directions`` (besides one filter per entity type).
DIRECTION_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "str", brief=True),
    FieldSpec("program_id", "str", brief=True, filterable=True),
    FieldSpec("code", "str", brief=True, doc="The document's own numbering: (十一), 7, 2.10, 1.4, YXB0101 …"),
    FieldSpec("ordinal", "int", doc="1-based position in the document."),
    FieldSpec("title", "str", brief=True, filterable=True),
    FieldSpec("title_en", "str?", brief=True),
    FieldSpec("category", "str?", brief=True, filterable=True),
    FieldSpec("category_raw", "str?"),
    FieldSpec("support_type", "str?", doc="重点攻关 / 常规支持 / 青年科学家 / 重点项目 / 面上项目 …"),
    FieldSpec("section", "str?", doc="Id of the innermost section."),
    FieldSpec("section_title", "str?"),
    FieldSpec("content", "str?", filterable=True),
    FieldSpec("metrics", "str?"),
    FieldSpec("keywords", "list[str]"),
    FieldSpec("notes", "list[str]"),
    FieldSpec("funding", "dict?", parts=("amount", "unit", "scope", "text")),
    FieldSpec("application_code", "str?"),
    FieldSpec("disciplines", "list[str]"),
    FieldSpec("source", "dict", parts=("file", "start", "end", "line")),
)


def field_names(fields: Iterable[FieldSpec], *, exported: bool | None = None, brief: bool | None = None) -> tuple[
        str, ...]:
    """Names of the fields, optionally only the exported / brief ones."""
    return tuple(f.name for f in fields
                 if (exported is None or f.exported == exported) and (brief is None or f.brief == brief))


_VERSIONS = itertools.count(1)


class EntityRegistry:
    """The entity types in order: the built-in rows, then those a vocabulary directory declares.

    One per graph: the build makes one from its vocabulary directory, an app from its own, and each makes it the
    registry in use (:func:`using_registry`) while it works; rows are registered while it is made, never later.

    Iterating yields the keys (like a dict); ``registry[key]`` is the :class:`EntityType`.
    """

    def __init__(self, rows: Iterable[EntityType] = ()) -> None:
        self._rows: dict[str, EntityType] = {}
        #: Changed on every change, so views derived from the registry know when to recompute (unique across
        #: registries: a view that follows the registry in use sees another registry as a change).
        self.version = next(_VERSIONS)
        self._cache: dict[str, tuple[int, tuple[str, ...]]] = {}
        for row in rows:
            self.register(row)

    def register(self, row: EntityType) -> None:
        """Add a type; registering the same row again is a no-op.

        Raises:
            ValueError: another type already has this key, label or plural.
        """
        same = self._rows.get(row.key)
        if same == row:
            return
        if same is not None:
            raise ValueError(f"entity type {row.key!r} is already registered with other values")
        for other in self._rows.values():
            for attr in ("label", "plural"):
                if getattr(other, attr) == getattr(row, attr):
                    raise ValueError(f"entity type {row.key!r}: {attr} {getattr(row, attr)!r} is already "
                                     f"{other.key!r}'s")
        self._rows[row.key] = row
        self.version = next(_VERSIONS)

    def rows(self) -> tuple[EntityType, ...]:
        """Every registered type, in order."""
        return tuple(self._rows.values())

    def keys(self) -> tuple[str, ...]:
        """Every registered key, in order."""
        return tuple(self._rows)

    def by_label(self, label: str) -> EntityType | None:
        """The type whose node label is ``label``, or None."""
        return next((r for r in self._rows.values() if r.label == label), None)

    def code_systems(self) -> tuple[str, ...]:
        """Every code system of the registered types, in order (the node properties shown under ``codes``)."""
        return self._derived("code_systems", lambda: tuple(dict.fromkeys(
            c for r in self._rows.values() for c in r.code_systems)))

    def main_code_systems(self) -> tuple[str, ...]:
        """Each type's first code system (icd10, dicom, nsfc …): the code a graph view shows beside a node."""
        return self._derived("main_code_systems", lambda: tuple(dict.fromkeys(
            r.code_systems[0] for r in self._rows.values() if r.code_systems)))

    def _derived(self, name: str, compute: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
        cached = self._cache.get(name)
        if cached is None or cached[0] != self.version:
            cached = self._cache[name] = (self.version, compute())
        return cached[1]

    def scored(self) -> tuple[EntityType, ...]:
        """The scoring groups: types whose shared entities count in similarity, in order."""
        return tuple(r for r in self._rows.values() if r.score_weight is not None)

    def scored_first(self) -> tuple[EntityType, ...]:
        """The scoring groups, then the other types (the order of ``by=`` and of the directions' entity filters)."""
        return (*self.scored(), *(r for r in self._rows.values() if r.score_weight is None))

    def __getitem__(self, key: str) -> EntityType:
        return self._rows[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return repr(self.keys())


#: The built-in entity types alone: the registry in use wherever no graph or app says otherwise.
BUILTIN_REGISTRY = EntityRegistry(BUILTIN_ENTITY_TYPES)

_IN_USE: ContextVar[EntityRegistry] = ContextVar("entity_registry", default=BUILTIN_REGISTRY)


@contextmanager
def using_registry(registry: EntityRegistry) -> Iterator[EntityRegistry]:
    """Make ``registry`` the one in use (:data:`ENTITY_REGISTRY`) in this context, until the block ends.

    A context variable, not a global: a build, or an app's requests (``fundgraph.api.app``), see their own
    types, and two apps with different vocabulary directories in one process do not see each other's.
    """
    token = _IN_USE.set(registry)
    try:
        yield registry
    finally:
        _IN_USE.reset(token)


class _RegistryInUse:
    """Reads the registry in use: ``rows()``, ``keys()``, ``scored()``, ``key in …``, ``[key]`` … (not ``register``)."""

    def current(self) -> EntityRegistry:
        """The registry in use."""
        return _IN_USE.get()

    def __getattr__(self, name: str) -> Any:
        if name == "register":  # a registry gets its rows when it is made, not while in use
            raise AttributeError("the registry in use is read-only: make an EntityRegistry and using_registry() it")
        return getattr(_IN_USE.get(), name)

    def __getitem__(self, key: str) -> EntityType:
        return _IN_USE.get()[key]

    def __contains__(self, key: object) -> bool:
        return key in _IN_USE.get()

    def __iter__(self) -> Iterator[str]:
        return iter(_IN_USE.get())

    def __len__(self) -> int:
        return len(_IN_USE.get())

    def __repr__(self) -> str:
        return repr(_IN_USE.get())


#: The entity types in use: those of the graph being built or of the app serving the request
#: (:func:`using_registry`), the built-in ones elsewhere.
ENTITY_REGISTRY = _RegistryInUse()
