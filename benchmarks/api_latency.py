"""API latency: p50/p99 and requests/s for detail, similar, search and matrix at 1 and 32 concurrent clients.

Starts ``uvicorn`` in a subprocess on a free loopback port over a built graph (``--home``, or a fresh build of
the bundled corpus into a temporary directory), warms it up, then drives it with a small asyncio HTTP/1.1
keep-alive client (one connection per concurrent client; loopback only; bounded request counts) and prints
a table. The client runs on the same cores as the server, so it is kept light: it checks each answer's status and
length and counts its body without keeping it; one answer in ``SAMPLE`` (50) is kept and parsed to check it is
one JSON object. It runs on uvloop when that is installed, as uvicorn then does for the server.

    python benchmarks/api_latency.py                 # build the corpus into a temp home, then measure
    python benchmarks/api_latency.py --home ~/.fundgraph --requests 1000
    python benchmarks/api_latency.py --store neo4j   # the same graph loaded into a fresh test Neo4j
    python benchmarks/api_latency.py --store neo4j --code /tmp/old-checkout   # another checkout's server
    python benchmarks/api_latency.py --store neo4j --uri bolt://127.0.0.1:7687 --no-load --home H   # loaded once
    python benchmarks/api_latency.py … --first-run 2   # again on the same database: directions not asked before

With ``--store neo4j`` the graph is loaded with ``fundgraph load-neo4j --from-embedded`` (which ends by warming Neo4j
for 45 s, as a user's load does) into a Neo4j 5.26 started for the run (tools/neo4j-launcher, with ``--heap`` and
``--pagecache``: size the page cache to the store, as Neo4j's operations manual advises; or ``--uri``, an existing one
without auth), and a depth-2 neighbourhood scenario is added. The page cache and heap the server runs with are printed
as it reports them, and its JVM's CPU per request is a column of its own (``neo4j ms/req``; with ``--uri`` give
``--neo4j-pid``). After a load by this script, and with ``--full-gc``, the Neo4j JVM's heap is collected in full
before measuring (:func:`full_gc`: the load's dead objects in the old generation doubled the young pauses; a restart
after a load gives the same). ``--code`` runs the loader and the server from another checkout's ``fundgraph``
(before/after comparisons in one run of this script).

    python benchmarks/api_latency.py --home H --only detail,similar,search --requests 2000

The ``detail``, ``similar`` and ``search`` rows are what users do: every request names a direction, or sends a text,
that no earlier request of the run did, so no cache of the server answers it (``similar`` asks k ≤ 5,
``similar10`` the API's default k=10: both re-score the first k of the direction's pool the build stored, in the
word mix's order; a build without pools ranks every candidate). The ``~`` rows repeat requests the warm-up made
(the caches answer). ``cpu ms/req`` is the server's (and its processes')
CPU, ``client cpu`` this load generator's (it shares the cores); the load average before and after is printed:
on 2 shared cores it moves the p99 more than anything.

Targets (issue 14, embedded store, 100,000 directions, 2 cores): p99 at 32 clients detail < 25 ms, similar < 25 ms,
search < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEARCH_TEXTS = [
    "Alzheimer's disease PET imaging",
    "阿尔茨海默病早期诊断的多模态影像",
    "federated learning for medical imaging across hospitals",
    "肺癌低剂量CT筛查与人工智能辅助诊断",
    "brain-computer interface and neural decoding",
    "单细胞测序与空间组学数据分析",
]
MATRIX_BY = ["disease", "modality", "technique", "keyword"]


def neo4j_memory(uri: str) -> str:
    """The page cache and the heap a Neo4j runs with, as it reports them (``SHOW SETTINGS``, the JVM's MBean)."""
    sys.path.insert(0, str(ROOT))
    from fundgraph.core.settings import Settings
    from fundgraph.graph.stores.neo4j.connection import Connection

    conn = Connection.open(Settings(store="neo4j", neo4j_uri=uri, neo4j_user="", neo4j_password=""))
    try:
        with conn.driver.session(database="system") as s:
            row = s.run("SHOW SETTINGS YIELD name, value WHERE name = 'server.memory.pagecache.size' "
                        "RETURN value").single()
            heap = s.run("CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
                         "RETURN attributes.HeapMemoryUsage.value.properties.max AS max").single()
    finally:
        conn.close()
    pagecache = row["value"] if row else "unknown"
    return f"page cache {pagecache}, heap max {heap['max'] / 2**30:.1f} GiB" if heap else f"page cache {pagecache}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_into(home: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.pipeline import build_graph
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    settings = Settings(home=home)
    t = time.perf_counter()
    EmbeddedStore(home).replace(build_graph(settings))
    print(f"built the corpus graph into {home} in {time.perf_counter() - t:.1f}s", file=sys.stderr)


def store_env(home: Path, uri: str | None) -> dict[str, str]:
    if uri is None:
        return dict(os.environ, FUNDGRAPH_HOME=str(home), FUNDGRAPH_STORE="embedded")
    return dict(os.environ, FUNDGRAPH_HOME=str(home), FUNDGRAPH_STORE="neo4j", FUNDGRAPH_NEO4J_URI=uri,
                FUNDGRAPH_NEO4J_USER="", FUNDGRAPH_NEO4J_PASSWORD="")


def load_neo4j(home: Path, uri: str, code: Path) -> None:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from fundgraph.cli import app; app()", "load-neo4j", "--from-embedded"],
                   cwd=code, env=store_env(home, uri), check=True, stdout=subprocess.DEVNULL)
    print(f"loaded the graph into Neo4j at {uri} in {time.perf_counter() - t:.1f}s", file=sys.stderr)


def full_gc(pid: int) -> str:
    """A full collection of the Neo4j JVM ``pid``'s heap (``jcmd PID GC.run``): what a restart after a load gives.

    A load leaves its dead transaction state in the old generation of Neo4j's heap (440 MB after loading 100,000
    directions, 2 GB heap, ParallelGC), and nothing collects it while the server only reads: until a full
    collection, young collections during a neighbourhood run took 17 ms median, 52 ms at most (21 pauses), against
    9.5 and 27 ms after one (20 pauses; 100 MB left in the old generation; load ~2.5), and their CPU counted in the
    neighbourhood's Neo4j ms/req. Each pause stalls every request in flight, so at 32 clients it lands in the p99.
    """
    t = time.perf_counter()
    try:
        subprocess.run(["jcmd", str(pid), "GC.run"], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:  # no JDK tools here, or no such JVM
        return f"no full GC of the Neo4j JVM (pid {pid}): {type(e).__name__}"
    return f"full GC of the Neo4j JVM (pid {pid}) before measuring, {time.perf_counter() - t:.1f} s"


def start_server(home: Path, port: int, workers: int, uri: str | None = None, code: Path = ROOT,
                 search_process: bool = False) -> subprocess.Popen:
    env = store_env(home, uri)
    # The product's own entry point (`fundgraph serve`), so the benchmark measures what users run.
    cmd = [
        sys.executable,
        "-c",
        "from fundgraph.cli import app; app()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
        *(["--search-process"] if search_process else []),
    ]
    proc = subprocess.Popen(cmd, cwd=code, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not become healthy within 60 s")


def settle(pid: int, window: float = 0.5, idle: float = 0.1, limit: float = 60.0) -> bool:
    """Wait until the server's processes are idle (less than ``idle`` of a core over ``window`` seconds).

    With several workers the first healthy answer comes from the first worker that finished loading; the others are
    still reading the graph, and their start-up CPU was counted in the first scenario's ``cpu ms/req`` (measured at
    100,000 directions, two workers: 1.25 ms a detail and 18 minor faults per request in the scenario run while the
    second worker loaded, 0.48 ms and 8.7 after it). False when they are still busy after ``limit`` seconds.
    """
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now - before < idle * window:
            return True
        before = now
    return False


def get_json(port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.load(r)


class _Answers(asyncio.Protocol):
    """The reading side of a :class:`Conn`: one answer at a time, its head parsed once, its body counted.

    A protocol rather than asyncio streams: the client shares the 2 cores with the server, and a stream's
    readline per header line cost 0.20 ms of client CPU per request against ~0.08 ms here. The body is not kept
    (a neighbourhood is ~200 kB arriving in several chunks) unless the request asked for it (``keep``: a sample
    that :func:`run_scenario` parses to validate).
    """

    def __init__(self) -> None:
        self.head = bytearray()
        self.left = -1  # body bytes still to come; -1 while the head is read
        self.status = 0
        self.length = 0
        self.keep = False
        self.gzipped = False
        self.body = bytearray()
        self.waiting: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.left < 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.head[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            stop = head.find(b"\r\n", at + 2)
            self.length = int(head[at + 17 : stop if stop > 0 else None]) if at >= 0 else 0
            self.status = int(head[9:12])
            self.gzipped = b"\r\ncontent-encoding: gzip" in head
            data = bytes(self.head[end + 4 :])
            self.head.clear()
            self.left = self.length
        self.left -= len(data)
        if self.keep:
            self.body += data
        if self.left > 0 or self.waiting is None:
            return
        self.left = -1
        waiting, self.waiting = self.waiting, None
        if waiting.done():
            return
        if self.keep and len(self.body) != self.length:
            waiting.set_exception(ValueError(f"{len(self.body)} bytes of body, Content-Length {self.length}"))
        else:  # the body as sent (Content-Length) and, when gzip-encoded, decoded for the JSON check
            body = (gzip.decompress(self.body) if self.gzipped else bytes(self.body)) if self.keep else None
            waiting.set_result((self.status, self.length, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionResetError("the server closed the connection instead of answering"))


#: The Accept-Encoding every request sends (``--accept-encoding``): gzip by default, as browsers and HTTP libraries
#: do (the Neo4j store then sends a stored neighbourhood as it is); ``identity`` for the answers uncompressed.
ACCEPT = "Accept-Encoding: gzip\r\n"


class Conn:
    """One keep-alive HTTP/1.1 connection (minimal client: the server, not the client, should be measured)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: _Answers | None = None

    async def open(self) -> None:
        _, self.answers = await asyncio.get_running_loop().create_connection(_Answers, "127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes | None = None,
                      keep: bool = False) -> tuple[int, int, bytes | None]:
        """(status, body length, the body if ``keep``) of one request."""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{ACCEPT}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        answers = self.answers
        if answers.transport is None or answers.transport.is_closing():
            raise ConnectionResetError(f"the connection is closed: {method} {path} not sent")
        answers.waiting = asyncio.get_running_loop().create_future()
        answers.keep = keep
        answers.body.clear()
        answers.transport.write(head.encode() + b"\r\n" + (body or b""))
        return await answers.waiting

    def close(self) -> None:
        if self.answers is not None and self.answers.transport is not None:
            self.answers.transport.close()


#: Every SAMPLE-th answer of a scenario is kept and parsed as JSON (a JSON object of the length sent); the others
#: are only checked for status and length: parsing a 240 kB neighbourhood (json, ~1 ms) cost the client 20 times
#: what reading it does (0.05 ms).
SAMPLE = 50
try:
    from orjson import loads as parse_json
except ImportError:  # the neo4j extra brings orjson
    parse_json = json.loads


async def run_scenario(
    port: int, requests: list[tuple[str, str, bytes | None]], clients: int, *,
    refused: dict[int, int] | None = None,
) -> tuple[list[float], float]:
    """Latencies (s) of the answered requests and the elapsed time.

    Any status but 200 stops the run, unless ``refused`` is given: then a 503 (the server's work queue is full)
    is counted there by status, and left out of the latencies (it answers at once, it would flatter p50).
    """
    conns = [Conn(port) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in conns))
    latencies: list[float] = []
    queue = list(reversed(requests))

    async def worker(c: Conn) -> None:
        while queue:
            keep = len(queue) % SAMPLE == 0
            method, path, body = queue.pop()
            t = time.perf_counter()
            status, length, answer = await c.request(method, path, body, keep)
            elapsed = time.perf_counter() - t
            if status == 503 and refused is not None:
                refused[status] = refused.get(status, 0) + 1
                continue
            latencies.append(elapsed)
            if status != 200 or length == 0:
                raise SystemExit(f"{method} {path} answered {status} with {length} bytes")
            if answer is not None and not isinstance(parse_json(answer), dict):  # (its length checked on arrival)
                raise SystemExit(f"{method} {path} answered {length} bytes that are not one JSON object")

    gc.collect()
    gc.disable()  # the client's own collections would show up as server latency
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        elapsed = time.perf_counter() - t0
        gc.enable()
    for c in conns:
        c.close()
    return latencies, elapsed


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (uvicorn workers, search processes; Linux /proc)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (fields := _stat(int(d.name))):
            parent[int(d.name)] = int(fields[1])
    tree, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        tree += kids
        todo += kids
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, its live descendants and its ended children (Linux; 0 elsewhere)."""
    total = 0
    for i, p in enumerate(process_tree(pid)):
        fields = _stat(p)
        total += sum(int(f) for f in fields[11:15 if i == 0 else 13]) if fields else 0
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory (MiB) of a process and its live descendants (Linux; 0 elsewhere)."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def directions_page(port: int, offset: int, count: int) -> list[dict]:
    """``count`` direction briefs from ``offset`` on (wrapping round a graph with fewer directions)."""
    total = get_json(port, "/api/directions?limit=1")["total"]
    out: list[dict] = []
    while len(out) < count and total:
        at = offset % total
        out += get_json(port, f"/api/directions?limit={min(500, count - len(out))}&offset={at}")["items"]
        offset = at + 500
    return out


#: The scenarios answered from the server's caches (the same requests again): warmed before they are measured.
REPEATED = ("detail~", "similar~", "search~", "matrix", "neighb2~")


def scenarios(
    port: int, n: int, run: int = 0, neighbourhood: bool = False
) -> dict[str, list[tuple[str, str, bytes | None]]]:
    """The requests of each scenario; ``run`` (0, 1 …) keeps the uncached ones distinct across runs.

    ``detail``, ``similar``, ``search`` are what users do: each request names a direction (or a text) no earlier
    request of the benchmark named, so no cache of the server answers it. The ``~`` rows repeat requests the
    warm-up already made (answered from the caches).
    """
    ids = [d["id"] for d in get_json(port, "/api/directions?limit=500")["items"]]
    # Five fresh slices of directions per run (detail, similar, similar k10, search titles, neighbourhood), after
    # the first 500.
    fresh = directions_page(port, 500 + 5 * n * run, 5 * n)
    fresh = (fresh * (1 + 5 * n // max(len(fresh), 1)))[: 5 * n]
    detail, similar, similar10, titled, centres = (fresh[i * n : (i + 1) * n] for i in range(5))

    def text(i: int) -> str:
        # Every text distinct: a direction's title (what a researcher pastes) or one of the six topics with a
        # number the tokeniser drops.
        return titled[i]["title"] if i % 2 == 0 else f"{SEARCH_TEXTS[i % len(SEARCH_TEXTS)]} {run * n + i}"

    plan = {
        "detail": [("GET", f"/api/directions/{d['id']}", None) for d in detail],
        # k ≤ the build's similar_top_k (5): the first k of the stored pool (the SIMILAR_TO lists without pools).
        "similar": [("GET", f"/api/directions/{d['id']}/similar?k={1 + i % 5}", None) for i, d in enumerate(similar)],
        "search": [("POST", "/api/search", json.dumps({"text": text(i), "k": 10}).encode()) for i in range(n)],
        # The API's default k=10: the first 10 of the stored pool, re-scored and explained on each request.
        "similar10": [("GET", f"/api/directions/{d['id']}/similar?k=10", None) for d in similar10],
        "detail~": [("GET", f"/api/directions/{ids[i % len(ids)]}", None) for i in range(n)],
        "similar~": [("GET", f"/api/directions/{ids[i % len(ids)]}/similar?k=10", None) for i in range(n)],
        "search~": [
            ("POST", "/api/search", json.dumps({"text": SEARCH_TEXTS[i % len(SEARCH_TEXTS)], "k": 10}).encode())
            for i in range(n)
        ],
        "matrix": [
            ("GET", f"/api/overlaps/matrix?by={MATRIX_BY[i % len(MATRIX_BY)]}", None) for i in range(n)
        ],
    }
    if neighbourhood:
        # neighb2: a centre no earlier request named; neighb2~: the first 200 directions again (the caches: at
        # 100,000 directions a neighbourhood is 90-270 kB of JSON, 200 of them fit the answer cache's 64 MB).
        plan["neighb2"] = [("GET", f"/api/graph/neighborhood?node={d['id']}&depth=2&limit=100", None) for d in centres]
        again = ids[:200]
        plan["neighb2~"] = [
            ("GET", f"/api/graph/neighborhood?node={again[i % len(again)]}&depth=2&limit=100", None) for i in range(n)
        ]
    return plan


#: p99 targets at 32 clients (issue 14, 100,000 directions) per store, ms.
TARGETS = {"embedded": {"detail": 25.0, "similar": 25.0, "search": 100.0},
           "neo4j": {"detail": 50.0, "similar": 50.0, "neighb2": 100.0}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--home", type=Path, help="a built embedded store (default: build the corpus into a temp dir)"
    )
    ap.add_argument("--requests", type=int, default=640, help="requests per scenario and concurrency level")
    ap.add_argument("--clients", default="1,32", help="comma-separated concurrency levels")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--store", choices=("embedded", "neo4j"), default="embedded")
    ap.add_argument("--uri", help="with --store neo4j: an existing Neo4j without auth (default: start one)")
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose fundgraph loads and serves")
    ap.add_argument("--only", help="comma-separated scenarios to run (default: all)")
    ap.add_argument("--search-process", action="store_true", help="serve with `fundgraph serve --search-process`")
    ap.add_argument("--no-load", action="store_true",
                    help="with --uri: serve the graph already loaded there (no `load-neo4j`)")
    ap.add_argument("--heap", default="2g", help="with --store neo4j: the heap of the Neo4j started here")
    ap.add_argument("--pagecache", default="6g",
                    help="with --store neo4j: the page cache of the Neo4j started here (the 100,000-direction store "
                         "is 6.2 GB)")
    ap.add_argument("--neo4j-pid", type=int, help="with --uri: the Neo4j JVM's pid, for its CPU per request")
    ap.add_argument("--accept-encoding", default="gzip",
                    help="the requests' Accept-Encoding (gzip, as browsers send; identity: answers uncompressed)")
    ap.add_argument("--first-run", type=int, default=0,
                    help="the first run's number (0, 1 …): the fresh directions and texts of run r are those of no "
                         "other run, so invocations one after the other on the same server or database (one "
                         "--first-run apart per concurrency level) name directions no earlier invocation named")
    ap.add_argument("--full-gc", action="store_true",
                    help="with --neo4j-pid: collect the Neo4j JVM's heap in full before measuring (jcmd GC.run; done "
                         "anyway after a load by this script): the heap a restart after the load would leave")
    args = ap.parse_args()
    global ACCEPT
    ACCEPT = f"Accept-Encoding: {args.accept_encoding}\r\n"
    loop = "asyncio"
    try:  # the server's uvicorn takes uvloop when it is installed (loop="auto"); the client does the same
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        loop = "uvloop"
    except ImportError:
        pass

    tmp = None
    home = args.home
    if home is None:
        tmp = tempfile.TemporaryDirectory(prefix="fundgraph-bench-")
        home = Path(tmp.name)
        build_into(home)
    neo4j = None
    uri = args.uri
    if args.store == "neo4j":
        if uri is None:
            sys.path.insert(0, str(ROOT))
            from tests.neo4j import harness

            harness.JVM_OPTS = (f"-Xms{args.heap}", f"-Xmx{args.heap}", "-XX:+UseParallelGC")  # C2, not C1 only
            neo4j = harness.Neo4jProcess(pagecache=args.pagecache).start()
            uri = neo4j.uri
            args.neo4j_pid = neo4j.proc.pid
        if not (args.no_load and args.uri):
            load_neo4j(home, uri, args.code)
            args.full_gc = args.full_gc or args.neo4j_pid is not None
    collected = full_gc(args.neo4j_pid) if args.full_gc and args.neo4j_pid else None
    memory = neo4j_memory(uri) if uri else None
    port = free_port()
    load = os.getloadavg()
    started = time.perf_counter()
    proc = start_server(home, port, args.workers, uri, args.code, args.search_process)
    ready = time.perf_counter() - started
    settled = settle(proc.pid) if args.workers > 1 else None
    all_ready = time.perf_counter() - started
    rss_ready = rss_mib(proc.pid)
    nb = args.store == "neo4j"
    try:
        plan = scenarios(port, args.requests, args.first_run, neighbourhood=nb)
        if args.only:
            plan = {name: reqs for name, reqs in plan.items() if name in args.only.split(",")}
        # Warm-up: every distinct request of the repeated scenarios once (fills the caches, as a running server
        # would have); the others are left cold on purpose.
        warm = [r for name, reqs in plan.items() if name in REPEATED for r in dict.fromkeys(reqs)]
        asyncio.run(run_scenario(port, warm, 4))
        rows = []
        levels = [int(c) for c in args.clients.split(",")]
        plans = [plan] + [scenarios(port, args.requests, args.first_run + run, nb) for run in range(1, len(levels))]
        for name in plan:
            for run, clients in enumerate(levels):
                cpu = cpu_seconds(proc.pid)
                db_cpu = cpu_seconds(args.neo4j_pid) if args.neo4j_pid else 0.0
                mine = time.process_time()
                print(f"{name} at {clients} clients ...", file=sys.stderr, flush=True)
                try:
                    lat, elapsed = asyncio.run(run_scenario(port, plans[run][name], clients))
                except OSError as e:  # e.g. the server dropped a connection: report it, measure the rest
                    print(f"{name} at {clients} clients failed: {e!r}", file=sys.stderr, flush=True)
                    continue
                cpu = cpu_seconds(proc.pid) - cpu
                db_cpu = cpu_seconds(args.neo4j_pid) - db_cpu if args.neo4j_pid else float("nan")
                mine = time.process_time() - mine
                rows.append(
                    (
                        name,
                        clients,
                        len(lat),
                        statistics.median(lat) * 1e3,
                        pct(lat, 99) * 1e3,
                        len(lat) / elapsed,
                        cpu / max(len(lat), 1) * 1e3,
                        mine / max(len(lat), 1) * 1e3,
                        db_cpu / max(len(lat), 1) * 1e3,
                    )
                )
        rss_end = rss_mib(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if neo4j is not None:
            neo4j.stop()
        if tmp is not None:
            tmp.cleanup()

    after = os.getloadavg()
    print(
        f"fundgraph API latency ({args.store} store, code {args.code}, uvicorn workers={args.workers}, "
        f"{os.cpu_count()} CPUs, loopback, keep-alive, event loop {loop}, Accept-Encoding {args.accept_encoding}; "
        f"1 answer in {SAMPLE} parsed)"
    )
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: {after[0]:.2f} {after[1]:.2f} "
          f"{after[2]:.2f}; server ready in {ready:.1f} s"
          + (f" (every worker loaded and idle: {all_ready:.1f} s{'' if settled else ', still busy'})"
             if settled is not None else "")
          + f", RSS {rss_ready:.0f} MiB then, {rss_end:.0f} MiB at the end "
          f"(server and its processes; search processes: {'yes' if args.search_process else 'no'})")
    if memory:
        print(f"Neo4j at {uri}: {memory}" + (f"; {collected}" if collected else ""))
    print(f"{'endpoint':<10} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
          f"{'cpu ms/req':>10} {'client cpu':>10}" + (f" {'neo4j ms/req':>12}" if nb else ""))
    for name, clients, n, p50, p99, rps, cpu, client, db in rows:
        print(f"{name:<10} {clients:>7} {n:>8} {p50:>8.2f} {p99:>8.2f} {rps:>8.0f} {cpu:>10.2f} {client:>10.2f}"
              + (f" {db:>12.2f}" if nb else ""))
    for name, target in TARGETS[args.store].items():
        at32 = [r[4] for r in rows if r[0] == name and r[1] >= 32]
        if at32:
            verdict = "meets" if max(at32) < target else "MISSES"
            print(f"p99 of {name} at 32 clients: {max(at32):.2f} ms (target < {target:g} ms: {verdict})")
    print("detail, similar, search: every request names a direction or text no earlier one did (no cache answers "
          "it); similar (k ≤ 5) and similar10 (k=10) re-score the first k of the pool the build stored; "
          "~ = the same requests again, from the caches")

if __name__ == "__main__":
    main()
