"""HTTP hygiene every response goes through: bounded request bodies, slow clients, HEAD/OPTIONS, security headers.

:class:`RequestGuard` is one ASGI middleware (pure ASGI, so no per-request object beyond a closure):

- a body larger than ``max_body`` is answered 413 in the error shape: from its ``Content-Length`` before a byte
  is read, or as soon as a chunked body passes the limit; the body is read here, whole, before the route runs;
- a client that does not send its body within ``client_timeout`` seconds is answered 408 and let go (the
  headers' own timeout is in :mod:`fundgraph.api.server`, below ASGI);
- HEAD is answered wherever GET is (the GET answer's headers, no body), and OPTIONS with 204 and ``Allow``
  wherever a route is (CORS preflights are answered before, by the CORS middleware);
- every response carries ``X-Content-Type-Options``, ``X-Frame-Options``, ``Referrer-Policy`` and a
  ``Content-Security-Policy``: HTML pages may load only from this server (``'self'``), nothing may frame them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import anyio
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The policy of HTML pages: the dashboard and /docs load scripts, styles, images only from this server.
#: Inline style attributes are allowed (the dashboard sets bar widths and colours with them); inline scripts
#: only by hash (the one of /docs).
HTML_POLICY = ("default-src 'self'; script-src 'self'{script_hashes}; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
#: Everything else (JSON, scripts, stylesheets) is not a document: it may load nothing and be framed by nobody.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"

STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def error_bytes(status: int, code: str, message: str, detail: dict | None = None) -> bytes:
    """The body of the one JSON error shape (see :mod:`fundgraph.api.errors`), for answers made below FastAPI."""
    return json.dumps({"error": {"status": status, "code": code, "message": message, "detail": detail or {}}},
                      ensure_ascii=False).encode()


class RequestGuard:
    """Bounded bodies, slow-client timeout, HEAD and OPTIONS, security headers (see the module docstring).

    Args:
        app: the wrapped app.
        routes: the app's routes (to tell which methods a path has, for OPTIONS).
        max_body: largest request body in bytes.
        client_timeout: seconds a client has to send its whole body.
        script_hashes: CSP hashes (``'sha256-…'``) of the inline scripts HTML pages may run.
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]], max_body: int = 1024 * 1024,
                 client_timeout: float = 10.0, script_hashes: Iterable[str] = ()) -> None:
        self.app = app
        self.routes = routes
        self.max_body = max_body
        self.client_timeout = client_timeout
        hashes = "".join(f" {h}" for h in script_hashes)
        self.html_policy = HTML_POLICY.format(script_hashes=hashes).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Guard one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        method = scope["method"]
        if method == "OPTIONS":
            await self._options(scope, receive, send)
            return
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        headers = dict(scope.get("headers") or ())
        if b"content-length" in headers or b"transfer-encoding" in headers:
            body = await self._read_body(headers, receive, send)
            if body is None:
                return
            receive = replay_body(body, receive)
        await self.app(scope, receive, send)

    # -- pieces ------------------------------------------------------------------------------------------
    def _with_headers(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _OURS]
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                headers += STATIC_HEADERS
                headers.append((b"content-security-policy", self.html_policy if html else OTHER_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        return sending

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once an error (413, 408, 400) has been answered."""
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _answer(send, 400, "bad_request", "Content-Length is not a number")
                return None
            if length > self.max_body:
                await self._too_large(send, length)
                return None
        chunks: list[bytes] = []
        size = 0
        more = True
        with anyio.move_on_after(self.client_timeout) as timer:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await self._too_large(send, size)
                    return None
                chunks.append(chunk)
                more = message.get("more_body", False)
        if timer.cancelled_caught:
            await _answer(send, 408, "request_timeout",
                          f"the request body did not arrive within {self.client_timeout:g} s",
                          {"received_bytes": size}, close=True)
            return None
        return b"".join(chunks)

    async def _too_large(self, send: Send, size: int) -> None:
        await _answer(send, 413, "payload_too_large", f"the request body is larger than {self.max_body} bytes",
                      {"max_bytes": self.max_body, "bytes": size}, close=True)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        """204 with the methods the path has, or a 404 in the error shape."""
        routes = [r for r in self.routes() if not isinstance(r, Mount)]
        methods = {m for m in _METHODS for r in routes if r.matches({**scope, "method": m})[0] == Match.FULL}
        probe = {**scope, "method": "GET"}
        if not methods and await self._static_exists(probe):
            methods = {"GET"}
        if not methods:
            await _answer(send, 404, "not_found", "Not Found")
            return
        if "GET" in methods:
            methods.add("HEAD")
        allow = ", ".join(sorted(methods | {"OPTIONS"})).encode()
        await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
        await send({"type": "http.response.body", "body": b""})

    async def _static_exists(self, probe: Scope) -> bool:
        """Whether a GET of this path (a page of the dashboard) would find something, without sending it."""
        status = 404

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.app({**probe, "method": "HEAD"}, nothing, capture)
        return status < 400


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_OURS = {b"x-content-type-options", b"x-frame-options", b"referrer-policy", b"content-security-policy"}


def _without_body(send: Send) -> Send:
    """``send`` for a HEAD request: the GET answer's status and headers, no body bytes."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return sending


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the already-read body once, then waits for the client's disconnect."""
    sent = False

    async def receiving() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receiving


async def _answer(send: Send, status: int, code: str, message: str, detail: dict | None = None,
                  *, close: bool = False) -> None:
    body = error_bytes(status, code, message, detail)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body (if any) is not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
