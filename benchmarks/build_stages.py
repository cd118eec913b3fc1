"""Where the build's time and memory go, per stage, on synthetic corpora of several sizes.

    PYTHONPATH=$PWD python benchmarks/build_stages.py --directions 1000 3000

For each size: generate the corpus (benchmarks/gen_corpus.py, seeded) unless it exists, then build it in a
fresh process (the embedded store, lexical encoder) and print wall time and peak RSS per stage: parse,
entities, keywords, vectors, similarity, lineage, communities, store write. Stages are told apart by the
build's own progress messages (no change to the pipeline). Per-document work (parsing, entity mentions,
keyword candidates) runs together in the build's process pool, so the wall-clock "parse" stage covers all
three; "keywords" is the corpus-wide part that follows it (document frequencies, choosing each direction's
keywords), and "entities" the graph's entity layer. The pool's CPU seconds per part, from the build's meta
(``documents.cpu``), are printed below the table; the "CPU s" column is the build process's CPU per stage with its
reaped children (the parse pool's workers count in "parse"): on a shared machine a stage's wall time over its
CPU time is mostly waiting for a core. Peak RSS is sampled every 20 ms in a thread and kept per
stage. The build forks processes (the parse pool, the early encoding, lineage, half of the ranking, Louvain)
whose private pages are not in that RSS: the "machine MB" column is, per stage, the peak rise over
its value when the build starts of the machine's memory in use outside the page cache (``/proc/meminfo``: MemTotal −
MemFree − Buffers − Cached − SReclaimable, what ``free`` calls used), sampled with the RSS: the memory the build
and its forks hold, on a machine where nothing else runs (a neighbour's allocations count too). Reading each
process's PSS instead cost ~12 ms per 600 MB of it, too much to sample while measuring speed. The last row is the
growth exponent between sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STAGES = ("parse", "entities", "keywords", "vectors", "similarity", "lineage", "communities", "store write")
#: Build progress message → the stage it starts.
MESSAGES = {
    "parsing documents": "parse",
    "counting keyword document frequencies": "keywords",
    "choosing keywords": "keywords",
    "loading vocabularies": "entities",
    "encoding and linking similar directions": "vectors",
    "encoding directions": "vectors",
    "linking similar directions across programs": "similarity",
    "linking editions of a series": "lineage",
    "finding topic communities": "communities",
}
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_s() -> float:
    """CPU seconds of this process and of its children reaped so far (the parse pool's, once it is shut down)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def used_mb() -> float:
    """The machine's memory in use outside the page cache (MB), as ``free`` counts it."""
    with open("/proc/meminfo") as fh:
        kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in fh)}
    return (kb["MemTotal"] - kb["MemFree"] - kb["Buffers"] - kb["Cached"] - kb.get("SReclaimable", 0)) / 1024


def anon_pss_mb(pid: int) -> float:
    """The anonymous memory ``pid`` holds (MB), pages shared with other processes split among them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / 2**20


class StageClock:
    """Wall time and peak RSS per stage; ``enter(stage)`` closes the current one."""

    def __init__(self, *, tree_every: float = 0.0) -> None:
        self.tree_every = tree_every
        self.tree_peak: dict[str, tuple[float, float]] = {}
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.c = cpu_s()
        self.peak: dict[str, float] = {}
        self.used_start = used_mb()
        self.used_rise = 0.0
        self.used_peak: dict[str, float] = {}
        self.stage: str | None = None
        self.t = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        last = 0.0
        while not self._stop.wait(0.02):
            self.note()
            if self.tree_every and self.stage and time.perf_counter() - last >= self.tree_every:
                last = time.perf_counter()
                from api_latency import process_tree  # the benchmarks' own (its imports only when sampling)

                me = os.getpid()
                own = anon_pss_mb(me)
                forks = sum(anon_pss_mb(p) for p in process_tree(me)[1:])
                was = self.tree_peak.get(self.stage, (0.0, 0.0))
                if own + forks > sum(was):
                    self.tree_peak[self.stage] = (own, forks)

    def note(self) -> None:
        if self.stage:
            self.peak[self.stage] = max(self.peak.get(self.stage, 0.0), rss_mb())
            rise = used_mb() - self.used_start
            self.used_peak[self.stage] = max(self.used_peak.get(self.stage, 0.0), rise)
            self.used_rise = max(self.used_rise, rise)

    def enter(self, stage: str | None) -> None:
        now, cpu = time.perf_counter(), cpu_s()
        self.note()
        if self.stage:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self.t
            self.cpu[self.stage] = self.cpu.get(self.stage, 0.0) + cpu - self.c
        self.stage, self.t, self.c = stage, now, cpu
        self.note()

    def close(self) -> None:
        self.enter(None)
        self._stop.set()


def build_one(manifest: Path, *, tree_every: float = 0.0) -> dict:
    """Build the corpus of ``manifest`` into a temporary embedded store; stage figures as a dict."""
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.pipeline import build_graph
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    clock = StageClock(tree_every=tree_every)
    # A fresh cache directory: every document is parsed and extracted (as ``fundgraph build --full``).
    settings = Settings(manifest=manifest, store="embedded", cache_dir=Path(tempfile.mkdtemp(prefix="fg-cache-")))
    t0 = time.perf_counter()
    built = build_graph(settings, progress=lambda msg: clock.enter(MESSAGES.get(msg, clock.stage)))
    home = Path(tempfile.mkdtemp(prefix="fg-stages-"))
    clock.enter("store write")
    EmbeddedStore(home).replace(built)
    clock.close()
    total = time.perf_counter() - t0
    secs = dict(clock.seconds)
    peak = dict(clock.peak)
    size = sum(f.stat().st_size for f in (home / "current").iterdir())
    sim_edges = sum(1 for *_e, d in built.graph.edges(data=True) if d.get("type") == "SIMILAR_TO")
    cont = sum(1 for *_e, d in built.graph.edges(data=True) if d.get("type") == "CONTINUES")
    comms = sum(1 for _n, d in built.graph.nodes(data=True) if d.get("label") == "Community")
    import resource

    return {
        "directions": built.meta["direction_count"], "seconds": secs, "cpu": dict(clock.cpu), "peak_mb": peak,
        "total_s": total, "load": os.getloadavg()[0],
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "store_mb": size / 2**20,
        "machine_mb": clock.used_rise, "machine_stage_mb": dict(clock.used_peak), "tree_mb": dict(clock.tree_peak),
        "similar_to": sim_edges, "continues": cont, "communities": comms,
        "extract_cpu": built.meta.get("documents", {}).get("cpu", {}), "workers": built.meta.get("documents", {}).get(
            "workers"),
    }


def table(results: list[dict]) -> str:
    head = "| stage | " + " | ".join(
        f"{r['directions']:,} s | CPU s | peak MB | machine MB" for r in results) + " |"
    sep = "|---|" + "---|---|---|---|" * len(results)
    rows = [head, sep]
    for s in STAGES:
        rows.append(f"| {s} | " + " | ".join(
            f"{r['seconds'].get(s, 0.0):.1f} | {r.get('cpu', {}).get(s, 0.0):.1f} | {r['peak_mb'].get(s, 0.0):.0f}"
            f" | {r.get('machine_stage_mb', {}).get(s, 0.0):.0f}"
            for r in results) + " |")
    rows.append("| **total** | " + " | ".join(
        f"{r['total_s']:.1f} | {sum(r.get('cpu', {}).values()):.1f} | {r['max_rss_mb']:.0f}"
        f" | {r.get('machine_mb', 0.0):.0f}" for r in results) + " |")
    rows.append("| store MB / SIMILAR_TO / CONTINUES / communities / load | " + " | ".join(
        f"{r['store_mb']:.1f} | {r['similar_to']} / {r['continues']} / {r['communities']} | {r.get('load', 0):.1f} |"
        for r in results) + " |")
    rows.append("| pool CPU s: parse / entities / keywords, workers | " + " | ".join(
        " / ".join(f"{r['extract_cpu'].get(k, 0.0):.1f}" for k in ("parse_s", "entities_s", "keywords_s"))
        + f" | {r['workers']} | |" for r in results) + " |")
    if len(results) > 1:
        a, b = results[-2], results[-1]
        e = math.log(b["total_s"] / a["total_s"]) / math.log(b["directions"] / a["directions"])
        rows.append(f"\ngrowth exponent of the total between {a['directions']:,} and {b['directions']:,}: {e:.2f}")
    for r in results:
        if r.get("tree_mb"):
            rows.append(f"\n{r['directions']:,}: anonymous PSS at the stage's peak, MB (the build / its forks): "
                        + ", ".join(f"{s} {r['tree_mb'][s][0]:.0f} / {r['tree_mb'][s][1]:.0f}"
                                    for s in STAGES if s in r["tree_mb"]))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, nargs="+", default=[1000, 3000])
    ap.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "fundgraph-corpora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tree-memory", type=float, default=0.0, metavar="SECONDS",
                    help="also sample the anonymous PSS of the build and of each fork this often (slows the build)")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(build_one(args.one, tree_every=args.tree_memory)))
        return 0
    here = Path(__file__).resolve().parent
    results = []
    for n in args.directions:
        out = args.corpora / f"n{n}-s{args.seed}"
        if not (out / "manifest.yaml").exists():
            subprocess.run([sys.executable, str(here / "gen_corpus.py"), "--directions", str(n), "--out", str(out),
                            "--seed", str(args.seed)], check=True)
        proc = subprocess.run([sys.executable, __file__, "--one", str(out / "manifest.yaml"),
                               "--tree-memory", str(args.tree_memory)],
                              check=True, capture_output=True, text=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(table(results[-1:]), flush=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
