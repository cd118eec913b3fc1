"""The vectors → similarity → store part of the build, and the embedded store's start-up and /similar, by size.

    PYTHONPATH=$PWD python benchmarks/vector_scale.py --directions 1000 5000 20000

For each size: generate the corpus (benchmarks/gen_corpus.py, seeded) unless it exists, run the stages before
the similarity layer (parse, vocabularies, entities and keywords) once and cache their result beside the corpus
(``entity_stage.pkl``; those stages are not measured here, see build_stages.py), then in a fresh process: the
similarity layer (vectors, similarity, lineage, communities, told apart by its progress messages), the store
write, the store's size, opening it in another fresh process (first healthy answer and ``warm()``), and
``similar(k=10)`` in that process for 200 distinct directions (both scopes, in-process: no HTTP), p50/p99.

It uses only interfaces this branch shares with its parent commit, so the same script measures both
(``PYTHONPATH=<other tree>``); ``--label`` names the column.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_stages import StageClock, rss_mb  # the same clock and RSS probe as the stage benchmark

STAGES = ("vectors", "similarity", "lineage", "communities", "store write")
MESSAGES = {
    "encoding directions": "vectors",
    "linking similar directions across programs": "similarity",
    "linking editions of a series": "lineage",
    "finding topic communities": "communities",
}
def entity_stage(manifest: Path, cache: Path) -> None:
    """Parse and extract entities once; pickle (graph, documents)."""
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.entities import add_entity_layer
    from fundgraph.graph.build.pipeline import base_graph
    from fundgraph.loaders.corpus import load_corpus
    from fundgraph.loaders.titles import TITLES_FILE, load_title_translations, match_titles
    from fundgraph.loaders.vocab import load_vocabularies

    settings = Settings(manifest=manifest, store="embedded")
    docs = load_corpus(settings.manifest)
    vocab = load_vocabularies(settings.vocab_dir)
    titles = load_title_translations(settings.vocab_dir / TITLES_FILE)
    match = match_titles(titles, [(x.id, x.title) for doc in docs for x in (*doc.sections, *doc.directions)])
    g = base_graph(docs, match.english)
    add_entity_layer(g, docs, vocab)
    with cache.open("wb") as fh:
        pickle.dump((g, docs), fh, protocol=pickle.HIGHEST_PROTOCOL)


def build_one(manifest: Path, cache: Path, home: Path) -> dict:
    from fundgraph.core.settings import Settings
    from fundgraph.graph.build.similarity import add_similarity_layer
    from fundgraph.graph.stores.base import BuiltGraph
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    with cache.open("rb") as fh:
        g, docs = pickle.load(fh)
    settings = Settings(manifest=manifest, store="embedded")
    base_rss = rss_mb()
    clock = StageClock()
    t0 = time.perf_counter()
    sim = add_similarity_layer(g, docs, None, settings=settings,
                               progress=lambda msg: clock.enter(MESSAGES.get(msg, clock.stage)))
    built = BuiltGraph(graph=g, direction_ids=sim.direction_ids, vectors=sim.vectors, words=sim.words,
                       encoder_state=sim.encoder_state,
                       meta={"built_at": "benchmark", "encoder": sim.encoder_state.get("name"),
                             "programs": [d.program.id for d in docs],
                             "direction_count": len(sim.direction_ids)})
    clock.enter("store write")
    EmbeddedStore(home).replace(built)
    clock.close()
    edges = {}
    for u, v, d in g.edges(data=True):
        if d.get("type") in ("SIMILAR_TO", "CONTINUES"):
            edges.setdefault(d["type"], []).append((u, v, round(float(d["score"]), 6)))
    digest = {t: sorted(es) for t, es in edges.items()}
    if os.environ.get("BENCH_EDGES"):  # keep the edges to compare two trees' builds (--compare)
        Path(os.environ["BENCH_EDGES"]).write_text(json.dumps(digest))
    return {
        "directions": len(sim.direction_ids), "seconds": clock.seconds, "peak_mb": clock.peak,
        "total_s": time.perf_counter() - t0, "base_rss_mb": base_rss,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "store_mb": sum(f.stat().st_size for f in (home / "current").rglob("*") if f.is_file()) / 2**20,
        "similar_to": len(digest.get("SIMILAR_TO", [])), "continues": len(digest.get("CONTINUES", [])),
        "edges_digest": _digest(digest),
    }


def _digest(obj: object) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def serve_one(home: Path, samples: int) -> dict:
    from fundgraph.graph.stores.embedded.store import EmbeddedStore

    t0 = time.perf_counter()
    store = EmbeddedStore(home)
    store.health()
    first = time.perf_counter() - t0
    store.warm()
    ready = time.perf_counter() - t0
    ids = list(store.load().direction_ids)
    rng = random.Random(0)
    pick = rng.sample(ids, min(samples, len(ids)))
    lat = []
    for i, did in enumerate(pick):
        t = time.perf_counter()
        store.similar(did, 10, "cross-program" if i % 2 else "all")
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return {"open_s": first, "ready_s": ready, "similar_p50_ms": lat[len(lat) // 2],
            "similar_p99_ms": lat[min(len(lat) - 1, math.ceil(0.99 * len(lat)) - 1)],
            "serve_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def compare(a_path: Path, b_path: Path) -> str:
    """Same SIMILAR_TO / CONTINUES pairs? How far apart are the scores of the pairs both have?"""
    a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
    lines = []
    for rel in sorted(set(a) | set(b)):
        ea = {(u, v): s for u, v, s in a.get(rel, [])}
        eb = {(u, v): s for u, v, s in b.get(rel, [])}
        both = ea.keys() & eb.keys()
        diffs = [abs(ea[p] - eb[p]) for p in both]
        lines.append(f"{rel}: {len(ea)} vs {len(eb)} edges, {len(ea.keys() - eb.keys())} only in the first, "
                     f"{len(eb.keys() - ea.keys())} only in the second; scores differ on {sum(d > 0 for d in diffs)} "
                     f"(max {max(diffs, default=0):.1e})")
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    cols = [f"{r['label']} {r['directions']:,}" for r in results]
    rows = ["| | " + " | ".join(cols) + " |", "|---|" + "---|" * len(results)]
    for s in STAGES:
        rows.append(f"| {s} s (peak MB) | " + " | ".join(
            f"{r['seconds'].get(s, 0.0):.1f} ({r['peak_mb'].get(s, 0.0):.0f})" for r in results) + " |")
    for key, fmt in (("total_s", "{:.1f}"), ("max_rss_mb", "{:.0f}"), ("store_mb", "{:.1f}"), ("open_s", "{:.2f}"),
                     ("ready_s", "{:.2f}"), ("serve_rss_mb", "{:.0f}"), ("similar_p50_ms", "{:.1f}"),
                     ("similar_p99_ms", "{:.1f}"), ("similar_to", "{}"), ("continues", "{}"),
                     ("edges_digest", "{}")):
        rows.append(f"| {key} | " + " | ".join(fmt.format(r.get(key, "")) for r in results) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--corpora", type=Path, default=Path(tempfile.gettempdir()) / "fundgraph-corpora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label", default=os.environ.get("BENCH_LABEL", "after"))
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--json", type=Path, help="append the figures here (one JSON object per line)")
    ap.add_argument("--step", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--compare", nargs=2, type=Path, metavar="EDGES_JSON",
                    help="compare two edge files written with BENCH_EDGES=<file> and exit")
    args = ap.parse_args(argv)
    if args.compare:
        print(compare(*args.compare))
        return 0
    if args.step:
        what, a, b = args.step
        if what == "entities":
            entity_stage(Path(a), Path(b))
            return 0
        out = build_one(Path(a), Path(a).parent / "entity_stage.pkl", Path(b)) if what == "build" else \
            serve_one(Path(a), int(b))
        print(json.dumps(out))
        return 0
    here = Path(__file__).resolve()
    results = []
    for n in args.directions:
        out = args.corpora / f"n{n}-s{args.seed}"
        manifest = out / "manifest.yaml"
        if not manifest.exists():
            subprocess.run([sys.executable, str(here.parent / "gen_corpus.py"), "--directions", str(n), "--out",
                            str(out), "--seed", str(args.seed)], check=True)
        cache = out / "entity_stage.pkl"
        if not cache.exists():
            subprocess.run([sys.executable, str(here), "--step", "entities", str(manifest), str(cache)], check=True)
        home = Path(tempfile.mkdtemp(prefix="fg-vscale-"))
        r = {"label": args.label}

        def step(*argv_: str) -> dict:
            proc = subprocess.run([sys.executable, str(here), "--step", *argv_], check=True, capture_output=True,
                                  text=True)
            return json.loads(proc.stdout.strip().splitlines()[-1])

        r.update(step("build", str(manifest), str(home)))
        r.update(step("serve", str(home), str(args.samples)))
        results.append(r)
        print(table([r]), flush=True)
        if args.json:
            with args.json.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
        subprocess.run(["rm", "-rf", str(home)], check=False)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
