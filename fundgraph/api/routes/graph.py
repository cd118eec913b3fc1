"""GET /api/graph/neighborhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from fundgraph.api.deps import MAX_DEPTH, Respond, SettingsDep, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.core.errors import InvalidRequest
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/graph", tags=["graph"], responses=ERROR_RESPONSES)


@router.get("/neighborhood", response_model=models.Neighborhood)
async def neighborhood(
    store: StoreDep,
    respond: Respond,
    settings: SettingsDep,
    node: Annotated[str, Query(max_length=200, description="Any node id: program, direction, entity …")],
    depth: Annotated[int, Query(ge=0, le=MAX_DEPTH, description=f"Hops (0 … {MAX_DEPTH}).")] = 1,
    limit: Annotated[
        int, Query(ge=1, json_schema_extra={"maximum": 500}, description="Most nodes, at most Settings.max_limit.")
    ] = 100,
) -> Response:
    """Nodes and edges around a node, as cytoscape.js elements (``{data: {...}}``)."""
    if limit > settings.max_limit:
        raise InvalidRequest(
            f"limit must be at most {settings.max_limit}",
            detail={"limit": limit, "max_limit": settings.max_limit},
        )
    return await respond(store.neighborhood, node, depth, limit)
