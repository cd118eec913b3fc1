"""GET /api/health."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import StoreDep, respond
from api.errors import ERROR_RESPONSES
from graph import views

router = APIRouter(prefix="/api", tags=["health"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=views.Health)
async def health(store: StoreDep) -> Response:
    """Store status: backend, node and edge counts, when the graph was built."""
    return await respond(store, store.health)
