"""GET /api/export."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from fundgraph.api.deps import StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.graph.read.records import export_json, graphml_bytes

router = APIRouter(prefix="/api/export", tags=["export"], responses=ERROR_RESPONSES)


class ExportDocument(BaseModel):
    """The JSON export (the same document as `fundgraph export --format json`)."""

    meta: dict[str, Any]
    programs: list[dict[str, Any]]
    directions: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    links: list[dict[str, Any]]
    similar: list[dict[str, Any]] = []


def _render(store: Any, fmt: str) -> Response:
    built = store.load()
    if fmt == "graphml":
        return Response(
            graphml_bytes(built.graph),
            media_type="application/graphml+xml",
            headers={"Content-Disposition": 'attachment; filename="fundgraph.graphml"'},
        )
    body = json.dumps(export_json(built), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, media_type="application/json")


@router.get("", response_model=ExportDocument, responses={200: {"content": {"application/graphml+xml": {}}}})
async def export(
    store: StoreDep,
    format: Annotated[Literal["json", "graphml"], Query(description="json or graphml.")] = "json",
) -> Response:
    """The whole graph: JSON (as `fundgraph export`) or GraphML (Gephi, yEd, Cytoscape desktop)."""
    return await run_in_threadpool(_render, store, format)
