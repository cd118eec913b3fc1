"""uvicorn glue: the HTTP protocol the API is served with.

With several workers, uvicorn binds the listening socket itself with ``socket.socket(family)``, whose
``proto`` is 0, so asyncio does not switch Nagle's algorithm off on accepted connections
(``asyncio.base_events._set_nodelay`` checks ``proto == IPPROTO_TCP``). A response written as headers then
body then waits for the client's delayed ACK: ~40 ms per request on Linux. This protocol sets
TCP_NODELAY on every connection, whichever way the socket was made.

The API is served over httptools when it is installed (:class:`NoDelayHttpToolsProtocol`, what
:func:`http_protocol` picks): a cached answer costs 0.07 ms of CPU there against 0.135 ms through h11, an
uncached detail 0.18 against 0.25 ms (20,000 directions, one client) — and at 32 clients on 2 cores the p99
is the queue of that CPU. Both protocols behave alike.

It also bounds what uvicorn leaves open: a connection that has not sent its request headers within
:attr:`NoDelayH11Protocol.header_timeout` seconds is answered 408 and closed (uvicorn waits forever: 200 such
connections were held 75 s and more), and the 400 uvicorn answers to a request it cannot parse (a 60 kB query
string, a NUL in the path) is in the API's JSON error shape rather than plain text.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from fundgraph.api.middleware import STATIC_HEADERS, error_bytes
from fundgraph.core.settings import get_settings


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY set on each connection, a headers' timeout and JSON 400s."""

    #: Seconds a client has to send its request headers; None: ``Settings.client_timeout`` (as for the body).
    header_timeout: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Switch Nagle off, then hand over to uvicorn."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not a TCP socket after all
                pass
        super().connection_made(transport)
        if self.header_timeout is None:  # read once per process (uvicorn's workers each import this module)
            type(self).header_timeout = get_settings().client_timeout
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        """No request started in time: answer 408 (if the connection can still carry it) and close."""
        if self.cycle is not None or self.transport.is_closing():
            return
        if self.conn.our_state is h11.IDLE:
            self._send_error(408, "request_timeout",
                             f"the request headers did not arrive within {self.header_timeout:g} s")
        self.transport.close()

    def handle_events(self) -> None:
        """Stop the headers' timer once a request has started, then let uvicorn handle the events."""
        super().handle_events()
        if self.cycle is not None and getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the headers' timer, then let uvicorn clean up."""
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """Uvicorn's answer to a request h11 cannot parse, in the JSON error shape."""
        self._send_error(400, "bad_request", f"{msg} (malformed request line or headers, or too large)")
        self.transport.close()

    def _send_error(self, status: int, code: str, message: str) -> None:
        """Write an error answer straight to the socket (h11 may be in its ERROR state, or have no request)."""
        body = error_bytes(status, code, message)
        reason = {400: b"Bad Request", 408: b"Request Timeout"}.get(status, b"Error")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), *STATIC_HEADERS]
        head = b"HTTP/1.1 %d %s\r\n" % (status, reason) + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
        self.transport.write(head + b"\r\n" + body)


#: Bytes of a request line and headers h11 accepts before it answers 400 (its ``max_incomplete_event_size``);
#: the httptools protocol holds requests to the same bound.
MAX_HEAD_BYTES = 16 * 1024


def _nodelay(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket after all
            pass


class HeadWithBody:
    """The transport a response cycle of uvicorn writes to: the response's head is held until its first body bytes.

    uvicorn writes a response's status line and headers, then its body, in two ``transport.write`` calls: with
    TCP_NODELAY that is two segments, two system calls and two wake-ups of the client. Under py-spy the head's
    write was ~30% of the server's samples for uncached details and similar lists at 32 clients (100,000
    directions, loopback); held and written with the body, a detail or similar answer is one ``write`` system call
    instead of two (``syscw`` of /proc/PID/io over 800 answers: 2.00 → 1.00 per answer).
    Nothing is held for a HEAD request (its head is all it sends) nor before the response starts (an interim
    ``100 Continue``); a cycle that closes its transport with the head still held sends it first.
    """

    __slots__ = ("_cycle", "_head", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None  # the head held; b"" once it went out

    def write(self, data: bytes) -> None:
        """Hold the head of a response; write it with the next bytes (the body, or its first chunk)."""
        head = self._head
        if head is None:
            cycle = self._cycle
            if cycle.response_started and cycle.scope["method"] != "HEAD":
                self._head = bytes(data)
                return
            self._transport.write(data)
            return
        if head:
            self._head = b""
            data = head + data
        self._transport.write(data)

    def close(self) -> None:
        """Send a head still held, then close."""
        if self._head:
            self._transport.write(self._head)
            self._head = b""
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type:
    """The protocol class to serve with: httptools' (C parser) when installed, else h11's."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return NoDelayH11Protocol
    return _httptools_protocol()


def __getattr__(name: str) -> type:
    """``NoDelayHttpToolsProtocol`` made on first use, so ``serve --workers N`` can pickle it by name."""
    if name == "NoDelayHttpToolsProtocol":
        return _httptools_protocol()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _httptools_protocol() -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with what :class:`NoDelayH11Protocol` adds.

        TCP_NODELAY, a headers' timeout, JSON 400s, and h11's bound on the size of a request's head.
        """

        header_timeout: float | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            """Switch Nagle off, then hand over to uvicorn; start the headers' timer."""
            _nodelay(transport)
            super().connection_made(transport)
            if self.header_timeout is None:
                type(self).header_timeout = get_settings().client_timeout
            self._head_bytes = 0
            self._header_timer: asyncio.TimerHandle | None = self.loop.call_later(
                self.header_timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            """No request started in time: answer 408 and close."""
            self._header_timer = None
            if self.cycle is not None or self.transport.is_closing():
                return
            self._send_error(408, "request_timeout",
                             f"the request headers did not arrive within {self.header_timeout:g} s")
            self.transport.close()

        def _stop_timer(self) -> None:
            if getattr(self, "_header_timer", None) is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def on_message_begin(self) -> None:
            """A new request: count its head's bytes from here."""
            self._head_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            """Part of the request target (refused past :data:`MAX_HEAD_BYTES`, as h11 does)."""
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            """One header (refused past :data:`MAX_HEAD_BYTES`)."""
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, n: int) -> None:
            self._head_bytes += n
            if self._head_bytes > MAX_HEAD_BYTES:
                raise ValueError("the request line and headers are too large")  # the parser raises a 400

        def on_headers_complete(self) -> None:
            """The request has started: stop the headers' timer, then let uvicorn start it."""
            self._stop_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            """Stop the headers' timer, then let uvicorn clean up."""
            self._stop_timer()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            """Uvicorn's answer to a request httptools cannot parse, in the JSON error shape."""
            self._stop_timer()
            self._send_error(400, "bad_request", f"{msg} (malformed request line or headers, or too large)")
            self.transport.close()

        _send_error = NoDelayH11Protocol._send_error

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            """Start a request's cycle writing through :class:`HeadWithBody` (its head goes out with its body)."""
            cycle.transport = HeadWithBody(cycle.transport, cycle)
            super()._start_asgi_task(cycle, app)

    NoDelayHttpToolsProtocol.__qualname__ = "NoDelayHttpToolsProtocol"  # found by name: the module's __getattr__
    return NoDelayHttpToolsProtocol
