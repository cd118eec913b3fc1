"""GET /api/health."""

from __future__ import annotations

from fastapi import APIRouter, Response

from fundgraph.api.deps import Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read import models

router = APIRouter(prefix="/api", tags=["health"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=models.Health)
async def health(store: StoreDep, respond: Respond) -> Response:
    """Store status: backend, node and edge counts, when the graph was built."""
    return await respond(store.health)
