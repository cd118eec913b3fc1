"""GET /api/entities, /api/entities/{type}/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from fundgraph.api.deps import MAX_ID, EntityTypeKey, Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/entities", tags=["entities"], responses=ERROR_RESPONSES)

EntityType = EntityTypeKey

#: One example per entity type (the registry's ``example``), named by the type so that a client pairs the type
#: and the id of the same name; tests/api/test_examples.py calls each.
_TYPE_EXAMPLES = {t.key: {"value": t.key} for t in ENTITY_REGISTRY.rows() if t.example}
_ID_EXAMPLES = {t.key: {"summary": f"a {t.name_en.lower()} (with type {t.key})", "value": t.example}
                for t in ENTITY_REGISTRY.rows() if t.example}


@router.get("", response_model=list[models.EntitySummary])
async def list_entities(
    store: StoreDep,
    respond: Respond,
    type: Annotated[EntityType | None, Query(description="Entity type.", examples=["disease"])] = None,
    q: Annotated[
        str | None, Query(max_length=MAX_ID, description="Text in the id, name, English name or synonyms.",
                          examples=["阿尔茨海默"])
    ] = None,
) -> Response:
    """Entities with the number of directions and of programs citing each, most cited first."""
    return await respond(store.entities, type, q)


@router.get("/{entity_type}/{entity_id}", response_model=models.EntityDetail)
async def get_entity(
    store: StoreDep,
    respond: Respond,
    entity_type: Annotated[EntityType, Path(description="Entity type.", openapi_examples=_TYPE_EXAMPLES)],
    entity_id: Annotated[
        str, Path(max_length=MAX_ID, openapi_examples=_ID_EXAMPLES,
                  description="Entity id (`<type>:<vocabulary id>`), vocabulary id, or a name or synonym "
                              "(Chinese or English) of an entity of that type.")
    ],
) -> Response:
    """One entity with its codes, synonyms, groups, and its directions grouped by program."""
    return await respond(store.entity, entity_type, entity_id)
