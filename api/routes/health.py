"""GET /api/health."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StoreDep, call
from api.errors import ERROR_RESPONSES
from graph import views

router = APIRouter(prefix="/api", tags=["health"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=views.Health)
async def health(store: StoreDep) -> views.Health:
    """Store status: backend, node and edge counts, when the graph was built."""
    return await call(store, store.health)
