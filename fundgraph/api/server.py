"""uvicorn glue: the HTTP protocol the API is served with.

With several workers, uvicorn binds the listening socket itself with ``socket.socket(family)``, whose
``proto`` is 0, so asyncio does not switch Nagle's algorithm off on accepted connections
(``asyncio.base_events._set_nodelay`` checks ``proto == IPPROTO_TCP``). A response written as headers then
body then waits for the client's delayed ACK: ~40 ms per request on Linux. This protocol sets
TCP_NODELAY on every connection, whichever way the socket was made.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY set on each connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Switch Nagle off, then hand over to uvicorn."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not a TCP socket after all
                pass
        super().connection_made(transport)
