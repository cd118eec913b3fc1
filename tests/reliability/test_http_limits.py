"""A real server (uvicorn, `fundgraph serve`) against oversized, slow and malformed requests, HEAD/OPTIONS,
security headers and a flood of long searches: no 500, no traceback, every error in the JSON shape."""

from __future__ import annotations

import concurrent.futures
import json
import os
import select
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from fundgraph.core.settings import Settings
from tests.reliability.conftest import Server, no_traceback, served_as_designed

LONG_TEXT = ("阿尔茨海默病多模态影像早期诊断与脑网络分析 Alzheimer imaging biomarkers " * 400)[:20_000]


def concurrent_searches(url: str, n: int):
    """A search for pool.map: ``n`` long texts, each different (no answer cache serves one from another), sent
    together (a barrier: a search takes ~35 ms, so threads that start a little apart could each find the queue empty).
    """
    barrier = threading.Barrier(n)

    def search(i: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait(timeout=30)
            return client.post(url + "/api/search", json={"text": f"{i} {LONG_TEXT}"[:20_000], "k": 5})

    return search


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_home_built):
    srv = Server(small_home_built, tmp_path_factory.mktemp("log") / "server.log", "--search-process",
                 FUNDGRAPH_CLIENT_TIMEOUT="1.5", FUNDGRAPH_SEARCH_WORKERS="1", FUNDGRAPH_SEARCH_QUEUE="2",
                 FUNDGRAPH_SEARCH_TIMEOUT="20")
    yield srv
    log = srv.stop()
    no_traceback(log)
    assert " 500 " not in log and "internal_error" not in log


def raw(server, data: bytes, *, wait: float = 10.0) -> bytes:
    """Send raw bytes, read the answer until the server closes or ``wait`` passes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as s:
        for i in range(0, len(data), 8192):  # in pieces, as a network delivers them (h11 bounds a partial head)
            try:
                s.sendall(data[i:i + 8192])
            except (BrokenPipeError, ConnectionResetError):  # answered (and closed) before the end of the request
                break
            time.sleep(0.001)
        return read_answer(s)


def read_answer(s: socket.socket) -> bytes:
    """One answer: headers, then Content-Length bytes of body (the server may reset after it)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def split(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_a_declared_oversized_body_is_413_before_it_is_read(server):
    t0 = time.monotonic()
    status, headers, body = split(raw(server, b"POST /api/search HTTP/1.1\r\nHost: x\r\n"
                                             b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"))
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert headers["connection"] == "close" and time.monotonic() - t0 < 1.0  # not a byte of the body was awaited


def test_a_chunked_body_is_cut_at_the_limit(server):
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while not select.select([s], [], [], 0.05)[0]:  # send 64 kB chunks until the server answers
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            assert sent < 4 * 1024 * 1024
        answer = read_answer(s)
    status, _, body = split(answer)
    assert status == 413 and body["error"]["detail"]["max_bytes"] == 1024 * 1024
    assert 1024 * 1024 < sent < 2 * 1024 * 1024  # answered once the limit was passed, not at the end


def test_a_body_that_never_arrives_is_408(server):
    t0 = time.monotonic()
    status, _, body = split(raw(server, b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                                        b"\r\nContent-Length: 100\r\n\r\n{\"text\":"))
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert 1.4 < time.monotonic() - t0 < 5


def test_two_hundred_slow_clients_are_let_go(server):
    socks = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"GET /api/programs HTTP/1.1\r\nHost: x\r\n" if i % 2 else
                  b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        socks.append(s)
    t0 = time.monotonic()
    assert httpx.get(server.url + "/api/programs", timeout=5).status_code == 200  # others are served meanwhile
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, 8 - (time.monotonic() - t0)))
        try:
            data = s.recv(65536)
            while data and s.recv(65536):
                pass
            closed += 1
        except TimeoutError:
            pass
        finally:
            s.close()
    assert closed == 200
    assert time.monotonic() - t0 < 8


@pytest.mark.parametrize("request_line", [
    b"GET /api/directions?q=" + b"a" * 60_000 + b" HTTP/1.1",
    b"GET /api/\x00programs HTTP/1.1",
    b"GARBAGE",
], ids=["60k-query", "nul-in-path", "garbage"])
def test_requests_uvicorn_rejects_get_the_json_shape(server, request_line):
    status, headers, body = split(raw(server, request_line + b"\r\nHost: x\r\n\r\n"))
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["error"]["status"] == 400 and body["error"]["code"] == "bad_request"
    assert headers["x-content-type-options"] == "nosniff"


def test_head_and_options_wherever_get_is_and_security_headers_everywhere(server):
    paths = [p for p, ops in httpx.get(server.url + "/openapi.json").json()["paths"].items()
             if "get" in ops and "{" not in p] + ["/", "/docs", "/app.js", "/api/directions/nsfc-tianyuan-sz-2023:1"]
    with httpx.Client(base_url=server.url) as client:
        for path in paths:
            get = client.get(path)
            head = client.head(path)
            options = client.options(path)
            assert head.status_code == get.status_code and head.content == b"", path
            assert head.headers.get("content-length") == get.headers.get("content-length"), path
            assert options.status_code == 204 and {"GET", "HEAD", "OPTIONS"} <= set(
                options.headers["allow"].split(", ")), path
            for r in (get, head, options):
                assert r.headers["x-content-type-options"] == "nosniff"
                assert r.headers["x-frame-options"] == "DENY"
                assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        page = client.get("/")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "https:" not in csp
        assert client.get("/redoc").status_code == 404
        assert client.options("/api/search").headers["allow"] == "OPTIONS, POST"
        assert client.options("/nowhere").status_code == 404


def test_long_searches_are_queued_bounded_and_details_stay_fast(server):
    detail = server.url + "/api/directions/nsfc-tianyuan-sz-2023:1"

    search = concurrent_searches(server.url, 8)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        searches = list(pool.map(search, range(8)))
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            assert httpx.get(detail, timeout=10).status_code == 200
            times.append(time.perf_counter() - t0)
    codes = sorted(r.status_code for r in searches)
    for r in searches:
        served_as_designed(r)
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "overloaded" and int(r.headers["retry-after"]) >= 1
    assert codes.count(200) >= 3 and codes.count(503) >= 1, codes  # 1 running + 2 waiting, the rest refused
    assert max(times) < 1.0, times


def test_the_search_text_is_bounded(server):
    r = httpx.post(server.url + "/api/search", json={"text": "x" * 20_001}, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["detail"]["errors"][0]["type"] == "string_too_long"


def test_a_killed_search_worker_is_replaced(server):
    def children() -> list[int]:
        tasks = Path(f"/proc/{server.proc.pid}/task")
        return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]

    def search():
        return httpx.post(server.url + "/api/search", json={"text": "阿尔茨海默病 影像", "k": 3}, timeout=60)

    assert search().status_code == 200
    workers = [c for c in children() if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)
    time.sleep(0.5)
    first = search()
    served_as_designed(first)  # 503 overloaded ("the search worker stopped"), or 200 from its replacement
    deadline = time.monotonic() + 60
    while (r := search()).status_code != 200:
        served_as_designed(r)
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert len(r.json()["items"]) == 3


def test_the_search_worker_dies_with_a_killed_server(tmp_path, small_home_built):
    srv = Server(small_home_built, tmp_path / "server.log", "--search-process")
    assert httpx.post(srv.url + "/api/search", json={"text": "影像", "k": 1}, timeout=60).status_code == 200
    tasks = Path(f"/proc/{srv.proc.pid}/task")
    workers = [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()
               if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(workers) == Settings().search_workers  # one process per search worker
    srv.proc.kill()
    srv.stop()
    deadline = time.monotonic() + 10
    for w in workers:
        while Path(f"/proc/{w}").exists() and "Z" not in _state(w):
            assert time.monotonic() < deadline, "a search worker outlived the server"
            time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_searches_in_the_servers_thread_pool_are_bounded_too(tmp_path, small_home_built):
    # `fundgraph serve` runs searches in its own thread pool by default: a full queue is still a 503 at once.
    srv = Server(small_home_built, tmp_path / "server.log", FUNDGRAPH_SEARCH_WORKERS="1", FUNDGRAPH_SEARCH_QUEUE="1",
                 FUNDGRAPH_SEARCH_TIMEOUT="20")
    try:
        search = concurrent_searches(srv.url, 8)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            searches = list(pool.map(search, range(8)))
        codes = sorted(r.status_code for r in searches)
        for r in searches:
            served_as_designed(r)
            if r.status_code == 503:
                assert r.json()["error"]["code"] == "overloaded" and int(r.headers["retry-after"]) >= 1
        assert codes.count(200) >= 2 and codes.count(503) >= 1, codes
    finally:
        no_traceback(srv.stop())


def test_serve_with_two_worker_processes_answers(tmp_path, small_home_built):
    # `fundgraph serve --workers 2`: uvicorn spawns its workers and pickles the protocol class by name.
    srv = Server(small_home_built, tmp_path / "server.log", "--workers", "2")
    try:
        answers = [httpx.get(srv.url + "/api/health", timeout=30) for _ in range(6)]
        assert all(a.status_code == 200 for a in answers)
        assert httpx.get(srv.url + "/api/programs", timeout=30).status_code == 200
    finally:
        out = srv.stop()
    no_traceback(out)
