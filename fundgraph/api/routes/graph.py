"""GET /api/graph/neighborhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from fundgraph.api.deps import (
    DEFAULT_DEPTH,
    DEFAULT_LIMIT,
    MAX_DEPTH,
    MAX_ID,
    MAX_LIMIT,
    Respond,
    SettingsDep,
    StoreDep,
)
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.core.errors import InvalidRequest
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/graph", tags=["graph"], responses=ERROR_RESPONSES)

#: Real nodes of the bundled corpus, by id and by name (tests/api/test_examples.py calls each).
NODE_EXAMPLES = {
    "direction": {"summary": "a direction id", "value": "gd-imaging-2026:YXA0101"},
    "program": {"summary": "a program id", "value": "most-btit-2024"},
    "entity": {"summary": "an entity id", "value": "disease:alzheimer"},
    "name": {"summary": "an entity's Chinese name", "value": "阿尔茨海默病"},
    "synonym": {"summary": "an English synonym", "value": "MRI"},
}


@router.get("/neighborhood", response_model=models.Neighborhood)
async def neighborhood(
    store: StoreDep,
    respond: Respond,
    settings: SettingsDep,
    node: Annotated[str, Query(
        max_length=MAX_ID,
        description="Any node id (program, direction, entity …), or an entity's name or synonym in Chinese or "
                    "English (the first entity type, in registry order, that has exactly one entity of that name).",
        openapi_examples=NODE_EXAMPLES)],
    depth: Annotated[
        int, Query(ge=0, le=MAX_DEPTH, description=f"Hops (0 … {MAX_DEPTH}).", examples=[2])
    ] = DEFAULT_DEPTH,
    limit: Annotated[
        int, Query(ge=1, json_schema_extra={"maximum": MAX_LIMIT}, examples=[50],
                   description=f"Most nodes: 1 … {MAX_LIMIT} (FUNDGRAPH_MAX_LIMIT; a larger value is a 422).")
    ] = DEFAULT_LIMIT,
) -> Response:
    """Nodes and edges around a node, as cytoscape.js elements (``{data: {...}}``)."""
    if limit > settings.max_limit:
        raise InvalidRequest(
            f"limit must be at most {settings.max_limit}",
            detail={"limit": limit, "max_limit": settings.max_limit},
        )
    return await respond(store.neighborhood, node, depth, limit)
