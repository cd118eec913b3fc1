"""Parse, entity and keyword stages of the build: wall time, CPU and peak RSS, cold and with a warm cache.

    PYTHONPATH=$PWD python benchmarks/extract_stages.py --directions 1000 5000 20000 [--workers 2]

For each size: generate the corpus (benchmarks/gen_corpus.py, seeded) unless it exists, then, in a fresh
process per run, build the entity graph (:func:`graph.build.pipeline.extract_corpus`, the base graph and the
entity layer; no vectors or similarity) twice with an empty per-document cache directory of its own: a cold
build (every document parsed and extracted) and a warm rebuild (every document from the cache). Printed per
run: wall seconds, CPU seconds (this process and its workers: on a shared machine the figure that does not
depend on the neighbours) and peak RSS of the per-document stage (parse + entity mentions + keyword candidates, in
parallel where it pays), of the keyword document frequencies and of the entity layer (keywords chosen,
nodes and edges); the CPU seconds of parsing, entity mentions and keyword candidates summed over workers;
and the MENTIONS edge count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_stages import StageClock


class CpuStageClock(StageClock):
    """StageClock that also keeps the CPU seconds of each stage (this process and its finished workers)."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: dict[str, float] = {}
        self._c = _cpu()

    def enter(self, stage: str | None) -> None:
        now = _cpu()
        if self.stage:
            self.cpu[self.stage] = self.cpu.get(self.stage, 0.0) + now - self._c
        self._c = now
        super().enter(stage)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


MESSAGES = {"counting keyword document frequencies": "keywords", "choosing keywords": "keywords"}


def run_one(manifest: Path, cache: Path, workers: int) -> dict:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.pipeline import base_graph, extract_corpus
    from fundgraph.loaders.vocab import load_vocabularies

    settings = Settings(manifest=manifest, cache_dir=cache, build_workers=workers, home=cache.parent)
    clock = CpuStageClock()
    t0 = time.perf_counter()
    clock.enter("documents")
    vocab = load_vocabularies(settings.vocab_dir)
    corpus = extract_corpus(settings, vocab, progress=lambda m: clock.enter(MESSAGES.get(m, clock.stage)))
    clock.enter("entity layer")
    g = base_graph(corpus.docs)
    add_entity_layer(g, corpus.docs, vocab, extracts=corpus.extracts, stats=corpus.stats, keywords=corpus.keywords)
    clock.close()
    import resource

    return {"directions": sum(len(d.directions) for d in corpus.docs), "seconds": clock.seconds, "cpu_s": clock.cpu,
            "peak_mb": clock.peak, "total_s": time.perf_counter() - t0, "cpu": corpus.report["cpu"],
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "hits": corpus.report["cache_hits"], "workers": corpus.report["workers"],
            "mentions": sum(1 for *_e, d in g.edges(data=True) if d.get("type") == "MENTIONS")}


def row(label: str, r: dict) -> str:
    s, p, c = r["seconds"], r["peak_mb"], r["cpu"]
    return (f"| {r['directions']:,} | {label} | {r['workers']} | {r['hits']} | "
            + " | ".join(f"{s.get(k, 0.0):.1f} ({r['cpu_s'].get(k, 0.0):.1f}) / {p.get(k, 0.0):.0f}"
                         for k in ("documents", "keywords", "entity layer"))
            + f" | {c['parse_s']:.1f} / {c['entities_s']:.1f} / {c['keywords_s']:.1f} | {r['total_s']:.1f} "
            f"({sum(r['cpu_s'].values()):.1f}) | "
            f"{r['max_rss_mb']:.0f} | {r['mentions']} |")


HEAD = ("| directions | run | workers | cache hits | documents s (CPU s) / MB | keyword df + choice s (CPU s) / MB | "
        "entity layer s (CPU s) / MB | "
        "worker CPU parse / entities / keywords s | total s (CPU s) | peak MB | MENTIONS |\n" + "|---" * 11 + "|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "fundgraph-corpora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=0, help="build_workers (0: one per core)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one[0]), Path(args.one[1]), int(args.one[2]))))
        return 0
    here = Path(__file__).resolve().parent
    rows = []
    for n in args.directions:
        out = args.corpora / f"n{n}-s{args.seed}"
        if not (out / "manifest.yaml").exists():
            subprocess.run([sys.executable, str(here / "gen_corpus.py"), "--directions", str(n), "--out", str(out),
                            "--seed", str(args.seed)], check=True)
        cache = Path(tempfile.mkdtemp(prefix="fg-extract-")) / "cache"
        for label in ("cold", "warm"):
            proc = subprocess.run([sys.executable, __file__, "--one", str(out / "manifest.yaml"), str(cache),
                                   str(args.workers)], check=True, capture_output=True, text=True)
            rows.append(row(label, json.loads(proc.stdout.strip().splitlines()[-1])))
            print(HEAD + "\n" + rows[-1], flush=True)
        shutil.rmtree(cache.parent, ignore_errors=True)
    print(HEAD + "\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
