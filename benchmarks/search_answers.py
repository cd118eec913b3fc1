"""Compare POST /api/search answers byte for byte between two checkouts of the code, served over the same home.

    python benchmarks/search_answers.py --home H --code /work/main --other .

Starts ``fundgraph serve`` from each checkout (one worker, the product's entry point), sends both the same
requests (``--requests``, 600 by default) one at a time: texts in English, Chinese and nonsense (directions'
titles, topics, random letters), ``k`` 1 … 20, some restricted to programs, and bodies the API must refuse
(not JSON, wrong types, out of bounds, unknown keys or programs, other content types). Prints how many answers
differ in status, headers (all but ``date``) or body, the first differences, and the statuses seen; exits 1 when
any differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import SEARCH_TEXTS, free_port, start_server

CHINESE = ["脑机接口 神经调控", "阿尔茨海默病 PET", "肿瘤 影像 组学", "深度学习 医学影像 诊断", "单细胞 测序",
           "心血管 疾病 风险", "量子 计算", "中医 针灸 临床"]
JSON = {"content-type": "application/json"}


def bad_requests(programs: list[str]) -> list[tuple[dict[str, str], bytes]]:
    """Bodies and headers the route must refuse or convert (each answered by FastAPI as before)."""
    p = programs[0] if programs else "x"
    bodies = [b"", b"{", b"[]", b"null", b'"text"', b"{}", b'{"text": ""}', b'{"text": null}', b'{"text": 5}',
              b'{"text": "cancer", "k": 0}', b'{"text": "cancer", "k": 101}', b'{"text": "cancer", "k": "5"}',
              b'{"text": "cancer", "k": 5.0}', b'{"text": "cancer", "k": 5.5}', b'{"text": "cancer", "k": true}',
              b'{"text": "cancer", "k": null}', b'{"text": "cancer", "extra": 1}',
              b'{"text": "cancer", "programs": "' + p.encode() + b'"}',
              b'{"text": "cancer", "programs": [1]}', b'{"text": "cancer", "programs": ["no-such-program"]}',
              json.dumps({"text": "cancer", "programs": [p] * 51}).encode(),
              json.dumps({"text": "x" * 20_001}).encode(), json.dumps({"text": "癌" * 20_001}).encode(),
              b'{"text": "cancer", "text": "tumor"}', b'{"text": "cancer", "k": 3, "k": 4}', b"\xff\xfe",
              b'{"text": "\\ud800 cancer"}', b'{"text": " "}', b'{"text": "cancer", "k": 100}',
              b'{"text": "cancer", "programs": []}', b'{"text": "cancer", "programs": null}']
    out = [(JSON, b) for b in bodies]
    good = b'{"text": "cancer", "k": 3}'
    for ctype in ("text/plain", "application/json; charset=utf-8", "Application/JSON", "application/x+json",
                  "multipart/form-data"):
        out.append(({"content-type": ctype}, good))
    out.append(({}, good))
    return out


def plan(client: httpx.Client, n: int, seed: int) -> list[tuple[dict[str, str], bytes]]:
    """``n`` requests: about one in ten refused, the rest searches over varied texts, ``k`` and programs."""
    rnd = random.Random(seed)
    titles = [d["title"] for d in client.get("/api/directions?limit=300").json()["items"]]
    programs = [p["id"] for p in client.get("/api/programs").json()]
    bad = bad_requests(programs)
    out = list(bad)
    while len(out) < n:
        kind = rnd.random()
        if kind < 0.35:
            text = rnd.choice(titles)
        elif kind < 0.55:
            text = rnd.choice(CHINESE) + ("" if rnd.random() < 0.5 else f" {rnd.randrange(1000)}")
        elif kind < 0.75:
            text = rnd.choice(SEARCH_TEXTS)
        elif kind < 0.9:
            text = "".join(rnd.choice("qwxzjvkb ") for _ in range(rnd.randrange(3, 40))).strip() or "qx"
        else:
            text = " ".join(rnd.sample(titles, 3))
        body: dict = {"text": text}
        if rnd.random() < 0.8:
            body["k"] = rnd.randint(1, 20)
        if rnd.random() < 0.25 and programs:
            body["programs"] = rnd.sample(programs, min(len(programs), rnd.randint(1, 3)))
        out.append((JSON, json.dumps(body, ensure_ascii=rnd.random() < 0.5).encode()))
    rnd.shuffle(out)
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a built home (read only)")
    ap.add_argument("--code", type=Path, required=True, help="the checkout answers are compared against")
    ap.add_argument("--other", type=Path, default=Path("."), help="the checkout under test")
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    os.environ.pop("PYTHONPATH", None)  # each server imports the code of its own checkout (its working directory)
    servers = []
    try:
        urls = []
        for code in (args.code, args.other):
            port = free_port()
            servers.append(start_server(args.home, port, 1, None, code.resolve()))
            urls.append(f"http://127.0.0.1:{port}")
        with httpx.Client(base_url=urls[0], timeout=60) as a, httpx.Client(base_url=urls[1], timeout=60) as b:
            requests = plan(a, args.requests, args.seed)
            differ, statuses = [], Counter()
            for headers, body in requests:
                ra, rb = (c.post("/api/search", content=body, headers=headers) for c in (a, b))
                statuses[ra.status_code] += 1
                ha = [(k, v) for k, v in ra.headers.multi_items() if k != "date"]
                hb = [(k, v) for k, v in rb.headers.multi_items() if k != "date"]
                if (ra.status_code, ha, ra.content) != (rb.status_code, hb, rb.content):
                    differ.append((headers, body[:80], ra.status_code, rb.status_code, ha, hb, ra.content[:200],
                                   rb.content[:200]))
    finally:
        for s in servers:
            s.terminate()
            s.wait(30)
    print(f"{len(requests)} requests, statuses {dict(sorted(statuses.items()))}: {len(differ)} answers differ")
    for d in differ[:5]:
        print(*d, sep="\n  ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
