"""The three GETs a store answers as they are (detail, similar, neighbourhood), served without FastAPI's routing.

A direction's detail, its similar list and a neighbourhood are one store call each whose answer is sent as the store
gives it (JSON bytes from Neo4j, a cached read model from the embedded store: :class:`~fundgraph.api.deps.Responder`).
Through FastAPI each also paid for the route search over every router, the request object, dependency injection
(store, settings, responder) and parameter validation, the exception and exit-stack middlewares and their send
wrappers: 20-23% of the API's samples for a Neo4j direction detail (py-spy, 20,000 directions). Answered here, the
API's CPU a request at 32 clients (benchmarks/api_latency.py, Neo4j store, 20,000 directions, median of five runs
interleaved with the code before, load 3.4-4.5): detail 1.22 -> 0.95 ms, similar 1.55 -> 0.93, depth-2
neighbourhood 3.30 -> 2.37 (with its views' one-pass assembly, store.py).
:class:`DirectRoutes` answers these three paths itself when their parameters are plain (an id of at most 200
characters, ``k``, ``scope``, ``depth``, ``limit`` written as FastAPI would accept them and within their bounds):
the same store call through the same :class:`~fundgraph.api.deps.Responder`, the same status, headers and bytes,
and a store error in the one error shape (:func:`fundgraph.api.errors.fundgraph_error_response`). Anything else
(a value FastAPI would refuse or convert, a missing node, a ``root_path``) goes on to FastAPI, which answers it
(its 422s included) as before; the routes stay declared there for OpenAPI and for those requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from fundgraph.api.deps import (
    DEFAULT_DEPTH,
    DEFAULT_K,
    DEFAULT_LIMIT,
    MAX_DEPTH,
    MAX_ID,
    MAX_K,
    Responder,
    SimilarScope,
    StoreHolder,
    accepts_gzip,
)
from fundgraph.api.errors import fundgraph_error_response
from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import Settings

#: The paths, compiled as Starlette compiles the routes' (``[^/]+`` for a path parameter).
DETAIL = compile_path("/api/directions/{direction_id}")[0]
SIMILAR = compile_path("/api/directions/{direction_id}/similar")[0]
NEIGHBOURHOOD = "/api/graph/neighborhood"
#: Values taken here: plain decimal numbers without sign, spaces or leading zeros (others go on to FastAPI).
_NUMBER = re.compile(r"[1-9][0-9]{0,5}\Z")
_SCOPES = get_args(SimilarScope)


class DirectRoutes:
    """ASGI middleware answering plain detail, similar and neighbourhood GETs (see the module docstring).

    Args:
        app: the wrapped app (FastAPI's stack: what every other request goes to).
        settings: the app's settings (``max_limit``).
        holder: the app's store holder.
        responder: a :class:`Responder` over a store and whether the request accepts gzip (the app's JSON cache and
            store limiter).
    """

    def __init__(self, app: ASGIApp, settings: Settings, holder: StoreHolder,
                 responder: Callable[[Any, bool], Responder]) -> None:
        self.app = app
        self.settings = settings
        self.holder = holder
        self.responder = responder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request if it is one of the three with plain parameters, else pass it on."""
        call = self._plain(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if call is None:
            await self.app(scope, receive, send)
            return
        name, args = call
        try:
            store = self.holder.get()
            gzip = name in store.gzip_answers and accepts_gzip(_header(scope, b"accept-encoding"))
            response = await self.responder(store, gzip)(getattr(store, name), *args)
        except FundgraphError as e:
            response = fundgraph_error_response(e)
        await response(scope, receive, send)

    def _plain(self, scope: Scope) -> tuple[str, tuple[Any, ...]] | None:
        """(store method, arguments) of a request answered here, or None (FastAPI answers it)."""
        path = scope["path"]
        if not path.startswith(("/api/directions/", NEIGHBOURHOOD)) or scope.get("root_path"):
            return None
        if path == NEIGHBOURHOOD:
            query = _query(scope)
            node = query.get("node")
            depth, limit = query.get("depth", str(DEFAULT_DEPTH)), query.get("limit", str(DEFAULT_LIMIT))
            if not node or len(node) > MAX_ID or not _NUMBER.match(limit) or len(depth) != 1 or not (
                    "0" <= depth <= str(MAX_DEPTH)) or int(limit) > self.settings.max_limit:
                return None
            return "neighborhood", (node, int(depth), int(limit))
        if (m := DETAIL.match(path)) is not None:
            direction_id = m.group(1)
            return ("direction", (direction_id,)) if len(direction_id) <= MAX_ID else None
        if (m := SIMILAR.match(path)) is not None:
            direction_id = m.group(1)
            query = _query(scope)
            k, kind = query.get("k", str(DEFAULT_K)), query.get("scope", _SCOPES[0])
            if len(direction_id) > MAX_ID or not _NUMBER.match(k) or int(k) > MAX_K or kind not in _SCOPES:
                return None
            return "similar", (direction_id, int(k), kind)
        return None


def _query(scope: Scope) -> dict[str, str]:
    """The query string's parameters as Starlette reads them (the last of a repeated name wins, as FastAPI takes)."""
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))


def _header(scope: Scope, name: bytes) -> bytes:
    """A request header's values, joined with commas as a repeated header means (empty when it has none)."""
    return b",".join(v for key, v in scope.get("headers") or () if key.lower() == name)
