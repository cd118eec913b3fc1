"""GET /api/export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from fundgraph import service
from fundgraph.api.deps import StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.formats import FORMATS, SERVED_FORMATS

router = APIRouter(prefix="/api/export", tags=["export"], responses=ERROR_RESPONSES)

#: The ``format`` values, from the one format registry (today json and graphml).
ServedFormat = Literal[SERVED_FORMATS]  # type: ignore[valid-type]


class ExportDocument(BaseModel):
    """The JSON export (the same document as `fundgraph export --format json`)."""

    meta: dict[str, Any]
    programs: list[dict[str, Any]]
    directions: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    links: list[dict[str, Any]]
    similar: list[dict[str, Any]] = []


def _render(store: Any, fmt: str) -> Response:
    served = service.served_export(store, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{served.filename}"'} if served.filename else None
    return Response(served.body, media_type=served.media_type, headers=headers)


@router.get("", response_model=ExportDocument, responses={200: {"content": {
    FORMATS[name].served.media_type: {} for name in SERVED_FORMATS if name != "json"}}})
async def export(
    store: StoreDep,
    format: Annotated[ServedFormat, Query(description=" or ".join(SERVED_FORMATS) + ".")] = "json",
) -> Response:
    """The whole graph: JSON (as `fundgraph export`) or GraphML (Gephi, yEd, Cytoscape desktop)."""
    return await run_in_threadpool(_render, store, format)
