"""The httptools protocol writes an answer's head with its body (api/server.py ``_HeadWithBody``)."""

from __future__ import annotations

import asyncio

from fundgraph.api.server import _HeadWithBody


class Recorder(asyncio.Transport):
    """A transport that records what is written to it, call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[bytes, ...]]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", (bytes(data),)))

    def writelines(self, parts) -> None:
        self.calls.append(("writelines", tuple(parts)))

    def close(self) -> None:
        self.calls.append(("close", ()))

    def is_closing(self) -> bool:
        return False


class Cycle:
    """What _HeadWithBody reads of uvicorn's request-response cycle."""

    def __init__(self) -> None:
        self.response_started = False
        self.completed = 0
        self.on_response = self.done

    def done(self) -> None:
        self.completed += 1


def test_the_head_goes_with_the_first_body_write_and_later_ones_go_alone():
    t, c = Recorder(), Cycle()
    held = _HeadWithBody(t, c)
    held.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the response starts: at once
    c.response_started = True
    held.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert t.calls == [("write", (b"HTTP/1.1 100 Continue\r\n\r\n",))]
    held.write(b"part 1")
    held.write(b"part 2")
    held.completed()
    assert t.calls[1:] == [("writelines", (b"HTTP/1.1 200 OK\r\n\r\n", b"part 1")), ("write", (b"part 2",))]
    assert c.completed == 1 and not held.is_closing()


def test_a_head_without_body_goes_when_the_response_completes_or_the_connection_closes():
    for end in ("completed", "close"):
        t, c = Recorder(), Cycle()
        held = _HeadWithBody(t, c)
        c.response_started = True
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")  # a HEAD answer: uvicorn writes no body
        assert t.calls == []
        getattr(held, end)()
        assert t.calls[0] == ("write", (b"HTTP/1.1 200 OK\r\n\r\n",))
        assert c.completed == (end == "completed") and t.calls[1:] == ([("close", ())] if end == "close" else [])
