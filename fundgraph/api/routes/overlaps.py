"""GET /api/overlaps, /api/overlaps/matrix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from fundgraph.api.deps import EntityTypeKeyScoredFirst, Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/overlaps", tags=["overlaps"], responses=ERROR_RESPONSES)


@router.get("", response_model=models.Overlap)
async def program_overlap(
    store: StoreDep,
    respond: Respond,
    a: Annotated[str, Query(description="A program id.", examples=["gd-imaging-2026"])],
    b: Annotated[str, Query(description="Another program id.", examples=["most-btit-2024"])],
) -> Response:
    """The entities two programs share, with the directions on each side, and their similar pairs."""
    return await respond(store.overlaps, a, b)


@router.get("/matrix", response_model=models.Matrix)
async def overlap_matrix(
    store: StoreDep,
    respond: Respond,
    by: Annotated[
        EntityTypeKeyScoredFirst,
        Query(description="Entity type of the columns.", examples=["disease", "modality"]),
    ] = "disease",
) -> Response:
    """Program × entity counts (directions of the program citing the entity), for heatmaps."""
    return await respond(store.matrix, by)
