"""GET /api/schema: the schema registry, which the dashboard reads for entity types, names and colours."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.core import schema
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/schema", tags=["schema"], responses=ERROR_RESPONSES)


def schema_info() -> models.SchemaInfo:
    """The registry (built-in rows and those registered from the vocabulary directory) as a read model."""
    return models.SchemaInfo(
        entity_types=[
            models.EntityTypeInfo(
                key=t.key, label=t.label, plural=t.plural, name_zh=t.name_zh, name_en=t.name_en,
                plural_en=t.plural_en, short_en=t.short_en or t.name_en, color=t.color,
                code_systems=list(t.code_systems), vocab_file=t.vocab_file, score_weight=t.score_weight,
                matrix_menu=t.matrix_menu,
            )
            for t in schema.ENTITY_REGISTRY.rows()
        ],
        node_types=[models.NodeTypeInfo(label=n.label, name_zh=n.name_zh, name_en=n.name_en, color=n.color)
                    for n in schema.NODE_TYPES],
        program_fields=[models.FieldInfo(**asdict(f)) for f in schema.PROGRAM_FIELDS],
        direction_fields=[models.FieldInfo(**asdict(f)) for f in schema.DIRECTION_FIELDS],
    )


@router.get("", response_model=models.SchemaInfo)
async def get_schema() -> models.SchemaInfo:
    """Entity types (key, label, names, codes, scoring group, colour), other node labels, and record fields."""
    return schema_info()
