"""GET /api/directions, /api/directions/{id}, /api/directions/{id}/similar."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from fundgraph.api.deps import MAX_K, PageDep, StoreDep, respond
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/directions", tags=["directions"], responses=ERROR_RESPONSES)

_ENTITY_FILTER = "An entity id (disease:alzheimer), vocabulary id, or a name/synonym in Chinese or English."
DirectionId = Annotated[str, Path(description="Direction id, e.g. most-btit-2024:1.4", max_length=200)]


@router.get("", response_model=models.DirectionPage)
async def list_directions(
    store: StoreDep,
    page: PageDep,
    program: Annotated[str | None, Query(description="Program id (404 when unknown).")] = None,
    q: Annotated[str | None, Query(description="Text in the title or content (case-insensitive).")] = None,
    disease: Annotated[str | None, Query(description=_ENTITY_FILTER)] = None,
    modality: Annotated[str | None, Query(description=_ENTITY_FILTER)] = None,
    technique: Annotated[str | None, Query(description=_ENTITY_FILTER)] = None,
    keyword: Annotated[
        str | None, Query(description=_ENTITY_FILTER + " Also matches the 关键词 list.")
    ] = None,
    discipline: Annotated[str | None, Query(description=_ENTITY_FILTER + " E.g. H2701.")] = None,
    category: Annotated[
        str | None, Query(description="Normalised category (key_technology …) or raw text.")
    ] = None,
) -> Response:
    """Directions matching every given filter, in program and document order, one page at a time."""
    filters = models.DirectionFilter(
        program=program,
        q=q,
        disease=disease,
        modality=modality,
        technique=technique,
        keyword=keyword,
        discipline=discipline,
        category=category,
    )
    return await respond(store, store.directions, filters, page.limit, page.offset)


@router.get("/{direction_id}", response_model=models.DirectionDetail)
async def get_direction(store: StoreDep, direction_id: DirectionId) -> Response:
    """One direction: every exported field, plus its entities grouped by type with codes and evidence."""
    return await respond(store, store.direction, direction_id)


@router.get("/{direction_id}/similar", response_model=models.SimilarList)
async def similar_directions(
    store: StoreDep,
    direction_id: DirectionId,
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"How many (1 … {MAX_K}).")] = 10,
    scope: Annotated[Literal["cross-program", "all"], Query(description="Other programs only, or all.")] = (
        "cross-program"
    ),
) -> Response:
    """The k most similar directions, ranked over every candidate, with scores and explanations."""
    return await respond(store, store.similar, direction_id, k, scope)
