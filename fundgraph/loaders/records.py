"""Typed records the loaders produce: Program → Section → Direction.

Every record keeps the raw source text beside its normalised value, and every
direction knows the file and character span it came from. Program's and Direction's fields are the schema
registry's (:data:`fundgraph.core.schema.PROGRAM_FIELDS`, :data:`~fundgraph.core.schema.DIRECTION_FIELDS`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from fundgraph.core.schema import DIRECTION_FIELDS, PROGRAM_FIELDS, record_model


class Category(StrEnum):
    """A direction's category, normalised across programs (the raw text is kept in ``category_raw``)."""

    KEY_TECHNOLOGY = "key_technology"  # 共性关键技术类 / 关键共性技术类
    BASIC_RESEARCH = "basic_research"  # 基础研究类
    APPLICATION_DEMO = "application_demo"  # 应用示范类 / 示范应用类
    KEY_CHALLENGE = "key_challenge"  # 重点攻关类
    REGULAR = "regular"  # 常规支持类
    YOUNG_SCIENTIST = "young_scientist"  # 青年科学家项目
    KEY_PROJECT = "key_project"  # 重点项目
    GENERAL_PROJECT = "general_project"  # 面上项目
    CROSS_KEY_PROJECT = "cross_key_project"  # 交叉重点专项项目 (NSFC 天元)


class SourceSpan(BaseModel):
    """Where a record came from: the file and the character span [start, end) in its decoded text."""

    file: str
    start: int
    end: int
    line: int | None = Field(default=None, description="1-based line of `start`.")


class SourceText(BaseModel):
    """Whole lines of a decoded file, from character ``start``: the text a record was parsed from.

    A direction keeps the lines its spans cover, so its field spans can be mapped back to the file
    (:func:`loaders.corpus.locate`) without the file, and a copy read back from JSON still can.
    """

    start: int = Field(description="Offset of ``text`` in the decoded file (a line start).")
    text: str

    @property
    def end(self) -> int:
        """Offset just past ``text`` in the decoded file."""
        return self.start + len(self.text)


class Funding(BaseModel):
    """Funding stated by the document."""

    amount: float
    unit: str = Field(description="e.g. 万元, 亿元")
    scope: str = Field(description="'direction', 'category' or 'program': where the statement applies")
    text: str = Field(description="The sentence the amount was read from.")


class Section(BaseModel):
    """A grouping in the document: task (任务), field (领域), 专题, or category group."""

    id: str
    program_id: str
    code: str | None = None
    title: str
    kind: str = Field(description="task | field | topic | category_group")
    ordinal: int
    parent_id: str | None = None


class Direction(record_model(
    "DirectionFields", DIRECTION_FIELDS, doc=True, exclude=("title_en",),  # English titles are matched at build
    types={"category": Category | None, "funding": Funding | None, "source": SourceSpan},
)):
    """One research direction (研究方向) of a program: the registry's fields, and what the parse knows besides."""

    metrics_label: str | None = Field(default=None, description="考核指标 / 预期指标 / 技术指标")
    field_spans: dict[str, SourceSpan] = Field(
        default_factory=dict, description="Span of each text field (title, content, metrics, keywords) in the file."
    )
    source_text: SourceText | None = Field(
        default=None, repr=False,
        description="The file's lines that ``source`` and ``field_spans`` cover (None for hand-made records).",
    )


class Program(record_model("ProgramFields", PROGRAM_FIELDS)):
    """A funding program as described by one guideline document (one manifest entry): the registry's fields."""


class Level(BaseModel):
    """One inferred level of the document's structure."""

    role: str = Field(description="direction | section | category")
    scheme: str = Field(description="Numbering scheme name (see layout.SCHEMES), 'line' or 'table'.")
    shown: str = Field(description="How the numbering looks: （一）, 1.1, 方向一：, 重点攻关类： …")
    count: int
    first_line: int | None = None


class Layout(BaseModel):
    """What inference found in a document (printed by the CLI beside the directions)."""

    levels: list[Level] = Field(default_factory=list)
    heading: str | None = Field(default=None, description="The heading that opens the direction list.")
    heading_line: int | None = None
    end_line: int | None = Field(default=None, description="Line where the direction list ends.")
    excluded_sections: list[str] = Field(
        default_factory=list, description="Headings of sections whose lists are not directions (申报条件 …)."
    )
    overview_table: bool = Field(default=False, description="Directions also listed in an overview table.")
    score: float = 0.0


class ParsedDocument(BaseModel):
    """Everything one document yields."""

    program: Program
    sections: list[Section]
    directions: list[Direction]
    warnings: list[str] = Field(default_factory=list)
    layout: Layout | None = Field(default=None, description="What layout inference found in the document.")
