"""POST /api/search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from fundgraph.api.deps import DEFAULT_K, MAX_K, MAX_SEARCH_PROGRAMS, MAX_SEARCH_TEXT, Respond, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.api.work_queue import SearchProcesses, WorkQueue
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/search", tags=["search"], responses=ERROR_RESPONSES)


class SearchRequest(BaseModel):
    """Free text (e.g. a researcher's abstract, Chinese or English) and how many directions to return."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_SEARCH_TEXT, description="The text to match.")
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K, description=f"How many (1 … {MAX_K}).")
    programs: list[str] | None = Field(
        default=None, max_length=MAX_SEARCH_PROGRAMS, description="Restrict to these program ids."
    )


#: Queries that find directions in the bundled corpus (tests/api/test_examples.py runs each).
SEARCH_EXAMPLES = {
    "alzheimer": {"summary": "English, a disease and a modality",
                  "value": {"text": "Alzheimer's disease PET imaging", "k": 3}},
    "cancer": {"summary": "One English word", "value": {"text": "cancer"}},
    "tumor-imaging": {"summary": "English words reaching 肿瘤 by stem", "value": {"text": "tumor imaging", "k": 5}},
    "chinese": {"summary": "Chinese, restricted to one program",
                "value": {"text": "脑机接口 神经调控", "k": 5, "programs": ["most-btit-2024"]}},
}


@router.post("", response_model=models.SearchResults)
async def search(
    store: StoreDep,
    respond: Respond,
    body: Annotated[SearchRequest, Body(openapi_examples=SEARCH_EXAMPLES)],
    request: Request,
) -> Response:
    """Directions ranked against free text (only those with evidence: see ``rule``), with scores and explanations."""
    # Encoding the text is real work (a model, for sentence-transformers): off the event loop, through the app's
    # bounded queue, in threads or worker processes (a full queue or a search over its time is a 503 with
    # Retry-After: see api/work_queue.py).
    searches: WorkQueue | SearchProcesses = request.app.state.searches
    result = await searches.search(store, body.text, body.k, body.programs)
    return respond.answer(result)
