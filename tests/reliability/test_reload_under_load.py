"""A real server reloading the corpus graph 20 times while clients keep asking: bounded memory, no 5xx."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import pytest

from fundgraph.graph.stores.embedded.store import EmbeddedStore
from tests.reliability.conftest import Server, no_traceback, served_as_designed

pytestmark = pytest.mark.slow

RELOADS = 20


def test_rss_after_20_reloads_is_within_10_percent_of_after_4(tmp_path, corpus_built):
    home = tmp_path / "home"
    writer = EmbeddedStore(home)
    writer.replace(corpus_built)
    # Searches in their own process, as this test was written for: with searches in the server's threads (the
    # default since the columns store) RSS measured 190 → 214-226 MB over 20 reloads (allocator arenas of the
    # search threads), just over this bound: an open item.
    server = Server(home, tmp_path / "server.log", "--search-process")
    stop = threading.Event()
    answers: list[httpx.Response] = []

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                for url in ("/api/programs", "/api/directions?limit=20", "/api/overlaps/matrix?by=disease"):
                    answers.append(client.get(url))
                answers.append(client.post("/api/search", json={"text": "阿尔茨海默病 影像", "k": 5}))

    clients = [threading.Thread(target=load) for _ in range(4)]
    for c in clients:
        c.start()
    rss = {}
    try:
        for i in range(1, RELOADS + 1):
            writer.replace(corpus_built)  # a new graph directory: the server reads it at its next request
            version = time.monotonic()
            while httpx.get(server.url + "/api/health", timeout=60).status_code != 200:
                assert time.monotonic() - version < 60
            samples = []
            for _ in range(5):  # the median over a second: one request's transient allocations are not a trend
                time.sleep(0.2)
                samples.append(server.rss_mb())
            rss[i] = statistics.median(samples)
    finally:
        stop.set()
        for c in clients:
            c.join()
        log = server.stop()
    print(f"server RSS after reloads: {', '.join(f'{i}: {v:.0f} MB' for i, v in rss.items())}")
    no_traceback(log)
    assert len(answers) > 50
    for r in answers:
        served_as_designed(r)
    assert all(r.status_code == 200 for r in answers), {r.status_code for r in answers}
    # The baseline after 4 reloads: the first few graphs page in the mapped columns and the allocator's arenas
    # (154 → 169 MB on a loaded CI machine); a leak per reload shows over the 16 that follow.
    assert rss[RELOADS] <= rss[4] * 1.10, rss
