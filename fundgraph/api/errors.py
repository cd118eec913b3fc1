"""One JSON error shape for every 4xx/5xx the API answers, through one handler per exception family.

The shape (pinned by ``tests/api/test_errors.py``)::

    {"error": {"status": 404, "code": "direction_not_found", "message": "...", "detail": {...}}}

- :class:`fundgraph.core.errors.FundgraphError` and subclasses: their own ``status_code`` and ``code``
  (404 not found, 422 invalid request, 503 graph not built / backend unavailable);
- FastAPI's :class:`RequestValidationError` (bad query values, out-of-range limits, a body that is not JSON
  or not the expected object): 422 ``invalid_request`` with the failing fields in ``detail.errors``;
- Starlette's HTTP errors (unknown path 404, wrong method 405): their status, ``code`` from the status;
- anything else: 500 ``internal_error`` (the message does not leak the exception text).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from fundgraph.core.errors import FundgraphError

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """The inside of every error response."""

    status: int
    code: str
    message: str
    detail: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    """Every error response: ``{"error": {status, code, message, detail}}``."""

    error: ErrorBody


#: ``responses=`` for routers, so OpenAPI documents the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Not found"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
    503: {"model": ErrorResponse, "description": "Graph not built, store damaged, backend unavailable, or "
                                                 "overloaded (with Retry-After)"},
}


def error_response(
    status: int,
    code: str,
    message: str,
    detail: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON error response in the one shape."""
    body = {"error": {"status": status, "code": code, "message": message, "detail": _jsonable(detail or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def fundgraph_error_response(exc: FundgraphError) -> JSONResponse:
    """The error response of a FundgraphError (its own status and code); a 5xx is logged."""
    if exc.status_code >= 500:
        logger.warning("%s: %s", exc.code, exc.message)
    return error_response(exc.status_code, exc.code, exc.message, exc.detail, headers=getattr(exc, "headers", None))


async def _fundgraph_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FundgraphError)
    return fundgraph_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        message = "the request body is not valid JSON"
    else:
        parts = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in errors[:3]]
        message = "invalid request: " + "; ".join(parts)
    return error_response(422, "invalid_request", message, {"errors": errors})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:
        # FastAPI answers 400 for a body it cannot even decode (not UTF-8): the same client error as a
        # body that is not JSON, so the same documented 422.
        return error_response(422, "invalid_request", "the request body is not valid JSON", {"reason": exc.detail})
    return error_response(
        status,
        _HTTP_CODES.get(status, f"http_{status}"),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "internal error", {"type": type(exc).__name__})


def install_error_handlers(app: FastAPI) -> None:
    """Route every error to the one JSON shape."""
    app.add_exception_handler(FundgraphError, _fundgraph_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
