"""GET /api/entities, /api/entities/{type}/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from fundgraph.api.deps import EntityTypeKey, Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/entities", tags=["entities"], responses=ERROR_RESPONSES)

EntityType = EntityTypeKey


@router.get("", response_model=list[models.EntitySummary])
async def list_entities(
    store: StoreDep,
    respond: Respond,
    type: Annotated[EntityType | None, Query(description="Entity type.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in the id, name, English name or synonyms.")
    ] = None,
) -> Response:
    """Entities with the number of directions and of programs citing each, most cited first."""
    return await respond(store.entities, type, q)


@router.get("/{entity_type}/{entity_id}", response_model=models.EntityDetail)
async def get_entity(
    store: StoreDep,
    respond: Respond,
    entity_type: Annotated[EntityType, Path(description="Entity type.")],
    entity_id: Annotated[
        str, Path(max_length=200, description="Entity id (disease:alzheimer), vocabulary id or name.")
    ],
) -> Response:
    """One entity with its codes, synonyms, groups, and its directions grouped by program."""
    return await respond(store.entity, entity_type, entity_id)
