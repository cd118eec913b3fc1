"""A response cache: while a store serves the same graph, a GET answer is a function of (path, query).

A store whose :meth:`~fundgraph.graph.stores.base.GraphStore.version` gives a token (the embedded store: its
graph changes only when ``fundgraph build`` swaps in a new one) has its 200 answers replayed byte for byte
until the token changes; the cache then empties itself. A store whose token is None (Neo4j: others may write
to the database) bypasses it. The token is a small value, never the graph: the cache keeps no graph alive.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fundgraph.core.errors import FundgraphError

#: Paths never cached (large or cheap to answer, or answered from the store's live state).
UNCACHED_PREFIXES = ("/api/export", "/api/health")
MAX_BODY = 512 * 1024
#: Answers with these headers depend on more than the path and query (a gzip-encoded answer, or one that says it
#: varies with a request header): never replayed.
_VARYING = (b"content-encoding", b"vary")


class ResponseCache:
    """ASGI middleware replaying 200 JSON answers to GET /api/* while the same graph is loaded.

    Args:
        app: the wrapped app.
        version: returns a token of the graph being served, or None when answers must not be cached.
        size: most cached answers (least recently stored go first).
        max_bytes: most bytes of cached bodies.
    """

    def __init__(
        self, app: ASGIApp, version: Callable[[], Hashable | None], size: int = 4096, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.app = app
        self.version = version
        self.size = size
        self.max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[Hashable, str, bytes], tuple[int, list, bytes]] = OrderedDict()
        self._token: Hashable | None = None
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer from the cache, or pass through and remember a cacheable answer."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith("/api/")
            or path.startswith(UNCACHED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        try:
            token = self.version()
        except FundgraphError:
            token = None
        if token is None:
            await self.app(scope, receive, send)
            return
        if token != self._token:
            with self._lock:
                self._entries.clear()
                self._bytes = 0
                self._token = token
        key = (token, path, scope.get("query_string", b""))
        hit = self._entries.get(key)
        if hit is not None:
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = start.get("headers", ())
        if start.get("status") == 200 and len(body) <= MAX_BODY and not any(
                k.lower() in _VARYING for k, _ in headers):  # keyed by path and query only: never one that varies
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = (200, list(start.get("headers", [])), body)
                    self._bytes += len(body)
                while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
                    _, (_, _, dropped) = self._entries.popitem(last=False)
                    self._bytes -= len(dropped)
