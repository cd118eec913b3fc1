"""Read models every store returns and the API serves unchanged (the API's response models).

The program and direction shapes derive from the schema registry's field lists
(:func:`~fundgraph.core.schema.record_model`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from fundgraph.core.schema import DIRECTION_FIELDS, ENTITY_REGISTRY, PROGRAM_FIELDS, record_model


class LeftOutDocument(BaseModel):
    """A corpus document the last build left out because it could not be read or parsed."""

    program_id: str
    file: str
    line: int | None = None
    reason: str
    code: str


class Health(BaseModel):
    """State of the store."""

    status: str = "ok"
    backend: str
    node_count: int
    edge_count: int
    built_at: str | None = None
    encoder: str | None = None
    left_out: list[LeftOutDocument] = Field(
        default_factory=list, description="Documents the build left out (file, line, reason); see `fundgraph build`."
    )


class ProgramSummary(record_model("ProgramBrief", PROGRAM_FIELDS, brief=True)):
    """A program with its direction count."""

    direction_count: int


class DirectionBrief(record_model("DirectionBriefFields", DIRECTION_FIELDS, brief=True)):
    """A direction in lists."""


class DirectionPage(BaseModel):
    """A page of directions."""

    total: int
    items: list[DirectionBrief]


class _DirectionFilter(BaseModel):
    """Filters of GET /api/directions; entity filters take an entity id or a name/synonym."""

    # A type registered after import (fundgraph.core.schema) filters as an extra field.
    model_config = ConfigDict(extra="allow")

    program: str | None = None
    q: str | None = None

    def __getattr__(self, name: str) -> Any:
        if name in ENTITY_REGISTRY:
            return (self.__pydantic_extra__ or {}).get(name)
        return super().__getattr__(name)  # type: ignore[misc]


#: One ``str | None`` filter per entity type of the schema registry, between ``q`` and ``category``.
DirectionFilter = create_model(
    "DirectionFilter",
    __base__=_DirectionFilter,
    __module__=__name__,
    __doc__=_DirectionFilter.__doc__,
    **{key: (str | None, None) for key in ENTITY_REGISTRY},
    category=(str | None, None),
)


class Evidence(BaseModel):
    """Where a Direction→Entity link came from."""

    field: str
    snippet: str
    span: list[int] = Field(description="[start, end) character offsets in the source file")


#: How a direction's link to an entity was found (``EntityRef.found_by``).
FoundBy = Literal["vocabulary", "listed_keyword", "extracted_keyword", "application_code"]


class EntityRef(BaseModel):
    """An entity as cited by a direction, with its codes and evidence."""

    id: str
    type: str
    name: str
    name_en: str
    codes: dict[str, Any] = Field(default_factory=dict, description="icd10, icd11, mesh, dicom, nsfc …")
    boilerplate: bool = Field(default=False, description="Cited by nearly every direction of the program "
                                                         "(similarity leaves it out)")
    found_by: FoundBy = Field(
        default="vocabulary",
        description="How the link was found: vocabulary (a name or synonym of the vocabulary in the text: the "
                    "evidence says where), listed_keyword (one of the direction's own 关键词), extracted_keyword "
                    "(a keyword the extractor picked from the text of a direction that lists none), "
                    "application_code (an NSFC code of its 申请代码)",
    )
    extracted: bool = Field(
        default=False,
        description="Kept for compatibility: true only for found_by = extracted_keyword. It does not say whether "
                    "the entity is in the text (a disease named in the title is found_by vocabulary, extracted "
                    "false); evidence gives where it is",
    )
    evidence: list[Evidence] = Field(default_factory=list, description="Where the direction's text names it")


def _drop_additional_properties(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class _DirectionEntities(BaseModel):
    """A direction's entities grouped by type."""

    # The group of a type registered after import (fundgraph.core.schema) is an extra field.
    model_config = ConfigDict(extra="allow", json_schema_extra=_drop_additional_properties)


def _group_doc(plural_en: str, key: str) -> str:
    if key == "keyword":
        return ("Keyword entities: the direction's own 关键词 (found_by listed_keyword; the same words as the "
                "direction's keywords field) or, for a direction that lists none, up to five keywords extracted "
                "from its text (found_by extracted_keyword)")
    return f"{plural_en} the direction cites, with codes and evidence"


#: One group per entity type of the schema registry (``diseases``, ``modalities`` …).
DirectionEntities = create_model(
    "DirectionEntities",
    __base__=_DirectionEntities,
    __module__=__name__,
    __doc__=_DirectionEntities.__doc__,
    **{t.plural: (list[EntityRef], Field(default_factory=list, description=_group_doc(t.plural_en, t.key)))
       for t in ENTITY_REGISTRY.rows()},
)


class DirectionDetail(record_model(
    "DirectionDetailFields", DIRECTION_FIELDS, exported=True,
    overrides={"keywords": (list[str], Field(
        default_factory=list,
        description="The 关键词 the document lists for the direction, as written ([] when it lists none). The "
                    "keyword entities, listed or extracted from the text, are entities.keywords"))},
)):
    """Every field of the export, plus entities grouped by type."""

    community: str | None = None
    entities: DirectionEntities = Field(default_factory=DirectionEntities)


class Explanation(BaseModel):
    """Why two directions (or a text and a direction) are related."""

    text_score: float = Field(description="Cosine similarity of the text vectors")
    entity_score: float = Field(description="Rarity-weighted share of common entities")
    shared: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Shared entity names by type (diseases, modalities, techniques, keywords), strongest first. "
                    "Broader entities of the vocabulary hierarchy count: a 阿尔茨海默病 direction and a 帕金森病 one "
                    "share 神经退行性疾病 without naming it; via_hierarchy lists those",
    )
    via_hierarchy: dict[str, list[str]] | None = Field(
        default=None,
        description="The names in shared that one side does not cite itself but reaches through the vocabulary "
                    "hierarchy (MEMBER_OF: 肺癌 is under 恶性肿瘤), by type; for a search, the text's side is what "
                    "it names (query_entities)",
    )
    summary: str = ""


#: What the confidence of a pair means (SimilarItem, DirectionPair).
CONFIDENCE_DOC = (
    "Calibrated probability that readers judge the pair related (graded 1 or 2 of 0/1/2), from the score through "
    "the build's calibration (isotonic, fitted on the graded set fundgraph/data/eval/graded_similar.yaml); the "
    "same score always gives the same confidence, for similar directions, search hits and SIMILAR_TO edges. "
    "Null when the build's encoder has no calibration (only the lexical encoder has one)"
)


class SimilarItem(BaseModel):
    """One ranked direction."""

    direction: DirectionBrief
    score: float = Field(description="Combined score: text similarity and rarity-weighted shared entities")
    confidence: float | None = Field(default=None, ge=0, le=1, description=CONFIDENCE_DOC)
    explanation: Explanation
    above_threshold: bool = Field(description="Reaches the SIMILAR_TO threshold: confidence ≥ min_confidence (for "
                                              "a build without calibration, the score threshold)")


#: How ``similar`` and ``search`` order their items (graph.read.ranking).
ORDER_DOC = ("Most relevant first: the combined score picks the candidates and orders them; its best 30 are "
             "re-ordered by a mix with the words the two texts share (word TF-IDF; builds of the lexical encoder), "
             "so a lower score can stand above a higher one. score, confidence and above_threshold stay the "
             "combined score's")


class SimilarList(BaseModel):
    """Ranked directions, or the statement that no direction of another program is related."""

    items: list[SimilarItem] = Field(description=ORDER_DOC)
    no_related: bool = Field(
        default=False,
        description="No direction of another program reaches the SIMILAR_TO threshold. In scope cross-program "
                    "items is then empty (not a list of weak ones); in scope all it keeps the ranked directions "
                    "(those of the same program included)",
    )
    message: str | None = Field(
        default=None, description="With no_related: 其他项目中无相关方向 / No related direction in other programs, "
                                  "and the threshold; null otherwise")
    min_confidence: float | None = Field(
        default=None, description="The SIMILAR_TO threshold as a confidence (null for a build without calibration)")


class VocabularyTerm(BaseModel):
    """A vocabulary entity (or keyword) named by its id and its Chinese and English names."""

    id: str
    type: str
    name: str
    name_en: str


class QueryTerm(VocabularyTerm):
    """An entity the search text names, and the words that name it."""

    matched: str = Field(description="The words of the text that name it: a name, a synonym, an English word or "
                                     "stem (tumours → 肿瘤), or the head word of several names (cancer → 恶性肿瘤)")


class SearchResults(BaseModel):
    """Directions ranked against free text: only those with evidence (see ``rule``), and what the text named."""

    items: list[SimilarItem] = Field(description=f"{ORDER_DOC} (the text's Chinese words)")
    rule: str = Field(description="Which directions are results: the evidence each must show")
    query_entities: list[QueryTerm] = Field(
        default_factory=list,
        description="Vocabulary entities and keywords found in the text (before the hierarchy adds broader ones)",
    )
    reason: str | None = Field(default=None, description="Why there is no result (null when there are results)")
    suggestions: list[VocabularyTerm] = Field(
        default_factory=list,
        description="When there is no result: vocabulary terms of the corpus to search for instead",
    )


class EntitySummary(BaseModel):
    """An entity with how widely it is cited."""

    id: str
    type: str
    name: str
    name_en: str
    codes: dict[str, Any] = Field(default_factory=dict)
    direction_count: int
    program_count: int


class EntityDetail(BaseModel):
    """An entity and its directions, grouped by program."""

    id: str
    type: str
    name: str
    name_en: str
    codes: dict[str, Any] = Field(default_factory=dict)
    synonyms: list[str] = Field(default_factory=list)
    no_code_reason: str | None = None
    members: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    directions_by_program: dict[str, list[DirectionBrief]]


class OverlapEntity(BaseModel):
    """An entity two programs share, with the directions on each side."""

    entity: EntitySummary
    a_directions: list[DirectionBrief]
    b_directions: list[DirectionBrief]


class DirectionPair(BaseModel):
    """A similar pair across two programs."""

    a: DirectionBrief
    b: DirectionBrief
    score: float
    confidence: float | None = Field(default=None, ge=0, le=1, description=CONFIDENCE_DOC)
    explanation: Explanation


class Overlap(BaseModel):
    """What two programs share."""

    a: str
    b: str
    shared: list[OverlapEntity]
    similar_pairs: list[DirectionPair]


class Matrix(BaseModel):
    """Program × entity counts: directions of the program citing the entity or one of its members (see ``rule``)."""

    by: str
    rule: str = Field(description="How a cell is counted: the same directions as the directions list filtered by "
                                  "the program and the entity")
    programs: list[str]
    entities: list[EntitySummary] = Field(
        description="The columns; direction_count and program_count are the column's, counted by the same rule"
    )
    counts: list[list[int]] = Field(description="counts[i][j]: program i, entity j")


class GraphNode(BaseModel):
    """A node in cytoscape.js element shape (``data`` holds id, label, name …)."""

    data: dict[str, Any]


class GraphEdge(BaseModel):
    """An edge in cytoscape.js element shape (``data`` holds id, source, target, type …)."""

    data: dict[str, Any]


class Neighborhood(BaseModel):
    """Nodes and edges around a node; readable by cytoscape.js (elements) and D3 (nodes/links)."""

    center: str
    depth: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False


class EntityTypeInfo(BaseModel):
    """One entity type of the schema registry: its names, graph label, codes, scoring group and colour."""

    key: str = Field(description="API name and id prefix: the value of type= and by=")
    label: str = Field(description="Graph node label")
    plural: str = Field(description="Group name in a direction's entities")
    name_zh: str
    name_en: str
    plural_en: str
    short_en: str = Field(description="Legend name (name_en where empty)")
    color: str = Field(description="Dashboard colour, #rrggbb")
    code_systems: list[str] = Field(description="Node properties holding its codes (icd10, dicom, nsfc …)")
    vocab_file: str | None = Field(description="Vocabulary file; None for extracted keywords")
    score_weight: float | None = Field(description="Weight of a shared entity in similarity; None: not scored")
    matrix_menu: bool = Field(description="Offered as heatmap columns on the dashboard")


class NodeTypeInfo(BaseModel):
    """A node label that is not an entity type (Program, Direction …), with its name and colour."""

    label: str
    name_zh: str
    name_en: str
    color: str


class FieldInfo(BaseModel):
    """A field of the Program or Direction record."""

    name: str
    type: str = Field(description='"str", "str?", "int?", "list[str]" … ("?": may be null)')
    exported: bool
    filterable: bool
    brief: bool = Field(description="Shown in lists")


class SchemaInfo(BaseModel):
    """The schema registry: entity types, other node labels, and the Program / Direction fields."""

    entity_types: list[EntityTypeInfo]
    node_types: list[NodeTypeInfo]
    program_fields: list[FieldInfo]
    direction_fields: list[FieldInfo]
