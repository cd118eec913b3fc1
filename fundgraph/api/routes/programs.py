"""GET /api/programs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from fundgraph.api.deps import Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/programs", tags=["programs"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[models.ProgramSummary])
async def list_programs(store: StoreDep, respond: Respond) -> Response:
    """Every funding program, in manifest order, with its number of directions."""
    return await respond(store.programs)
