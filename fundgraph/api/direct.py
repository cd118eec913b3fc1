"""The GETs a store answers as they are (detail, similar, neighbourhood) and searches, without FastAPI's routing.

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

``POST /api/search`` is answered here too when its body is plain: ``Content-Type: application/json`` exactly, a JSON
object with ``text`` (a string of 1 … 20,000 characters), optionally ``k`` (an integer within its bounds) and
``programs`` (null or at most 50 strings), and no other key: what :class:`~fundgraph.api.routes.search.SearchRequest`
accepts as it is. It goes through the same search queue (its bound, its 503s with Retry-After, its timeout) and
the same :meth:`~fundgraph.api.deps.Responder.answer`. Any other body (not JSON, another type FastAPI would convert
or refuse, another content type) goes on to FastAPI, whose 422s stay the documented ones. Through FastAPI the
request body was parsed by Starlette's request, validated twice (the model, then the endpoint's arguments),
and the answer passed through its dependency and exception layers. The app's CPU a search beyond the store's own
search at 100,000 directions (in process through the ASGI app, 300 fresh texts against the same texts searched on
the store, median of five runs, three runs interleaved with the code before, load 1.2-1.9): 0.65 / 0.79 / 0.64 ms
-> 0.33 / 0.25 / 0.17 ms, best API ms a request 2.78 / 2.68 / 2.56 -> 2.52 / 2.23 / 2.07.
"""

from __future__ import annotations

import json
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
    MAX_SEARCH_PROGRAMS,
    MAX_SEARCH_TEXT,
    Responder,
    SimilarScope,
    StoreHolder,
    accepts_gzip,
)
from fundgraph.api.errors import fundgraph_error_response
from fundgraph.api.middleware import replay_body
from fundgraph.core.errors import FundgraphError
from fundgraph.core.settings import Settings

#: The paths, compiled as Starlette compiles the routes' (``[^/]+`` for a path parameter).
DETAIL = compile_path("/api/directions/{direction_id}")[0]
SIMILAR = compile_path("/api/directions/{direction_id}/similar")[0]
NEIGHBOURHOOD = "/api/graph/neighborhood"
SEARCH = "/api/search"
_SEARCH_KEYS = frozenset(("text", "k", "programs"))
#: Values taken here: plain decimal numbers without sign, spaces or leading zeros (others go on to FastAPI).
_NUMBER = re.compile(r"[1-9][0-9]{0,5}\Z")
_SCOPES = get_args(SimilarScope)


class DirectRoutes:
    """ASGI middleware answering plain detail, similar and neighbourhood GETs and searches (see the module docstring).

    Args:
        app: the wrapped app (FastAPI's stack: what every other request goes to).
        settings: the app's settings (``max_limit``).
        holder: the app's store holder.
        responder: a :class:`Responder` over a store and whether the request accepts gzip (the app's JSON cache and
            store limiter).
        searches: the app's search queue (``app.state.searches``: read per request, as the route reads it).
    """

    def __init__(self, app: ASGIApp, settings: Settings, holder: StoreHolder,
                 responder: Callable[[Any, bool], Responder], searches: Callable[[], Any] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.holder = holder
        self.responder = responder
        self.searches = searches

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request if it is one of those with plain parameters, else pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] == SEARCH and self.searches is not None:
            await self._search(scope, receive, send)
            return
        call = self._plain(scope) if scope["method"] == "GET" else None
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

    async def _search(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a search with a plain body (see the module docstring), or hand the request, body and all, on."""
        body = await _body(receive)
        if body is None:  # the client left before sending its body
            return
        args = None if scope.get("root_path") or _header(scope, b"content-type") != b"application/json" \
            else _search_args(body)
        if args is None:
            await self.app(scope, replay_body(body, receive), send)
            return
        try:
            store = self.holder.get()
            result = await self.searches().search(store, *args)
            response = self.responder(store, False).answer(result)
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


def _search_args(body: bytes) -> tuple[str, int, list[str] | None] | None:
    """(text, k, programs) of a search body the route's model would take as it is, or None (FastAPI answers it)."""
    try:
        data = json.loads(body)  # what Starlette's ``Request.json`` does
    except ValueError:
        return None
    if type(data) is not dict or not data.keys() <= _SEARCH_KEYS:
        return None
    text, k, programs = data.get("text"), data.get("k", DEFAULT_K), data.get("programs")
    if type(text) is not str or not 1 <= len(text) <= MAX_SEARCH_TEXT or type(k) is not int or not 1 <= k <= MAX_K:
        return None
    if programs is not None and (type(programs) is not list or len(programs) > MAX_SEARCH_PROGRAMS
                                 or any(type(p) is not str for p in programs)):
        return None
    if not all(_utf8(s) for s in (text, *(programs or ()))):
        return None  # a lone surrogate (``"\\ud800"``): pydantic refuses the string, FastAPI says how
    return text, k, programs


def _utf8(text: str) -> bool:
    """Whether the string has no lone surrogate (pydantic's ``str`` refuses one)."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def _body(receive: Receive) -> bytes | None:
    """The request's whole body (RequestGuard has read and bounded it already), or None if the client left."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _query(scope: Scope) -> dict[str, str]:
    """The query string's parameters as Starlette reads them (the last of a repeated name wins, as FastAPI takes)."""
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))


def _header(scope: Scope, name: bytes) -> bytes:
    """A request header's values, joined with commas as a repeated header means (empty when it has none)."""
    return b",".join(v for key, v in scope.get("headers") or () if key.lower() == name)
