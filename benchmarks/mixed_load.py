"""Mixed load: long searches beside many cheap requests. Do direction details wait behind searches?

Starts ``fundgraph serve`` (uvicorn, one worker) over a built graph, then runs, for each number of long searchers
(0, 2, 8): that many clients posting 20,000-character searches back to back, and 32 clients asking for direction
details (each URL distinct, so the response cache does not answer for the server) until each has made
``--requests`` requests. Prints the details' latency percentiles and what became of the searches (answered,
refused with 503 + Retry-After by the bounded search queue).

    python benchmarks/mixed_load.py                  # build the corpus into a temp home, then measure
    python benchmarks/mixed_load.py --home ~/.fundgraph --requests 200

Target (issue 12, embedded store, 2 cores): details p99 < 50 ms with 8 long searches running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import Conn, build_into, free_port, get_json, pct, start_server

LONG = ("阿尔茨海默病多模态影像早期诊断、脑网络分析与可解释人工智能模型 Alzheimer imaging biomarkers, "
        "federated learning across hospitals, low-dose CT screening; ") * 300


async def run(port: int, searchers: int, detail_clients: int, per_client: int, ids: list[str]) -> dict:
    stop = asyncio.Event()
    searches = {"answered": 0, "refused": 0, "other": 0}
    search_times: list[float] = []

    async def searcher(n: int) -> None:
        c = Conn(port)
        await c.open()
        i = 0
        while not stop.is_set():
            body = json.dumps({"text": f"{n}-{i} " + LONG[: 20_000 - 12], "k": 10}).encode()
            t = time.perf_counter()
            status, *_ = await c.request("POST", "/api/search", body)
            search_times.append(time.perf_counter() - t)
            key = {200: "answered", 503: "refused"}.get(status, "other")
            searches[key] += 1
            if status == 503:
                await asyncio.sleep(1)  # what Retry-After asks
            i += 1
        c.close()

    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def reader(n: int) -> None:
        c = Conn(port)
        await c.open()
        for i in range(per_client):
            path = f"/api/directions/{ids[(n * per_client + i) % len(ids)]}"
            t = time.perf_counter()
            status, *_ = await c.request("GET", path)
            latencies.append(time.perf_counter() - t)
            statuses[status] = statuses.get(status, 0) + 1
        c.close()

    tasks = [asyncio.create_task(searcher(n)) for n in range(searchers)]
    await asyncio.sleep(2.0 if searchers else 0)  # the searches are running before the details start
    t0 = time.perf_counter()
    await asyncio.gather(*(reader(n) for n in range(detail_clients)))
    elapsed = time.perf_counter() - t0
    stop.set()
    await asyncio.gather(*tasks)
    return {"lat": latencies, "elapsed": elapsed, "statuses": statuses, "searches": searches,
            "search_p50": pct(search_times, 50) if search_times else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, help="a built embedded store (default: build the corpus into a temp dir)")
    ap.add_argument("--requests", type=int, default=100, help="detail requests per client")
    ap.add_argument("--clients", type=int, default=32, help="clients asking for direction details")
    args = ap.parse_args()

    tmp = None
    home = args.home
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="fundgraph-mixed-")
        home = Path(tmp.name)
        build_into(home)
    port = free_port()
    proc = start_server(home, port, 1)
    try:
        ids = [d["id"] for d in get_json(port, "/api/directions?limit=500")["items"]]
        asyncio.run(run(port, 0, 4, 20, ids))  # warm-up
        print(f"{'long searches':>13} | {'details':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | "
              f"{'req/s':>6} | searches answered / refused (503) | search p50 s")
        for searchers in (0, 2, 8):
            r = asyncio.run(run(port, searchers, args.clients, args.requests, ids))
            lat = r["lat"]
            bad = {s: n for s, n in r["statuses"].items() if s != 200}
            s = r["searches"]
            print(f"{searchers:>13} | {len(lat):>7} | {pct(lat, 50) * 1000:>7.1f} | {pct(lat, 99) * 1000:>7.1f} | "
                  f"{max(lat) * 1000:>7.1f} | {len(lat) / r['elapsed']:>6.0f} | "
                  f"{s['answered']:>8} / {s['refused']:<8}{' other: ' + str(s['other']) if s['other'] else ''}"
                  f"{'  non-200 details: ' + str(bad) if bad else ''} | {r['search_p50']:.2f}")
    finally:
        proc.terminate()
        proc.wait()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
