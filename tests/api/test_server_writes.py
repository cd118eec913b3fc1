"""A response leaves the server in one write: uvicorn's cycle writes its head, then its body, through HeadWithBody."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from fundgraph.api.server import HeadWithBody, http_protocol


class Recording(asyncio.Transport):
    """A transport that records what is written to it (the socket's side of the test)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        pass


def serve(request: bytes, body: bytes = b'{"ok":true}', *, send_body: bool = True) -> Recording:
    """One request through the API's httptools protocol (uvicorn's parser and cycle) to an app sending ``body``."""
    pytest.importorskip("httptools")

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
        if send_body:
            await send({"type": "http.response.body", "body": body})

    async def main() -> Recording:
        config = Config(app=app, log_level="warning", access_log=False)
        config.load()
        protocol = http_protocol()(config=config, server_state=ServerState(), app_state={})
        transport = Recording()
        protocol.connection_made(transport)
        protocol.data_received(request)
        for _ in range(20):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return transport

    return asyncio.run(main())


def test_a_response_is_one_write_of_head_and_body():
    t = serve(b"GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert len(t.writes) == 1
    head, _, body = t.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 11" in head and body == b'{"ok":true}'


def test_head_requests_and_interim_answers_are_not_held():
    t = serve(b"HEAD /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert len(t.writes) == 1 and t.writes[0].startswith(b"HTTP/1.1 200 OK") and t.writes[0].endswith(b"\r\n\r\n")
    cycle = type("Cycle", (), {"response_started": False, "scope": {"method": "POST"}})()
    rec = Recording()
    held = HeadWithBody(rec, cycle)
    held.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the response starts: at once
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    cycle.response_started = True
    held.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert len(rec.writes) == 1
    held.close()  # a cycle that ends without a body still sends its head
    assert rec.writes[-1] == b"HTTP/1.1 200 OK\r\n\r\n" and rec.closed
