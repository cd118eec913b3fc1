"""GET /api/directions, /api/directions/{id}, /api/directions/{id}/similar."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fundgraph.api.deps import DEFAULT_K, MAX_ID, MAX_K, PageDep, Respond, SimilarScope, StoreDep
from fundgraph.api.errors import ERROR_RESPONSES
from fundgraph.core.schema import ENTITY_REGISTRY
from fundgraph.graph.read import models

router = APIRouter(prefix="/api/directions", tags=["directions"], responses=ERROR_RESPONSES)

_ENTITY_FILTER = (
    "An entity id, vocabulary id, or a name/synonym in Chinese or English; a group also matches the directions "
    "citing its members (MEMBER_OF, transitively), as the overlap matrix counts them."
)
#: Real ids of the bundled corpus (tests/api/test_examples.py calls every example of the OpenAPI document).
DIRECTION_EXAMPLES = {
    "alzheimer": {"summary": "阿尔茨海默病 (Alzheimer's disease), gd-imaging-2026",
                  "value": "gd-imaging-2026:YXA0101"},
    "btit": {"summary": "A BT-IT 2024 direction", "value": "most-btit-2024:8"},
    "stic": {"summary": "A joint-R&D direction (numbered 2.2)", "value": "most-stic-joint:2.2"},
}
DirectionId = Annotated[str, Path(description="Direction id: `<program id>:<the document's own number>`.",
                                  max_length=MAX_ID, openapi_examples=DIRECTION_EXAMPLES)]

#: The entity filters declared as query parameters: one per entity type of the schema registry (scoring groups
#: first, as in the overlap matrix's ``by=``).
_DECLARED = ENTITY_REGISTRY.keys()


async def _later_entity_filters(request: Request) -> dict[str, str]:
    """Filters of entity types registered after this module was imported (from the query string)."""
    return {k: v for k, v in request.query_params.items() if k in ENTITY_REGISTRY and k not in _DECLARED}


async def list_directions(
    store: StoreDep,
    respond: Respond,
    page: PageDep,
    later: Annotated[dict[str, str], Depends(_later_entity_filters)],
    program: Annotated[str | None, Query(description="Program id (404 when unknown).",
                                         examples=["gd-imaging-2026"])] = None,
    q: Annotated[str | None, Query(description="Text in the title or content (case-insensitive).",
                                   examples=["影像"])] = None,
    category: Annotated[
        str | None, Query(description="Normalised category (key_technology …) or raw text.",
                          examples=["key_technology"])
    ] = None,
    **entities: str | None,
) -> Response:
    """Directions matching every given filter, in program and document order, one page at a time."""
    filters = models.DirectionFilter(program=program, q=q, category=category, **entities, **later)
    return await respond(store.directions, filters, page.limit, page.offset)


def _with_entity_filters(fn: Any) -> Any:
    """``fn`` with one ``str | None`` query parameter per registered entity type, between ``q`` and ``category``."""
    sig = inspect.signature(fn, eval_str=True)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = [p.name for p in params].index("category")
    filters = [
        inspect.Parameter(
            t.key,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, Query(description=f"{_ENTITY_FILTER} {t.filter_hint}".rstrip(),
                                                   examples=[t.example] if t.example else None)],
        )
        for t in ENTITY_REGISTRY.scored_first()
    ]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    fn.__signature__ = sig.replace(parameters=[*params[:at], *filters, *params[at:]])
    return fn


router.get("", response_model=models.DirectionPage)(_with_entity_filters(list_directions))


@router.get("/{direction_id}", response_model=models.DirectionDetail)
async def get_direction(store: StoreDep, respond: Respond, direction_id: DirectionId) -> Response:
    """One direction: every exported field, plus its entities grouped by type with codes and evidence."""
    return await respond(store.direction, direction_id)


@router.get("/{direction_id}/similar", response_model=models.SimilarList)
async def similar_directions(
    store: StoreDep,
    respond: Respond,
    direction_id: DirectionId,
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"How many (1 … {MAX_K}).", examples=[5])] = DEFAULT_K,
    scope: Annotated[SimilarScope, Query(description="Other programs only, or all.")] = "cross-program",
) -> Response:
    """The k most similar directions, ranked over every candidate, with scores and explanations."""
    return await respond(store.similar, direction_id, k, scope)
