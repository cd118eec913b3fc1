"""Scale benchmark: build, store, serve and query synthetic corpora of growing size, and the growth exponents.

    PYTHONPATH=$PWD python benchmarks/scale.py --directions 1000 5000 20000 100000
    PYTHONPATH=$PWD python benchmarks/scale.py --directions 1000 5000 --store neo4j   # + both Neo4j loads

For each size N:

1. generate the corpus (benchmarks/gen_corpus.py, seeded; reused when it exists);
2. build it in a fresh process (``service.build``, what ``fundgraph build`` runs, into an embedded store): wall
   time and peak RSS per stage, told apart by the build's own progress messages (build_stages.py's method:
   the build's meta only times parse / entities / similarity), plus the process's peak RSS;
3. the store's size on disk (the graph directory the server reads), and the parse cache beside it;
4. with ``--store neo4j``: load the built graph into a Neo4j 5.26 (tools/neo4j-launcher, started once) through
   the batched ``UNWIND`` loader (``Neo4jStore.replace``, what ``fundgraph load-neo4j`` runs), and through the
   neo4j-admin CSV export (``graph.formats.neo4j_csv`` + the real ``neo4j-admin database import full``), both
   timed in a fresh process;
5. ``fundgraph serve`` in a subprocess: seconds from launch to the first healthy ``/api/health``, server RSS
   when ready and its peak after the load;
6. p50/p99 of direction detail, similar, search, the overlap matrix and the depth-2 neighbourhood at 1 and 32
   concurrent keep-alive clients (api_latency.py's client). The mix is fixed and seeded: directions sampled
   over the whole corpus, each URL used once per level (no response-cache replay of a measured request;
   the matrix has one URL per entity type, so it is replayed once warm), after a warm-up on other ids that
   is not measured. The server is started with ``FUNDGRAPH_SEARCH_QUEUE`` = ``--search-queue`` (default 32, one
   waiting place per client at the highest level; the served default is 8): a search the queue still refuses
   answers 503, which is counted per level (row ``search 503s``) and left out of the latencies.

Every step runs under ``--step-timeout`` seconds (default 1800): a step that does not finish is killed and
reported as ``timeout``, and the later steps of that size are skipped. The table ends with the growth
exponent between consecutive sizes, log(t2 / t1) / log(N2 / N1), of build time, store size, start-up and
the p50s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from api_latency import MATRIX_BY, SEARCH_TEXTS, free_port, pct, run_scenario  # noqa: E402
from build_stages import MESSAGES, STAGES, StageClock  # noqa: E402

KINDS = ("detail", "similar", "search", "matrix", "neighbourhood")
LEVELS = (1, 32)
TIMEOUT = "timeout"


class StepTimeout(Exception):
    """A step ran past --step-timeout."""


# -- steps run in a fresh process ---------------------------------------------------------------------------
def build_one(manifest: Path, home: Path) -> dict[str, Any]:
    """``service.build`` (as ``fundgraph build``) into an embedded store at ``home``, timed per stage."""
    from fundgraph import service
    from fundgraph.core.settings import Settings

    clock = StageClock()

    def progress(msg: str) -> None:
        clock.enter("store write" if msg.startswith("writing to") else MESSAGES.get(msg, clock.stage))

    settings = Settings(manifest=manifest, home=home, store="embedded", encoder="lexical")
    t0 = time.perf_counter()
    report = service.build(settings, progress=progress)
    clock.close()
    secs = dict(clock.seconds)
    peak = dict(clock.peak)
    m = report.built.meta
    return {
        "directions": m["direction_count"], "nodes": m["node_count"], "edges": m["edge_count"],
        "seconds": secs, "peak_mb": peak, "total_s": time.perf_counter() - t0, "meta_timings": m.get("timings"),
        "extract_cpu": (m.get("documents") or {}).get("cpu"),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def load_unwind(home: Path, uri: str) -> dict[str, Any]:
    """The embedded store's graph into Neo4j through the batched UNWIND loader (after emptying it), timed."""
    from neo4j_scale import load_unwind as timed_load

    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.embedded.store import EmbeddedStore
    from fundgraph.graph.stores.neo4j.store import Neo4jStore

    built = EmbeddedStore(home).load()
    store = Neo4jStore.from_settings(Settings(store="neo4j", neo4j_uri=uri, neo4j_user="", neo4j_password=""))
    try:
        figures = timed_load(store, built)
    finally:
        store.close()
    return {**figures, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def load_admin(home: Path, work: Path, timeout: float) -> dict[str, Any]:
    """The embedded store's graph exported as neo4j-admin CSV and bulk-imported into a fresh Neo4j home, timed."""
    from fundgraph.graph.formats import neo4j_csv
    from fundgraph.graph.stores.embedded.store import EmbeddedStore
    from tests.neo4j.harness import admin_shim, build_launcher, fresh_home, run_with_admin

    build_launcher()
    built = EmbeddedStore(home).load()
    t = time.perf_counter()
    files = neo4j_csv.write_neo4j_csv(built.graph, work / "csv")
    export_s = time.perf_counter() - t
    csv_mb = sum(f.stat().st_size for f in files.directory.iterdir()) / 2**20
    neo_home = fresh_home(work)
    admin_shim(work / "bin", neo_home)
    t = time.perf_counter()
    proc = run_with_admin(neo4j_csv.neo4j_admin_command(files), files.directory, work / "bin", timeout=timeout)
    import_s = time.perf_counter() - t
    if proc.returncode != 0 or "IMPORT DONE" not in proc.stdout:
        raise SystemExit(f"neo4j-admin import failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return {"export_s": export_s, "import_s": import_s, "csv_mb": csv_mb,
            "nodes": sum(files.node_counts.values()), "relationships": sum(files.relationship_counts.values())}


def in_fresh_process(args: list[str], timeout: float) -> dict[str, Any]:
    """Run this script with ``args`` in a new interpreter; its last stdout line is JSON."""
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise StepTimeout(f"{args[0]} did not finish within {timeout:.0f} s") from e
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t
    return out


# -- serving and latency ------------------------------------------------------------------------------------
def rss_of(pid: int, field: str = "VmRSS") -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def get_json(port: int, path: str, timeout: float = 60) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return json.load(r)


def serve(env: dict[str, str], timeout: float) -> tuple[subprocess.Popen, int, float]:
    """``fundgraph serve`` in a subprocess: (process, port, seconds from launch to the first healthy answer)."""
    port = free_port()
    cmd = [sys.executable, "-c", "from fundgraph.cli import app; app()", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
                if r.status == 200:
                    return proc, port, time.perf_counter() - t0
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise StepTimeout(f"the server was not healthy within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tree_mb(path: Path) -> float:
    """Size of the files under ``path`` in MiB (0 when there is none)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def sample_ids(port: int, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` directions (id, title) sampled over the whole corpus (pages at random offsets), shuffled."""
    total = get_json(port, "/api/directions?limit=1")["total"]
    offsets = sorted(rng.sample(range(0, max(1, total), 500), min(math.ceil(total / 500), math.ceil(count / 400) + 1)))
    picked: list[tuple[str, str]] = []
    for off in offsets:
        picked += [(d["id"], d["title"]) for d in get_json(port, f"/api/directions?limit=500&offset={off}")["items"]]
    rng.shuffle(picked)
    return picked


def request_mix(kind: str, ids: list[tuple[str, str]], n: int, start: int) -> list[tuple[str, str, bytes | None]]:
    """``n`` requests of one kind; ``start`` picks which directions (and matrix types) come first.

    A search text is a sampled direction's title (what a researcher pastes) or, every other request, one of
    api_latency's topics with a number the tokeniser drops: each text distinct, so the store's search cache answers
    none (it did with the topics alone: p99 7 ms at 32 clients against ~65 ms for texts never searched).
    """
    pick = [ids[(start + i) % len(ids)] for i in range(n)]
    if kind == "detail":
        return [("GET", f"/api/directions/{d}", None) for d, _ in pick]
    if kind == "similar":
        return [("GET", f"/api/directions/{d}/similar?k=10", None) for d, _ in pick]
    if kind == "neighbourhood":
        return [("GET", f"/api/graph/neighborhood?node={d}&depth=2&limit=100", None) for d, _ in pick]
    if kind == "search":
        return [("POST", "/api/search", json.dumps({"text": title if (start + i) % 2 == 0 else
                                                    f"{SEARCH_TEXTS[(start + i) % len(SEARCH_TEXTS)]} {start + i}",
                                                    "k": 10}).encode())
                for i, (_, title) in enumerate(pick)]
    return [("GET", f"/api/overlaps/matrix?by={MATRIX_BY[(start + i) % len(MATRIX_BY)]}", None) for i in range(n)]


def latencies(port: int, n: int, warmup: int, timeout: float, seed: int) -> dict[str, Any]:
    """p50/p99 (ms), requests/s and 503s per kind and concurrency level; one out of time is ``timeout``."""
    rng = random.Random(seed)
    ids = sample_ids(port, warmup + n * len(LEVELS), rng)
    out: dict[str, Any] = {}
    deadline = time.monotonic() + timeout

    def run(reqs: list[tuple[str, str, bytes | None]], clients: int,
            refused: dict[int, int] | None = None) -> tuple[list[float], float]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout("latency step out of time")
        try:
            return asyncio.run(asyncio.wait_for(run_scenario(port, reqs, clients, refused=refused), left))
        except TimeoutError as e:
            raise StepTimeout("latency step out of time") from e

    for kind in KINDS:
        try:
            run(request_mix(kind, ids, warmup, 0), 4, {})  # warm-up: other ids, not measured
            for li, clients in enumerate(LEVELS):
                refused: dict[int, int] = {}
                lat, elapsed = run(request_mix(kind, ids, n, warmup + li * n), clients, refused)
                out[f"{kind}@{clients}"] = {"p50": pct(lat, 50) * 1e3 if lat else None,
                                            "p99": pct(lat, 99) * 1e3 if lat else None,
                                            "rps": len(lat) / elapsed, "n": len(lat), "503": refused.get(503, 0)}
        except StepTimeout:
            out.setdefault(f"{kind}@{LEVELS[0]}", TIMEOUT)
            out.setdefault(f"{kind}@{LEVELS[-1]}", TIMEOUT)
            break  # the server is busy with the abandoned requests: later kinds would measure that
    return out


# -- one size ---------------------------------------------------------------------------------------------
def one_size(n: int, args: argparse.Namespace, uri: str | None) -> dict[str, Any]:
    res: dict[str, Any] = {"directions": n}
    corpus = args.corpora / f"n{n}-s{args.seed}"
    home = args.work / f"home-n{n}"
    limit = args.step_timeout
    try:
        if not (corpus / "manifest.yaml").exists():
            t = time.perf_counter()
            try:
                subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--directions", str(n), "--out",
                                str(corpus), "--seed", str(args.seed)], check=True, timeout=limit, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as e:
                raise StepTimeout("gen_corpus") from e
            res["generate_s"] = time.perf_counter() - t
        shutil.rmtree(home, ignore_errors=True)
        res["build"] = in_fresh_process(["--build-one", str(corpus / "manifest.yaml"), str(home)], limit)
        # the graph the server reads (the home's current graph directory), and apart from it the per-document
        # parse/extraction cache that makes the next build and `fundgraph add` cheap (not read by serving)
        res["store_mb"] = _tree_mb((home / "current").resolve())
        res["cache_mb"] = _tree_mb(home / "cache")
        if uri:
            res["unwind"] = in_fresh_process(["--load-unwind", str(home), uri], limit)
            admin_dir = Path(tempfile.mkdtemp(prefix=f"fg-admin-n{n}-", dir=args.work))
            try:
                res["admin"] = in_fresh_process(["--load-admin", str(home), str(admin_dir), str(limit)], limit + 60)
            finally:
                shutil.rmtree(admin_dir, ignore_errors=True)
            env = {"FUNDGRAPH_STORE": "neo4j", "FUNDGRAPH_NEO4J_URI": uri, "FUNDGRAPH_NEO4J_USER": "",
                   "FUNDGRAPH_NEO4J_PASSWORD": "", "FUNDGRAPH_HOME": str(home)}
        else:
            env = {"FUNDGRAPH_STORE": "embedded", "FUNDGRAPH_HOME": str(home)}
        env["FUNDGRAPH_SEARCH_QUEUE"] = str(args.search_queue)
        proc, port, res["startup_s"] = serve(env, limit)
        try:
            res["rss_ready_mb"] = rss_of(proc.pid)
            res["latency"] = latencies(port, args.requests, args.warmup, limit, args.seed)
            res["rss_peak_mb"] = rss_of(proc.pid, "VmHWM")
        finally:
            stop(proc)
    except StepTimeout as e:
        res["stopped"] = f"timeout ({limit:.0f} s): {e}"
    except (RuntimeError, subprocess.CalledProcessError) as e:
        res["stopped"] = f"failed: {str(e)[-600:]}"
    return res


# -- the table ------------------------------------------------------------------------------------------------
def fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    return format(v, spec)


def dig(r: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(r, dict) or p not in r:
            return r if isinstance(r, str) else None
        r = r[p]
    return r


def rows_of(results: list[dict[str, Any]]) -> list[tuple[str, list[Any], bool]]:
    """(label, value per size, whether a growth exponent makes sense)."""
    rows: list[tuple[str, list[Any], bool]] = [
        ("build total s", [dig(r, "build", "total_s") for r in results], True),
        ("build peak RSS MB", [dig(r, "build", "max_rss_mb") for r in results], True),
    ]
    for s in STAGES:
        rows.append((f"  {s} s", [dig(r, "build", "seconds", s) for r in results], True))
        rows.append((f"  {s} peak MB", [dig(r, "build", "peak_mb", s) for r in results], False))
    for part in ("parse", "entities", "keywords"):  # per-document work in the pool: CPU over every process
        rows.append((f"  {part} CPU s (pool)", [dig(r, "build", "extract_cpu", f"{part}_s") for r in results], True))
    rows.append(("store MB", [r.get("store_mb") for r in results], True))
    rows.append(("  parse cache MB", [r.get("cache_mb") for r in results], True))
    if any("unwind" in r for r in results):
        rows += [
            ("neo4j UNWIND load s", [dig(r, "unwind", "load_s") for r in results], True),
            ("neo4j UNWIND items/s", [dig(r, "unwind", "items_per_s") for r in results], False),
            ("neo4j CSV export s", [dig(r, "admin", "export_s") for r in results], True),
            ("neo4j-admin import s", [dig(r, "admin", "import_s") for r in results], True),
        ]
    rows += [
        ("server start-up s", [r.get("startup_s") for r in results], True),
        ("server RSS ready MB", [r.get("rss_ready_mb") for r in results], True),
        ("server RSS peak MB", [r.get("rss_peak_mb") for r in results], True),
    ]
    for kind in KINDS:
        for c in LEVELS:
            for q in ("p50", "p99"):
                rows.append((f"{kind} {q} ms @{c}", [dig(r, "latency", f"{kind}@{c}", q) for r in results], True))
            if kind == "search":
                rows.append((f"{kind} 503s @{c}", [dig(r, "latency", f"{kind}@{c}", "503") for r in results], False))
    return rows


def table(results: list[dict[str, Any]]) -> str:
    sizes = [r["directions"] for r in results]
    head = f"{'':<26}" + "".join(f"{n:>12,}" for n in sizes)
    pairs = list(itertools.pairwise(sizes))
    head += "".join(f"{f'exp {a:,}→{b:,}':>18}" for a, b in pairs)
    lines = [head]
    for label, vals, growth in rows_of(results):
        line = f"{label:<26}" + "".join(f"{fmt(v):>12}" for v in vals)
        for i in range(len(pairs)):
            a, b = vals[i], vals[i + 1]
            if growth and all(isinstance(x, int | float) and x > 0 for x in (a, b)):
                line += f"{math.log(b / a) / math.log(sizes[i + 1] / sizes[i]):>18.2f}"
            else:
                line += f"{'':>18}"
        lines.append(line)
    for r in results:
        if r.get("stopped"):
            lines.append(f"{r['directions']:,}: stopped: {r['stopped']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--build-one":
        print(json.dumps(build_one(Path(argv[1]), Path(argv[2]))))
        return 0
    if argv and argv[0] == "--load-unwind":
        print(json.dumps(load_unwind(Path(argv[1]), argv[2])))
        return 0
    if argv and argv[0] == "--load-admin":
        print(json.dumps(load_admin(Path(argv[1]), Path(argv[2]), float(argv[3]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--store", choices=("embedded", "neo4j"), default="embedded")
    ap.add_argument("--uri", help="an existing Neo4j without auth (default: start tools/neo4j-launcher)")
    ap.add_argument("--step-timeout", type=float, default=1800.0, help="seconds allowed per step")
    ap.add_argument("--requests", type=int, default=200, help="measured requests per kind and concurrency level")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured warm-up requests per kind")
    ap.add_argument("--search-queue", type=int, default=max(LEVELS),
                    help="FUNDGRAPH_SEARCH_QUEUE of the served store (searches that may wait; more answer 503)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "fundgraph-corpora")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "fundgraph-scale")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    server = None
    uri = args.uri
    if args.store == "neo4j" and not uri:
        from tests.neo4j.harness import Neo4jProcess

        server = Neo4jProcess(workdir=Path(tempfile.mkdtemp(prefix="fg-scale-neo4j-", dir=args.work))).start()
        uri = server.uri
        print(f"Neo4j 5.26 (tools/neo4j-launcher) at {uri}, started in {server.startup_s:.1f} s", flush=True)
    results: list[dict[str, Any]] = []
    try:
        for n in args.directions:
            t = time.perf_counter()
            results.append(one_size(n, args, uri))
            print(f"--- {n:,} directions ({time.perf_counter() - t:.0f} s)\n{table(results[-1:])}", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    finally:
        if server is not None:
            server.stop()
    print(f"\nfundgraph scale ({args.store} store; {os.cpu_count()} CPUs; step timeout {args.step_timeout:.0f} s; "
          f"{args.requests} requests per kind and level after {args.warmup} warm-up; served with "
          f"FUNDGRAPH_SEARCH_QUEUE={args.search_queue}, 503s counted, not timed; exp = growth exponent)")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
