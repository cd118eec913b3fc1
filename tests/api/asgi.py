"""One request sent straight to an ASGI app (no server, no HTTP client): what the direct-route tests compare."""

from __future__ import annotations

from typing import Any

from fundgraph.api.middleware import replay_body


async def asgi_request(app: Any, method: str, path: str, *, query: str = "", body: bytes = b"",
                       headers: list[tuple[bytes, bytes]] | None = None, store: Any = None) -> tuple[int, list, bytes]:
    """Status, response headers and body of one request; the body is given once, then the client disconnects.

    ``store``: a Neo4j store's per-loop driver is closed after the call (each ``anyio.run`` is a loop of its own).
    """
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "root_path": "",
             "headers": headers or []}
    start: dict = {}
    out = bytearray()

    async def disconnected() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            out.extend(message.get("body", b""))

    await app(scope, replay_body(body, disconnected), send)
    if store is not None:
        await store.close_loop()
    return start["status"], start["headers"], bytes(out)
