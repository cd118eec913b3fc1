"""One request sent straight to an ASGI app (no server, no HTTP client): what the direct-route tests compare."""

from __future__ import annotations

from typing import Any


async def asgi_request(app: Any, method: str, path: str, *, query: str = "", body: bytes = b"",
                       headers: list[tuple[bytes, bytes]] | None = None, store: Any = None) -> tuple[int, list, bytes]:
    """Status, response headers and body of one request; the body is given once, then the client disconnects.

    ``store``: a Neo4j store's per-loop driver is closed after the call (each ``anyio.run`` is a loop of its own).
    """
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "root_path": "",
             "headers": headers or []}
    start: dict = {}
    out = bytearray()
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            out.extend(message.get("body", b""))

    await app(scope, receive, send)
    if store is not None:
        await store.close_loop()
    return start["status"], start["headers"], bytes(out)
